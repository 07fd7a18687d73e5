"""The one report structure every scan output renders from (text, Markdown, HTML, JSON, the TUI export).

Each report used to walk the ``ScanResult`` on its own: which computers have diagnoses and which are quiet,
which diagnoses are made and with what rank, why the others are only "considered", and how the evidence
groups by catalog entry (with or without the knowledge base for an entry no kept event names). They
disagreed in small ways (the Markdown and HTML gave no "ruled out by store" reason; the text and Markdown
fell back to the entry id where the HTML showed its title). ``scan_view`` decides these once; a renderer
only formats what it is given. The timelines (``--format timesketch|timeline``) list the scan's matched
events, one row per event with all its catalog entries, in time order: ``ScanView.matched_events``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, NamedTuple

from tlsdiag.match.catalog import Match
from tlsdiag.match.diagnose import Diagnosis
from tlsdiag.match.hostfacts import HostFacts
from tlsdiag.model import Event
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


class MatchedEvent(NamedTuple):
    """One event the scan matched, with every catalog entry it matched (a timeline row)."""

    event: Event
    matches: tuple[Match, ...]


def matched_events(matches: Iterable[Match]) -> tuple[MatchedEvent, ...]:
    """The matches grouped per event (source and locator), ordered by time, source and record number."""
    grouped: dict[tuple[str, str], list[Match]] = {}
    for match in matches:
        grouped.setdefault((match.event.source, match.event.locator), []).append(match)
    ordered = sorted(grouped.values(), key=lambda ms: (ms[0].event.timestamp, ms[0].event.source,
                                                         ms[0].event.record_id or 0))
    return tuple(MatchedEvent(group[0].event, tuple(group)) for group in ordered)


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

    @property
    def matched_events(self) -> tuple[MatchedEvent, ...]:
        """Every matched event the scan kept (``ScanResult.matches``, not only a diagnosis's first few), in
        time order: what the timelines list. Built when read, so the other reports do not pay for it."""
        return matched_events(self.result.matches)


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
