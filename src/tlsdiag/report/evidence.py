"""Evidence grouped by catalog entry, and events over time: the one place every view takes them from.

A week of a failing front end logs the same event hundreds of times. People read it as "which
events, how many, since when", so the text, Markdown and HTML reports and the TUI all show, per
catalog entry of a diagnosis, the exact count, first and last time and one example, with the few
other kept events folded away (``evidence_groups``), and a timeline of events per entry over time
(``timeline``, ``sparkline``).

Counts, first and last are exact (the correlator counts every event). The timeline's bins are
filled from the matches the scan keeps (``ScanResult.matches``, the first ``MAX_KEPT_MATCHES``);
``Timeline.partial`` says when that is not all of them, and the views say so.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from tlsdiag.match.diagnose import Diagnosis
from tlsdiag.match.hostfacts import computer_key

BARS = "▁▂▃▄▅▆▇█"


@dataclass(frozen=True, slots=True)
class EvidenceGroup:
    """The events of one catalog entry that count as one piece of a diagnosis's evidence."""

    entry: str  # catalog entry id ("lync-32174")
    evidence: str  # the cause's evidence id (an entry may serve two evidence items with other conditions)
    title: str  # the catalog entry's title
    role: str  # specific | corroborating | generic
    weight: float
    fields_unknown: bool
    count: int  # exact
    first: datetime | None  # exact
    last: datetime | None  # exact
    note: str  # why this evidence counts
    example: Any  # the first kept Match, or None
    others: tuple[Any, ...]  # the further kept matches (the rest were counted, not kept)

    @property
    def not_kept(self) -> int:
        """Events counted but not kept (only count, first and last are known of them)."""
        return max(0, self.count - (1 if self.example is not None else 0) - len(self.others))

    @property
    def label(self) -> str:
        return self.entry if self.evidence in ("", self.entry) else f"{self.entry} ({self.evidence})"


def evidence_groups(d: Diagnosis, kb: Any = None) -> list[EvidenceGroup]:
    """A diagnosis's evidence, one group per catalog entry and evidence item, by first occurrence."""
    out = []
    for item in d.evidence:
        hit, ev = item.hit, item.evidence
        matches = sorted(hit.matches, key=lambda m: m.event.timestamp)
        entry = matches[0].entry if matches else (kb.events.get(ev.event) if kb is not None else None)
        title = getattr(entry, "title", "") or ev.event
        shared = sum(1 for other in d.evidence if other.evidence.event == ev.event) > 1
        out.append(EvidenceGroup(ev.event, ev.id if shared else "", title, ev.role, ev.weight, hit.unknown_only,
                                 hit.count, hit.first, hit.last, ev.note or "", matches[0] if matches else None,
                                 tuple(matches[1:])))
    out.sort(key=lambda g: (g.first is None, g.first or datetime.min, g.entry))
    return out


@dataclass(frozen=True, slots=True)
class Series:
    entry: str
    title: str
    counts: tuple[int, ...]  # events per bin

    @property
    def total(self) -> int:
        return sum(self.counts)


@dataclass(frozen=True, slots=True)
class Timeline:
    """Events per catalog entry in equal time bins over one computer's evidence."""

    start: datetime
    end: datetime
    bins: int
    series: tuple[Series, ...]
    partial: bool  # the scan kept only the first matches: bins may miss later events (counts elsewhere are exact)

    @property
    def step(self) -> timedelta:
        return (self.end - self.start) / self.bins

    def position(self, ts: datetime) -> float:
        """Where ``ts`` falls, 0.0 (start) to 1.0 (end)."""
        span = (self.end - self.start).total_seconds()
        return min(1.0, max(0.0, (ts - self.start).total_seconds() / span)) if span > 0 else 0.0


def timeline(result: Any, computer: str, diagnoses: Sequence[Diagnosis], bins: int = 48) -> Timeline | None:
    """The timeline of the catalog entries that are evidence of ``diagnoses`` on ``computer``."""
    groups = {g.entry: g.title for d in diagnoses for g in evidence_groups(d, getattr(result, "kb", None))}
    if not groups:
        return None
    key = computer_key(computer)
    times: dict[str, list[datetime]] = {entry: [] for entry in groups}
    for m in result.matches:
        if m.entry.id in times and computer_key(m.event.computer) == key:
            times[m.entry.id].append(m.event.timestamp)
    firsts = [d.first_seen for d in diagnoses if d.first_seen] + [min(t) for t in times.values() if t]
    lasts = [d.last_seen for d in diagnoses if d.last_seen] + [max(t) for t in times.values() if t]
    if not firsts:
        return None
    start, end = min(firsts), max(lasts)
    if end <= start:
        end = start + timedelta(minutes=1)
    end += (end - start) / (bins * 100)  # the last event falls inside the last bin
    span = (end - start).total_seconds()
    series = []
    for entry, title in groups.items():
        counts = [0] * bins
        for ts in times[entry]:
            counts[min(bins - 1, int((ts - start).total_seconds() / span * bins))] += 1
        series.append(Series(entry, title, tuple(counts)))
    series.sort(key=lambda s: next((i for i, c in enumerate(s.counts) if c), bins))
    stats = getattr(result, "stats", None)
    partial = bool(stats is not None and stats.matches_kept < stats.matches)
    return Timeline(start, end, bins, tuple(series), partial)


def sparkline(counts: Sequence[int]) -> str:
    """One character per bin: blank for none, then eight heights scaled to the busiest bin."""
    top = max(counts, default=0)
    if top <= 0:
        return " " * len(counts)
    return "".join(" " if c == 0 else BARS[min(len(BARS) - 1, (c * len(BARS) - 1) // top)] for c in counts)


def stores_for(result: Any, computer: str) -> list[Any]:
    """The store analyses of a scan that belong to ``computer``: those whose findings its diagnoses use,
    those naming it (full or short name), or every one when the scan saw only this computer."""
    if result is None or not getattr(result, "stores", None):
        return []
    short = computer_key(computer or "").split(".")[0]
    # by id(): findings are unhashable dataclasses; ``result`` holds them all for this call, so no id is reused
    used = {id(f) for d in result.diagnoses_for(computer) for f in d.store_findings}
    out = [a for a in result.stores if any(id(f) in used for f in a.findings)
           or (short and computer_key(a.snapshot.computer or "").split(".")[0] == short)]
    if not out and len(result.computers) <= 1:
        out = list(result.stores)
    return out
