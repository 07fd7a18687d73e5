"""The one pipeline the CLI and the TUI share: inputs -> events -> matches -> diagnoses (+ store findings).

Views never parse files: they call ``run_scan`` and show the ``ScanResult``.
The scan streams: events are matched and correlated one at a time and only the
matches are kept, so memory follows the number of matches, not the input size.
A TUI runs ``run_scan`` in a worker and passes ``on_match`` to see each match as
it arrives (feeding its own ``Correlator`` gives preliminary diagnoses mid-scan);
``progress`` reports bytes, so one large file does not look hung.
"""

from __future__ import annotations

import gc
import hashlib
import os
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tlsdiag.errors import InputError
from tlsdiag.kb import KnowledgeBase, load_kb
from tlsdiag.kb.model import CatalogEvent
from tlsdiag.match import (
    HOST_FACT_EVENT_IDS,
    HOST_FACT_PROVIDERS,
    CatalogIndex,
    Correlator,
    Diagnosis,
    HostFacts,
    HostFactsCollector,
    Match,
)
from tlsdiag.match.catalog import PackedMatches
from tlsdiag.match.conditions import lookup
from tlsdiag.match.diagnose import KEEP_EVENTS, CorrelatorState, Hit, StoreFinding, StoreResult
from tlsdiag.match.hostfacts import computer_key
from tlsdiag.model import STORE_KINDS, Event, EventKind, ReadSummary, event_kind

if TYPE_CHECKING:  # the store package is imported only when a scan has store exports (start-up cost)
    from tlsdiag.stores.load import StoreInput
    from tlsdiag.stores.model import StoreLoss, StoreSnapshot

    StoreSource = str | os.PathLike[str] | StoreInput  # what analyse() takes as a store export

MAX_DEDUP = 2_000_000  # matched events remembered for duplicate detection (about 100 MB at the limit)
RUN_LIMIT = 4096  # events of one shape held before they are counted (memory stays flat on a log of one event)
MAX_KEPT_MATCHES = 20_000  # ScanResult.matches keeps the first ones; counts and diagnoses stay exact

Progress = Callable[[int, int], None]


@dataclass(slots=True)
class ScanStats:
    """Where the time went (``--stats``); timings are not part of the stable JSON output."""

    seconds: float = 0.0
    read_seconds: float = 0.0
    store_seconds: float = 0.0
    events: int = 0  # events that reached the matcher
    matches: int = 0
    matches_kept: int = 0
    duplicates: int = 0  # matched events seen again in another input (same computer, log, record and time)
    dedup_full: bool = False  # more matched events than MAX_DEDUP: later duplicates were not detected
    reader: dict[str, Any] = field(default_factory=dict)  # counters the readers expose (chunks skipped ...)


@dataclass(slots=True)
class StoreAnalysis:
    """One store export's snapshot, its problem findings, and the checks that ran on it and found nothing."""

    snapshot: StoreSnapshot
    findings: list[StoreFinding]
    clean_checks: frozenset[str]


@dataclass(slots=True)
class ScanResult:
    paths: list[str]
    kb: KnowledgeBase
    summary: ReadSummary
    hosts: dict[str, HostFacts]
    diagnoses: list[Diagnosis]
    matches: list[Match]
    stores: list[StoreAnalysis]
    stats: ScanStats
    backend: str = "rust"
    notes: list[str] = field(default_factory=list)

    @property
    def made(self) -> list[Diagnosis]:
        return [d for d in self.diagnoses if d.made]

    @property
    def computers(self) -> list[str]:
        """Computers in report order: those with diagnoses, then the rest of those seen."""
        names: list[str] = []
        for d in self.diagnoses:
            if d.computer not in names:
                names.append(d.computer)
        for facts in sorted(self.hosts.values(), key=lambda h: h.computer.casefold()):
            if facts.computer not in names and facts.computer:
                names.append(facts.computer)
        return names

    def host(self, computer: str) -> HostFacts | None:
        return self.hosts.get(computer_key(computer))

    def diagnoses_for(self, computer: str) -> list[Diagnosis]:
        return [d for d in self.diagnoses if d.computer == computer]

    @property
    def exit_code(self) -> int:
        """0 nothing found, 1 a diagnosis was made."""
        return 1 if self.made else 0


def _discover(paths: Sequence[str | os.PathLike[str]]) -> list[Any]:
    from tlsdiag.inputs import discover

    return discover(paths)


def _read_events(inputs: list[Any], summary: ReadSummary, backend: str, progress: Progress | None,
                 kb: KnowledgeBase | None, reader_stats: Any, digest: Any = None,
                 options: Any = None) -> Iterable[Event]:
    from tlsdiag.inputs import chunk_prefilter, read_events
    from tlsdiag.inputs.options import ReadOptions

    options = options or ReadOptions.from_environment()
    prefilter = (chunk_prefilter(prefilter_names(kb), prefilter_event_ids(kb), engine=options.prefilter_engine)
                 if kb is not None else None)
    return read_events(inputs, summary=summary, backend=backend, progress=progress, stats=reader_stats,
                       prefilter=prefilter, digest=digest, options=options)


def _analyse_stores(inputs: list[StoreSource], summary: ReadSummary | None = None) -> list[StoreAnalysis]:
    """Store snapshots and their findings; ``clean_checks`` are the checks that ran and found nothing.

    Each store file is added to ``summary`` with what was lost in it (a damaged export is a lost file)."""
    if not inputs:
        return []
    from tlsdiag import stores
    from tlsdiag.stores.load import file_reports

    out: list[StoreAnalysis] = []
    failed: list[StoreLoss] = []
    snapshots = stores.load_stores(inputs, failed=failed)
    if summary is not None:
        summary.files.extend(file_reports(inputs, snapshots, failed))
    for snapshot in snapshots:
        findings = list(stores.run_checks(snapshot))
        problems: list[StoreFinding] = [f for f in findings if f.kind == "problem"]
        clean = {f.check for f in findings if f.kind == "clean"} - {f.check for f in problems}
        out.append(StoreAnalysis(snapshot, problems, frozenset(clean)))
    return out


# The collector's notes (``stores.load.is_collection_file``) are .txt and .json files: only such a name is
# asked, because importing the store package loads the certificate library (about 70 ms of a scan's start,
# measured with -X importtime), which a scan of event logs alone never uses.
COLLECTION_NOTE_SUFFIXES = (".txt", ".json")


def _collection_file(display: str) -> bool:
    if not display.lower().endswith(COLLECTION_NOTE_SUFFIXES):
        return False
    from tlsdiag.stores.load import is_collection_file

    return is_collection_file(display)


def _store_results(analyses: list[StoreAnalysis], seen: Iterable[str], notes: list[str]) -> list[StoreResult]:
    """One StoreResult per export, named as the event logs name its computer (the pool join).

    The collectors record the NetBIOS name and the DNS names; the logs carry the DNS name. A named export
    that fits no computer of the logs keeps its own fullest name; one that fits several is not guessed.
    """
    if not analyses:  # no store export: the store package is not even imported
        return []
    from tlsdiag.stores.naming import RecordedName, join_computer

    seen = list(seen)
    out = []
    for a in analyses:
        snap = a.snapshot
        # named: the computer name was read from the export's content, never from its folder
        computer, named = snap.computer or "", snap.named
        source = ", ".join(snap.sources)
        if named:
            recorded = RecordedName(computer, snap.dns_host, snap.dns_domain)
            joined = join_computer(recorded, seen)
            computer = joined.computer or recorded.fqdn
            if joined.rule == "ambiguous":
                notes.append(f"The store collection {source} names {recorded.fqdn}, which fits several computers "
                             f"in the logs ({', '.join(joined.candidates)}); its findings are shown under "
                             f"{recorded.fqdn} alone.")
        out.append(StoreResult(computer, source, tuple(a.findings), a.clean_checks, named, snap.os_build))
        if snap.manifest is not None:
            from tlsdiag.stores.manifest import describe

            head, *rest = describe(snap.manifest)
            notes.append(" ".join([head, "; ".join(line.strip() for line in rest)]).strip())
    return out


def scanned_entries(kb: KnowledgeBase) -> list[CatalogEvent]:
    """The catalog entries a scan matches: those some cause counts as evidence or against it.

    An entry no cause reads (the Service Control Manager events, for one) serves ``explain`` and the
    ``events`` views, but can change no diagnosis; matching it in a scan would only cost reading time
    (real System logs are full of that provider's records, which the prefilter would then have to open).
    """
    used = {e.event for c in kb.causes.values() for e in c.evidence}
    used.update(a.event for c in kb.causes.values() for a in c.against if a.event)
    return [entry for entry in kb.events.values() if entry.id in used]


def prefilter_names(kb: KnowledgeBase) -> list[str]:
    """Provider names whose events the scan needs: the catalog's (with aliases) and the host-fact sources.

    Only providers: every catalog match needs its provider, and a channel name such as ``System`` would let
    every chunk of that log through the readers' byte-level prefilter.
    """
    names = {name for entry in scanned_entries(kb) for name in (entry.provider, *entry.provider_aliases)}
    names.update(HOST_FACT_PROVIDERS)
    return sorted(names, key=str.lower)


def prefilter_event_ids(kb: KnowledgeBase) -> dict[str, frozenset[int]]:
    """Per provider name (and alias), the event ids the scan needs: the catalog's and the host facts'.

    A record of a wanted provider with another id can match no catalog entry and tells the host facts
    nothing, so the reader may skip it before decoding it (it is counted as skipped, not read).
    """
    ids: dict[str, set[int]] = {}
    for entry in scanned_entries(kb):
        for name in (entry.provider, *entry.provider_aliases):
            ids.setdefault(name, set()).add(entry.event_id)
    for name, wanted in HOST_FACT_EVENT_IDS.items():
        ids.setdefault(name, set()).update(wanted)
    return {name: frozenset(found) for name, found in ids.items()}


def run_scan(paths: Sequence[str | os.PathLike[str]], *, backend: str = "rust", progress: Progress | None = None,
             kb: KnowledgeBase | None = None, on_match: Callable[[Match], None] | None = None,
             prefilter: bool = True, options: Any = None) -> ScanResult:
    """Scan event logs and store exports under ``paths``; raises InputError when nothing is usable.

    ``options`` (``inputs.options.ReadOptions``) says how to read; by default the platform's offer and the
    environment's settings, decided once at the start."""
    started = time.perf_counter()
    kb = kb or load_kb()
    names = [str(p) for p in paths]
    inputs = _discover(names)
    from tlsdiag.inputs.read import is_event_input

    # refused archive members and damaged/empty logs too, so the summary names them
    event_inputs = [i for i in inputs if is_event_input(i)]
    store_inputs = [i for i in inputs if i.kind in STORE_KINDS or (_collection_file(i.display) and not i.problem)]
    if not event_inputs and not store_inputs:
        where = names[0] if len(names) == 1 else ", ".join(names)
        kinds = sorted({i.kind for i in inputs})
        detail = f" (found only: {', '.join(kinds)})" if kinds else ""
        raise InputError(where, f"no event logs or certificate-store exports found{detail}")

    from tlsdiag.inputs import ReadStats, require_usable

    summary = ReadSummary()
    reader_stats = ReadStats()
    dedup = len(event_inputs) > 1
    analysis = Analysis(kb, dedup=dedup, on_match=on_match)
    # workers may analyse ranges of big, busy logs themselves, unless every match must be seen here (on_match)
    digest = RangeDigest(kb, dedup, analysis) if on_match is None else None
    events: Iterable[Any] = ()
    if event_inputs:
        events = _read_events(event_inputs, summary, backend, progress, kb if prefilter else None, reader_stats,
                              digest, options)
    result = analyse(events, kb, summary=summary, store_inputs=store_inputs, on_match=on_match, paths=names,
                     backend=backend, dedup=dedup, analysis=analysis)
    if not result.stores:
        require_usable(summary)  # every event file (and store export) unusable: exit 2 with the first reason
    result.stats.reader = {k: v for k, v in vars(reader_stats).items() if isinstance(v, int)}
    result.stats.seconds = time.perf_counter() - started
    return result


def dedup_key(event: Event) -> int:
    """64 bits that name a record (computer, log, provider, id, record id, time), equal in every process.

    (Python's hash of text differs between processes, and workers compute these too; the hash of a
    tuple of numbers does not, so the text part is hashed once per kind of record with blake2b.)
    """
    return _record_key(_kind_key(event.computer, event.channel, event.provider, event.event_id),
                       event.record_id, event.timestamp)


@lru_cache(maxsize=4096)
def _kind_key(computer: str, channel: str, provider: str, event_id: int) -> int:
    text = f"{computer}\x1f{channel}\x1f{provider}\x1f{event_id}"
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=7).digest(), "little")


def _record_key(kind: int, record_id: int | None, timestamp: datetime) -> int:
    # timestamp(): exact to the microsecond for these dates; hash(None) would differ between processes
    return hash((kind, -1 if record_id is None else record_id, timestamp.timestamp()))


@dataclass(slots=True)
class _ShapeMatch:
    """One catalog entry that every event of a shape matches, as ``CatalogIndex.match`` found it for the first."""

    entry: CatalogEvent
    fields: Mapping[str, str] | None  # the fields the match is tested on; None: each event's own data
    complete: bool
    uncertain: bool
    recovered: bool
    targets: list[tuple[Hit, bool]] | None = None  # the correlator's, resolved with the first event that needs them

    def counted(self) -> list[tuple[Hit, bool]]:
        """The targets, which ``Analysis._add`` and ``_flush_run`` resolve before any event of the shape is counted."""
        assert self.targets is not None, "a shape's events are counted only after their first was added"
        return self.targets


class _Shape:
    """What every event equal to the first one in what matching reads gives (see ``Analysis.feed``).

    Equal means: the same computer, log, provider, id, level, message and form, and the same
    values in the data fields that the catalog's and the causes' conditions on its entries read.
    ``found`` holds the fields a match is tested on only when they are not the event's own data
    (a text export's recovered fields); otherwise None, and each event brings its own.
    """

    __slots__ = ("counter", "found", "kind", "pending")

    def __init__(self, counter: Counter[str] | None, kind: int, found: list[_ShapeMatch]) -> None:
        self.counter = counter  # the host's per-channel counter, or None when every event must be observed
        self.kind = kind  # _kind_key of the event
        self.found = found
        # None until every list of kept matches this shape adds to is full; from then on what its events add
        # (counts, first and last, time buckets) does not depend on their order, so their times wait here
        self.pending: list[datetime] | None = None


def _match(event: Event, item: _ShapeMatch) -> Match:
    """The match of ``event`` as one entry of its shape's ``found``."""
    return Match(event, item.entry, event.data if item.fields is None else item.fields, item.complete,
                 item.uncertain, item.recovered)


def _shape_fields(event: Event) -> EventKind:
    """channel, provider, event id, level, computer, message and form (``model.event_kind``)."""
    return event_kind(event)


@dataclass(slots=True)
class AnalysisPart:
    """What a worker's Analysis of one chunk range sends back (``Analysis.export``, ``Analysis.absorb``)."""

    events: int
    matches: int
    duplicates: int
    dedup_full: bool
    keys: list[int]  # dedup keys of its matched records, in order
    kept: PackedMatches  # its first matches, for ScanResult.matches
    correlator: CorrelatorState
    hosts: dict[str, HostFacts]


class Analysis:
    """The per-event half of a scan, fed in input order: events one at a time, or a worker's range at once.

    ``feed`` then ``diagnose`` is the one path every diagnosis takes (the scan, its workers, the signature
    examples and the tests; docs/architecture.md, "One matching path"). A worker runs its own Analysis
    over one chunk range of a large log and exports it; ``absorb`` adds that export here with the same
    result as feeding the range's events one by one (tested), unless a record of the range was already
    seen in another input: then the caller feeds the events instead.
    Events alike in everything matching reads are matched and correlated once (``_shape``), and runs
    of them are counted together (``flush``); ``shortcuts=False`` is the plain reference for both.
    """

    def __init__(self, kb: KnowledgeBase, *, dedup: bool = True, on_match: Callable[[Match], None] | None = None,
                 keep: int | None = None, shortcuts: bool = True) -> None:
        """``shortcuts=False`` takes every event the plain way: the reference the shortcuts are tested against."""
        self.kb = kb
        self.index = CatalogIndex(kb, {entry.id for entry in scanned_entries(kb)})
        self.facts = HostFactsCollector()
        self.correlator = Correlator(kb)
        self.stats = ScanStats()
        self.matches: list[Match] = []
        self.keep = MAX_KEPT_MATCHES if keep is None else keep
        self.dedup = dedup
        self.seen: set[int] = set()
        self.keys: list[int] | None = None  # a worker's analysis lists its dedup keys in order, for export
        self.on_match = on_match
        # by the identity of the data mapping (the reader shares one between repetitions of a record); each
        # entry keeps the mapping itself, so its id is not reused while the entry lives (and a hit is checked
        # with ``is``)
        self._shapes: dict[int, tuple[Mapping[str, str], EventKind, _Shape]] = {}
        self._by_content: dict[tuple[object, ...], _Shape] = {}  # by what matching reads (see _content)
        self._reads: dict[tuple[int, str, str], tuple[str, ...]] = {}
        self._run: list[Event] = []  # consecutive matched events of one shape, not counted yet (see flush)
        self._run_shape: _Shape | None = None
        self._waiting: set[_Shape] = set()  # shapes whose pending times are not counted yet
        # one event in: by its shape (what a scan runs), or on its own (the reference the shapes are tested against)
        self.feed: Callable[[Event], None] = self._feed_shapes if shortcuts else self._feed_plain

    def _content(self, event: Event, fields: EventKind) -> tuple[object, ...] | None:
        """The shape key of an event: its matching-relevant ``fields`` and the values of the data fields that
        any condition on its candidate entries reads, looked up as the conditions look them up."""
        if event.form == "text":  # fields may be recovered from the message: no shortcut
            return None
        trio = (event.event_id, event.channel, event.provider)
        names = self._reads.get(trio)
        if names is None:
            read: set[str] = set()
            for entry in self.index.candidates(event):
                read.update(c.field for c in entry.match)
                read.update(self.correlator.fields_read(entry.id))
            if len(self._reads) >= 65536:  # distinct (id, log, provider) triples are few; bound it anyway
                self._reads.clear()
            names = self._reads[trio] = tuple(sorted(read))
        if len(names) == 1:  # the usual case, and the field is mostly there by its own name
            value = event.data.get(names[0])
            return (*fields, (True, value) if value is not None else lookup(names[0], event, None, True))
        return (*fields, *[lookup(name, event, None, True) for name in names])

    def _shape(self, event: Event) -> _Shape:
        """The shape of an event not seen before by its data mapping: by content, or made the slow way."""
        fields = _shape_fields(event)
        key = self._content(event, fields)
        shape = self._by_content.get(key) if key is not None else None
        if shape is not None:
            if shape.counter is not None:
                shape.counter[event.channel] += 1
            else:
                self.facts.observe(event)
        else:
            self.facts.observe(event)
            counter = None
            if self.facts.repeat_safe(event):
                counter = self.facts.facts(event.computer).channels
            found = [_ShapeMatch(m.entry, None if m.fields is event.data else m.fields, m.complete, m.uncertain,
                                 m.recovered) for m in self.index.match(event)]
            shape = _Shape(counter, _kind_key(event.computer, event.channel, event.provider, event.event_id), found)
            if key is not None:
                if len(self._by_content) >= 4096:
                    self._by_content.clear()
                self._by_content[key] = shape
        if len(self._shapes) >= 4096:
            self._shapes.clear()
        self._shapes[id(event.data)] = (event.data, fields, shape)
        return shape

    def _feed_shapes(self, event: Event) -> None:
        """One event, matched and correlated by its shape (what a scan runs; see the class docstring)."""
        stats = self.stats
        stats.events += 1
        data = event.data
        known = self._shapes.get(id(data))
        if known is None or known[0] is not data or known[1] != _shape_fields(event):
            shape = self._shape(event)  # observes the event too
        else:
            shape = known[2]
            if shape.counter is not None:
                shape.counter[event.channel] += 1
            else:
                self.facts.observe(event)
        found = shape.found
        if not found:
            return
        if self.dedup and self._duplicate(_record_key(shape.kind, event.record_id, event.timestamp)):
            return
        if self.on_match is not None:  # every match is wanted as it comes: no runs
            for match in self._add(event, found):
                self.on_match(match)
            return
        pending = shape.pending
        if pending is not None:
            if not pending:
                self._waiting.add(shape)
            pending.append(event.timestamp)
            if len(pending) >= RUN_LIMIT:
                self._count(shape.found, pending)
                pending.clear()
            return
        if shape is not self._run_shape:
            self._flush_run()
            self._run_shape = shape
        self._run.append(event)
        if len(self._run) >= RUN_LIMIT:
            self._flush_run()

    def _duplicate(self, key: int) -> bool:
        """Whether a matched record (by ``dedup_key``) was counted before, from another input.

        The same record from two inputs (an .evtx and its XML export, a folder and its zip) counts
        once; a 64-bit hash per matched event keeps this small (collisions: ~1e-7 at millions).
        """
        if key in self.seen:
            self.stats.duplicates += 1
            return True
        if len(self.seen) < MAX_DEDUP:
            self.seen.add(key)
            if self.keys is not None:
                self.keys.append(key)
        else:
            self.stats.dedup_full = True
        return False

    def _feed_plain(self, event: Event) -> None:
        """``feed`` without shortcuts: every event observed, matched and correlated on its own."""
        self.stats.events += 1
        self.facts.observe(event)
        found = self.index.match(event)
        if not found or (self.dedup and self._duplicate(dedup_key(event))):
            return
        for match in found:
            self.correlator.add(match)
            self.stats.matches += 1
            if len(self.matches) < self.keep:
                self.matches.append(match)
            if self.on_match is not None:
                self.on_match(match)

    def _add(self, event: Event, found: list[_ShapeMatch]) -> list[Match]:
        """Count one event's matches (``found`` of its shape) in the correlator and the kept matches."""
        out = []
        for item in found:
            match = _match(event, item)
            self.correlator.add_to(match, self._targets(item, event))
            self.stats.matches += 1
            if len(self.matches) < self.keep:
                self.matches.append(match)
            out.append(match)
        return out

    def _targets(self, item: _ShapeMatch, event: Event) -> list[tuple[Hit, bool]]:
        """The correlator targets of a shape's entry, resolved with the first event that needs them."""
        targets = item.targets
        if targets is None:
            targets = item.targets = self.correlator.targets(_match(event, item))
        return targets

    def flush(self) -> None:
        """Count every event not counted yet. Whatever reads the results calls this first."""
        self._flush_run()
        for shape in self._waiting:  # in any order: what waiting events add does not depend on it
            if shape.pending:
                self._count(shape.found, shape.pending)
                shape.pending = []
        self._waiting.clear()

    def _count(self, found: list[_ShapeMatch], times: list[datetime], made: Sequence[list[Match]] = ()) -> None:
        """Count a run of events of one shape at ``times``, ``made`` the Match rows of its first events."""
        for i, item in enumerate(found):
            column = [row[i] for row in made]
            for hit, known in item.counted():
                hit.add_many(times, column, known)
        self.correlator.matches += len(times) * len(found)
        self.stats.matches += len(times) * len(found)

    def _saturate(self, shape: _Shape) -> None:
        """Let a shape's later events wait (``_Shape.pending``) once no list of kept matches has room for them."""
        if len(self.matches) >= self.keep and all(len(hit.matches) >= KEEP_EVENTS
                                                  for item in shape.found for hit, _known in item.counted()):
            shape.pending = []

    def _flush_run(self) -> None:
        """Count the pending run of equal events in the correlator, the counters and the kept matches.

        Consecutive events of one shape (a failure logged again and again) are counted together,
        with the same result as one by one; Match objects are made only for the events that some
        list of kept matches still has room for.
        """
        run, shape = self._run, self._run_shape
        if not run or shape is None:  # a run always has its shape
            return
        found = shape.found
        self._run, self._run_shape = [], None
        if len(run) == 1:
            self._add(run[0], found)
            self._saturate(shape)
            return
        width = len(found)
        room = self.keep - len(self.matches)
        hit_room = 0
        first = run[0]
        for item in found:
            for hit, _known in self._targets(item, first):
                hit_room = max(hit_room, KEEP_EVENTS - len(hit.matches))
        needed = max(hit_room, -(-room // width) if room > 0 else 0)  # events some list of kept matches has room for
        made = [[_match(event, item) for item in found] for event in run[:needed]]
        if room > 0:
            self.matches.extend(islice((m for row in made for m in row), room))
        self._count(found, [event.timestamp for event in run], made)
        self._saturate(shape)

    def diagnose(self, stores: Iterable[StoreResult] = ()) -> list[Diagnosis]:
        """Every computer's ranked diagnoses from the events fed so far and the stores' results."""
        self.flush()
        return self.correlator.diagnose(self.facts, stores)

    def export(self) -> AnalysisPart:
        from tlsdiag.match.catalog import pack_matches

        self.flush()
        return AnalysisPart(self.stats.events, self.stats.matches, self.stats.duplicates, self.stats.dedup_full,
                            self.keys or [], pack_matches(self.matches), self.correlator.export(), self.facts.hosts)

    def absorb(self, part: AnalysisPart) -> bool:
        """Add a worker's export; False (nothing changed) when one of its records was seen before."""
        from tlsdiag.match.catalog import unpack_matches

        self.flush()
        if self.dedup and any(key in self.seen for key in part.keys):
            return False
        for key in part.keys:
            if len(self.seen) < MAX_DEDUP:
                self.seen.add(key)
            else:
                self.stats.dedup_full = True
        stats = self.stats
        stats.events += part.events
        stats.matches += part.matches
        stats.duplicates += part.duplicates
        stats.dedup_full = stats.dedup_full or part.dedup_full
        self.matches.extend(unpack_matches(part.kept, self.kb, max(0, self.keep - len(self.matches))))
        self.correlator.absorb(part.correlator)
        self.facts.absorb(part.hosts)
        self._shapes.clear()  # absorb may have added hosts; shapes are cheap to make again
        self._by_content.clear()
        return True


class RangeDigest:
    """What worker processes do with the events of a chunk range: an Analysis, exported (picklable)."""

    def __init__(self, kb: KnowledgeBase, dedup: bool, analysis: Analysis | None = None) -> None:
        self.kb = kb
        self.dedup = dedup
        self._analysis = analysis  # the receiving side's, for budget(); not sent to workers

    def __getstate__(self) -> dict[str, Any]:
        return {"kb": self.kb, "dedup": self.dedup, "_analysis": None}

    def absorb(self, payload: AnalysisPart) -> bool:
        """Take a worker's result into the receiving side's Analysis (False: read the range here instead)."""
        return self._analysis is not None and self._analysis.absorb(payload)

    def budget(self) -> int:
        """How many matches a worker should send back in full (the rest are only counted)."""
        return max(0, self._analysis.keep - len(self._analysis.matches)) if self._analysis is not None else 0

    def __call__(self, events: Iterable[Event], keep: int | None) -> AnalysisPart:
        analysis = Analysis(self.kb, dedup=self.dedup, keep=keep)
        analysis.keys = []
        for event in events:
            analysis.feed(event)
        return analysis.export()


@contextmanager
def fewer_collections() -> Iterator[None]:
    """Python's cycle collector runs less often while events are read and analysed, then as before.

    Reading makes a few small containers per record (its data mapping, the Event) and keeps few of them,
    and they form no cycles; at the default thresholds the collector still ran every 700 new containers
    and walked the growing heap in full several times per log: 0.4 s of a 2.2 s in-process scan of a
    42 MB log of all-distinct relevant records (the benchmark's ``distinct``). Worker processes set the
    same thresholds (``inputs.read._init_worker``). The setting is process-wide; it is put back after.
    """
    before = gc.get_threshold()
    gc.set_threshold(50_000, 50, 100)
    try:
        yield
    finally:
        gc.set_threshold(*before)


def analyse(events: Iterable[Any], kb: KnowledgeBase, *, summary: ReadSummary | None = None,
            store_inputs: Sequence[StoreSource] = (), on_match: Callable[[Match], None] | None = None,
            paths: Sequence[str] = (), backend: str = "rust", dedup: bool = True,
            analysis: Analysis | None = None) -> ScanResult:
    """Events (already read) and store inputs -> ScanResult. ``run_scan`` is this plus reading.

    ``dedup`` counts a record that arrives twice (same computer, log, provider, id, record and time) once;
    ``run_scan`` turns it off when there is only one event input, where duplicates cannot occur. The
    ``analysis`` may already hold what worker processes analysed (``RangeDigest.absorb``).
    """
    started = time.perf_counter()
    summary = summary if summary is not None else ReadSummary()
    state = analysis or Analysis(kb, dedup=dedup, on_match=on_match)
    feed = state.feed
    with fewer_collections():
        for event in events:
            feed(event)
    state.flush()
    stats = state.stats
    matches = state.matches
    stats.read_seconds = time.perf_counter() - started
    stats.matches_kept = len(matches)
    store_started = time.perf_counter()
    analyses = _analyse_stores(list(store_inputs), summary)
    stats.store_seconds = time.perf_counter() - store_started
    join_notes: list[str] = []
    seen = [h.computer for h in state.facts.hosts.values()] + list(state.correlator.names.values())
    results = _store_results(analyses, seen, join_notes)
    diagnoses = state.diagnose(results)
    stats.seconds = time.perf_counter() - started
    return ScanResult(paths=list(paths), kb=kb, summary=summary, hosts=dict(state.facts.hosts), diagnoses=diagnoses,
                      matches=matches, stores=analyses, stats=stats, backend=backend,
                      notes=_notes(matches, stats.duplicates, stats.dedup_full) + join_notes)


def diagnose_events(events: Iterable[Event], kb: KnowledgeBase, stores: Iterable[StoreResult] = (), *,
                    dedup: bool = False, shortcuts: bool = True) -> list[Diagnosis]:
    """Diagnoses of events already in memory (knowledge-base examples, tests) by the scan's own path.

    ``stores`` are store results made elsewhere. Without ``dedup``, as for one input, every event counts."""
    analysis = Analysis(kb, dedup=dedup, shortcuts=shortcuts)
    for event in events:
        analysis.feed(event)
    return analysis.diagnose(stores)


def _notes(matches: list[Match], duplicates: int = 0, dedup_full: bool = False) -> list[str]:
    notes = []
    if dedup_full:
        notes.append(f"More than {MAX_DEDUP} matched events: records given twice beyond that point were not "
                     "recognised as duplicates, so event counts may be too high (scores are not affected).")
    if duplicates:
        notes.append(f"{duplicates} event(s) appeared in more than one input (the same record from the same "
                     "computer and log at the same time) and were counted once.")
    if any(not m.complete for m in matches):
        notes.append("Some events come from Event Viewer text exports whose messages did not fit the catalog "
                     "template: their data fields are unknown. Evidence that depends on those fields was counted "
                     "at half weight, and 'against' conditions on them were not applied.")
    if any(m.recovered for m in matches):
        notes.append("Data fields of text-exported events were read back from their messages through the "
                     "catalog templates.")
    return notes


def default_paths() -> list[Path]:
    """What ``tlsdiag scan`` with no path scans: the bundled samples."""
    from tlsdiag.resources import samples_dir

    return [samples_dir()]
