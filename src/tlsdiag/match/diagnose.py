"""Correlate catalog matches into ranked, explained diagnoses per computer.

Scoring follows docs/kb-format.md: per computer and cause, a noisy-OR over the
distinct evidence items present (an evidence id counts once however many events
match it) and over the combinations whose events all fell within their window
on that computer; then ``score *= (1 - w)`` for each ``against`` item present.
Causes whose ``applies_to.windows`` excludes the build the logs reveal are
dropped with a note. Choices this module adds, each documented in the report:

- Evidence whose ``where`` conditions cannot be evaluated (an Event Viewer text
  export without recoverable fields) is *unknown*, not false: it counts at half
  its weight and is marked "fields unknown". An ``against`` item that is unknown
  is not applied, and a note says so.
- Confidence: high >= 0.7, medium >= 0.4, low >= 0.2. Below 0.2, or when every
  piece of evidence is ``generic`` and no combination of it fired, the diagnosis
  is **weak**: shown, but not "made" (it does not change the exit status).
- Store findings: a finding (error or warning, not an info note) from a check the cause ``proves`` marks it proven
  and raises it to at least 0.9; a cause with such a finding and no events is
  still diagnosed ("found in the stores"). Findings that only name the cause
  (a setting, a related check) are shown with it but change nothing. A
  ``rules_out_when_clean`` check that
  ran clean on that computer (and nothing proves it) marks it ruled out and
  multiplies the score by 0.2; a ruled-out cause is not "made".
- ``yields_to``: a cause that names others ranks below them (0.9 of the best
  one's score) when one of them is made on the same computer, and loses half
  its score when the stores prove that one.
- ``peers``: a cause diagnosed on another computer of the collection (the one
  the evidence names, or any other) counts for or against a cause here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, NamedTuple, Protocol, TypeAlias

from tlsdiag.kb.model import (
    Against,
    Cause,
    Combination,
    Condition,
    Evidence,
    FindingKind,
    KnowledgeBase,
    Severity,
    Step,
)
from tlsdiag.match.catalog import Match, PackedMatches, pack_matches, unpack_matches
from tlsdiag.match.conditions import ConditionsTest, compile_all
from tlsdiag.match.hostfacts import HostFacts, HostFactsCollector, computer_key

KEEP_EVENTS = 10  # events kept per evidence item for the timeline (the first ones; count/first/last are exact)
HIGH, MEDIUM, LOW = 0.7, 0.4, 0.2
UNKNOWN_FACTOR = 0.5
PROVEN_FLOOR = 0.9
RULED_OUT_FACTOR = 0.2
YIELD_PROVEN_FACTOR = 0.5  # a cause that yields to one the stores prove on the same computer


def confidence_of(score: float, weak: bool) -> Confidence:
    if weak or score < LOW:
        return "weak"
    if score >= HIGH:
        return "high"
    return "medium" if score >= MEDIUM else "low"


@dataclass(slots=True)
class HitState:
    """A ``Hit`` as it travels from a worker process (``Hit.export``, ``Hit.absorb``)."""

    count: int
    known: int
    first: datetime | None
    last: datetime | None
    matches: PackedMatches
    bucket_seconds: int
    spans: dict[int, list[datetime]] | None


@dataclass(slots=True)
class Hit:
    """The events on one computer that satisfy one evidence (or against) item."""

    count: int = 0
    known: int = 0  # events whose conditions were definitely true (the rest were unknown)
    first: datetime | None = None
    last: datetime | None = None
    matches: list[Match] = field(default_factory=list)
    # For evidence used in combinations: per time bucket (bucket_seconds long, no longer than the shortest
    # window), the earliest and latest event. That is exact for "one of each within the window" (a window
    # can always slide its members to these representatives) and bounded by the span of the logs, not
    # by the number of events.
    bucket_seconds: int = 0
    spans: dict[int, list[datetime]] | None = None

    def add(self, match: Match, known: bool) -> None:
        ts = match.event.timestamp
        self.count += 1
        if known:
            self.known += 1
        first, last = self.first, self.last
        if first is None or last is None:  # both are None until the first event
            self.first = self.last = ts
        elif ts < first:
            self.first = ts
        elif ts > last:  # first <= last always, so a new first is never a new last
            self.last = ts
        if len(self.matches) < KEEP_EVENTS:
            self.matches.append(match)
        if self.spans is not None:
            self._span(self.spans, ts)

    def _span(self, spans: dict[int, list[datetime]], ts: datetime) -> None:
        bucket = int(ts.timestamp()) // self.bucket_seconds
        span = spans.get(bucket)
        if span is None:
            spans[bucket] = [ts, ts]
        elif ts < span[0]:
            span[0] = ts
        elif ts > span[1]:
            span[1] = ts

    def add_many(self, times: list[datetime], matches: list[Match], known: bool) -> None:
        """``add`` for a run of matches at once: ``times`` of them all, ``matches`` the first of them
        (at least as many as this hit still keeps)."""
        self.count += len(times)
        if known:
            self.known += len(times)
        low, high = min(times), max(times)
        if self.first is None or low < self.first:
            self.first = low
        if self.last is None or high > self.last:
            self.last = high
        room = KEEP_EVENTS - len(self.matches)
        if room > 0:
            self.matches.extend(matches[:room])
        if self.spans is not None:
            for ts in times:
                self._span(self.spans, ts)

    def export(self) -> HitState:
        """This hit for another process (matches packed; see ``absorb``)."""
        return HitState(self.count, self.known, self.first, self.last, pack_matches(self.matches),
                        self.bucket_seconds, self.spans)

    def absorb(self, state: HitState, kb: KnowledgeBase) -> None:
        """Add the hits of later events (a range read after this one), exactly as if added one by one."""
        self.count += state.count
        self.known += state.known
        first, last = state.first, state.last
        if first is not None and (self.first is None or first < self.first):
            self.first = first
        if last is not None and (self.last is None or last > self.last):
            self.last = last
        self.matches.extend(unpack_matches(state.matches, kb, max(0, KEEP_EVENTS - len(self.matches))))
        if self.spans is not None and state.spans:
            for bucket, (low, high) in state.spans.items():
                span = self.spans.get(bucket)
                if span is None:
                    self.spans[bucket] = [low, high]
                else:
                    span[0] = min(span[0], low)
                    span[1] = max(span[1], high)

    @property
    def times(self) -> list[datetime]:
        """Representative times (earliest and latest per bucket) for the combination check."""
        if not self.spans:
            return []
        return sorted({t for span in self.spans.values() for t in span})

    @property
    def unknown_only(self) -> bool:
        return self.known == 0


Confidence: TypeAlias = Literal["high", "medium", "low", "weak", "ruled out", "excluded"]
StoreVerdict: TypeAlias = Literal["proven", "ruled_out"]


class StoreCertRef(Protocol):
    """The certificate a store finding is about (``tlsdiag.stores.checks.CertRef``)."""

    @property
    def subject(self) -> str: ...
    @property
    def issuer(self) -> str: ...
    @property
    def thumbprint(self) -> str: ...
    @property
    def where(self) -> str: ...
    @property
    def note(self) -> str: ...
    @property
    def written(self) -> datetime | None: ...
    @property
    def not_before(self) -> datetime: ...
    @property
    def not_after(self) -> datetime: ...
    @property
    def has_private_key(self) -> bool | None: ...


class StoreFinding(Protocol):
    """What the correlator, the pipeline and the views read of a certificate-store finding.

    ``tlsdiag.stores.checks.Finding`` is the implementation; this room names only what it reads, so
    matching never imports the store package (which loads the certificate library)."""

    @property
    def check(self) -> str: ...
    @property
    def kind(self) -> FindingKind: ...
    @property
    def severity(self) -> Severity: ...
    @property
    def title(self) -> str: ...
    @property
    def why(self) -> str: ...
    @property
    def cause(self) -> str | None: ...
    @property
    def cert(self) -> StoreCertRef | None: ...
    @property
    def fix(self) -> Sequence[Step]: ...
    @property
    def is_problem(self) -> bool: ...


@dataclass(frozen=True, slots=True)
class StoreResult:
    """What the store analysis found for one computer's export (built by scan.py from tlsdiag.stores)."""

    computer: str  # "" when the export does not say
    source: str
    findings: tuple[StoreFinding, ...] = ()  # problems only
    clean_checks: frozenset[str] = frozenset()  # checks that ran on this export and found nothing
    named: bool = True  # False when the computer name is only the collection folder's name
    os_build: int | None = None  # Windows build recorded by the collector, if any


@dataclass(slots=True)
class EvidenceItem:
    evidence: Evidence
    hit: Hit
    weight_used: float


class FiredCombination(NamedTuple):
    """A combination whose events all fell within its window on the computer: the smallest such window."""

    combination: Combination
    start: datetime
    end: datetime


class AppliedAgainst(NamedTuple):
    """An ``against`` item that lowered the score: by its events (``hit``) or by the Windows build (None)."""

    against: Against
    hit: Hit | None


@dataclass(slots=True)
class Diagnosis:
    """One cause on one computer, with the score, how it was reached and what to do."""

    computer: str
    cause: Cause
    score: float = 0.0
    weak: bool = False
    evidence: list[EvidenceItem] = field(default_factory=list)
    combinations: list[FiredCombination] = field(default_factory=list)
    against: list[AppliedAgainst] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    store: StoreVerdict | None = None
    store_findings: list[StoreFinding] = field(default_factory=list)
    excluded: str | None = None  # why the cause does not apply to this computer

    @property
    def confidence(self) -> Confidence:
        if self.excluded:
            return "excluded"
        if self.store == "ruled_out":
            return "ruled out"
        return confidence_of(self.score, self.weak)

    @property
    def made(self) -> bool:
        """A diagnosis the administrator should act on (drives the exit status)."""
        return self.confidence in ("high", "medium", "low")

    @property
    def first_seen(self) -> datetime | None:
        times = [i.hit.first for i in self.evidence if i.hit.first]
        return min(times) if times else None

    @property
    def last_seen(self) -> datetime | None:
        times = [i.hit.last for i in self.evidence if i.hit.last]
        return max(times) if times else None

    def sort_key(self) -> tuple[bool, bool, bool, float, int, str]:
        return (not self.made, self.excluded is not None, self.store != "proven", -round(self.score, 6),
                -sum(1 for i in self.evidence if i.evidence.role == "specific"), self.cause.id)


def _min_window(lists: list[list[datetime]]) -> tuple[datetime, datetime] | None:
    """Smallest time range containing at least one time from every list (None if a list is empty)."""
    if any(not times for times in lists):
        return None
    merged = sorted((t, i) for i, times in enumerate(lists) for t in times)
    need = len(lists)
    counts = [0] * need
    have = 0
    best: tuple[datetime, datetime] | None = None
    left = 0
    for t_right, i_right in merged:
        counts[i_right] += 1
        if counts[i_right] == 1:
            have += 1
        while have == need:
            t_left, i_left = merged[left]
            if best is None or (t_right - t_left) < (best[1] - best[0]):
                best = (t_left, t_right)
            counts[i_left] -= 1
            if counts[i_left] == 0:
                have -= 1
            left += 1
    return best


class _PlanStep(NamedTuple):
    """One distinct condition test of a catalog entry's plan, with the items its verdict decides."""

    test: ConditionsTest
    evidence: list[tuple[Cause, Evidence]]
    against: list[tuple[Cause, int]]  # (cause, index into cause.against)


class _Action(NamedTuple):
    """What a match adds for one evidence item (``evidence``) or one against item (``against``, its index)."""

    cause: Cause
    evidence: Evidence | None
    against: int | None
    known: bool  # the conditions were definitely true (not unknown)


class _Verdicts(NamedTuple):
    """A memo entry of ``Correlator.targets``: what the conditions saw, and the actions they gave."""

    fields: Mapping[str, str]
    computer: str
    level: int | None
    message: str | None
    actions: list[_Action]


@dataclass(slots=True)
class CorrelatorState:
    """Everything a Correlator accumulated, as it travels from a worker process (``export``/``absorb``)."""

    matches: int
    names: dict[str, str]
    hits: dict[str, dict[str, dict[str, HitState]]]  # computer key -> cause id -> evidence id -> hit
    against_hits: dict[str, dict[str, dict[int, HitState]]]  # computer key -> cause id -> against index -> hit
    against_unknown: dict[str, dict[str, set[int]]]


class Correlator:
    """Accumulates matches (one at a time, so a TUI can ask for results mid-scan) and diagnoses."""

    def __init__(self, kb: KnowledgeBase) -> None:
        self.kb = kb
        self._evidence: dict[str, list[tuple[Cause, Evidence, int]]] = {}
        self._against: dict[str, list[tuple[Cause, int, Against, int]]] = {}
        self._timed: dict[tuple[str, str], int] = {}  # (cause, evidence) in a combination -> bucket seconds
        # each distinct condition set is compiled once and evaluated once per match (causes share them)
        self._tests: list[ConditionsTest] = []
        keys: dict[str, int] = {}

        def test_id(where: tuple[Condition, ...]) -> int:
            key = repr(where)
            if key not in keys:
                keys[key] = len(self._tests)
                self._tests.append(compile_all(where))
            return keys[key]

        for cause in kb.causes.values():
            for ev in cause.evidence:
                self._evidence.setdefault(ev.event, []).append((cause, ev, test_id(ev.where)))
            for i, ag in enumerate(cause.against):
                if ag.event:
                    self._against.setdefault(ag.event, []).append((cause, i, ag, test_id(ag.where)))
            for combo in cause.combinations:
                seconds = max(1, int(combo.within.total_seconds()))
                for ev_id in combo.all:
                    key = (cause.id, ev_id)
                    self._timed[key] = min(self._timed.get(key, seconds), seconds)
        # computer key -> cause id -> evidence id / against index -> Hit
        self._hits: dict[str, dict[str, dict[str, Hit]]] = {}
        self._against_hits: dict[str, dict[str, dict[int, Hit]]] = {}
        self._against_unknown: dict[str, dict[str, set[int]]] = {}
        self.names: dict[str, str] = {}
        self.store_notes: dict[str, list[str]] = {}
        self.matches = 0
        self._plans: dict[str, list[_PlanStep]] = {}
        self._last_computer: str | None = None
        self._last_key = ""
        self._verdicts: dict[tuple[str, int, bool, bool], _Verdicts] = {}

    def _plan(self, entry_id: str) -> list[_PlanStep]:
        """Per catalog entry: each distinct condition test once, with the evidence/against items it decides."""
        plan = self._plans.get(entry_id)
        if plan is None:
            by_test: dict[int, tuple[list[tuple[Cause, Evidence]], list[tuple[Cause, int]]]] = {}
            for cause, ev, tid in self._evidence.get(entry_id, ()):
                by_test.setdefault(tid, ([], []))[0].append((cause, ev))
            for cause, i, _ag, tid in self._against.get(entry_id, ()):
                by_test.setdefault(tid, ([], []))[1].append((cause, i))
            plan = self._plans[entry_id] = [_PlanStep(self._tests[tid], evs, ags) for tid, (evs, ags) in by_test.items()]
        return plan

    def _actions(self, match: Match) -> list[_Action]:
        """What one match adds: per evidence or against item it satisfies, whether definitely."""
        out: list[_Action] = []
        event = match.event
        for test, evidence, against in self._plan(match.entry.id):
            verdict = test(event, match.fields, match.complete)
            if verdict is False:
                continue
            known = verdict is True and not match.uncertain
            out.extend(_Action(cause, ev, None, known) for cause, ev in evidence)
            out.extend(_Action(cause, None, i, verdict is True) for cause, i in against)
        return out

    def fields_read(self, entry_id: str) -> set[str]:
        """The names of the fields the evidence and against conditions on this catalog entry read."""
        names = {c.field for _cause, ev, _tid in self._evidence.get(entry_id, ()) for c in ev.where}
        names.update(c.field for _cause, _i, ag, _tid in self._against.get(entry_id, ()) for c in ag.where)
        return names

    def add(self, match: Match) -> None:
        self.add_to(match, self.targets(match))

    def add_to(self, match: Match, targets: list[tuple[Hit, bool]]) -> None:
        """Add a match whose ``targets`` are known (a repeat of an event seen before: see Analysis.feed)."""
        self.matches += 1
        for hit, known in targets:
            hit.add(match, known)

    def targets(self, match: Match) -> list[tuple[Hit, bool]]:
        """The hits a match counts in, each with whether it counts as definitely true.

        The hits are made on first use and live as long as this correlator (``absorb`` adds to them),
        so a caller may keep the list for later matches of an equal event: equal computer, level,
        message, entry and fields (by identity). Against items whose conditions were unknown are
        noted here, once being enough.
        """
        event = match.event
        if event.computer == self._last_computer:
            key = self._last_key
        else:
            key = computer_key(event.computer)
            self.names.setdefault(key, event.computer)
            self._last_computer, self._last_key = event.computer, key
        # Conditions see only the fields, computer, level and message: a repeated event (the reader shares
        # one data mapping between repetitions) reuses the verdicts of the first instead of testing again.
        # The key holds id(fields), which is safe: the memo entry keeps the fields mapping itself alive (so
        # its id cannot pass to another object while the entry exists), and a hit is checked with ``is``.
        fields = match.fields
        memo_key = (match.entry.id, id(fields), match.complete, match.uncertain)
        cached = self._verdicts.get(memo_key)
        if (cached is not None and cached.fields is fields and cached.computer == event.computer
                and cached.level == event.level and cached.message == event.message):
            actions = cached.actions
        else:
            actions = self._actions(match)
            if len(self._verdicts) >= 4096:
                self._verdicts.clear()
            self._verdicts[memo_key] = _Verdicts(fields, event.computer, event.level, event.message, actions)
        out: list[tuple[Hit, bool]] = []
        hits = self._hits.setdefault(key, {})
        for cause, evidence, against, known in actions:
            if evidence is not None:
                per_cause = hits.get(cause.id)
                if per_cause is None:
                    per_cause = hits[cause.id] = {}
                hit = per_cause.get(evidence.id)
                if hit is None:
                    bucket = self._timed.get((cause.id, evidence.id))
                    hit = per_cause[evidence.id] = Hit(bucket_seconds=bucket, spans={}) if bucket else Hit()
                out.append((hit, known))
            elif against is None:
                continue  # an action names evidence or an against item, never neither
            elif known:
                per = self._against_hits.setdefault(key, {}).setdefault(cause.id, {})
                hit = per.get(against)
                if hit is None:
                    hit = per[against] = Hit()
                out.append((hit, True))
            else:
                self._against_unknown.setdefault(key, {}).setdefault(cause.id, set()).add(against)
        return out

    def computers(self) -> list[str]:
        return list(self._hits)

    def export(self) -> CorrelatorState:
        """Everything ``add`` accumulated, for another process (a worker that analysed a range of a log)."""
        return CorrelatorState(
            matches=self.matches,
            names=dict(self.names),
            hits={key: {cid: {eid: hit.export() for eid, hit in per.items()} for cid, per in causes.items()}
                  for key, causes in self._hits.items()},
            against_hits={key: {cid: {i: hit.export() for i, hit in per.items()} for cid, per in causes.items()}
                          for key, causes in self._against_hits.items()},
            against_unknown={key: {cid: set(found) for cid, found in causes.items()}
                             for key, causes in self._against_unknown.items()},
        )

    def absorb(self, state: CorrelatorState) -> None:
        """Add an exported state of matches that came after everything added so far (in input order).

        The result equals adding those matches one by one: counts add up, first/last and the per-bucket
        spans take the extremes, the kept example events are the first ones, names keep the first spelling.
        """
        self.matches += state.matches
        for key, name in state.names.items():
            self.names.setdefault(key, name)
        for key, causes in state.hits.items():
            mine = self._hits.setdefault(key, {})
            for cid, per in causes.items():
                target = mine.setdefault(cid, {})
                for eid, hit_state in per.items():
                    hit = target.get(eid)
                    if hit is None:
                        bucket = hit_state.bucket_seconds
                        hit = target[eid] = Hit(bucket_seconds=bucket, spans={}) if bucket else Hit()
                    hit.absorb(hit_state, self.kb)
        for key, against_causes in state.against_hits.items():
            mine_against = self._against_hits.setdefault(key, {})
            for cid, against_per in against_causes.items():
                target_against = mine_against.setdefault(cid, {})
                for i, against_state in against_per.items():
                    target_against.setdefault(i, Hit()).absorb(against_state, self.kb)
        for key, unknown in state.against_unknown.items():
            for cid, found in unknown.items():
                self._against_unknown.setdefault(key, {}).setdefault(cid, set()).update(found)

    def diagnose(self, host_facts: HostFactsCollector | Mapping[str, HostFacts] | None = None,
                 stores: Iterable[StoreResult] = ()) -> list[Diagnosis]:
        """All diagnoses, every computer, each computer's list ranked (computers in name order)."""
        facts = dict(host_facts.hosts if isinstance(host_facts, HostFactsCollector) else (host_facts or {}))
        for key, facts_of in facts.items():
            self.names.setdefault(key, facts_of.computer)
        self.store_notes = {}
        by_computer_store = self._assign_stores(list(stores))
        for key, results in by_computer_store.items():
            build = next((r.os_build for r in results if r.os_build), None)
            if build and (key not in facts or facts[key].build is None):
                host = facts[key] = HostFacts(computer=self.names.get(key, key)) if key not in facts else facts[key]
                host.build = build
                self.store_notes.setdefault(key, []).append(
                    f"Windows build {build} taken from the store collection (no EventLog 6009 in the logs)")
        keys = sorted(set(self._hits) | set(by_computer_store), key=lambda k: (self.names.get(k, k), k))
        per_computer: list[list[Diagnosis]] = []
        for key in keys:
            diagnoses = self._diagnose_computer(key, facts.get(key), by_computer_store.get(key, []))
            for d in diagnoses:
                d.notes.extend(self.store_notes.get(key, []))
            per_computer.append(diagnoses)
        self._apply_peers(per_computer)
        out: list[Diagnosis] = []
        for diagnoses in per_computer:
            diagnoses.sort(key=Diagnosis.sort_key)
            out.extend(diagnoses)
        return out

    def _apply_peers(self, per_computer: list[list[Diagnosis]]) -> None:
        """Causes whose ``peers`` look at other computers of the collection: the computer their evidence
        names (the Edge a CMS replication event names) or any other one (a second front end).

        A peer cause that is made there counts as evidence here (or against, with ``against``), with a
        note naming the computer; the evidence is never invented for computers the collection lacks."""
        made: dict[str, list[Diagnosis]] = {}
        for diagnoses in per_computer:
            for d in diagnoses:
                if d.made:
                    made.setdefault(computer_key(d.computer), []).append(d)
        if len(made) < 1 or len({computer_key(ds[0].computer) for ds in per_computer if ds}) < 2:
            return
        for diagnoses in per_computer:
            for d in diagnoses:
                if not d.cause.peers or d.excluded:
                    continue
                me = computer_key(d.computer)
                named = self._named_computers(d, me)
                for peer in d.cause.peers:
                    scope = named if peer.scope == "named" else {k for k in made if k != me}
                    hits = [o for k in sorted(scope) for o in made.get(k, []) if o.cause.id == peer.cause]
                    if not hits:
                        continue
                    other = hits[0]
                    if peer.against:
                        d.score *= 1.0 - peer.weight
                    else:
                        d.score = 1.0 - (1.0 - d.score) * (1.0 - peer.weight)
                        d.weak = False if d.evidence else d.weak
                    how = "proven by its store" if other.store == "proven" else other.confidence
                    d.notes.append(f"{'against' if peer.against else 'for'} (other computer {other.computer}: "
                                   f"{peer.cause}, {how}): {peer.note}")

    def _named_computers(self, d: Diagnosis, me: str) -> set[str]:
        """Keys of the other computers of the collection that this diagnosis's evidence events name."""
        names = {k: v for k, v in self.names.items() if k and k != me}
        if not names:
            return set()
        texts: list[str] = []
        for item in d.evidence:
            for m in item.hit.matches:
                texts.extend(str(v) for v in m.event.data.values())
                if m.event.message:
                    texts.append(m.event.message)
        text = " ".join(texts).casefold()
        out = set()
        for key in names:
            short = key.split(".")[0]
            if re.search(r"(?<![\w.-])" + re.escape(key) + r"(?![\w-])", text) or (
                    len(short) >= 3 and re.search(r"(?<![\w.-])" + re.escape(short) + r"(?:\.|(?![\w-]))", text)):
                out.add(key)
        return out

    def _assign_stores(self, stores: list[StoreResult]) -> dict[str, list[StoreResult]]:
        """Store exports go to the computer they name; an unnamed export in a one-computer collection goes there."""
        known = set(self._hits) | set(self.names)
        out: dict[str, list[StoreResult]] = {}
        for result in stores:
            key = computer_key(result.computer) if result.named else ""
            if key:
                short = key.split(".")[0]
                key = next((name for name in sorted(known) if name == key or name.split(".")[0] == short), key)
            elif len(known) == 1:
                key = next(iter(known))
                self.store_notes.setdefault(key, []).append(
                    f"the store export {result.source} does not name its computer; it was taken to belong to "
                    f"{self.names.get(key) or key}, the only computer in the logs")
            else:
                key = computer_key(result.computer)
            if key not in self.names:
                self.names[key] = result.computer or "(computer not named in the store export)"
            out.setdefault(key, []).append(result)
        return out

    def _diagnose_computer(self, key: str, facts: HostFacts | None, stores: list[StoreResult]) -> list[Diagnosis]:
        name = self.names.get(key, key)
        hits = self._hits.get(key, {})
        findings = [f for s in stores for f in s.findings]
        clean = set().union(*(s.clean_checks for s in stores)) if stores else set()
        results: list[Diagnosis] = []
        for cause in sorted(self.kb.causes.values(), key=lambda c: c.id):
            cause_hits = hits.get(cause.id, {})
            # an info-level note (e.g. a default setting that is a precondition) does not prove a cause
            proofs = [f for f in findings if f.check in cause.proves and f.is_problem]
            related = [f for f in findings if f not in proofs and (f.cause == cause.id or f.check in cause.proves)]
            if not cause_hits and not proofs:
                continue  # findings that merely name a cause (e.g. a setting) do not diagnose it
            d = self._score(name, key, cause, cause_hits)
            d.store_findings = proofs + related
            self._apply_store(d, cause, proofs, related, clean)
            self._apply_windows(d, cause, facts)
            results.append(d)
        self._apply_yields(results)
        results.sort(key=Diagnosis.sort_key)
        return results

    @staticmethod
    def _apply_yields(results: list[Diagnosis]) -> None:
        """A cause that ``yields_to`` others ranks below them when they are diagnosed on the same computer.

        Quorum loss, for one, needs its own evidence: the events it shares with the root-store problem
        (a front end waiting for routing groups) must not put it first when the stores explain them."""
        for d in results:
            leaders = [o for o in results if o.cause.id in d.cause.yields_to and o.made]
            if not leaders or d.excluded:
                continue
            top = max(leaders, key=lambda o: (o.store == "proven", o.score))
            before = d.score
            if top.store == "proven":
                d.score *= YIELD_PROVEN_FACTOR
            d.score = min(d.score, top.score * 0.9)
            if d.score < before:
                d.notes.append(f"ranked below {top.cause.id}" + (" (proven by the stores)" if top.store == "proven"
                                                                 else "") + ": that cause is diagnosed here too and "
                               "explains the shared evidence; this one needs evidence of its own to lead")

    def _score(self, name: str, key: str, cause: Cause, cause_hits: dict[str, Hit]) -> Diagnosis:
        d = Diagnosis(computer=name, cause=cause)
        keep = 1.0
        for ev in cause.evidence:
            hit = cause_hits.get(ev.id)
            if hit is None:
                continue
            weight = ev.weight * (UNKNOWN_FACTOR if hit.unknown_only else 1.0)
            keep *= 1.0 - weight
            d.evidence.append(EvidenceItem(ev, hit, weight))
            if hit.unknown_only:
                d.notes.append(f"evidence '{ev.id}' counted at half weight: its field conditions cannot be "
                               "checked on this input (text export without data fields)")
        for combo in cause.combinations:
            lists = [cause_hits[i].times if i in cause_hits else [] for i in combo.all]
            window = _min_window(lists)
            if window and window[1] - window[0] <= combo.within:
                keep *= 1.0 - combo.weight
                d.combinations.append(FiredCombination(combo, window[0], window[1]))
        score = 1.0 - keep if d.evidence else 0.0
        ag_hits = self._against_hits.get(key, {}).get(cause.id, {})
        for i, ag in enumerate(cause.against):
            if ag.event and i in ag_hits:
                score *= 1.0 - ag.weight
                d.against.append(AppliedAgainst(ag, ag_hits[i]))
            elif ag.event and i in self._against_unknown.get(key, {}).get(cause.id, set()):
                d.notes.append(f"not applied (fields unknown on this input): against '{ag.note}'")
        d.score = score
        # generic evidence alone is weak, unless a combination of it fired: co-occurrence is what the
        # combinations encode as discriminating (the S40 picture of signature-algorithm-tls12)
        d.weak = (bool(d.evidence) and all(i.evidence.role == "generic" for i in d.evidence)
                  and not d.combinations)
        return d

    @staticmethod
    def _apply_store(d: Diagnosis, cause: Cause, proofs: list[StoreFinding], related: list[StoreFinding],
                     clean: set[str]) -> None:
        if proofs:
            found_only = not d.evidence
            d.score = max(PROVEN_FLOOR, 1.0 - (1.0 - d.score) * (1.0 - PROVEN_FLOOR))
            d.weak = False
            d.store = "proven"
            checks = ", ".join(sorted({f.check for f in proofs}))
            d.notes.insert(0, ("found in the stores (no matching events): " if found_only else
                               "proven by store: ") + f"check(s) {checks} found the problem")
            return
        if related:
            d.notes.append("related store findings (shown, not scored): "
                           + ", ".join(sorted({f.check for f in related})))
        ran_clean = sorted(set(cause.rules_out_when_clean) & clean)
        if ran_clean:
            d.score *= RULED_OUT_FACTOR
            d.store = "ruled_out"
            d.notes.insert(0, f"ruled out by store: check(s) {', '.join(ran_clean)} ran on this computer's "
                              "store export and found nothing")

    @staticmethod
    def _apply_windows(d: Diagnosis, cause: Cause, facts: HostFacts | None) -> None:
        build = facts.build if facts else None
        if build is None:
            if cause.windows and (cause.windows.min_build or cause.windows.max_build):
                d.notes.append("Windows build unknown (no EventLog 6009 in the logs): the cause's Windows "
                               "range could not be checked")
            return
        if cause.windows and not cause.windows.contains(build):
            note = f" ({cause.windows.note})" if cause.windows.note else ""
            d.excluded = (f"does not apply to {facts.windows_name if facts else build}: the cause needs build "
                          f"{_range_text(cause.windows.min_build, cause.windows.max_build)}{note}")
            return
        for ag in cause.against:
            if ag.windows and ag.windows.contains(build):
                d.score *= 1.0 - ag.weight
                d.against.append(AppliedAgainst(ag, None))


def _range_text(lo: int | None, hi: int | None) -> str:
    if lo is not None and hi is not None:
        return f"{lo}-{hi}"
    if lo is not None:
        return f">= {lo}"
    return f"<= {hi}" if hi is not None else "any"

