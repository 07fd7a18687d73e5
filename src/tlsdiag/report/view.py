"""The one report structure every scan output renders from (text, Markdown, HTML, JSON, the TUI export).

Each report used to walk the ``ScanResult`` on its own: which computers have diagnoses and which are quiet,
which diagnoses are made and with what rank, why the others are only "considered", and how the evidence
groups by catalog entry (with or without the knowledge base for an entry no kept event names). They
disagreed in small ways (the Markdown and HTML gave no "ruled out by store" reason; the text and Markdown
fell back to the entry id where the HTML showed its title). ``scan_view`` decides these once; a renderer
only formats what it is given.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tlsdiag.match.diagnose import Diagnosis
from tlsdiag.match.hostfacts import HostFacts
from tlsdiag.report.evidence import EvidenceGroup, evidence_groups


@dataclass(frozen=True, slots=True)
class DiagnosisView:
    """One ranked candidate cause on one computer, with its evidence grouped by catalog entry."""

    rank: int  # 1 = most likely on its computer; the made ones come first (Diagnosis.sort_key)
    diagnosis: Diagnosis
    groups: tuple[EvidenceGroup, ...]
    reason: str  # why a candidate is only considered (not made); "" for a made diagnosis

    @property
    def made(self) -> bool:
        return self.diagnosis.made


@dataclass(frozen=True, slots=True)
class ComputerView:
    """A computer the logs or the store exports name, with its candidates in rank order."""

    name: str
    host: HostFacts | None  # None when no event told the Windows version
    diagnoses: tuple[DiagnosisView, ...]

    @property
    def made(self) -> tuple[DiagnosisView, ...]:
        return tuple(d for d in self.diagnoses if d.made)

    @property
    def considered(self) -> tuple[DiagnosisView, ...]:
        return tuple(d for d in self.diagnoses if not d.made)


@dataclass(frozen=True, slots=True)
class ScanView:
    """What a scan report shows; ``result`` (the ``scan.ScanResult``) keeps what was read and the stores."""

    result: Any
    computers: tuple[ComputerView, ...]  # every computer, in the result's order

    @property
    def with_diagnoses(self) -> tuple[ComputerView, ...]:
        return tuple(c for c in self.computers if c.diagnoses)

    @property
    def quiet(self) -> tuple[ComputerView, ...]:
        """Computers for which no cause was even considered."""
        return tuple(c for c in self.computers if not c.diagnoses)

    @property
    def made(self) -> tuple[DiagnosisView, ...]:
        return tuple(d for c in self.computers for d in c.made)


def considered_reason(d: Diagnosis) -> str:
    """Why a candidate is not acted on, in one phrase: excluded by the Windows build, ruled out by a clean
    store check, supported only by generic evidence, or its score."""
    if d.excluded:
        return d.excluded
    ruled_out = next((n for n in d.notes if n.startswith("ruled out")), "")
    if ruled_out:
        return ruled_out
    return "only generic evidence" if d.weak else f"score {d.score:.2f}"


def scan_view(result: Any) -> ScanView:
    """The view of a ``ScanResult``: built once per report, in one place."""
    kb = getattr(result, "kb", None)
    computers = []
    for name in result.computers:
        ranked = [DiagnosisView(rank, d, tuple(evidence_groups(d, kb)), "" if d.made else considered_reason(d))
                  for rank, d in enumerate(result.diagnoses_for(name), start=1)]
        computers.append(ComputerView(name, result.host(name), tuple(ranked)))
    return ScanView(result, tuple(computers))
