"""``read_events``: every event of every input, with a FileReport per file.

One loop over the discovered inputs hands each to the reader for its kind.
Nothing a reader meets ends the run: an unusable file becomes a FileReport
with ``error``, partial damage becomes ``Loss`` entries, and the next file is
read. Store inputs (reg, hive, storejson, cert) are listed with their form so
the summary shows them, and left to the ``stores`` package.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from tlsdiag.errors import InputError
from tlsdiag.inputs.discover import InputFile, discover
from tlsdiag.inputs.evtxfile import (
    CHUNK_MAGIC,
    FILE_HEADER_SIZE,
    PARSERS,
    FileHeader,
    chunk_slot_loss,
    iter_chunks,
    parse_file_header,
)
from tlsdiag.inputs.textread import read_text
from tlsdiag.inputs.xmlread import read_xml
from tlsdiag.model import Event, FileReport, Loss, ReadSummary

EVENT_KINDS = ("evtx", "xml", "text")
BACKENDS = tuple(PARSERS)

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
    files: int = 0
    per_file: dict[str, dict[str, int]] = field(default_factory=dict)

    def line(self) -> str:
        return (f"{self.files} file(s), {self.bytes_read / 1e6:.1f} MB read, chunks: {self.chunks_total} total, "
                f"{self.chunks_parsed} parsed, {self.chunks_skipped} skipped by prefilter, "
                f"{self.chunks_damaged} damaged; {self.records_parsed} record(s) parsed")


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
) -> Iterator[Event]:
    """Events of all inputs in input order (EVTX: chunk and record order).

    ``progress(done_bytes, total_bytes)`` is called as input is consumed.
    ``prefilter(raw_chunk) -> bool`` may skip EVTX chunks that cannot hold an
    event of interest; skipped chunks are counted in ``stats``, not as losses.
    """
    if backend not in PARSERS:
        raise ValueError(f"unknown backend {backend!r} (choose from {', '.join(BACKENDS)})")
    inputs = resolve_inputs(paths_or_inputs)
    stats = stats if stats is not None else ReadStats()
    total = sum(i.size for i in inputs if i.kind in EVENT_KINDS and not i.problem)
    meter = _Progress(progress, total, stats)
    for inp in inputs:
        form = inp.kind if not (inp.problem and inp.is_archive_member) else "zip"
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
                events = _read_evtx(inp, report, backend, meter, prefilter, stats)
            elif inp.kind == "xml":
                events = _read_stream(inp, report, read_xml)
            else:
                events = _read_stream(inp, report, read_text)
            for event in events:
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
               prefilter: ChunkFilter | None, stats: ReadStats) -> Iterator[Event]:
    parse = PARSERS[backend]
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
        for chunk in iter_chunks(fh):
            slots += 1
            meter.add(len(chunk.data))
            stats.chunks_total += 1
            loss = chunk_slot_loss(chunk, source, header.chunk_count)
            if loss is not None:
                stats.chunks_damaged += 1
                report.lost.append(loss)
                continue
            if chunk.state == "zero":
                zeroed.append(chunk.index)
            if not chunk.parseable:
                continue
            for index in zeroed:
                report.lost.append(Loss(source, f"chunk {index}", "chunk is zero-filled between chunks that hold "
                                        "records (overwritten or never written)", None))
            zeroed.clear()
            if prefilter is not None and not prefilter(chunk.data):
                stats.chunks_skipped += 1
                continue
            stats.chunks_parsed += 1
            result = parse(chunk, source)
            stats.records_parsed += result.parsed
            if result.losses:
                stats.chunks_damaged += 1
                report.lost.extend(result.losses)
            if chunk.header_ok and chunk.declared:
                last_id = max(last_id, chunk.last_id)
            for event in result.events:
                last_id = max(last_id, event.record_id or 0)
            yield from result.events
        if header.chunk_count > slots:
            # a copy cut at a chunk boundary: whole chunks the header counts are not in the file
            first, last = slots, header.chunk_count - 1
            where = f"chunk {first}" if first == last else f"chunks {first}-{last}"
            missing = header.next_record_id - 1 - last_id if header.checksum_ok and last_id else 0
            trust = "" if header.checksum_ok else " (file header checksum fails, so the count may be wrong)"
            report.lost.append(Loss(source, where, f"file ends before chunk {first}; the file header counts "
                                    f"{header.chunk_count} chunk(s){trust}", missing if missing > 0 else None))


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
