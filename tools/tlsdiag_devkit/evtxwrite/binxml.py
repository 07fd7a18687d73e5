"""Binary XML (BinXML) encoding for EVTX records.

Written from the format descriptions in libyal's "Windows XML Event Log (EVTX)"
document and [MS-EVEN6] (no code taken from other projects). Names and
template definitions are chunk-relative: the first use in a chunk stores them
inline, later uses point back at that offset, and both are entered in the
chunk's hash tables, just as Windows does.

The tree that gets encoded is made of three small node types:

* ``El(name, attrs, children)``: an element; attribute values and children are
  ``str`` (literal text), ``Sub`` or further ``El``;
* ``Sub(index, vtype, optional)``: a substitution (template form only);
* literal ``str``: a value text token.
"""

from __future__ import annotations

import hashlib
import struct
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Literal

# Token types (libyal "Token types").
EOF = 0x00
OPEN_START = 0x01
CLOSE_START = 0x02
CLOSE_EMPTY = 0x03
END_ELEMENT = 0x04
VALUE = 0x05
ATTRIBUTE = 0x06
TEMPLATE_INSTANCE = 0x0C
NORMAL_SUB = 0x0D
OPTIONAL_SUB = 0x0E
FRAGMENT_HEADER = b"\x0f\x01\x01\x00"

# Value types (libyal "Value types").
T_NULL = 0x00
T_STRING = 0x01
T_INT8 = 0x03
T_UINT8 = 0x04
T_INT16 = 0x05
T_UINT16 = 0x06
T_INT32 = 0x07
T_UINT32 = 0x08
T_INT64 = 0x09
T_UINT64 = 0x0A
T_BOOL = 0x0D
T_BINARY = 0x0E
T_GUID = 0x0F
T_FILETIME = 0x11
T_SID = 0x13
T_HEX32 = 0x14
T_HEX64 = 0x15
T_BINXML = 0x21
T_STRING_ARRAY = 0x81

EPOCH = datetime(1601, 1, 1, tzinfo=timezone.utc)
_TICK = timedelta(microseconds=1)

_U32 = struct.Struct("<I")
_U16 = struct.Struct("<H")
_NAME_HEAD = struct.Struct("<IHH")


@dataclass(frozen=True, slots=True)
class Sub:
    """A substitution token: value ``index`` of the template instance."""

    index: int
    vtype: int
    optional: bool = False


@dataclass(frozen=True, slots=True)
class El:
    """An element node; ``attrs`` is a tuple of (name, str | Sub) pairs."""

    name: str
    attrs: tuple[tuple[str, str | Sub], ...] = ()
    children: tuple[El | Sub | str, ...] = ()


@dataclass(frozen=True)
class Template:
    """A template definition: a tree with substitutions, identified by a GUID.

    The GUID is derived from the tree itself so the same shape always gets the
    same identifier (deterministic output); the template id stored in the
    instance is the GUID's first 32 bits, as in files Windows writes.
    """

    root: El
    guid: bytes = field(init=False)
    template_id: bytes = field(init=False)

    def __post_init__(self) -> None:
        digest = hashlib.md5(repr(self.root).encode("utf-8"), usedforsecurity=False).digest()
        guid = uuid.UUID(bytes=digest, version=4).bytes_le
        object.__setattr__(self, "guid", guid)
        object.__setattr__(self, "template_id", guid[:4])


def name_hash(name: str) -> int:
    """[MS-EVEN6] NameHash: h = h * 65599 + code unit, over UTF-16 code units (low 16 bits kept)."""
    h = 0
    data = name.encode("utf-16-le")
    for (unit,) in struct.iter_unpack("<H", data):
        h = (h * 65599 + unit) & 0xFFFFFFFF
    return h


def guid_bucket(guid_le: bytes) -> int:
    """Template hash-table bucket: the same hash over the GUID as eight 16-bit units, mod 32."""
    h = 0
    for (unit,) in struct.iter_unpack("<H", guid_le):
        h = (h * 65599 + unit) & 0xFFFFFFFF
    return h % 32


# undo journal entries of ChunkContext: (kind, key added, hash bucket, the bucket's previous head)
_NameAdded = tuple[Literal["n"], str, int, int]
_TemplateAdded = tuple[Literal["t"], bytes, int, int]


class ChunkContext:
    """Names and templates already stored in one chunk, with an undo journal.

    A record is encoded tentatively; when it does not fit in the chunk the
    journal undoes the names and templates it would have added.
    """

    def __init__(self) -> None:
        self.names: dict[str, int] = {}
        self.templates: dict[bytes, int] = {}
        self.string_buckets = [0] * 64
        self.template_buckets = [0] * 32
        self._journal: list[_NameAdded | _TemplateAdded] = []

    def begin(self) -> None:
        self._journal.clear()

    def rollback(self) -> None:
        for entry in reversed(self._journal):
            if entry[0] == "n":
                _, name, bucket, previous = entry
                del self.names[name]
                self.string_buckets[bucket] = previous
            else:
                _, guid, bucket, previous = entry
                del self.templates[guid]
                self.template_buckets[bucket] = previous
        self._journal.clear()

    def add_name(self, name: str, offset: int, bucket: int) -> int:
        previous = self.string_buckets[bucket]
        self._journal.append(("n", name, bucket, previous))
        self.names[name] = offset
        self.string_buckets[bucket] = offset
        return previous

    def add_template(self, guid: bytes, offset: int, bucket: int) -> int:
        previous = self.template_buckets[bucket]
        self._journal.append(("t", guid, bucket, previous))
        self.templates[guid] = offset
        self.template_buckets[bucket] = offset
        return previous


_NAME_CACHE: dict[str, tuple[int, bytes]] = {}


def _name_parts(name: str) -> tuple[int, bytes]:
    parts = _NAME_CACHE.get(name)
    if parts is None:
        h = name_hash(name)
        encoded = name.encode("utf-16-le")
        parts = (h, encoded)
        _NAME_CACHE[name] = parts
    return parts


def _name_ref(out: bytearray, base: int, name: str, ctx: ChunkContext) -> None:
    """Write a name offset; store the name inline when the chunk has not seen it."""
    offset = ctx.names.get(name)
    if offset is not None:
        out += _U32.pack(offset)
        return
    h, encoded = _name_parts(name)
    offset = base + len(out) + 4
    nxt = ctx.add_name(name, offset, h % 64)
    out += _U32.pack(offset)
    out += _NAME_HEAD.pack(nxt, h & 0xFFFF, len(encoded) // 2)
    out += encoded
    out += b"\x00\x00"


def _text(out: bytearray, text: str) -> None:
    encoded = text.encode("utf-16-le")
    nchars = len(encoded) // 2
    if nchars > 0xFFFF:
        raise ValueError("value text longer than 65535 UTF-16 units")
    out.append(VALUE)
    out.append(T_STRING)
    out += _U16.pack(nchars)
    out += encoded


def _sub(out: bytearray, sub: Sub) -> None:
    out.append(OPTIONAL_SUB if sub.optional else NORMAL_SUB)
    out += _U16.pack(sub.index)
    out.append(sub.vtype)


def encode_element(out: bytearray, base: int, el: El, ctx: ChunkContext, dep: bool = True) -> None:
    """Append element ``el``; ``base`` is the chunk offset of ``out[0]``.

    ``dep`` writes the 16-bit dependency identifier that element starts carry
    inside template definitions; element starts in a Binary XML (0x21) value
    have none (libyal EVTX document, "Element start").
    """
    out.append(OPEN_START | 0x40 if el.attrs else OPEN_START)
    if dep:
        out += b"\xff\xff"  # dependency id: none
    size_at = len(out)
    out += b"\x00\x00\x00\x00"  # data size, patched below
    _name_ref(out, base, el.name, ctx)
    if el.attrs:
        list_start = len(out)
        out += b"\x00\x00\x00\x00"
        last = len(el.attrs) - 1
        for i, (aname, avalue) in enumerate(el.attrs):
            out.append(ATTRIBUTE | 0x40 if i < last else ATTRIBUTE)
            _name_ref(out, base, aname, ctx)
            if isinstance(avalue, Sub):
                _sub(out, avalue)
            else:
                _text(out, avalue)
        _U32.pack_into(out, list_start, len(out) - list_start - 4)
    children = [c for c in el.children if not (isinstance(c, str) and c == "")]
    if children:
        out.append(CLOSE_START)
        for child in children:
            if isinstance(child, El):
                encode_element(out, base, child, ctx, dep)
            elif isinstance(child, Sub):
                _sub(out, child)
            else:
                _text(out, child)
        out.append(END_ELEMENT)
    else:
        out.append(CLOSE_EMPTY)
    _U32.pack_into(out, size_at, len(out) - size_at - 4)


def encode_instance(
    out: bytearray,
    base: int,
    template: Template,
    values: list[tuple[int, bytes]],
    ctx: ChunkContext,
    tail: tuple[int, bytes] | None = None,
    tail_builder: Callable[[int], tuple[int, bytes]] | None = None,
) -> None:
    """Append a template instance (token, definition or reference, values).

    ``values`` are (type, bytes) pairs. When ``tail_builder`` is given it is
    called with the chunk offset where the last value will sit and must return
    that (type, bytes) pair; this is how a nested BinXML payload gets its
    chunk-relative offsets right.
    """
    out.append(TEMPLATE_INSTANCE)
    out.append(0x01)
    out += template.template_id
    known = ctx.templates.get(template.guid)
    if known is not None:
        out += _U32.pack(known)
    else:
        offset = base + len(out) + 4
        out += _U32.pack(offset)
        nxt = ctx.add_template(template.guid, offset, guid_bucket(template.guid))
        out += _U32.pack(nxt)
        out += template.guid
        size_at = len(out)
        out += b"\x00\x00\x00\x00"
        out += FRAGMENT_HEADER
        encode_element(out, base, template.root, ctx)
        out.append(EOF)
        _U32.pack_into(out, size_at, len(out) - size_at - 4)
    types = [vtype for vtype, _ in values]
    datas = [data for _, data in values]
    sizes = list(map(len, datas))
    if tail_builder is not None:
        pos = base + len(out) + 8 + 4 * len(values) + sum(sizes)
        tail = tail_builder(pos)
    if tail is not None:
        types.append(tail[0])
        datas.append(tail[1])
        sizes.append(len(tail[1]))
    count = len(sizes)
    if count and max(sizes) > 0xFFFF:
        raise ValueError("substitution value larger than 65535 bytes (larger than a chunk)")
    # descriptor: size (u16), type (u8), 0 (u8) == one little-endian u32
    out += struct.pack(f"<{count + 1}I", count, *[n | (t << 16) for n, t in zip(sizes, types, strict=True)])
    out += b"".join(datas)


# ---- value encoders -------------------------------------------------------------------------

NULL_VALUE: tuple[int, bytes] = (T_NULL, b"")


def v_string(text: str | None) -> tuple[int, bytes]:
    if text is None:
        return NULL_VALUE
    data = text.encode("utf-16-le")
    if len(data) > 0xFFFF:
        raise ValueError("string value larger than 65535 bytes")
    return (T_STRING, data)


def v_string_array(items: list[str]) -> tuple[int, bytes]:
    return (T_STRING_ARRAY, b"".join(s.encode("utf-16-le") + b"\x00\x00" for s in items))


def v_u8(n: int) -> tuple[int, bytes]:
    return (T_UINT8, bytes((n,)))


def v_u16(n: int) -> tuple[int, bytes]:
    return (T_UINT16, _U16.pack(n))


def v_u32(n: int) -> tuple[int, bytes]:
    return (T_UINT32, _U32.pack(n))


def v_u64(n: int) -> tuple[int, bytes]:
    return (T_UINT64, struct.pack("<Q", n))


def v_hex64(n: int) -> tuple[int, bytes]:
    return (T_HEX64, struct.pack("<Q", n))


def filetime(ts: datetime) -> int:
    """100-ns ticks since 1601-01-01 UTC (exact integer arithmetic)."""
    if ts.tzinfo is None:
        raise ValueError("event time must be timezone-aware (UTC)")
    return ((ts - EPOCH) // _TICK) * 10


def v_filetime(ts: datetime) -> tuple[int, bytes]:
    return (T_FILETIME, struct.pack("<Q", filetime(ts)))


_GUID_CACHE: dict[str, tuple[int, bytes]] = {}


def v_guid(text: str) -> tuple[int, bytes]:
    value = _GUID_CACHE.get(text)
    if value is None:
        value = (T_GUID, uuid.UUID(text.strip("{}")).bytes_le)
        _GUID_CACHE[text] = value
    return value


_SID_CACHE: dict[str, bytes] = {}


def sid_bytes(text: str) -> bytes:
    """Binary SID from the "S-1-5-21-..." form."""
    cached = _SID_CACHE.get(text)
    if cached is not None:
        return cached
    parts = text.split("-")
    if len(parts) < 3 or parts[0].upper() != "S":
        raise ValueError(f"not a SID: {text!r}")
    revision = int(parts[1])
    authority = int(parts[2])
    subs = [int(p) for p in parts[3:]]
    data = bytes((revision, len(subs))) + authority.to_bytes(6, "big")
    data += b"".join(_U32.pack(s) for s in subs)
    _SID_CACHE[text] = data
    return data


def v_sid(text: str | None) -> tuple[int, bytes]:
    if not text:
        return NULL_VALUE
    return (T_SID, sid_bytes(text))


def v_binary(data: bytes | None) -> tuple[int, bytes]:
    if not data:
        return NULL_VALUE
    return (T_BINARY, bytes(data))


def v_auto(value: object) -> tuple[int, bytes]:
    """Typed value for an EventData/UserData field from its Python type."""
    if value is None:
        return (T_STRING, b"")
    if isinstance(value, bool):
        return (T_BOOL, _U32.pack(1 if value else 0))
    if isinstance(value, int):
        if 0 <= value <= 0xFFFFFFFF:
            return v_u32(value)
        if 0 <= value <= 0xFFFFFFFFFFFFFFFF:
            return v_u64(value)
        return (T_INT64, struct.pack("<q", value))
    if isinstance(value, (bytes, bytearray, memoryview)):
        return v_binary(bytes(value))
    if isinstance(value, uuid.UUID):
        return (T_GUID, value.bytes_le)
    if isinstance(value, datetime):
        return v_filetime(value)
    return v_string(str(value))


def text_of(value: object) -> str:
    """The text an inline (template-less) record carries for a field value."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).hex().upper()
    if isinstance(value, uuid.UUID):
        return "{" + str(value).upper() + "}"
    if isinstance(value, datetime):
        return iso_time(value)
    return str(value)


def iso_time(ts: datetime) -> str:
    return ts.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
