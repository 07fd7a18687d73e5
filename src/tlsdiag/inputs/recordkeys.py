"""Which providers and event ids a chunk's records can have, read from their BinXML before any parsing.

The byte-level prefilter (``prefilter.py``) passes a chunk when a wanted provider name occurs anywhere
in it. On real logs that is often not enough: the ``EventLog`` provider, wanted only for its rare
event 6009 (the Windows version), writes 6005/6006/6013 into most System logs every day, and its
name also occurs inside "Microsoft-Windows-Eventlog". This module answers the real question for
such a chunk: can any of its records be a wanted (provider, event id)?

An EVTX record is a template instance: a reference to a template definition (an element tree with
numbered holes, stored once per chunk) followed by the values for the holes (libyal's "Windows XML
Event Log (EVTX) format", sections on template instances and substitutions). The provider name is
``Event/System/Provider/@Name`` and the event id ``Event/System/EventID``; each is either literal
text in the template or a substitution. So per template the tree is read once, and per record at
most two values are read.

It is sound by construction: every doubt (a record that is not a plain template instance, a
template or value this module does not read, a provider without a name, an event id of an
unexpected type) answers "may match", and the chunk is parsed as before. A template whose bytes do
not contain a wanted name cannot have it as literal text (value text is stored inline, as
UTF-16LE), so its tree is read only when one of its records carries a wanted name among its values.
The tests compare full and filtered reads on every sample and corpus file.
"""

from __future__ import annotations

import struct
from bisect import bisect_right
from collections.abc import Callable, Mapping
from typing import Any, Literal, NamedTuple

CHUNK_HEADER_SIZE = 512
_U16 = struct.Struct("<H").unpack_from
_U32 = struct.Struct("<I").unpack_from
_FRAGMENT = b"\x0f\x01\x01\x00"
_HEAD = struct.Struct("<IIQ8x4sB5xI")  # record: magic, size, number, (time), fragment header, token, template offset
_UNSEEN: Any = object()
_STRING = 0x01
_INTS = {0x04: "<B", 0x06: "<H", 0x08: "<I", 0x0A: "<Q"}  # unsigned integer value types and their layout


class Doubt(Exception):
    """Something this module does not read: the chunk is parsed."""


class Source(NamedTuple):
    """Where a template takes a value from: literal text, or substitution ``sub`` (of value type ``vtype``)."""

    kind: Literal["text", "sub"]
    text: str = ""
    sub: int = -1  # substitution index; a field named "index" would hide tuple.index
    vtype: int = 0


class _Tree:
    """Reads a template definition's tokens far enough to find the System/Provider Name and EventID."""

    def __init__(self, data: bytes, start: int, end: int) -> None:
        self.data, self.p, self.end = data, start, end
        self.provider: list[Source] = []
        self.event_id: list[Source] = []
        self.done = False
        self.outside: list[tuple[int, bytes]] = []  # names read from elsewhere in the chunk: (offset, bytes)

    def _u8(self) -> int:
        if self.p >= self.end:
            raise Doubt("template ends early")
        value = self.data[self.p]
        self.p += 1
        return value

    def _u16(self) -> int:
        value = _U16(self.data, self.p)[0]
        self.p += 2
        return value

    def _name(self) -> str:
        offset = _U32(self.data, self.p)[0]
        self.p += 4
        if offset + 8 > len(self.data):
            raise Doubt("name outside the chunk")
        count = _U16(self.data, offset + 6)[0]
        if offset == self.p:  # stored inline: step over it
            self.p = offset + 8 + 2 * count + 2
        else:
            self.outside.append((offset, self.data[offset + 6:offset + 8 + 2 * count]))
        return self.data[offset + 8:offset + 8 + 2 * count].decode("utf-16-le", "replace")

    def _value(self, token: int) -> Source:
        if token & 0xBF == 0x05:
            if self._u8() != _STRING:
                raise Doubt("non-text literal")
            count = self._u16()
            text = self.data[self.p:self.p + 2 * count].decode("utf-16-le", "replace")
            self.p += 2 * count
            return Source("text", text=text)
        if token in (0x0D, 0x0E):
            index = self._u16()
            return Source("sub", sub=index, vtype=self._u8())
        raise Doubt(f"token 0x{token:02x}")

    def element(self, path: tuple[str, ...]) -> None:
        token = self._u8()
        if token & 0xBF != 0x01:
            raise Doubt(f"token 0x{token:02x} where an element starts")
        self.p += 2 + 4  # dependency id, data size
        name = self._name()
        here = (*path, name)
        if token & 0x40:
            list_end = self.p + 4 + _U32(self.data, self.p)[0]
            self.p += 4
            while self.p < list_end:
                if self._u8() & 0xBF != 0x06:
                    raise Doubt("attribute list")
                attr = self._name()
                value = self._value(self._u8())
                if here == ("Event", "System", "Provider") and attr == "Name":
                    self.provider.append(value)
            if self.p != list_end:
                raise Doubt("attribute list size")
        token = self._u8()
        if token == 0x03:
            return
        if token != 0x02:
            raise Doubt(f"token 0x{token:02x} after an element start")
        while True:
            nxt = self.data[self.p] if self.p < self.end else 0
            if nxt == 0x04:
                self.p += 1
                self.done = here == ("Event", "System")  # all this module reads is in System: stop there
                return
            if nxt & 0xBF == 0x01:
                self.element(here)
                if self.done:
                    return
            else:
                self.p += 1
                value = self._value(nxt)
                if here == ("Event", "System", "EventID"):
                    self.event_id.append(value)


Sources = tuple[Source, Source | None]


def _template(data: bytes, offset: int) -> tuple[Sources, tuple[tuple[int, bytes], ...]]:
    """(provider name source, event id source or None) of the template defined at chunk offset ``offset``,
    and the names its tree refers to elsewhere in the chunk (offset, count and text as stored)."""
    if offset + 24 > len(data):
        raise Doubt("template definition outside the chunk")
    size = _U32(data, offset + 20)[0]
    start, end = offset + 24, offset + 24 + size
    if end > len(data) or data[start:start + 4] != _FRAGMENT:
        raise Doubt("template definition")
    tree = _Tree(data, start + 4, end)
    tree.element(())
    if not tree.done:
        raise Doubt("no Event/System element")
    if len(tree.provider) != 1 or len(tree.event_id) > 1:
        raise Doubt("no single System/Provider Name")
    return (tree.provider[0], (tree.event_id[0] if tree.event_id else None)), tuple(tree.outside)


class TemplateMemo:
    """Templates read before, in this or an earlier chunk of one reading: the same definition at the same offset, naming
    the same text where it refers to names stored elsewhere, has the same sources.

    A log's chunks define the same few templates again and again (each chunk is self-contained), and
    reading a tree costs more than the rest of the record-level test. The key holds the definition's
    bytes after its next-template link; names stored inline are at fixed offsets within them, so the
    offset is part of the key, and names stored elsewhere are compared on each use (as a few spans: a
    template refers mostly to the names an earlier template of the chunk stored, close together).
    One reading owns one (``inputs.readerstate.ReaderState``), so what it remembers is dropped with it.
    """

    LIMIT = 4096  # entries kept (a few hundred bytes each); cleared when full

    def __init__(self) -> None:
        self._known: dict[tuple[int, bytes], tuple[Sources, list[tuple[int, bytes]]]] = {}
        self.reads = self.hits = 0

    def sources(self, data: bytes, offset: int) -> Sources:
        key = (offset, data[offset + 4:offset + 24 + _U32(data, offset + 20)[0]])
        known = self._known.get(key)
        if known is not None and all(data[at:at + len(raw)] == raw for at, raw in known[1]):
            self.hits += 1
            return known[0]
        self.reads += 1
        sources, outside = _template(data, offset)  # a Doubt is not remembered: it is raised again next time
        if len(self._known) >= self.LIMIT:
            self._known.clear()
        self._known[key] = (sources, _spans(data, outside))
        return sources


def _spans(data: bytes, names: tuple[tuple[int, bytes], ...], gap: int = 256) -> list[tuple[int, bytes]]:
    """(start, bytes) of a few stretches of ``data`` that cover every name (offset, count and text) given:
    names less than ``gap`` bytes apart share one stretch (comparing the bytes between them too is
    stricter, never looser)."""
    spans: list[list[int]] = []
    for at, raw in sorted(names):
        start, end = at + 6, at + 6 + len(raw)
        if spans and start - spans[-1][1] <= gap:
            spans[-1][1] = max(spans[-1][1], end)
        else:
            spans.append([start, end])
    return [(start, data[start:end]) for start, end in spans]


class RecordKeys:
    """``may_match(chunk)``: whether any record of a whole chunk can be a wanted (provider, event id).

    ``names`` are the wanted provider names in lower case; ``ids`` maps some of them to the event
    ids wanted of them (a name not in ``ids`` wants every id). ``name_ends(raw)`` gives, in order, the
    end offsets of the wanted names found in ``raw`` (sound: every name stored in ``raw`` as UTF-16LE
    text ends at one of them; extra ends only cost work).
    """

    def __init__(self, names: frozenset[str], ids: Mapping[str, frozenset[int]],
                 name_ends: Callable[[bytes], list[int]]) -> None:
        self.names = names
        self.ids = dict(ids)
        self.name_ends = name_ends

    def may_match(self, data: bytes, ends: list[int] | None = None, templates: TemplateMemo | None = None) -> bool:
        """True when in doubt (see ``wanted_records``)."""
        found = self.wanted_records(data, ends, templates)
        return found is None or bool(found)

    def wanted_records(self, data: bytes, ends: list[int] | None = None,
                       templates: TemplateMemo | None = None) -> frozenset[int] | None:
        """The record numbers of the chunk's records that may be a wanted (provider, event id); None when
        in doubt about the chunk (every record may be). ``ends``: ``name_ends(data)`` when the caller has
        them (any order). ``templates``: the reading's memo of template trees (without one, each tree is
        read for this chunk alone; this object keeps nothing between calls). Reading past the chunk
        (``struct.error``) is a doubt about its bytes; any other exception is a bug here and goes to the
        caller, which logs and counts it."""
        try:
            return self._wanted(data, ends, templates if templates is not None else TemplateMemo())
        except (Doubt, struct.error):
            return None

    def _wanted(self, data: bytes, given: list[int] | None, templates: TemplateMemo) -> frozenset[int] | None:
        first_num, last_num = struct.unpack_from("<QQ", data, 8)
        free = _U32(data, 48)[0]
        if not CHUNK_HEADER_SIZE < free <= len(data) or last_num < first_num:
            return None
        ends = self.name_ends(data) if given is None else sorted(given)
        if not ends:
            return frozenset()

        # a wanted name lies wholly in data[a:b] only if one ends in (a, b]: ends[bisect(ends, a)] <= b
        ends.append(len(data) + 1)  # a sentinel: bisect always finds an end
        verdicts: dict[int, Sources | None] = {}  # template offset -> sources, None: no name
        records = 0
        found: list[int] = []
        p = CHUNK_HEADER_SIZE
        head = _HEAD.unpack_from
        while p < free:
            if p + 42 > free:
                return None
            magic, size, number, fragment, token, offset = head(data, p)
            if magic != 0x2A2A or size < 42 or p + size > free or fragment != _FRAGMENT or token != 0x0C:
                return None
            q = p + 38
            if offset == q:  # the definition is stored here, before the values
                q += 24 + _U32(data, q + 20)[0]
            sources = verdicts.get(offset, _UNSEEN)
            if sources is _UNSEEN:
                if not CHUNK_HEADER_SIZE <= offset < free:
                    return None
                tsize = _U32(data, offset + 20)[0]
                named = ends[bisect_right(ends, offset)] <= offset + 24 + tsize
                sources = verdicts[offset] = templates.sources(data, offset) if named else None
            if sources is None:
                # no wanted name in the template: a wanted provider can only come from this record's values
                if ends[bisect_right(ends, q)] <= p + size:
                    sources = verdicts[offset] = templates.sources(data, offset)
            if sources is not None and self._record_may_match(data, q, p + size, sources):
                found.append(number)
            if _U32(data, p + size - 4)[0] != size:
                return None
            p += size
            records += 1
        # every record the header counts was looked at (a parser reads no record the chain does not hold)
        return frozenset(found) if records == last_num - first_num + 1 else None

    def _record_may_match(self, data: bytes, q: int, end: int, sources: Sources) -> bool:
        provider, event_id = sources
        descriptors: tuple[int, ...] = ()  # (size, type | padding << 8) per substitution

        def value(index: int) -> tuple[int, int, int]:
            """(offset, size, type) of substitution ``index``."""
            nonlocal descriptors
            if not descriptors:
                count = _U32(data, q)[0]
                start = q + 4 + 4 * count
                if start > end:
                    raise Doubt("substitution array")
                descriptors = (*struct.unpack_from(f"<{2 * count}H", data, q + 4), start)
                if start + sum(descriptors[0:-1:2]) > end:
                    raise Doubt("values beyond the record")
            if 2 * index + 1 >= len(descriptors):
                raise Doubt("substitution index")
            at = descriptors[-1] + sum(descriptors[0:2 * index:2])
            return at, descriptors[2 * index], descriptors[2 * index + 1] & 0xFF

        if provider.kind == "text":
            name = provider.text
        else:
            at, vsize, vtype = value(provider.sub)
            if vtype != _STRING or vsize == 0:
                return True
            name = data[at:at + vsize].decode("utf-16-le", "replace").rstrip("\x00")
        name = name.lower()
        if name not in self.names:
            return False
        wanted = self.ids.get(name)
        if wanted is None or event_id is None:
            return True
        if event_id.kind == "text":
            try:
                number = int(event_id.text)
            except ValueError:
                return True
        else:
            at, vsize, vtype = value(event_id.sub)
            layout = _INTS.get(vtype)
            if layout is None or vsize != struct.calcsize(layout):
                return True
            number = struct.unpack_from(layout, data, at)[0]
        return (number & 0xFFFF) in wanted
