"""``read_events``: every event of every input, with a FileReport per file.

One loop over the discovered inputs hands each to the reader for its kind.
Nothing a reader meets ends the run: an unusable file becomes a FileReport
with ``error``, partial damage becomes ``Loss`` entries, and the next file is
read. Store inputs (reg, hive, storejson, cert) are listed with their form so
the summary shows them, and left to the ``stores`` package.
"""

from __future__ import annotations

import logging
import operator
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Protocol

from tlsdiag.errors import InputError
from tlsdiag.inputs.discover import InputFile, discover
from tlsdiag.inputs.evtxfile import (
    CHUNK_MAGIC,
    CHUNK_SIZE,
    FILE_HEADER_SIZE,
    PARSERS,
    ChunkMeta,
    FileHeader,
    RangeResult,
    parse_file_header,
    scan_file,
)
from tlsdiag.inputs.options import ReadOptions
from tlsdiag.inputs.prefilter import ChunkPrefilter
from tlsdiag.inputs.readerstate import ReaderState
from tlsdiag.model import EVENT_KINDS, Event, FileReport, InputKind, Loss, ReadSummary

BACKENDS = tuple(PARSERS)
_LOG = logging.getLogger(__name__)

Progress = Callable[[int, int], None]
ChunkFilter = Callable[[bytes], bool]


@dataclass
class ReadStats:
    """Where the reading time went (``tlsdiag scan --stats``)."""

    bytes_read: int = 0
    chunks_total: int = 0
    chunks_skipped: int = 0  # skipped by the prefilter: cannot hold a wanted event (not lost)
    chunks_parsed: int = 0
    chunks_damaged: int = 0
    records_parsed: int = 0
    records_skipped: int = 0  # in parsed chunks, records of providers (or ids) the prefilter does not want
    chunks_remote: int = 0  # chunk slots read and analysed by worker processes
    chunks_skipped_by_records: int = 0  # of chunks_skipped: a wanted name in the bytes, no wanted record in BinXML
    fast_path_failures: int = 0  # shortcuts that failed (logged) and were replaced by the plain path
    files: int = 0
    per_file: dict[str, dict[str, int]] = field(default_factory=dict)

    def line(self) -> str:
        return (f"{self.files} file(s), {self.bytes_read / 1e6:.1f} MB read, chunks: {self.chunks_total} total, "
                f"{self.chunks_parsed} parsed, {self.chunks_skipped} skipped by prefilter, "
                f"{self.chunks_damaged} damaged; {self.records_parsed} record(s) parsed, "
                f"{self.records_skipped} of them skipped by prefilter"
                + (f"; {self.chunks_skipped_by_records} of the skipped chunk(s) held a wanted provider name but no "
                   "wanted record" if self.chunks_skipped_by_records else "")
                + (f"; {self.fast_path_failures} shortcut failure(s), logged" if self.fast_path_failures else "")
                + (f"; {self.chunks_remote} chunk(s) analysed in worker processes" if self.chunks_remote else ""))


class RangeDigest(Protocol):
    """What worker processes do with the events of a chunk range, and how the result comes back.

    ``digest(events, keep) -> payload`` runs in a worker and reads ``events`` to its end (the digest is
    pickled to get there); ``absorb(payload)`` runs in the reading process, in stream order, and returns
    False when the payload cannot be used (the range is then read again here). ``budget()`` says how
    many matches the next range should send back in full; it is passed to the worker as ``keep``.
    """

    def __call__(self, events: Iterator[Event], keep: int) -> Any: ...

    def absorb(self, payload: Any) -> bool: ...

    def budget(self) -> int: ...


@dataclass
class Digested:
    """What a worker made of the events of one chunk range (``read_events(digest=...)``), in their place.

    ``payload`` is the digest's result; ``count``/``first``/``last`` describe the
    events it saw (already counted in the file's report). ``replay()`` reads the
    same range again in this process and yields its events, for a consumer that
    cannot use the payload.
    """

    source: str
    start: int
    stop: int
    payload: Any
    count: int
    replay: Callable[[], Iterator[Event]]
    max_record_id: int = 0
    first: datetime | None = None
    last: datetime | None = None
    replayed: bool = False  # set when the consumer read the range again instead of using the payload

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["replay"] = _no_replay  # the replay is a closure of the receiving process
        return state


def resolve_inputs(paths_or_inputs: Iterable[str | os.PathLike[str] | InputFile]) -> list[InputFile]:
    """InputFiles as given, paths discovered (a missing path raises InputError)."""
    out: list[InputFile] = []
    for item in paths_or_inputs:
        if isinstance(item, InputFile):
            out.append(item)
        else:
            out.extend(discover([item]))
    return out


class _Progress:
    def __init__(self, callback: Progress | None, total: int, stats: ReadStats) -> None:
        self.callback = callback
        self.total = total
        self.done = 0
        self.stats = stats

    def add(self, n: int) -> None:
        self.done += n
        self.stats.bytes_read += n
        if self.callback:
            self.callback(self.done, self.total)


def read_events(
    paths_or_inputs: Iterable[str | os.PathLike[str] | InputFile],
    *,
    summary: ReadSummary,
    backend: str = "rust",
    progress: Progress | None = None,
    prefilter: ChunkFilter | None = None,
    stats: ReadStats | None = None,
    workers: int | None = None,
    digest: RangeDigest | None = None,
    options: ReadOptions | None = None,
) -> Iterator[Event]:
    """Events of all inputs in input order (EVTX: chunk and record order).

    ``progress(done_bytes, total_bytes)`` is called as input is consumed.
    ``prefilter(raw_chunk) -> bool`` may skip EVTX chunks that cannot hold an
    event of interest; skipped chunks are counted in ``stats``, not as losses.
    A ``ChunkPrefilter`` (``chunk_prefilter(names)``) also skips, inside parsed
    chunks, records of other providers or event ids (``stats.records_skipped``).
    ``options`` (default: ``ReadOptions.from_environment()``, decided here once
    per call) says what the platform offers and how many workers to use;
    ``workers``, when given, overrides its count. The workers count also sets
    the threads that triage EVTX blocks ahead of the parser.

    ``digest`` (a ``RangeDigest``) lets worker processes take over large
    on-disk EVTX files whose chunks mostly have to be parsed: once a stretch
    read here proves dense, the rest of the file is read in chunk ranges by
    ``workers`` processes, each range's events are given to the digest there,
    and its result is handed to ``digest.absorb`` here, in stream order (all
    events before it have been yielded). When ``absorb`` declines, the range
    is read again here and its events are yielded. Either way only Events
    come out of this iterator.
    """
    if backend not in PARSERS:
        raise ValueError(f"unknown backend {backend!r} (choose from {', '.join(BACKENDS)})")
    inputs = resolve_inputs(paths_or_inputs)
    stats = stats if stats is not None else ReadStats()
    total = sum(i.size for i in inputs if i.kind in EVENT_KINDS and not i.problem)
    meter = _Progress(progress, total, stats)
    options = options or ReadOptions.from_environment()
    if workers is not None:
        options = replace(options, workers=workers)
    # this call's memos and buffers (``readerstate``): what it gives depends on its inputs alone, and
    # what it learned is dropped when it ends
    pool = _Pool(options, digest, ReaderState(options))
    try:
        yield from _read_all(inputs, summary, backend, meter, prefilter, stats, pool)
    finally:
        pool.close()
        stats.fast_path_failures += pool.failures


def _read_all(inputs: list[InputFile], summary: ReadSummary, backend: str, meter: _Progress,
              prefilter: ChunkFilter | None, stats: ReadStats, pool: _Pool) -> Iterator[Event]:
    for inp in inputs:
        form: InputKind = inp.kind if not (inp.problem and inp.is_archive_member) else "zip"
        report = summary.add(FileReport(inp.display, form=form, size=inp.size))
        if inp.problem:
            report.error = inp.problem
            continue
        kind = inp.kind
        if kind == "unknown":
            why = unrecognised(inp)
            if why == "evtx":
                kind = report.form = "evtx"  # EVTX chunks behind a damaged file header: read them
            elif why:
                report.error = why
        if kind not in EVENT_KINDS:
            continue
        stats.files += 1
        before = meter.done
        try:
            if kind == "evtx":
                events = _read_evtx(inp, report, backend, meter, prefilter, stats, pool)
            elif inp.kind == "xml":
                from tlsdiag.inputs.xmlread import read_xml  # lxml is loaded only when XML is read

                events = _read_stream(inp, report, read_xml)
            elif inp.kind == "export":
                from tlsdiag.inputs.pasteread import read_export  # XML view, PowerShell and SIEM exports

                events = _read_stream(inp, report, read_export)
            else:
                from tlsdiag.inputs.textread import read_text

                events = _read_stream(inp, report, read_text)
            for event in events:
                if type(event) is Digested:
                    report.records += event.count
                    if event.first is not None:
                        report.saw(event.first)
                        report.saw(event.last)
                    if pool.digest is None or not pool.digest.absorb(event.payload):
                        yield from event.replay()  # already counted in the report
                    continue
                report.records += 1
                report.saw(event.timestamp)
                yield event
        except Exception as exc:
            # zip CRC errors, I/O errors, decoder failures: the file stops here, the run goes on
            report.lost.append(_loss_here(report, exc))
        if kind != "evtx":
            meter.add(inp.size)
        else:
            meter.add(max(0, inp.size - (meter.done - before)))  # account bytes not read (errors)


def _loss_here(report: FileReport, exc: BaseException) -> Loss:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return Loss(report.source, "file", f"reading stopped: {text}", None)


def _read_stream(inp: InputFile, report: FileReport, reader) -> Iterator[Event]:
    with inp.open() as fh:
        yield from reader(fh, inp.display, report)


def _read_evtx(inp: InputFile, report: FileReport, backend: str, meter: _Progress,
               prefilter: ChunkFilter | None, stats: ReadStats, pool: _Pool | None = None) -> Iterator[Event]:
    source = inp.display
    with inp.open() as fh:
        head = fh.read(FILE_HEADER_SIZE)
        meter.add(len(head))
        if len(head) < FILE_HEADER_SIZE:
            report.error = f"file ends inside the EVTX file header ({len(head)} of {FILE_HEADER_SIZE} bytes)"
            return
        try:
            header = parse_file_header(head)
        except ValueError as exc:
            if fh.read(len(CHUNK_MAGIC)) != CHUNK_MAGIC:
                report.error = str(exc)
                return
            fh.seek(FILE_HEADER_SIZE)
            header = FileHeader(0, 0, 0, False, (0, 0))
            report.lost.append(Loss(source, "file header", f"{exc}: file header damaged; chunks read without it",
                                    0))
        slots = 0
        last_id = 0
        zeroed: list[int] = []  # zero slots beyond the header's count: unused, unless records follow
        if pool is not None and pool.eligible(inp, prefilter):
            outcomes = pool.outcomes(inp, header.chunk_count, backend, prefilter)
        else:
            threads = pool.workers if pool is not None else 1
            outcomes = scan_file(fh, source, header.chunk_count, backend, prefilter, threads=threads,
                                 options=pool.options if pool is not None else None,
                                 state=pool.state if pool is not None else None)
        per_file = stats.per_file.setdefault(source, {"chunks": 0, "skipped": 0, "parsed": 0, "records": 0})
        for meta, out in outcomes:
            if meta is None:  # a worker's digest of the range whose slots were just accounted
                last_id = max(last_id, out.max_record_id)
                yield out
                if not out.replayed:
                    stats.chunks_remote += out.stop - out.start
                continue
            slots += out.chunks_total  # a run of clean skips comes as one outcome
            meter.add(out.bytes_read)
            stats.chunks_total += out.chunks_total
            per_file["chunks"] += out.chunks_total
            if meta.slot_lost:
                stats.chunks_damaged += 1
                report.lost.extend(out.losses)
                continue
            if meta.state == "zero":
                zeroed.append(meta.index)
            if not meta.parseable:
                continue
            for index in zeroed:
                report.lost.append(Loss(source, f"chunk {index}", "chunk is zero-filled between chunks that hold "
                                        "records (overwritten or never written)", None))
            zeroed.clear()
            stats.fast_path_failures += out.fast_path_failures
            if out.chunks_skipped:
                stats.chunks_skipped += out.chunks_skipped
                stats.chunks_skipped_by_records += out.chunks_skipped_by_records
                per_file["skipped"] += out.chunks_skipped
                continue
            stats.chunks_parsed += 1
            stats.records_parsed += out.records_parsed
            stats.records_skipped += out.records_skipped
            per_file["parsed"] += 1
            per_file["records"] += out.records_parsed
            if out.losses:
                stats.chunks_damaged += 1
                report.lost.extend(out.losses)
            if meta.header_ok and meta.declared:
                last_id = max(last_id, meta.last_id)
            for event in out.events:
                last_id = max(last_id, event.record_id or 0)
            yield from out.events
        if header.chunk_count > slots:
            # a copy cut at a chunk boundary: whole chunks the header counts are not in the file
            first, last = slots, header.chunk_count - 1
            where = f"chunk {first}" if first == last else f"chunks {first}-{last}"
            missing = header.next_record_id - 1 - last_id if header.checksum_ok and last_id else 0
            trust = "" if header.checksum_ok else " (file header checksum fails, so the count may be wrong)"
            report.lost.append(Loss(source, where, f"file ends before chunk {first}; the file header counts "
                                    f"{header.chunk_count} chunk(s){trust}", missing if missing > 0 else None))


_WORKER_DIGEST: Any = None
_WORKER_STATE: ReaderState | None = None  # a worker's memos, kept from range to range for the worker's life


def _init_worker(digest: Any, options: ReadOptions) -> None:
    global _WORKER_DIGEST, _WORKER_STATE
    _WORKER_DIGEST = digest
    # A worker lives only as long as the pool of one read_events call, so its memos end with that read too.
    _WORKER_STATE = ReaderState(options)
    import gc

    # What the worker inherited (a forked copy of this process) lives until it exits: keep the collector
    # off it (no copy-on-write of those pages, no rescans), and collect the young generation less often:
    # a worker makes and drops hundreds of thousands of small objects per range.
    gc.freeze()
    gc.set_threshold(50_000, 50, 100)


def digest_range(path: str, source: str, start: int, stop: int, header_count: int, backend: str,
                 prefilter: Any, keep: int, options: ReadOptions) -> tuple[list[tuple[ChunkMeta, RangeResult]], Digested]:
    """Worker-process entry: read slots [start, stop), give their events to the digest, return the accounting.

    Each chunk's events go to the digest as soon as the chunk is parsed, while they are still in the
    processor's caches, and are dropped from its result (the accounting is all the caller needs).
    """
    items: list[tuple[ChunkMeta, RangeResult]] = []
    seen = _Seen()

    def events() -> Iterator[Event]:
        with open(path, "rb") as fh:
            fh.seek(FILE_HEADER_SIZE + start * CHUNK_SIZE)
            for meta, result in scan_file(fh, source, header_count, backend, prefilter, start, stop,
                                          options=options, state=_WORKER_STATE):
                items.append((meta, result))
                batch, result.events = result.events, []
                if batch:
                    seen.add(batch)
                    yield from batch

    stream = events()
    payload = _WORKER_DIGEST(stream, keep)
    if next(stream, None) is not None:
        raise RuntimeError("the digest left events of the range unread")
    digested = Digested(source, start, stop, payload, seen.count, _no_replay, seen.max_record_id, seen.first,
                        seen.last)
    return items, digested


_RECORD_ID, _TIME = operator.attrgetter("record_id"), operator.attrgetter("timestamp")


class _Seen:
    """Count, highest record id and time span of a range's events, a chunk at a time (C-level loops)."""

    def __init__(self) -> None:
        self.count = self.max_record_id = 0
        self.first: datetime | None = None
        self.last: datetime | None = None

    def add(self, events: list[Event]) -> None:
        self.count += len(events)
        self.max_record_id = max(self.max_record_id, max(filter(None, map(_RECORD_ID, events)), default=0))
        first, last = min(map(_TIME, events)), max(map(_TIME, events))
        self.first = first if self.first is None else min(self.first, first)
        self.last = last if self.last is None else max(self.last, last)


def _no_replay() -> Iterator[Event]:
    return iter(())


class _Pool:
    """Worker processes that analyse chunk ranges of large on-disk EVTX files; results in order.

    Used only with a digest, and only for a file where most chunks must be
    parsed: parsing the rest of such a file is then the bulk of the work, and a
    worker hands back a small digest instead of every event (shipping events
    between processes costs more than making them). Files whose chunks the
    prefilter mostly skips are read in this process, where triage threads
    already use the other cores.
    """

    def __init__(self, options: ReadOptions, digest: RangeDigest | None = None,
                 state: ReaderState | None = None) -> None:
        self.options = options
        self.workers = options.workers
        self.digest = digest
        self.state = state or ReaderState(options)  # the memos of what this process reads
        self._executor: Any = None
        self._broken = False
        self._replayed: set[str] = set()  # files whose worker results the consumer had to read again
        self.failures = 0  # worker failures taken over by this process (logged)

    def eligible(self, inp: InputFile, prefilter: ChunkFilter | None) -> bool:
        if self.digest is None or self.workers < 2 or inp.is_archive_member or inp.size < self.options.parallel_min_bytes:
            return False
        return prefilter is None or isinstance(prefilter, ChunkPrefilter)

    def _pool(self) -> Any:
        if self._executor is None:
            import multiprocessing
            import threading
            from concurrent.futures import ProcessPoolExecutor

            ctx = multiprocessing.get_context(self.options.start_method(threading.active_count() > 1))
            self._executor = ProcessPoolExecutor(max_workers=self.workers, mp_context=ctx,
                                                 initializer=_init_worker, initargs=(self.digest, self.options))
        return self._executor

    def outcomes(self, inp: InputFile, header_count: int, backend: str,
                 prefilter: ChunkFilter | None) -> Iterator[tuple[ChunkMeta | None, Any]]:
        """Slots read here until a stretch of them is dense; from there on, ranges go to workers."""
        path, source = str(inp.path), inp.display
        slots = -(-(max(inp.size - FILE_HEADER_SIZE, 0)) // CHUNK_SIZE)
        window_start = next_slot = parsed = parsed_chunks = 0
        options = self.options
        stretch = options.probe_chunks
        dense = False
        with open(path, "rb") as fh:
            fh.seek(FILE_HEADER_SIZE)  # slot 0: where a streamed read (no mapping, no preadv) starts
            outcomes = scan_file(fh, source, header_count, backend, prefilter, threads=self.workers,
                                 options=options, state=self.state)
            for meta, out in outcomes:
                yield meta, out
                next_slot = meta.index + out.chunks_total
                parsed += out.records_parsed  # parsing is the work (records skipped after parsing cost it too)
                parsed_chunks += out.chunks_parsed
                if next_slot - window_start >= stretch:
                    slots_here = next_slot - window_start
                    if (parsed >= options.dense_records_per_chunk * slots_here
                            and parsed_chunks >= options.dense_chunk_share * slots_here and not self._broken):
                        dense = True
                        break
                    window_start, parsed, parsed_chunks, stretch = next_slot, 0, 0, options.segment_chunks
            outcomes.close()  # stops the triage threads of the part not read here
        if dense and next_slot < slots:
            yield from self._remote(path, source, next_slot, slots, header_count, backend, prefilter)

    def _remote(self, path: str, source: str, start: int, slots: int, header_count: int, backend: str,
                prefilter: ChunkFilter | None) -> Iterator[tuple[ChunkMeta | None, Any]]:
        task = self.options.task_chunks
        ranges = deque((a, min(a + task, slots)) for a in range(start, slots, task))
        pending: deque[tuple[tuple[int, int], Any]] = deque()
        digest = self.digest
        if digest is None:  # eligible() sends a file here only with a digest
            raise ValueError("worker ranges need a digest")
        try:
            executor = self._pool()
        except Exception as exc:  # worker processes cannot start here: read the file in this process
            self._failed("worker processes cannot start", exc)
            executor = None
        while ranges or pending:
            while (ranges and len(pending) < 2 * self.workers and executor is not None and not self._broken
                   and path not in self._replayed):
                a, b = ranges[0]
                try:
                    future = executor.submit(digest_range, path, source, a, b, header_count, backend, prefilter,
                                             digest.budget(), self.options)
                except Exception as exc:  # the pool broke (e.g. a worker could not start): the rest is read here
                    self._failed("the worker pool broke", exc)
                    self._broken = True
                    break
                ranges.popleft()
                pending.append(((a, b), future))
            if not pending:
                break
            (a, b), future = pending.popleft()
            try:
                items, digested = future.result()
            except Exception as exc:  # a worker died (killed, out of memory): read that range here instead
                self._failed(f"a worker failed on {source} chunks {a}-{b - 1}", exc)
                yield from self._local(path, source, a, b, header_count, backend, prefilter)
                continue
            digested.replay = self._replayer(digested, path, header_count, backend, prefilter)
            yield from items
            yield None, digested
        if ranges:
            yield from self._local(path, source, ranges[0][0], slots, header_count, backend, prefilter)

    def _replayer(self, digested: Digested, path: str, header_count: int, backend: str,
                  prefilter: ChunkFilter | None) -> Callable[[], Iterator[Event]]:
        def replay() -> Iterator[Event]:
            # The consumer could not use the worker's result (a record it had seen in another input, say):
            # the rest of this file is read here, where such records are recognised as they come.
            digested.replayed = True
            self._replayed.add(path)
            for _meta, out in self._local(path, digested.source, digested.start, digested.stop, header_count,
                                          backend, prefilter):
                yield from out.events

        return replay

    def _local(self, path: str, source: str, start: int, stop: int, header_count: int, backend: str,
               prefilter: ChunkFilter | None) -> Iterator[tuple[ChunkMeta, RangeResult]]:
        with open(path, "rb") as fh:
            fh.seek(FILE_HEADER_SIZE + start * CHUNK_SIZE)
            yield from scan_file(fh, source, header_count, backend, prefilter, start, stop, threads=self.workers,
                                 options=self.options, state=self.state)

    def _failed(self, what: str, exc: BaseException) -> None:
        """A worker-side failure: logged and counted (``fast_path_failures``); the work is done here instead."""
        self.failures += 1
        _LOG.warning("%s (read in this process instead): %s: %s", what, type(exc).__name__, exc)

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None


def unrecognised(inp: InputFile) -> str | None:
    """For an input of unknown kind: "evtx" when EVTX chunks follow a damaged file header,
    a reason when it is named like an event log (so it is never dropped silently), else None."""
    if inp.problem:
        return inp.problem
    try:
        with inp.open() as fh:
            head = fh.read(FILE_HEADER_SIZE + len(CHUNK_MAGIC))
    except Exception as exc:
        return f"cannot read: {' '.join(str(exc).split()) or type(exc).__name__}"
    if head[FILE_HEADER_SIZE:] == CHUNK_MAGIC:
        return "evtx"
    if inp.display.lower().endswith((".evtx", ".evt")):
        if not head:
            return "empty file"
        return "named like an event log but not one (no EVTX, event XML or Event Viewer text signature)"
    return None


def is_event_input(inp: InputFile) -> bool:
    """Inputs ``read_events`` must see: event logs, refused files, and damaged or empty logs."""
    return inp.kind in EVENT_KINDS or bool(inp.problem) or (inp.kind == "unknown" and unrecognised(inp) is not None)


def require_usable(summary: ReadSummary) -> None:
    """Raise InputError when no input gave anything to read (CLI exit 2)."""
    usable = [f for f in summary.files if f.form in EVENT_KINDS and not f.error]
    if usable:
        return
    if not summary.files:
        raise InputError("(inputs)", "no files found")
    bad = next((f for f in summary.files if f.error), None)
    if bad is not None:
        raise InputError(bad.source, bad.error or "unusable")
    first = summary.files[0]
    raise InputError(first.source, f"not an event log (EVTX, event XML export or Event Viewer text); "
                     f"recognised as {first.form}")
