"""EVTX container: file header, 64 KiB chunks, event records, CRC32s.

Layout follows libyal's "Windows XML Event Log (EVTX)" document: a 4096-byte
file header (CRC32 over bytes 0..120), chunks of 65536 bytes with a 512-byte
header (CRC32 over 0..120 and 128..512, which includes the string and template
hash tables; a second CRC32 over the record data), and records
(``2a 2a 00 00``, size, record id, FILETIME, BinXML, copy of size), 8-byte
aligned like the records Windows writes.

This is for fixtures, samples and benchmark data. It never touches evidence.
"""

from __future__ import annotations

import io
import os
import struct
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

from . import binxml as bx
from .binxml import El, Sub, Template

FILE_HEADER_SIZE = 4096
CHUNK_SIZE = 65536
CHUNK_HEADER_SIZE = 512
EVENT_NS = "http://schemas.microsoft.com/win/2004/08/events/event"
KEYWORDS_CLASSIC = 0x0080000000000000
KEYWORDS_DEFAULT = 0x8000000000000000

_REC_HEAD = struct.Struct("<IIQQ")


@dataclass(frozen=True)
class UserData:
    """``<UserData><{name} xmlns='{namespace}'><field>value</field>...``, as Schannel writes it."""

    name: str = "EventXML"
    namespace: str | None = "LSA_NS"
    fields: Mapping[str, object] = field(default_factory=dict)


@dataclass
class EventSpec:
    """One event to write.

    ``provider_guid`` None means a classic (EventLog API) provider such as the
    "LS User Services" sources of the Lync Server log (unless ``manifest`` is
    set, for a manifest provider whose GUID is not known); those get the classic
    System shape (no Version/Opcode/Correlation/Execution) and their unnamed
    ``data`` list is stored the way Windows stores it (one string array).
    ``data`` is a mapping for named ``<Data Name=..>`` fields or a sequence for
    unnamed ones. ``eventdata_name`` puts a Name attribute on <EventData>, as
    the Time-Service provider does. ``form`` chooses the BinXML shape: "template" (definition
    plus substitution values, as Windows writes), "mixed" or "inline" (plain
    elements; see ``encode_record_body``).
    """

    channel: str
    provider: str
    event_id: int
    time: datetime
    computer: str
    provider_guid: str | None = None
    event_source_name: str | None = None
    qualifiers: int | None = None
    version: int = 0
    level: int = 4
    task: int = 0
    opcode: int = 0
    keywords: int | None = None
    record_id: int | None = None
    user_sid: str | None = None
    data: Mapping[str, object] | Sequence[str] | None = None
    userdata: UserData | None = None
    binary: bytes | None = None
    process_id: int | None = None
    thread_id: int | None = None
    activity_id: str | None = None
    eventdata_name: str | None = None
    manifest: bool | None = None
    form: str = "template"

    @property
    def classic(self) -> bool:
        """Classic (EventLog API) System shape; a manifest provider without a known GUID sets manifest=True."""
        if self.manifest is not None:
            return not self.manifest
        return self.provider_guid is None

    def resolved_keywords(self) -> int:
        if self.keywords is not None:
            return self.keywords
        return KEYWORDS_CLASSIC if self.classic else KEYWORDS_DEFAULT


# ---- templates --------------------------------------------------------------------------------
# Value layout shared by both System templates (indexes into the instance values):
(S_PROVIDER, S_GUID, S_QUALIFIERS, S_EVENTID, S_VERSION, S_LEVEL, S_TASK, S_OPCODE, S_KEYWORDS,
 S_TIME, S_RECORDID, S_ACTIVITY, S_PID, S_TID, S_CHANNEL, S_COMPUTER, S_USER, S_SOURCENAME,
 S_PAYLOAD) = range(19)


def _system_template(classic: bool, payload: bool = True) -> Template:
    provider_attrs: tuple[tuple[str, str | Sub], ...]
    if classic:
        provider_attrs = (("Name", Sub(S_PROVIDER, bx.T_STRING)),)
    else:
        provider_attrs = (
            ("Name", Sub(S_PROVIDER, bx.T_STRING)),
            ("Guid", Sub(S_GUID, bx.T_GUID, optional=True)),
            ("EventSourceName", Sub(S_SOURCENAME, bx.T_STRING, optional=True)),
        )
    system: list[El] = [
        El("Provider", provider_attrs),
        El("EventID", (("Qualifiers", Sub(S_QUALIFIERS, bx.T_UINT16, optional=True)),),
           (Sub(S_EVENTID, bx.T_UINT16),)),
    ]
    if not classic:
        system.append(El("Version", (), (Sub(S_VERSION, bx.T_UINT8),)))
    system += [
        El("Level", (), (Sub(S_LEVEL, bx.T_UINT8),)),
        El("Task", (), (Sub(S_TASK, bx.T_UINT16),)),
    ]
    if not classic:
        system.append(El("Opcode", (), (Sub(S_OPCODE, bx.T_UINT8),)))
    system += [
        El("Keywords", (), (Sub(S_KEYWORDS, bx.T_HEX64),)),
        El("TimeCreated", (("SystemTime", Sub(S_TIME, bx.T_FILETIME)),)),
        El("EventRecordID", (), (Sub(S_RECORDID, bx.T_UINT64),)),
    ]
    if not classic:
        system += [
            El("Correlation", (("ActivityID", Sub(S_ACTIVITY, bx.T_GUID, optional=True)),)),
            El("Execution", (("ProcessID", Sub(S_PID, bx.T_UINT32, optional=True)),
                             ("ThreadID", Sub(S_TID, bx.T_UINT32, optional=True)))),
        ]
    system += [
        El("Channel", (), (Sub(S_CHANNEL, bx.T_STRING),)),
        El("Computer", (), (Sub(S_COMPUTER, bx.T_STRING),)),
        El("Security", (("UserID", Sub(S_USER, bx.T_SID, optional=True)),)),
    ]
    children: tuple[El | Sub, ...] = (El("System", (), tuple(system)),)
    if payload:
        children += (Sub(S_PAYLOAD, bx.T_BINXML),)
    return Template(El("Event", (("xmlns", EVENT_NS),), children))


SYSTEM_MANIFEST = _system_template(classic=False)
SYSTEM_CLASSIC = _system_template(classic=True)
# Events without EventData/UserData (Schannel 36885 has no template) use a System
# template with no payload slot: libevtx drops the whole <Event> when an optional
# payload substitution is NULL.
SYSTEM_MANIFEST_BARE = _system_template(classic=False, payload=False)
SYSTEM_CLASSIC_BARE = _system_template(classic=True, payload=False)

# Classic EventData as Windows stores it (seen in the corpus' omerbenamram system.evtx,
# EventLog 6009/6005): the insertion strings are one string array (0x81, NULL when
# there are none), value 1 is the binary data's length, value 2 the binary data
# (NULL when none); both elements use optional substitutions. Parsers expand the
# array into one <Data> per string.
CLASSIC_EVENTDATA = Template(El("EventData", (), (
    El("Data", (), (Sub(0, bx.T_STRING_ARRAY, optional=True),)),
    El("Binary", (), (Sub(2, bx.T_BINARY, optional=True),)),
)))


def _classic_values(items: Sequence[object], binary: bytes | None) -> list[tuple[int, bytes]]:
    strings = bx.v_string_array([bx.text_of(x) for x in items]) if items else bx.NULL_VALUE
    return [strings, bx.v_u32(len(binary or b"")), bx.v_binary(binary)]

_PAYLOAD_TEMPLATES: dict[tuple, Template] = {}


def _named_template(names: tuple[str, ...], types: tuple[int, ...], with_binary: bool,
                    ed_name: str | None = None) -> Template:
    key = ("named", names, types, with_binary, ed_name)
    tmpl = _PAYLOAD_TEMPLATES.get(key)
    if tmpl is None:
        children: list[El] = [
            El("Data", (("Name", name),), (Sub(i, t),)) for i, (name, t) in enumerate(zip(names, types, strict=True))
        ]
        if with_binary:
            children.append(El("Binary", (), (Sub(len(names), bx.T_BINARY),)))
        tmpl = Template(El("EventData", (("Name", ed_name),) if ed_name else (), tuple(children)))
        _PAYLOAD_TEMPLATES[key] = tmpl
    return tmpl


def _userdata_template(ud: UserData, names: tuple[str, ...], types: tuple[int, ...]) -> Template:
    key = ("user", ud.name, ud.namespace, names, types)
    tmpl = _PAYLOAD_TEMPLATES.get(key)
    if tmpl is None:
        attrs = (("xmlns", ud.namespace),) if ud.namespace else ()
        inner = El(ud.name, attrs, tuple(El(n, (), (Sub(i, t),)) for i, (n, t) in enumerate(zip(names, types, strict=True))))
        tmpl = Template(El("UserData", (), (inner,)))
        _PAYLOAD_TEMPLATES[key] = tmpl
    return tmpl


def _payload_parts(spec: EventSpec) -> tuple[Template, list[tuple[int, bytes]]] | None:
    """The nested template and values for EventData/UserData, or None when the event has neither."""
    if spec.userdata is not None:
        fields = spec.userdata.fields
        values = [bx.v_auto(v) for v in fields.values()]
        types = tuple(t for t, _ in values)
        return _userdata_template(spec.userdata, tuple(fields), types), values
    data = spec.data
    if data is not None and not isinstance(data, Mapping):
        return CLASSIC_EVENTDATA, _classic_values(data, spec.binary)
    if data is None and spec.classic:
        return CLASSIC_EVENTDATA, _classic_values([], spec.binary)
    if data is None and spec.binary is None and spec.eventdata_name is None:
        return None
    data = data or {}
    values = [bx.v_auto(v) for v in data.values()]
    types = tuple(t for t, _ in values)
    tmpl = _named_template(tuple(data), types, spec.binary is not None, spec.eventdata_name)
    if spec.binary is not None:
        values.append(bx.v_binary(spec.binary))
    return tmpl, values


_STR_CACHE: dict[str, tuple[int, bytes]] = {}


def _cached_string(text: str) -> tuple[int, bytes]:
    """Provider, channel and computer names repeat in every record: encode them once."""
    value = _STR_CACHE.get(text)
    if value is None:
        value = bx.v_string(text)
        if len(_STR_CACHE) < 4096:
            _STR_CACHE[text] = value
    return value


def _system_values(spec: EventSpec, record_id: int) -> list[tuple[int, bytes]]:
    nul = bx.NULL_VALUE
    return [
        _cached_string(spec.provider),
        bx.v_guid(spec.provider_guid) if spec.provider_guid else nul,
        bx.v_u16(spec.qualifiers) if spec.qualifiers is not None else nul,
        bx.v_u16(spec.event_id),
        bx.v_u8(spec.version),
        bx.v_u8(spec.level),
        bx.v_u16(spec.task),
        bx.v_u8(spec.opcode),
        bx.v_hex64(spec.resolved_keywords()),
        bx.v_filetime(spec.time),
        bx.v_u64(record_id),
        bx.v_guid(spec.activity_id) if spec.activity_id else nul,
        bx.v_u32(spec.process_id) if spec.process_id is not None else nul,
        bx.v_u32(spec.thread_id) if spec.thread_id is not None else nul,
        _cached_string(spec.channel),
        _cached_string(spec.computer),
        bx.v_sid(spec.user_sid),
        _cached_string(spec.event_source_name) if spec.event_source_name else nul,
    ]


def _inline_tree(spec: EventSpec, record_id: int) -> El:
    """The same event as plain elements with literal text (no template)."""
    t = bx.text_of
    provider_attrs: list[tuple[str, str | Sub]] = [("Name", spec.provider)]
    if spec.provider_guid:
        provider_attrs.append(("Guid", "{" + spec.provider_guid.strip("{}").upper() + "}"))
    if spec.event_source_name:
        provider_attrs.append(("EventSourceName", spec.event_source_name))
    eid_attrs = (("Qualifiers", str(spec.qualifiers)),) if spec.qualifiers is not None else ()
    system: list[El] = [El("Provider", tuple(provider_attrs)), El("EventID", eid_attrs, (str(spec.event_id),))]
    if not spec.classic:
        system.append(El("Version", (), (str(spec.version),)))
    system += [El("Level", (), (str(spec.level),)), El("Task", (), (str(spec.task),))]
    if not spec.classic:
        system.append(El("Opcode", (), (str(spec.opcode),)))
    system += [
        El("Keywords", (), (f"0x{spec.resolved_keywords():x}",)),
        El("TimeCreated", (("SystemTime", bx.iso_time(spec.time)),)),
        El("EventRecordID", (), (str(record_id),)),
    ]
    if not spec.classic:
        corr = (("ActivityID", "{" + spec.activity_id.strip("{}").upper() + "}"),) if spec.activity_id else ()
        execution: list[tuple[str, str | Sub]] = []
        if spec.process_id is not None:
            execution.append(("ProcessID", str(spec.process_id)))
        if spec.thread_id is not None:
            execution.append(("ThreadID", str(spec.thread_id)))
        system += [El("Correlation", corr), El("Execution", tuple(execution))]
    system += [El("Channel", (), (spec.channel,)), El("Computer", (), (spec.computer,)),
               El("Security", (("UserID", spec.user_sid),) if spec.user_sid else ())]
    children: list[El] = [El("System", (), tuple(system))]
    if spec.userdata is not None:
        ud = spec.userdata
        attrs = (("xmlns", ud.namespace),) if ud.namespace else ()
        inner = El(ud.name, attrs, tuple(El(k, (), (t(v),)) for k, v in ud.fields.items()))
        children.append(El("UserData", (), (inner,)))
    elif spec.data is not None or spec.binary is not None or spec.classic or spec.eventdata_name:
        items: list[El] = []
        if isinstance(spec.data, Mapping):
            items = [El("Data", (("Name", k),), (t(v),)) for k, v in spec.data.items()]
        elif spec.data is not None:
            items = [El("Data", (), (t(v),)) for v in spec.data]
        if spec.classic and not items:
            items = [El("Data")]  # as Windows renders a classic event without strings
        if spec.binary is not None:
            items.append(El("Binary", (), (spec.binary.hex().upper(),)))
        ed_attrs = (("Name", spec.eventdata_name),) if spec.eventdata_name else ()
        children.append(El("EventData", ed_attrs, tuple(items)))
    return El("Event", (("xmlns", EVENT_NS),), tuple(children))


FORMS = ("template", "inline", "mixed")


def encode_record_body(spec: EventSpec, record_id: int, base: int, ctx: bx.ChunkContext) -> bytearray:
    """BinXML for one record; ``base`` is the chunk offset where it starts.

    Forms: "template" is what Windows writes (a System template instance whose
    last value is a Binary XML payload holding a second template instance);
    "mixed" keeps the System template but makes the payload plain elements
    (the shape libyal describes for 0x21 values, without dependency ids);
    "inline" is the whole event as plain elements with no template at all.
    python-evtx 0.8 renders only template instances, so it cannot show the
    last two forms; evtx (Rust) and libevtx read all three.
    """
    out = bytearray(bx.FRAGMENT_HEADER)
    form = spec.form
    if form == "inline":
        bx.encode_element(out, base, _inline_tree(spec, record_id), ctx, dep=False)
        out.append(bx.EOF)
        return out
    if form not in FORMS:
        raise ValueError(f"unknown record form {form!r}; known: {', '.join(FORMS)}")
    system = SYSTEM_CLASSIC if spec.classic else SYSTEM_MANIFEST
    values = _system_values(spec, record_id)
    if form == "mixed":
        tree = _inline_tree(spec, record_id)
        inline_payload = tree.children[1] if len(tree.children) > 1 else None
        if not isinstance(inline_payload, El):  # _inline_tree's children are elements: None or El here
            bare = SYSTEM_CLASSIC_BARE if spec.classic else SYSTEM_MANIFEST_BARE
            bx.encode_instance(out, base, bare, values, ctx)
            return out
        payload_el = inline_payload

        def build_inline(pos: int) -> tuple[int, bytes]:
            nested = bytearray(bx.FRAGMENT_HEADER)
            bx.encode_element(nested, pos, payload_el, ctx, dep=False)
            nested.append(bx.EOF)
            return (bx.T_BINXML, bytes(nested))

        bx.encode_instance(out, base, system, values, ctx, tail_builder=build_inline)
        return out
    payload = _payload_parts(spec)
    if payload is None:
        bare = SYSTEM_CLASSIC_BARE if spec.classic else SYSTEM_MANIFEST_BARE
        bx.encode_instance(out, base, bare, values, ctx)
        return out
    ptmpl, pvalues = payload

    def build(pos: int) -> tuple[int, bytes]:
        nested = bytearray(bx.FRAGMENT_HEADER)
        bx.encode_instance(nested, pos, ptmpl, pvalues, ctx)
        return (bx.T_BINXML, bytes(nested))

    bx.encode_instance(out, base, system, values, ctx, tail_builder=build)
    return out


# ---- chunks and file --------------------------------------------------------------------------


class _Chunk:
    __slots__ = ("buf", "ctx", "first_id", "first_num", "last_id", "last_num", "last_offset", "pos")

    def __init__(self) -> None:
        self.buf = bytearray(CHUNK_SIZE)
        self.ctx = bx.ChunkContext()
        self.pos = CHUNK_HEADER_SIZE
        self.first_num = self.last_num = self.first_id = self.last_id = 0
        self.last_offset = 0

    @property
    def empty(self) -> bool:
        return self.pos == CHUNK_HEADER_SIZE

    def try_add(self, spec: EventSpec, record_id: int, record_num: int) -> bool:
        ctx = self.ctx
        ctx.begin()
        start = self.pos
        body = encode_record_body(spec, record_id, start + 24, ctx)
        if spec.form != "inline":
            body.append(bx.EOF)  # end of the record's fragment, as Windows writes it; libevtx needs it
        size = 24 + len(body) + 4
        pad = (-size) % 8
        size += pad
        if start + size > CHUNK_SIZE:
            ctx.rollback()
            if self.empty:
                raise ValueError(f"event record {record_id} is larger than a chunk ({size} bytes)")
            return False
        buf = self.buf
        _REC_HEAD.pack_into(buf, start, 0x00002A2A, size, record_id, bx.filetime(spec.time))
        end_body = start + 24 + len(body)
        buf[start + 24:end_body] = body
        # padding stays zero (the buffer starts zeroed)
        struct.pack_into("<I", buf, start + size - 4, size)
        if self.empty:
            self.first_id, self.first_num = record_id, record_num
        self.last_id, self.last_num = record_id, record_num
        self.last_offset = start
        self.pos = start + size
        return True

    def finish(self) -> bytes:
        buf = self.buf
        buf[0:8] = b"ElfChnk\x00"
        struct.pack_into("<QQQQIII", buf, 8, self.first_num, self.last_num, self.first_id, self.last_id,
                         128, self.last_offset, self.pos)
        struct.pack_into("<I", buf, 52, zlib.crc32(buf[CHUNK_HEADER_SIZE:self.pos]))
        struct.pack_into("<I", buf, 120, 1)
        struct.pack_into("<64I", buf, 128, *self.ctx.string_buckets)
        struct.pack_into("<32I", buf, 384, *self.ctx.template_buckets)
        struct.pack_into("<I", buf, 124, chunk_header_crc(buf))
        return bytes(buf)


def chunk_header_crc(chunk: bytes | bytearray) -> int:
    return zlib.crc32(chunk[128:CHUNK_HEADER_SIZE], zlib.crc32(chunk[0:120]))


def file_header(first_chunk: int, last_chunk: int, next_record_id: int, chunk_count: int,
                flags: int = 0, minor: int = 1) -> bytes:
    """The 4096-byte file header with its CRC32 over bytes 0..120."""
    head = bytearray(FILE_HEADER_SIZE)
    head[0:8] = b"ElfFile\x00"
    struct.pack_into("<QQQIHHHH", head, 8, first_chunk, last_chunk, next_record_id, 128, minor, 3,
                     FILE_HEADER_SIZE, chunk_count)
    struct.pack_into("<I", head, 120, flags)
    struct.pack_into("<I", head, 124, zlib.crc32(head[0:120]))
    return bytes(head)


class EvtxWriter:
    """Write events into a new .evtx file (or binary stream).

    ``dirty=True`` writes the file the way Windows leaves a log that was still
    open: the dirty flag set and the header's chunk count, last chunk number
    and next record id lagging one chunk behind what the file holds (or
    ``header_chunks`` chunks, if given). Readers that trust the header miss
    the tail; readers that walk all chunks see every record.
    """

    def __init__(self, target: str | os.PathLike[str] | BinaryIO, *, dirty: bool = False,
                 header_chunks: int | None = None, first_record_id: int = 1, minor_version: int = 1) -> None:
        if isinstance(target, (str, os.PathLike)):
            self._stream: BinaryIO = open(target, "wb")
            self._owned = True
        else:
            self._stream = target
            self._owned = False
        self._dirty = dirty
        self._header_chunks = header_chunks
        self._minor = minor_version
        self._start = self._stream.tell() if self._stream.seekable() else 0
        self._stream.write(b"\x00" * FILE_HEADER_SIZE)  # real header written on close
        self._chunk = _Chunk()
        self._chunks_written = 0
        self._chunk_first_ids: list[int] = []
        self._next_id = first_record_id
        self._next_num = 1
        self.records = 0
        self._closed = False

    def __enter__(self) -> EvtxWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def add(self, spec: EventSpec) -> int:
        """Append one event; returns its record id."""
        record_id = spec.record_id if spec.record_id is not None else self._next_id
        if not self._chunk.try_add(spec, record_id, self._next_num):
            self._flush_chunk()
            self._chunk.try_add(spec, record_id, self._next_num)
        self._next_id = record_id + 1
        self._next_num += 1
        self.records += 1
        return record_id

    def add_all(self, specs: Iterable[EventSpec]) -> int:
        n = 0
        for spec in specs:
            self.add(spec)
            n += 1
        return n

    def _flush_chunk(self) -> None:
        self._chunk_first_ids.append(self._chunk.first_id)
        self._stream.write(self._chunk.finish())
        self._chunks_written += 1
        self._chunk = _Chunk()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if not self._chunk.empty:
            self._flush_chunk()
        total = self._chunks_written
        flags = 0
        shown = total
        next_id = self._next_id
        if self._dirty or self._header_chunks is not None:
            flags |= 0x1
            shown = self._header_chunks if self._header_chunks is not None else max(total - 1, 1)
            shown = max(0, min(shown, total))
            if shown < total:
                next_id = self._chunk_first_ids[shown]
        last_chunk = max(shown - 1, 0)
        head = file_header(0, last_chunk, next_id, shown, flags, self._minor)
        if self._stream.seekable():
            end = self._stream.tell()
            self._stream.seek(self._start)
            self._stream.write(head)
            self._stream.seek(end)
        else:  # pragma: no cover - all callers here use seekable streams
            raise ValueError("EvtxWriter needs a seekable stream")
        if self._owned:
            self._stream.close()

    @property
    def chunks(self) -> int:
        return self._chunks_written + (0 if self._chunk.empty else 1)


def write_evtx(target: str | os.PathLike[str] | BinaryIO, specs: Iterable[EventSpec],
               **options: object) -> int:
    """Write all ``specs`` to ``target``; returns the number of records."""
    with EvtxWriter(target, **options) as w:  # type: ignore[arg-type]
        return w.add_all(specs)


def evtx_bytes(specs: Iterable[EventSpec], **options: object) -> bytes:
    stream = io.BytesIO()
    write_evtx(stream, specs, **options)
    return stream.getvalue()


def write_file(path: str | os.PathLike[str], specs: Iterable[EventSpec], **options: object) -> Path:
    """Write to ``path`` (parents created) and return it."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    write_evtx(p, specs, **options)
    return p
