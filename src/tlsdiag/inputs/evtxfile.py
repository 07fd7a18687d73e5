"""EVTX at the chunk level: one 64 KiB chunk at a time, damage counted per chunk.

Reading the container ourselves (file header, then every 64 KiB slot up to the
end of the file, not just the header's chunk count) gives three things the
parsers alone do not: dirty files are read completely, a bad chunk costs only
that chunk and is reported as "chunk N" with its record range, and a caller can
decide per chunk from the raw bytes whether to parse it at all (prefilter).

Each chunk is handed to a parser as a minimal valid file: a synthetic file
header that counts one chunk, followed by the chunk.
"""

from __future__ import annotations

import io
import logging
import mmap
import os
import struct
import zlib
from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from itertools import islice
from typing import IO, TYPE_CHECKING, Any, BinaryIO, Literal, TypeAlias, cast

from tlsdiag.inputs.options import Platform, ReadOptions
from tlsdiag.inputs.prefilter import RecordFilter
from tlsdiag.inputs.readerstate import BufferPool, ReaderState
from tlsdiag.model import Event, Loss

if TYPE_CHECKING:
    from tlsdiag.inputs.normalize import RecordMemo

try:  # the same CRC-32 as zlib's, about three times faster where the isal wheel exists
    from isal.isal_zlib import crc32
except ImportError:  # pragma: no cover - depends on the platform's wheels
    from zlib import crc32

FILE_HEADER_SIZE = 4096
CHUNK_SIZE = 65536
CHUNK_HEADER_SIZE = 512
CHUNK_MAGIC = b"ElfChnk\x00"
FILE_MAGIC = b"ElfFile\x00"
MAX_RECORDS_PER_CHUNK = (CHUNK_SIZE - CHUNK_HEADER_SIZE) // 28 + 1
MAX_ERRORS_PER_CHUNK = 64
_LOG = logging.getLogger(__name__)
_NONE64 = 0xFFFFFFFFFFFFFFFF


@dataclass(frozen=True)
class FileHeader:
    chunk_count: int
    next_record_id: int
    flags: int
    checksum_ok: bool
    version: tuple[int, int]

    @property
    def dirty(self) -> bool:
        return bool(self.flags & 0x1)


def parse_file_header(raw: bytes) -> FileHeader:
    """The EVTX file header; ValueError when the magic is missing."""
    if len(raw) < 128 or not raw.startswith(FILE_MAGIC):
        raise ValueError("not an EVTX file (no ElfFile magic)")
    _first, _last, next_id, _hsize, minor, major, _block, count = struct.unpack_from("<QQQIHHHH", raw, 8)
    flags, crc = struct.unpack_from("<II", raw, 120)
    return FileHeader(count, next_id, flags, zlib.crc32(raw[:120]) == crc, (major, minor))


def synthetic_header(chunks: int = 1) -> bytes:
    """A valid file header for a stream of ``chunks`` chunks (what the parsers need)."""
    head = bytearray(FILE_HEADER_SIZE)
    head[0:8] = FILE_MAGIC
    struct.pack_into("<QQQIHHHH", head, 8, 0, max(chunks - 1, 0), 0, 128, 1, 3, FILE_HEADER_SIZE, chunks)
    struct.pack_into("<I", head, 120, 0)
    struct.pack_into("<I", head, 124, zlib.crc32(bytes(head[:120])))
    return bytes(head)


ChunkState: TypeAlias = Literal["ok", "zero", "bad-magic", "truncated"]
"""A chunk slot by its header: starts with the magic, all zero bytes, something else, or cut short."""


@dataclass
class Chunk:
    """One 64 KiB slot of an EVTX file and what its header says."""

    index: int
    offset: int
    data: bytes
    state: ChunkState
    first_id: int = 0
    last_id: int = 0
    first_num: int = 0
    last_num: int = 0

    # The checksums are computed on first use: a chunk the prefilter skips never needs them
    # (its records are not read, so nothing is accounted from its header), which saves two CRC32 passes.
    @cached_property
    def header_ok(self) -> bool:
        """The chunk header's CRC32 (bytes 0-120 and 128-512) matches."""
        data = self.data
        if not (data.startswith(CHUNK_MAGIC) and len(data) >= CHUNK_HEADER_SIZE):
            return False
        return crc32(data[128:512], crc32(data[:120])) == struct.unpack_from("<I", data, 124)[0]

    @cached_property
    def data_ok(self) -> bool:
        """The record data's CRC32 (512 to the free-space offset) matches."""
        return data_crc_ok(self.data)

    @property
    def declared(self) -> int | None:
        """Records the chunk header claims, when its checksum makes that believable."""
        if not self.header_ok:
            return None
        if self.last_num == _NONE64 or self.first_id == _NONE64 or self.last_num < self.first_num:
            return 0  # a chunk that was allocated but never written to
        n = self.last_num - self.first_num + 1
        return n if n <= MAX_RECORDS_PER_CHUNK else None

    @property
    def parseable(self) -> bool:
        return self.state in ("ok", "truncated") and self.data.startswith(CHUNK_MAGIC)


def data_crc_ok(data: bytes) -> bool:
    """``Chunk.data_ok`` of a slot's bytes (a triage thread computes it ahead for the slots to be parsed)."""
    if not (data.startswith(CHUNK_MAGIC) and len(data) >= CHUNK_HEADER_SIZE):
        return False
    return records_crc_ok(data)


def records_crc_ok(data: bytes | memoryview, at: int = 0) -> bool:
    """The record-data CRC32 of the chunk starting at ``at`` (512 to its free-space offset) matches."""
    free_off, data_crc = struct.unpack_from("<II", data, at + 48)
    if CHUNK_HEADER_SIZE <= free_off <= CHUNK_SIZE and at + free_off <= len(data):
        return crc32(memoryview(data)[at + CHUNK_HEADER_SIZE:at + free_off]) == data_crc
    return False


def describe_chunk(index: int, offset: int, data: bytes, data_ok: bool | None = None) -> Chunk:
    """The slot's state and header fields; ``data_ok`` when its CRC was already checked (``data_crc_ok``)."""
    state: ChunkState
    if len(data) < CHUNK_SIZE:
        state = "truncated"
    elif data.startswith(CHUNK_MAGIC):
        state = "ok"
    elif not data.strip(b"\x00"):
        state = "zero"
    else:
        state = "bad-magic"
    chunk = Chunk(index, offset, data, state)
    if data_ok is not None:
        chunk.__dict__["data_ok"] = data_ok  # where cached_property keeps its value
    if data.startswith(CHUNK_MAGIC) and len(data) >= CHUNK_HEADER_SIZE:
        chunk.first_num, chunk.last_num, chunk.first_id, chunk.last_id = struct.unpack_from("<QQQQ", data, 8)
    return chunk


def iter_chunks(stream: BinaryIO, start: int | None = None, stop: int | None = None) -> Iterator[Chunk]:
    """Every 64 KiB slot after the file header, to the end of the stream (dirty files too).

    Without ``start`` the stream must stand just after the file header; with it, it is seeked.
    """
    index = start or 0
    if start is not None:
        stream.seek(FILE_HEADER_SIZE + start * CHUNK_SIZE)
    while stop is None or index < stop:
        data = stream.read(CHUNK_SIZE)
        if not data:
            return
        yield describe_chunk(index, FILE_HEADER_SIZE + index * CHUNK_SIZE, data)
        index += 1


def _ranges(ids: list[int]) -> str:
    """'5-9, 12' from sorted ids, shortened when long."""
    parts: list[str] = []
    start: int | None = None
    prev = 0
    for i in ids:
        if start is None:
            start = prev = i
        elif i == prev + 1:
            prev = i
        else:
            parts.append(f"{start}-{prev}" if start != prev else f"{start}")
            start = prev = i
    if start is not None:
        parts.append(f"{start}-{prev}" if start != prev else f"{start}")
    if len(parts) > 4:
        parts = [*parts[:3], f"... ({len(parts) - 3} more ranges)"]
    return ", ".join(parts)


@dataclass
class ChunkResult:
    """What parsing one chunk gave: events in record order, and the losses."""

    index: int
    events: list[Event] = field(default_factory=list)
    losses: list[Loss] = field(default_factory=list)
    parsed: int = 0  # records the parser yielded (normalised or not)
    skipped: int = 0  # records of providers the prefilter does not want (read, not lost)


def chunk_slot_loss(chunk: Chunk, source: str, header_count: int) -> Loss | None:
    """The loss a chunk slot represents before any parsing, or None for unused space."""
    if chunk.state == "zero":
        if chunk.index < header_count:
            return Loss(source, f"chunk {chunk.index}", "chunk is zero-filled although the file header "
                        "counts it (overwritten or never flushed)", None)
        return None  # preallocated space beyond the header's chunk count
    if chunk.state == "bad-magic":
        return Loss(source, f"chunk {chunk.index}", "bad chunk magic (not ElfChnk); chunk skipped", None)
    if chunk.state == "truncated" and not chunk.data.startswith(CHUNK_MAGIC):
        if not chunk.data.strip(b"\x00"):
            if chunk.index < header_count:
                return Loss(source, f"chunk {chunk.index}", f"file ends inside a zero-filled chunk ({len(chunk.data)} "
                            f"of {CHUNK_SIZE} bytes) that the file header counts", None)
            return None
        return Loss(source, f"chunk {chunk.index}", f"file ends inside a chunk ({len(chunk.data)} of "
                    f"{CHUNK_SIZE} bytes, no chunk header)", None)
    return None


def _account(result: ChunkResult, chunk: Chunk, source: str, seen_ids: list[int], errors: list[str]) -> None:
    """Turn the difference between claimed and read records into Loss entries.

    Records read from a chunk that is cut short or whose record-data CRC32 fails
    may be altered (a flipped byte in BinXML still parses), so such a chunk is
    always named by a Loss, with ``records=0`` when nothing is known missing.
    """
    _account_counts(result, chunk, source, seen_ids, errors)
    if chunk.state != "truncated" and chunk.data_ok:
        return
    prefix = f"chunk {chunk.index}"
    if any(loss.where == prefix or loss.where.startswith(prefix + " ") for loss in result.losses):
        return
    why = (f"file ends inside chunk ({len(chunk.data)} of {CHUNK_SIZE} bytes)" if chunk.state == "truncated"
           else "record data checksum (CRC32) does not match")
    result.losses.append(Loss(source, prefix, f"{why}; the {len(seen_ids)} record(s) read from this chunk "
                              "may be altered", 0))


def _account_counts(result: ChunkResult, chunk: Chunk, source: str, seen_ids: list[int],
                    errors: list[str]) -> None:
    if chunk.state == "truncated":
        reason = f"file ends inside chunk ({len(chunk.data)} of {CHUNK_SIZE} bytes)"
        if errors:
            reason += f"; {errors[0]}"
    else:
        reason = errors[0] if errors else "record data unreadable (zeroed or overwritten); parser stopped early"
    declared = chunk.declared
    if declared is not None:
        missing = declared - len(seen_ids)
        if missing > 0:
            have = set(seen_ids)
            lost_ids: list[int] = []
            if 0 <= chunk.last_id - chunk.first_id < MAX_RECORDS_PER_CHUNK:  # the ids are not covered by the count
                lost_ids = [i for i in range(chunk.first_id, chunk.last_id + 1) if i not in have]
            where = f"chunk {chunk.index} records {_ranges(lost_ids)}" if lost_ids else f"chunk {chunk.index}"
            result.losses.append(Loss(source, where, reason, missing))
        return
    chained = record_chain_length(chunk.data)
    if not errors and chained > len(seen_ids):
        # the header cannot be trusted, but the record chain shows records the parser did not give
        result.losses.append(Loss(source, f"chunk {chunk.index}", f"chunk header checksum bad; {chained} record(s) "
                                  f"chained in the chunk, {len(seen_ids)} read", chained - len(seen_ids)))
    elif errors:
        result.losses.append(Loss(source, f"chunk {chunk.index}", f"{reason} (chunk header checksum bad; "
                                  f"{len(errors)} error(s))", max(len(errors), chained - len(seen_ids))))
    elif chunk.state == "truncated":
        result.losses.append(Loss(source, f"chunk {chunk.index}", reason, None))


def record_chain_length(data: bytes) -> int:
    """Records found by following the size fields from the first record (no header field trusted)."""
    pos, count, end = CHUNK_HEADER_SIZE, 0, len(data)
    while pos + 28 <= end and data[pos:pos + 4] == b"\x2a\x2a\x00\x00":
        size = struct.unpack_from("<I", data, pos + 4)[0]
        if size < 28 or pos + size > end or struct.unpack_from("<I", data, pos + size - 4)[0] != size:
            break
        count += 1
        pos += size
    return count


def _padded(chunk: Chunk) -> bytes:
    return chunk.data if len(chunk.data) == CHUNK_SIZE else chunk.data + bytes(CHUNK_SIZE - len(chunk.data))


def parse_chunk_rust(chunk: Chunk, source: str, wanted: Any = None,
                     only: frozenset[int] | None = None, memo: RecordMemo | None = None) -> ChunkResult:
    """Parse one chunk with pyevtx-rs (``records_json``), normalising each record.

    ``wanted`` (a ChunkPrefilter) lets records of other providers (or event ids) be skipped
    before their JSON is even decoded; they are counted in ``skipped``. ``only``: the record numbers
    the record-level test found may be wanted; the others are skipped without even that question
    (in a chunk read for one 6009 among a hundred records, most of the per-record work).
    ``memo``: the reading's record memo (``ReaderState.records``); without one, a memo for this chunk alone.
    """
    from evtx import PyEvtxParser

    if memo is None:
        from tlsdiag.inputs.normalize import RecordMemo

        memo = RecordMemo()
    result = ChunkResult(chunk.index)
    where = f"chunk {chunk.index}"
    stream = io.BytesIO(synthetic_header(1) + _padded(chunk))
    errors: list[str] = []
    seen: list[int] = []
    try:
        parser = PyEvtxParser(stream, number_of_threads=1, validate_checksums=False)
        # the stub's __next__ says Optional, but PyO3 ends the iteration where Rust returns None
        records = cast("Iterator[dict[str, Any]]", parser.records_json())
    except Exception as exc:  # the parser refuses the chunk as a whole
        errors.append(f"parser refused chunk: {exc}")
        _account(result, chunk, source, seen, errors)
        if chunk.declared is None and not result.losses:
            result.losses.append(Loss(source, f"chunk {chunk.index}", errors[0], None))
        return result
    decode, keep, note = memo.event, result.events.append, seen.append
    parsed = skipped = 0
    while True:
        try:
            rec = next(records)
        except StopIteration:
            break
        except Exception as exc:  # one bad record; pyevtx-rs continues with the next
            errors.append(_short(exc))
            if len(errors) > MAX_ERRORS_PER_CHUNK:
                errors.append("too many errors; rest of chunk skipped")
                break
            continue
        parsed += 1
        rid = rec.get("event_record_id")
        if type(rid) is int:
            note(rid)
            if only is not None and rid not in only:
                skipped += 1
                continue
        else:
            rid = None
        try:  # the prefilter decides before any decoding (once per shape of repeated records)
            event = decode(rec["data"], source, where, rid, rec.get("timestamp"), wanted)
        except Exception as exc:
            result.losses.append(Loss(source, f"chunk {chunk.index} record {rid}",
                                      f"cannot normalise record: {_short(exc)}", 1))
            continue
        if event is None:  # a provider (or event id) the prefilter does not want
            skipped += 1
            continue
        keep(event)
    result.parsed += parsed
    result.skipped += skipped
    _account(result, chunk, source, seen, errors)
    return result


def parse_chunk_python(chunk: Chunk, source: str, wanted: Any = None,
                       only: frozenset[int] | None = None, memo: RecordMemo | None = None) -> ChunkResult:
    """Parse one chunk with python-evtx (pure Python), through its XML rendering. (``only`` and ``memo`` are
    the Rust path's shortcuts: this slow path asks ``wanted`` about every record and decodes each.)"""
    from Evtx.Evtx import ChunkHeader
    from lxml import etree

    from tlsdiag.inputs.normalize import event_from_xml

    _patch_python_evtx()
    result = ChunkResult(chunk.index)
    errors: list[str] = []
    seen: list[int] = []
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
    try:
        header = ChunkHeader(_padded(chunk), 0)
        records = header.records()
    except Exception as exc:
        errors.append(f"parser refused chunk: {_short(exc)}")
        _account(result, chunk, source, seen, errors)
        return result
    while True:
        try:
            rec = next(records)
            rid = rec.record_num()
        except StopIteration:
            break
        except Exception as exc:
            # python-evtx cannot step past a record it cannot size; the rest of the chunk is lost
            errors.append(_short(exc))
            break
        result.parsed += 1
        seen.append(rid)
        try:
            root = etree.fromstring(rec.xml().encode("utf-8"), parser)
            event = event_from_xml(root, source=source, locator=f"chunk {chunk.index} record {rid}", form="evtx",
                                   pyevtx=True)
        except Exception as exc:
            result.losses.append(Loss(source, f"chunk {chunk.index} record {rid}",
                                      f"cannot render or normalise record: {_short(exc)}", 1))
            continue
        if wanted is not None and not wanted.provider_wanted(event.provider, event.event_id):
            result.skipped += 1
            continue
        result.events.append(event)
    _account(result, chunk, source, seen, errors)
    return result


def _patch_python_evtx() -> None:
    """Make python-evtx render values the way pyevtx-rs does, so both backends agree.

    python-evtx converts FILETIME through a float (off by a microsecond at
    times), renders binary as base64, booleans as True/False, GUIDs in braces
    and hex numbers zero-padded. This replaces those renderers (process-wide;
    python-evtx is used only as this backend).
    """
    import datetime as dt

    from Evtx import BinaryParser, Nodes

    if getattr(BinaryParser, "_tlsdiag_patched", False):
        return
    epoch = dt.datetime(1601, 1, 1, tzinfo=dt.timezone.utc)

    def parse_filetime(qword: int) -> dt.datetime:
        try:
            return epoch + dt.timedelta(microseconds=qword // 10)
        except OverflowError:
            return dt.datetime.min

    def iso(ts: dt.datetime) -> str:
        return ts.strftime("%Y-%m-%dT%H:%M:%S.%fZ")

    BinaryParser.parse_filetime = parse_filetime
    Nodes.FiletimeTypeNode.string = lambda self: iso(self.filetime())
    Nodes.BinaryTypeNode.string = lambda self: bytes(self.binary()).hex().upper()
    Nodes.BooleanTypeNode.string = lambda self: "true" if self.int32() > 0 else "false"
    Nodes.GuidTypeNode.string = lambda self: self.guid().upper()
    Nodes.Hex32TypeNode.string = lambda self: f"0x{int.from_bytes(bytes(self.hex()), 'little'):x}"
    Nodes.Hex64TypeNode.string = lambda self: f"0x{int.from_bytes(bytes(self.hex()), 'little'):x}"
    Nodes.WstringArrayTypeNode.string = _wstring_array
    BinaryParser._tlsdiag_patched = True


def _wstring_array(self: Any) -> str:
    """NUL-separated UTF-16 strings, empty items kept (python-evtx drops leading empty ones)."""
    items = bytes(self.binary()).decode("utf-16-le", "replace").split("\x00")
    if items and items[-1] == "":
        items.pop()
    return "".join(f"<string>{item}</string>\n" for item in items)


def _short(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    text = f"{type(exc).__name__}: {text}" if len(text) < 12 else text
    return text if len(text) <= 240 else text[:237] + "..."


PARSERS: dict[str, Any] = {"rust": parse_chunk_rust, "python": parse_chunk_python}


# ---------------------------------------------------------------- ranges of chunks (in-process or in a worker)

@dataclass
class RangeResult:
    """What a range of chunk slots gave, in chunk order; picklable for worker processes."""

    events: list[Any] = field(default_factory=list)  # Event, or packed tuples from a worker
    losses: list[Loss] = field(default_factory=list)
    bytes_read: int = 0
    chunks_total: int = 0
    chunks_skipped: int = 0
    chunks_parsed: int = 0
    chunks_damaged: int = 0
    records_parsed: int = 0
    records_skipped: int = 0
    chunks_skipped_by_records: int = 0  # of chunks_skipped: held a wanted name, but no wanted record (BinXML)
    fast_path_failures: int = 0  # a shortcut failed (logged); the plain path was taken


@dataclass(frozen=True)
class ChunkMeta:
    """The little a reader needs to know about a chunk slot after it was handled (picklable)."""

    index: int
    state: ChunkState
    parseable: bool
    header_ok: bool
    declared: int | None
    last_id: int
    slot_lost: bool


def scan_chunks(chunks: Iterator[Chunk], source: str, header_count: int, backend: str,
                prefilter: Any = None, state: ReaderState | None = None) -> Iterator[tuple[ChunkMeta, RangeResult]]:
    """Per chunk slot: loss accounting, the prefilter, then the parser. One RangeResult per slot.

    The plain one-slot-at-a-time reading; ``scan_file`` is the fast path and is tested to give exactly this.
    ``state``: the reading's memos (``ReaderState``); without one, memos for this call alone.
    """
    parse = PARSERS[backend]
    wanted = prefilter if isinstance(prefilter, RecordFilter) else None
    dense = DenseRun()
    state = state or ReaderState()
    for chunk in chunks:
        yield handle_chunk(chunk, source, header_count, parse, wanted, prefilter_verdict(chunk, prefilter), dense,
                           state=state)


def prefilter_verdict(chunk: Chunk, prefilter: Any) -> bool | None:
    """Whether the prefilter passes an intact chunk; None when there is no prefilter or the chunk is damaged
    (a damaged chunk is parsed whatever its bytes say)."""
    if prefilter is None or not chunk.parseable or chunk.state == "truncated" or not chunk.data_ok:
        return None
    return bool(prefilter(chunk.data))


@dataclass
class DenseRun:
    """Whether the last chunk that the record-level test could be asked about held wanted records only.

    The test (``recordkeys``) pays off where a wanted name is in a chunk's bytes but no wanted record is
    (real System logs). Where every record is relevant it only ever answers "may match", after reading
    a template and scanning the chunk for names: 0.08-0.11 s per 42 MB log (the benchmark's ``worst``
    and ``distinct``), a tenth of the plain pyevtx-rs loop's time. So after a chunk whose records were
    all wanted the next one is parsed without asking (parsing is always sound: the parser's own record
    filter still drops what is not wanted), and the test is asked again after a chunk that held a
    record not wanted. One per reading of consecutive chunks: ``scan_chunks`` and ``scan_file`` ask
    it for the same chunks in the same order, so both give the same counts.
    """

    dense: bool = False


def handle_chunk(chunk: Chunk, source: str, header_count: int, parse: Any, wanted: Any,
                 passes: bool | None, dense: DenseRun | None = None,
                 ends: list[int] | None = None, state: ReaderState | None = None) -> tuple[ChunkMeta, RangeResult]:
    """One chunk slot: its loss, or the prefilter's verdict (``passes``; None: no prefilter), or its parse.

    ``dense`` (one per reading of consecutive chunks) lets a chunk after one of wanted records only be
    parsed without the record-level test (see ``DenseRun``); ``ends`` are the slot's name ends when
    the block's name search gave them (``ChunkPrefilter.select``). ``state``: the reading's memos
    (``ReaderState``); without one, this chunk is read with memos of its own."""
    out = RangeResult(bytes_read=len(chunk.data), chunks_total=1)
    loss = chunk_slot_loss(chunk, source, header_count)
    if loss is not None:
        out.chunks_damaged = 1
        out.losses.append(loss)
    elif chunk.parseable:
        # a damaged chunk is always parsed: damage can hide the very name the prefilter looks for,
        # and parsing is what names the chunk as damaged
        damaged = chunk.state == "truncated" or not chunk.data_ok
        testable = bool(passes and not damaged and wanted is not None and chunk.header_ok)
        only = None  # the record numbers that may be wanted, when the record-level test names them
        if testable and not (dense is not None and dense.dense):
            only = _wanted_records(wanted, chunk, source, out, ends, state)
            passes = only is None or bool(only)
            out.chunks_skipped_by_records = int(not passes)
        if passes is False and not damaged:
            out.chunks_skipped = 1
            if testable and dense is not None:
                dense.dense = False
        else:
            result = parse(chunk, source, wanted, only, state.records if state is not None else None)
            if testable and dense is not None:
                dense.dense = result.parsed > 0 and not result.skipped and not result.losses
            out.chunks_parsed = 1
            out.records_parsed = result.parsed
            out.records_skipped = result.skipped
            out.events = result.events
            if result.losses:
                out.chunks_damaged = 1
                out.losses = result.losses
    if out.chunks_skipped:
        # the reader ignores the header of a skipped chunk (no records of it are accounted): no checksum
        meta = ChunkMeta(chunk.index, chunk.state, True, False, None, chunk.last_id, False)
    else:
        meta = ChunkMeta(chunk.index, chunk.state, chunk.parseable, chunk.header_ok, chunk.declared,
                         chunk.last_id, loss is not None)
    return meta, out


def _wanted_records(wanted: RecordFilter, chunk: Chunk, source: str, out: RangeResult,
                    ends: list[int] | None = None, state: ReaderState | None = None) -> frozenset[int] | None:
    """The prefilter's record-level answer for a chunk that passed its byte test (see ``recordkeys``): the
    numbers of the records that may be wanted (none: the chunk is skipped), or None (parse it all).

    A failure in this shortcut is a bug, never a reason to lose an event: the chunk is parsed, the
    failure logged and counted (``fast_path_failures`` in ``--stats``).
    """
    try:
        found = wanted.wanted_records(chunk.data, ends, state.templates if state is not None else None)
        return None if found is None else frozenset(found)
    except Exception as exc:
        out.fast_path_failures += 1
        _LOG.warning("record-level prefilter failed on %s chunk %d (chunk parsed instead): %s",
                     source, chunk.index, _short(exc))
        return None


# ---------------------------------------------------------------- the fast path: blocks of chunks



@dataclass
class Block:
    """A run of chunk slots and which of them need the careful path (parse, damage, zero, truncation)."""

    first: int  # index of the first slot
    data: bytes | memoryview  # a view of a reused buffer: valid until the next block is asked for
    careful: list[int]  # slot offsets within the block, in order; every other slot is a clean skip
    selected: set[int] | None = None  # slots the prefilter passed (None: ask it per careful slot)
    copies: dict[int, bytes] | None = None  # the careful slots' bytes, taken while triaging in a thread
    ends: dict[int, list[int]] | None = None  # selected slots' name ends, where the name search gave them all
    checked: dict[int, bool] | None = None  # the careful slots' ``data_crc_ok``, computed in a triage thread

    def take_slots(self) -> None:
        """Copy the careful slots and check their record CRC now, in the triage thread (the buffer or mapping
        may change once the block is handed on; the parsing thread then only parses)."""
        self.copies = {k: self.slot(k) for k in self.careful}
        self.checked = {k: data_crc_ok(data) for k, data in self.copies.items()}

    def slot(self, k: int) -> bytes:
        """Slot ``k``'s bytes (as many as there are)."""
        if self.copies is not None:
            return self.copies[k]
        return bytes(self.data[k * CHUNK_SIZE:(k + 1) * CHUNK_SIZE])


def triage_block(first: int, data: bytes | memoryview, prefilter: Any) -> Block:
    """Decide, from the raw bytes, which slots of a block can be skipped outright.

    A slot is skipped when it is a whole chunk with its magic, its record-data
    CRC32 matches and the prefilter finds no wanted name in it; everything else
    (selected, damaged, zero-filled, cut) takes the careful per-chunk path.
    Thread-safe and mostly outside the GIL (read, CRC32, hyperscan), so a few
    blocks are triaged ahead on other cores while this one is parsed.
    """
    slots = -(-len(data) // CHUNK_SIZE)
    if prefilter is None:  # nothing to decide: every slot is parsed
        return Block(first, data, list(range(slots)))
    ends: dict[int, list[int]] = {}
    selected = prefilter.select(data, CHUNK_SIZE, ends) if isinstance(prefilter, RecordFilter) else None
    careful: list[int] = []
    view = memoryview(data)
    for k in range(slots):
        at = k * CHUNK_SIZE
        if selected is not None and k in selected:
            careful.append(k)
        elif len(data) - at < CHUNK_SIZE or view[at:at + 8] != CHUNK_MAGIC or not records_crc_ok(view, at):
            careful.append(k)
        elif selected is None and prefilter(view[at:at + CHUNK_SIZE]):
            careful.append(k)
    return Block(first, data, careful, selected, ends=ends)


def scan_file(stream: IO[bytes], source: str, header_count: int, backend: str, prefilter: Any,
              start: int = 0, stop: int | None = None, threads: int = 1, options: ReadOptions | None = None,
              state: ReaderState | None = None) -> Generator[tuple[ChunkMeta, RangeResult], None, None]:
    """Chunk slots ``[start, stop)`` of an EVTX stream: ``scan_chunks`` results, faster on big files.

    Slots are read a block at a time into reused buffers and triaged
    (``triage_block``); each run of clean skips becomes one outcome counting
    all of them, every other slot goes through ``handle_chunk`` exactly as
    ``scan_chunks`` would. With ``threads`` > 1 and a real file (``fileno``),
    blocks are read with ``os.preadv`` and triaged ahead in a thread pool;
    results stay in order. Otherwise the stream must stand at slot ``start``.
    ``options`` gives the block sizes and says which of mapping, ``preadv`` and ``madvise`` may be
    used (default: ``ReadOptions()``, all this process has; see ``inputs/options.py``). ``state``: the
    reading's memos and buffers (``ReaderState``); without one, a state for this call alone.
    """
    parse = PARSERS[backend]
    wanted = prefilter if isinstance(prefilter, RecordFilter) else None
    dense = DenseRun()
    options = options or ReadOptions()
    state = state or ReaderState(options)
    for block in _blocks(stream, prefilter, start, stop, threads, options, state.buffers):
        data = block.data
        careful = block.careful
        nslots = -(-len(data) // CHUNK_SIZE)
        k = 0
        for c in [*careful, nslots]:
            if c > k:  # slots k .. c-1 are clean skips
                run = c - k
                yield (ChunkMeta(block.first + k, "ok", True, False, None, 0, False),
                       RangeResult(bytes_read=run * CHUNK_SIZE, chunks_total=run, chunks_skipped=run))
            if c == nslots:
                break
            chunk = describe_chunk(block.first + c, FILE_HEADER_SIZE + (block.first + c) * CHUNK_SIZE, block.slot(c),
                                   None if block.checked is None else block.checked[c])
            passes = c in block.selected if block.selected is not None else prefilter_verdict(chunk, prefilter)
            yield handle_chunk(chunk, source, header_count, parse, wanted, passes, dense,
                               None if block.ends is None else block.ends.get(c), state)
            k = c + 1


def _fill(stream: IO[bytes], buf: bytearray | memoryview) -> int:
    """Read into ``buf`` until it is full or the stream ends; the number of bytes read."""
    view = memoryview(buf)
    got = 0
    while got < len(buf):
        n = cast(io.BufferedIOBase, stream).readinto(view[got:])  # typing.IO declares no readinto
        if not n:
            break
        got += n
    return got


def _streamed_blocks(stream: IO[bytes], prefilter: Any, start: int, stop: int | None,
                     block_chunks: int, buffers: BufferPool) -> Iterator[Block]:
    """Blocks read one after the other from where the stream stands (no threads, any stream)."""
    buf = buffers.get(block_chunks * CHUNK_SIZE)  # one buffer, refilled: no fresh pages per block
    try:
        index = start
        while stop is None or index < stop:
            count = block_chunks if stop is None else min(block_chunks, stop - index)
            target = memoryview(buf)[:count * CHUNK_SIZE]
            n = _fill(stream, target)
            if not n:
                return
            yield triage_block(index, target[:n], prefilter)
            index += count
    finally:
        buffers.put(buf)


def _blocks(stream: IO[bytes], prefilter: Any, start: int, stop: int | None, threads: int,
            options: ReadOptions, buffers: BufferPool) -> Iterator[Block]:
    """Triaged blocks in order, each valid until the caller asks for the next one.

    With threads and a real file: the file mapped (``_mapped``), else read with ``os.preadv`` into
    reused buffers; blocks are triaged ahead in a thread pool. Otherwise read from the stream.
    """
    try:
        fd = stream.fileno()
    except (AttributeError, OSError, ValueError):
        fd = None
    block_chunks, platform = options.block_chunks, options.platform
    if prefilter is None or fd is None or threads < 2:
        yield from _streamed_blocks(stream, prefilter, start, stop, block_chunks, buffers)
        return
    size = os.fstat(fd).st_size
    end = -(-(max(size - FILE_HEADER_SIZE, 0)) // CHUNK_SIZE)
    end = end if stop is None else min(stop, end)
    mapped = _mapped(fd, size, platform)
    if mapped is not None:
        yield from _mapped_blocks(mapped, fd, prefilter, start, end, threads, options)
        return
    if not platform.preadv:
        stream.seek(FILE_HEADER_SIZE + start * CHUNK_SIZE)
        yield from _streamed_blocks(stream, prefilter, start, stop, block_chunks, buffers)
        return
    free = [buffers.get(block_chunks * CHUNK_SIZE)
            for _ in range(min(options.triage_ahead + 1, -(-(end - start) // block_chunks)))]

    def job(first: int, buf: bytearray) -> Block:
        view = memoryview(buf)[:min(block_chunks, end - first) * CHUNK_SIZE]
        n = os.preadv(fd, [view], FILE_HEADER_SIZE + first * CHUNK_SIZE)
        block = triage_block(first, view[:n], prefilter)
        block.take_slots()
        return block

    def taken(block: Block) -> None:
        data = block.data  # a view of the buffer job() was given, in use by the caller until the next block
        if isinstance(data, memoryview) and isinstance(data.obj, bytearray):
            free.append(data.obj)

    try:
        yield from _triaged_ahead(range(start, end, block_chunks), threads, options.triage_ahead, job,
                                  claim=free.pop, taken=taken)
    finally:  # the pool has shut down, so no job writes any more: the buffers can serve the next file
        for buf in free:
            buffers.put(buf)


def _triaged_ahead(firsts: Iterable[int], threads: int, ahead: int, job: Callable[..., Block],
                   claim: Callable[[], Any] | None = None, taken: Callable[[Block], None] | None = None,
                   done: Callable[[Block], None] | None = None) -> Iterator[Block]:
    """``job(first)`` for each block, run ahead in a thread pool, the blocks yielded in order.

    ``claim()``, when given, is called as each job is submitted and its result passed to the job
    (a free buffer: ``taken`` hands a block's buffer back when the block is taken, and the next job
    is submitted only once the caller has asked for the block after it). ``done`` follows each
    block's use.
    """
    from concurrent.futures import ThreadPoolExecutor

    def submit(first: int) -> Any:
        return pool.submit(job, first) if claim is None else pool.submit(job, first, claim())

    firsts = iter(firsts)
    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="tlsdiag-triage") as pool:
        pending = deque(submit(first) for first in islice(firsts, ahead + 1))
        try:
            while pending:
                block = pending.popleft().result()
                if taken is not None:
                    taken(block)
                if not len(block.data):
                    return
                yield block
                if done is not None:
                    done(block)
                nxt = next(firsts, None)
                if nxt is not None:
                    pending.append(submit(nxt))
        finally:
            for future in pending:
                future.cancel()


def _mapped(fd: int, size: int, platform: Platform) -> memoryview | None:
    """The whole file mapped read-only, or None where that is not possible or not wanted (``TLSDIAG_MMAP=0``).

    Triage then scans the page cache in place: copying each block into a buffer first cost as
    much as the name search itself. (A file that becomes unreadable, or is cut short in the instant
    between a block's size check and its scan, stops the process with SIGBUS instead of giving a read
    error; the evidence a scan reads is not expected to change under it, and ``TLSDIAG_MMAP=0``
    reads with ``preadv`` instead.)
    """
    if not platform.mmap or size <= FILE_HEADER_SIZE:
        return None
    try:
        mapping = mmap.mmap(fd, 0, access=mmap.ACCESS_READ)
    except (OSError, ValueError):  # not a regular file, or mapping refused
        return None
    if platform.madvise:
        mapping.madvise(mmap.MADV_SEQUENTIAL)
    return memoryview(mapping)  # the mapping is unmapped when the last view of it is gone


def _mapped_blocks(view: memoryview, fd: int, prefilter: Any, start: int, end: int,
                   threads: int, options: ReadOptions) -> Iterator[Block]:
    """``_blocks`` over a mapped file: blocks triaged ahead in threads, each a view of the mapping."""
    limit = min(len(view), FILE_HEADER_SIZE + end * CHUNK_SIZE)

    def job(first: int) -> Block:
        at = FILE_HEADER_SIZE + first * CHUNK_SIZE
        # a file cut short since it was mapped: touching pages past its end would stop the process (SIGBUS),
        # so each block looks at the size first and reads what is still there, like a short read
        stop = min(at + options.block_chunks * CHUNK_SIZE, limit, os.fstat(fd).st_size)
        block = triage_block(first, view[at:max(at, stop)], prefilter)
        block.take_slots()  # parsed later: copied while they are there
        return block

    def done(block: Block) -> None:
        # Mapped pages this process has touched count in its resident size until they are dropped from
        # its page tables: drop each block's once it is parsed (the page cache keeps them), so a scan's
        # RSS stays at a few blocks however large the file.
        if drop is not None:
            at = FILE_HEADER_SIZE + block.first * CHUNK_SIZE
            drop(dontneed, at, len(block.data))

    dontneed = getattr(mmap, "MADV_DONTNEED", None)
    drop = getattr(view.obj, "madvise", None) if options.platform.madvise else None
    yield from _triaged_ahead(range(start, end, options.block_chunks), threads, options.triage_ahead, job,
                              done=done)
