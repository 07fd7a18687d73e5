"""Events of a chunk read straight from its template instances, for records like ones already decoded.

An EVTX record is almost always one template instance: a reference to a BinXML template (the XML
tree with numbered holes) and the values that fill the holes. Two records of the same templates
whose values are equal, but for the time, the record id, the Correlation/Execution values and the
plain data fields, give the same Event but for exactly those. So once pyevtx-rs has decoded one
such record (and the Event it gave was checked against what these values give), later records
are made here from their values, without pyevtx-rs rendering JSON and without decoding it: the
reader's costliest steps on a log where every record matters but no two are alike.

It is strict: a chunk is read here only when it is whole and its checksums match, every record in
it is a template instance of templates understood here, and every record's constant part was seen
before; anything else (a new event, an unusual value, a damaged chunk) sends the whole chunk to
pyevtx-rs as before, which then teaches this memo. Values taken from the record are only those of
simple types (text, integers, FILETIME, the record id), converted as pyevtx-rs renders them; every
other value is part of the key, so it is never converted here. ``tests/test_inputs_templates.py``
compares every record of the samples and the corpus with pyevtx-rs.

Format (libyal's EVTX document, [MS-EVEN6]): see ``evtxwrite/binxml.py``, which writes it.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta, timezone
from itertools import accumulate
from operator import itemgetter
from types import MappingProxyType
from typing import Any

from tlsdiag.inputs.prefilter import same_record_answers
from tlsdiag.model import Event

CHUNK_HEADER_SIZE = 512
_U32 = struct.Struct("<I").unpack_from
_RECORD = struct.Struct("<IIQ18xI").unpack_from  # magic, size, record id, (time, ...) the template's offset
_FRAGMENT = b"\x0f\x01\x01\x00"
_EPOCH = datetime(1601, 1, 1, tzinfo=timezone.utc)
_LAST_TIME = (datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=timezone.utc) - _EPOCH) // timedelta(microseconds=1)
_new = tuple.__new__

# value types (libyal "Value types") read from a record here; every other type stays in the key
_STRING, _FILETIME, _UINT64, _BINXML = 0x01, 0x11, 0x0A, 0x21
_INTS = {0x03: (1, True, "b"), 0x04: (1, False, "B"), 0x05: (2, True, "h"), 0x06: (2, False, "H"),
         0x07: (4, True, "i"), 0x08: (4, False, "I"), 0x09: (8, True, "q"), 0x0A: (8, False, "Q")}
# type: (width, signed, struct code)

# roles of a substitution in a template (anything not named here is constant: part of the key)
_TIME, _RID, _SKIP, _PAYLOAD = "time", "rid", "skip", "payload"
MAX_ENTRIES = 4096  # record shapes remembered (cleared when full)
LAYOUTS_PER_CHUNK = 16  # records of a chunk whose layout is remembered (see Layout)
LAYOUTS_PER_SIZE = 4  # layouts remembered per record size and System template
SHARED_PER_SHAPE = 64  # data mappings remembered per record shape, for records whose fields repeat
MAX_LAYOUT_LOAD = 32768  # entries and mappings held by all layouts together (memory stays bounded on any input)


class Unsupported(Exception):
    """A template or record this module does not read; the chunk goes to pyevtx-rs."""


class Plan:
    """What a template's substitutions are: which are read from records, and which form the key."""

    __slots__ = ("const", "count", "data", "ident", "payload", "rid", "runs", "sizes", "skips", "time")

    def __init__(self, ident: int, count: int, roles: dict[int, Any]) -> None:
        self.ident = ident  # the template's structure, numbered: equal in every chunk that holds it
        self.count = count  # substitutions it uses (highest index + 1); a record must give exactly these
        self.time: int | None = None
        self.rid: int | None = None
        self.payload: int | None = None
        self.data: list[tuple[str, int, int]] = []  # plain data fields read from records: (name, index, type)
        self.skips: list[int] = []  # Correlation/Execution values: neither read nor part of the key
        for index, role in sorted(roles.items()):
            if role == _TIME:
                self.time = index
            elif role == _RID:
                self.rid = index
            elif role == _PAYLOAD:
                self.payload = index
            elif role == _SKIP:
                self.skips.append(index)
            else:
                self.data.append((role[1], index, role[2]))
        self.sizes = struct.Struct("<" + "H2x" * count).unpack_from  # value sizes from the descriptors
        const = [i for i in range(count) if i not in roles]
        # the key: the constant values' sizes and bytes (runs of consecutive constant values, joined)
        self.const = itemgetter(*const) if len(const) > 1 else (lambda sizes, _c=tuple(const): tuple(
            sizes[i] for i in _c))
        runs: list[tuple[int, int]] = []
        for i in const:
            if runs and runs[-1][1] == i:
                runs[-1] = (runs[-1][0], i + 1)
            else:
                runs.append((i, i + 1))
        self.runs = runs


def _name(data: bytes, offset: int) -> str:
    count = struct.unpack_from("<H", data, offset + 6)[0]
    return data[offset + 8:offset + 8 + 2 * count].decode("utf-16-le")


class _TemplateReader:
    """Reads one template definition's element tree (only the tokens templates of event records use)."""

    def __init__(self, data: bytes, start: int, end: int) -> None:
        self.data, self.p, self.end = data, start, end
        self.outside = False  # a name stored elsewhere in the chunk (the same bytes may then name another)

    def _u8(self) -> int:
        if self.p >= self.end:
            raise Unsupported("template ends early")
        value = self.data[self.p]
        self.p += 1
        return value

    def _u16(self) -> int:
        value = struct.unpack_from("<H", self.data, self.p)[0]
        self.p += 2
        return value

    def _u32(self) -> int:
        value = _U32(self.data, self.p)[0]
        self.p += 4
        return value

    def _name(self) -> str:
        offset = self._u32()
        if offset == self.p:  # stored inline: skip it
            count = struct.unpack_from("<H", self.data, offset + 6)[0]
            self.p = offset + 8 + 2 * count + 2
        else:
            self.outside = True
        return _name(self.data, offset)

    def _value(self, token: int) -> tuple:
        """A literal value or a substitution (token already read)."""
        if token & 0xBF == 0x05:
            if self._u8() != _STRING:
                raise Unsupported("non-text literal")
            count = self._u16()
            text = self.data[self.p:self.p + 2 * count].decode("utf-16-le")
            self.p += 2 * count
            return ("text", text)
        if token in (0x0D, 0x0E):
            index = self._u16()
            return ("sub", index, self._u8(), token == 0x0E)
        raise Unsupported(f"token 0x{token:02x}")

    def element(self) -> tuple:
        """(name, ((attribute, value), ...), (child, ...)); the element's start token is next."""
        token = self._u8()
        if token & 0xBF != 0x01:
            raise Unsupported(f"token 0x{token:02x} where an element starts")
        self.p += 2 + 4  # dependency id, data size
        name = self._name()
        attrs = []
        if token & 0x40:
            list_end = self.p + 4 + self._u32()
            while self.p < list_end:
                token = self._u8()
                if token & 0xBF != 0x06:
                    raise Unsupported("attribute list")
                attr = self._name()
                attrs.append((attr, self._value(self._u8())))
            if self.p != list_end:
                raise Unsupported("attribute list size")
        token = self._u8()
        children: list[tuple] = []
        if token == 0x02:
            while True:
                nxt = self.data[self.p] if self.p < self.end else 0
                if nxt == 0x04:
                    self.p += 1
                    break
                if nxt & 0xBF == 0x01:
                    children.append(self.element())
                else:
                    self.p += 1
                    children.append(self._value(nxt))
        elif token != 0x03:
            raise Unsupported(f"token 0x{token:02x} after an element start")
        return (name, tuple(attrs), tuple(children))


def read_template(data: bytes, offset: int) -> tuple[tuple, bool]:
    """The element tree of the template definition at chunk offset ``offset``, and whether all its names
    are stored inside it (then its bytes alone say what it is, in any chunk)."""
    size = _U32(data, offset + 20)[0]
    start, end = offset + 24, offset + 24 + size
    if end > len(data) or data[start:start + 4] != _FRAGMENT:
        raise Unsupported("template definition")
    reader = _TemplateReader(data, start + 4, end)
    tree = reader.element()
    if reader.p >= end or data[reader.p] != 0x00:
        raise Unsupported("template does not end after its element")
    return tree, not reader.outside


def _single_sub(children: tuple) -> tuple | None:
    return children[0] if len(children) == 1 and children[0][0] == "sub" else None


def roles_of(tree: tuple) -> dict[int, Any]:
    """The substitutions of a template tree that are not constant: time, record id, Correlation/Execution,
    a nested payload, plain data fields ``("data", name, type)``. A substitution used twice stays constant."""
    uses: dict[int, int] = {}

    def count(node: tuple) -> None:
        for _attr, value in node[1]:
            if value[0] == "sub":
                uses[value[1]] = uses.get(value[1], 0) + 1
        for child in node[2]:
            if child[0] == "sub":
                uses[child[1]] = uses.get(child[1], 0) + 1
            elif child[0] != "text":
                count(child)

    count(tree)
    roles: dict[int, Any] = {}

    def put(sub: tuple | None, role: Any, vtype: int | None = None) -> None:
        if sub is not None and uses[sub[1]] == 1 and (vtype is None or sub[2] == vtype):
            roles[sub[1]] = role

    def fields(node: tuple) -> None:  # EventData or the one wrapper element of UserData
        found: list[tuple[str, tuple]] = []
        names: list[str] = []
        for child in node[2]:
            if child[0] in ("sub", "text"):
                continue
            name, attrs, content = child
            if node[0] == "EventData" and name == "Data" and attrs and attrs[0][0] == "Name" and \
                    attrs[0][1][0] == "text":
                name = attrs[0][1][1]
            names.append(name)
            sub = _single_sub(content)
            if sub is None or (sub[2] not in _INTS and sub[2] != _STRING):
                continue
            if (node[0] == "EventData" and (child[0] != "Data" or len(attrs) != 1 or attrs[0][0] != "Name" or
                                            attrs[0][1][0] != "text")) or (node[0] != "EventData" and attrs):
                continue
            if not name.startswith("Binary"):
                found.append((name, sub))
        for name, sub in found:
            if names.count(name) == 1:  # a name given twice: the renderings may differ, so it stays constant
                put(sub, ("data", name, sub[2]))

    def payload_root(node: tuple) -> None:
        if node[0] == "EventData":
            fields(node)
        elif node[0] == "UserData":
            wrappers = [c for c in node[2] if c[0] not in ("sub", "text")]
            if len(wrappers) == 1 and len(node[2]) == 1:
                fields(wrappers[0])

    if tree[0] == "Event":
        for child in tree[2]:
            if child[0] == "System":
                for part in child[2]:
                    if part[0] == "TimeCreated" and len(part[1]) == 1 and part[1][0][0] == "SystemTime":
                        value = part[1][0][1]
                        put(value if value[0] == "sub" else None, _TIME, _FILETIME)
                    elif part[0] == "EventRecordID" and not part[1]:
                        put(_single_sub(part[2]), _RID, _UINT64)
                    elif part[0] in ("Correlation", "Execution"):
                        for _attr, value in part[1]:
                            put(value if value[0] == "sub" else None, _SKIP)
            elif child[0] == "sub":
                put(child, _PAYLOAD, _BINXML)
            elif child[0] != "text":
                payload_root(child)
    else:
        payload_root(tree)
    return roles


_MISSING: Any = object()
_NOT_WANTED = ("not wanted",)


def _highest_sub(tree: tuple) -> int:
    top = -1
    for _attr, value in tree[1]:
        if value[0] == "sub":
            top = max(top, value[1])
    for child in tree[2]:
        if child[0] == "sub":
            top = max(top, child[1])
        elif child[0] != "text":
            top = max(top, _highest_sub(child))
    return top


class TemplateMemo:
    """Chunks whose every record repeats a known record shape, read without pyevtx-rs (see module doc).

    ``chunk_events`` gives a chunk's Events or None (then pyevtx-rs reads it, and ``learn`` is told
    what each of its records gave). One memo per thread, like ``normalize.RecordMemo``.
    """

    def __init__(self) -> None:
        self._entries: dict[tuple, Any] = {}
        self._plans: dict[tuple[int, bytes], Plan | None] = {}  # templates whose bytes say all, by offset and bytes
        self._idents: dict[tuple, int] = {}  # template structures, numbered
        self._next_ident = 0
        self._layouts: dict[tuple[int, int], list[Layout]] = {}  # by record size and the System template's ident
        self._load = 0  # entries and cached mappings the layouts hold (all of them go at MAX_LAYOUT_LOAD)
        self._mappings: dict[tuple, Mapping[str, str]] = {}  # data mappings made by the general way, by items
        self._here: dict[int, int] = {}  # the chunk being read: its templates' idents by offset
        self._wanted: Any = None
        self.chunks = 0  # chunks read here

    def _plan(self, data: bytes, offset: int, chunk_plans: dict[int, Plan | None]) -> Plan | None:
        """The plan of the template defined at ``offset`` of this chunk (None: not read here)."""
        plan = chunk_plans.get(offset, _MISSING)
        if plan is not _MISSING:
            return plan
        plan = None
        try:
            size = _U32(data, offset + 20)[0]
            cache_key = (offset, data[offset + 4:offset + 24 + size])  # not the chain pointer before the GUID
            plan = self._plans.get(cache_key, _MISSING)
            if plan is _MISSING:
                tree, contained = read_template(data, offset)
                ident = self._idents.get(tree)
                if ident is None:  # numbered from a counter: a number is never given to another template
                    if len(self._idents) >= MAX_ENTRIES:
                        self._idents.clear()
                    ident = self._idents[tree] = self._next_ident
                    self._next_ident += 1
                plan = Plan(ident, _highest_sub(tree) + 1, roles_of(tree))
                if contained:
                    if len(self._plans) >= MAX_ENTRIES:
                        self._plans.clear()
                    self._plans[cache_key] = plan
        except (Unsupported, struct.error, UnicodeDecodeError, IndexError, RecursionError):
            plan = None
        chunk_plans[offset] = plan
        if plan is not None:
            self._here[offset] = plan.ident
        return plan

    def _instance(self, data: bytes, p: int, chunk_plans: dict[int, Plan | None]) -> tuple[Plan, tuple, tuple] | None:
        """The template instance whose token is at ``p``: (plan, value offsets, key part), or None."""
        if data[p] != 0x0C:
            return None
        offset = _U32(data, p + 6)[0]
        q = p + 10
        if offset == q:  # the definition is stored here, before the values
            q += 24 + _U32(data, q + 20)[0]
        plan = self._plan(data, offset, chunk_plans)
        if plan is None or _U32(data, q)[0] != plan.count:
            return None
        count = plan.count
        start = q + 4 + 4 * count
        sizes = plan.sizes(data, q + 4)
        offsets = tuple(accumulate(sizes, initial=start))
        key = (plan.ident, data[q + 6:start:4], plan.const(sizes),
               b"".join([data[offsets[a]:offsets[b]] for a, b in plan.runs]))
        return plan, offsets, key

    def _record(self, data: bytes, p: int, size: int, chunk_plans: dict[int, Plan | None]) -> tuple | None:
        """(plan, value offsets, payload's (plan, offsets) or None, key) of the record at ``p``, or None."""
        if data[p + 24:p + 28] != _FRAGMENT:
            return None
        outer = self._instance(data, p + 28, chunk_plans)
        if outer is None:
            return None
        plan, offsets, key = outer
        end = offsets[-1]
        if end > p + size - 4 or (end < p + size - 4 and data[end] != 0):  # the values end inside the record,
            return None  # followed by the end of the fragment (Windows leaves old bytes in the slack after it)
        inner = None
        at = plan.payload
        if at is not None and offsets[at + 1] > offsets[at]:
            a = offsets[at]
            if data[a:a + 4] == _FRAGMENT:  # the Binary XML value may start with a fragment header or without
                a += 4
            nested = self._instance(data, a, chunk_plans)
            if nested is None:
                return None
            end = nested[1][-1]
            if end > offsets[at + 1] or (end < offsets[at + 1] and data[end] != 0):
                return None
            inner = nested[:2]
            key = (key, nested[2])
        return plan, offsets, inner, key

    def _walk(self, data: bytes, first_id: int, declared: int | None) -> list[tuple[int, int, int]] | None:
        """(offset, size, template offset) of each record of a whole chunk whose records chain from the header
        to the free space with consecutive ids, as many as the header declares; None for anything else."""
        free = _U32(data, 48)[0]
        if declared is None or not CHUNK_HEADER_SIZE <= free <= len(data):
            return None
        out = []
        p, expected = CHUNK_HEADER_SIZE, first_id
        while p < free:
            if p + 38 > free:
                return None
            magic, size, rid, toff = _RECORD(data, p)
            if magic != 0x2A2A or rid != expected or size < 38 or p + size > free or \
                    _U32(data, p + size - 4)[0] != size:
                return None
            out.append((p, size, toff))
            p += size
            expected += 1
        return out if len(out) == declared else None

    def chunk_events(self, data: bytes, first_id: int, declared: int | None, source: str, where: str,
                     wanted: Any) -> tuple[list[Event], int] | None:
        """The Events of a chunk whose checksums the caller checked, and how many records ``wanted``
        skipped; None unless every record is of a known shape (pyevtx-rs must read the chunk)."""
        if wanted is not self._wanted:
            self._take(wanted)
        if not self._entries:
            return None
        records = self._walk(data, first_id, declared)
        if records is None:
            return None
        chunk_plans: dict[int, Plan | None] = {}
        here = self._here
        here.clear()
        layouts = self._layouts
        local: dict[tuple[int, int], Any] = {}  # the layouts whose System template is in this chunk, by (size, offset)
        events: list[Event] = []
        append = events.append
        skipped = 0
        budget = LAYOUTS_PER_CHUNK
        rid = first_id - 1
        for p, size, toff in records:
            rid += 1
            # the quick way: a record laid out byte for byte like one seen before (see Layout)
            known = local.get((size, toff), _MISSING)
            if known is _MISSING:  # (empty until the general way has read the template in this chunk)
                ident = here.get(toff)
                known = layouts.get((size, ident), ()) if ident is not None else ()
                if ident is not None:
                    local[(size, toff)] = known
            entry = None
            if toff != p + 38:
                for layout in known:
                    values = layout.unpack(data, p)
                    at = layout.inner
                    if at is None or (values[at] != p + layout.inner_here and
                                      here.get(values[at]) == layout.inner_ident):
                        entry = layout.entries.get(layout.key(values))
                        if entry is not None:
                            break
            if entry is _NOT_WANTED:
                skipped += 1
                continue
            if entry is not None:
                # records with equal fields share one mapping (the analysis finds an event's shape by its
                # mapping first), as the reader's RecordMemo makes them
                raw = layout.raw(values) if layout.raw is not None else None
                fields = entry[2].get(raw)
                if fields is None:
                    if layout.texts:
                        fields = dict(entry[1])
                        for name, i, text in layout.fields:
                            fields[name] = _text(values[i]) if text else str(values[i])
                        fields = None if None in fields.values() else MappingProxyType(fields)
                    elif entry[3]:  # the fields read here are all the record's fields, in order
                        fields = MappingProxyType(dict(zip(layout.names, map(str, raw), strict=False)))
                    else:
                        fields = dict(entry[1])
                        fields.update(zip(layout.names, map(str, raw), strict=False))
                        fields = MappingProxyType(fields)
                    if fields is not None and len(entry[2]) < SHARED_PER_SHAPE and self._load < MAX_LAYOUT_LOAD:
                        fields = entry[2][raw] = self._share(fields, entry[0])
                        self._load += 1
                if fields is not None:
                    try:
                        append(_new(Event, (source, f"{where} record {rid}", values[layout.rid],
                                            _EPOCH + timedelta(0, 0, values[layout.time] // 10), *entry[0], fields,
                                            None, "evtx")))
                        continue
                    except OverflowError:  # a time after the year 9999: the general way refuses it
                        pass
            # the general way: read the template instances
            found = self._record(data, p, size, chunk_plans)
            if found is None:
                return None
            entry = self._entries.get(found[3])
            if entry is None:
                return None
            if budget:  # (a log whose records rarely share a layout would pay for this on every record)
                budget -= 1
                self._remember_layout(data, p, size, found, entry)
                local.pop((size, toff), None)
            if entry is _NOT_WANTED:
                skipped += 1
            else:
                event = _event(data, found, entry, source, f"{where} record {rid}", self._share)
                if event is None:
                    return None
                append(event)
        self.chunks += 1
        return events, skipped

    def _share(self, fields: Mapping[str, str], system: tuple) -> Mapping[str, str]:
        """The one mapping kept for data equal to ``fields`` in events whose other fields (channel ...
        keywords) are ``system``, made by either way of reading. (Per kind of event, as the reader's
        RecordMemo shares them: the analysis remembers one shape per mapping.)"""
        items = (system, tuple(fields.items()))
        mapping = self._mappings.get(items)
        if mapping is None:
            if len(self._mappings) >= MAX_ENTRIES:
                self._mappings.clear()
            mapping = self._mappings[items] = fields
        return mapping

    def shared(self, event: Event) -> Event:
        """``event`` with the mapping kept for its data, for an event pyevtx-rs read: so records of equal data
        share one mapping whichever way they were read (the reader's RecordMemo keeps its own)."""
        data = event[14]
        mapping = self._share(data, event[4:14])
        return event if mapping is data else _new(Event, (*event[:14], mapping, *event[15:]))

    def _take(self, wanted: Any) -> None:
        """Use ``wanted`` from now on; what was learned under the last filter goes unless it answers alike."""
        if not same_record_answers(wanted, self._wanted):
            self._forget()
        self._wanted = wanted

    def _forget(self) -> None:
        self._entries.clear()
        self._layouts.clear()
        self._mappings.clear()
        self._load = 0

    def _remember_layout(self, data: bytes, p: int, size: int, found: tuple, entry: Any) -> None:
        made = layout_of(data, p, size, found)
        if made is None:
            return
        self._load += 1
        if len(self._layouts) >= MAX_ENTRIES or self._load > MAX_LAYOUT_LOAD:
            self._layouts.clear()
            self._load = 1
        known = self._layouts.setdefault((size, made.outer), [])
        for layout in known:  # records of one size may be laid out in a few ways (a longer name, less slack)
            if layout.format == made.format and layout.inner_ident == made.inner_ident:
                break
        else:
            if len(known) >= LAYOUTS_PER_SIZE:
                del known[0]
            known.append(made)
            layout = made
        if len(layout.entries) >= MAX_ENTRIES:
            layout.entries.clear()
        values = layout.unpack(data, p)
        if entry is not _NOT_WANTED:  # with the data this record gives, and its raw values (see chunk_events)
            made = _event(data, found, entry, "", "", self._share)
            if made is None:
                return
            entry = (entry[0], entry[1], {layout.raw(values) if layout.raw is not None else None: made.data},
                     list(made.data) == layout.names)
        layout.entries[layout.key(values)] = entry

    def reader(self, data: bytes, first_id: int, declared: int | None) -> dict[int, tuple] | None:
        """What ``learn`` needs of each record of a chunk pyevtx-rs reads, by record id (None: nothing)."""
        records = self._walk(data, first_id, declared)
        if records is None:
            return None
        chunk_plans: dict[int, Plan | None] = {}
        out = {}
        self._here.clear()
        for rid, (p, size, _toff) in enumerate(records, first_id):
            found = self._record(data, p, size, chunk_plans)
            if found is not None and found[3] not in self._entries:
                out[rid] = (data, found)
        return out

    def learn(self, known: tuple, event: Event | None, text: str, wanted: Any) -> None:
        """Remember a record's shape from what pyevtx-rs and the normaliser made of it, once this module's
        reading of the same record gives exactly that."""
        if wanted is not self._wanted:
            self._take(wanted)
        data, found = known
        key = found[3]
        if key in self._entries:
            return
        if wanted is not None:  # its answer must be decided by the text before the record's own values
            wants, extent = wanted.record_decision(text)
            cut = text.find('"TimeCreated":')
            if cut < 0 or extent > cut or wants != (event is not None):
                return
        if event is None:
            entry: Any = _NOT_WANTED if wanted is not None else None
        elif event.form != "evtx" or event.message is not None or not _as_declared(found) or \
                not _plain_data(text, found):
            entry = None
        else:
            system = event[4:14]
            entry = (system, dict(event.data), self._share(event.data, system))  # (shared by records of equal data)
            made = _event(data, found, entry, event.source, event.locator)
            if made != event or made is None or list(made.data.items()) != list(event.data.items()):
                entry = None
        if entry is not None:
            if len(self._entries) >= MAX_ENTRIES:
                self._entries.clear()
            self._entries[key] = entry


def _as_declared(found: tuple) -> bool:
    """Whether the values read from the record (time, record id, data fields) have the types their templates
    declare: they are converted by those types. (A record's key holds the types of all its values, so
    every record with the same key agrees.)"""
    plan, _offsets, inner, key = found
    outer_key, inner_key = key if inner is not None else (key, None)
    types = outer_key[1]
    if plan.time is None or plan.rid is None or types[plan.time] != _FILETIME or types[plan.rid] != _UINT64:
        return False
    if any(types[index] != vtype for _name, index, vtype in plan.data):
        return False
    return inner is None or all(inner_key[1][index] == vtype for _name, index, vtype in inner[0].data)


def _plain_data(text: str, found: tuple) -> bool:
    """Whether the normaliser took the record's data fields as they are (``normalize._plain``), so that a
    field read here from another record's values is what it would take from that record's JSON."""
    plan, _offsets, inner, _key = found
    if not plan.data and (inner is None or not inner[0].data):
        return True  # no field is read from records: every one comes from this record
    from tlsdiag.inputs.normalize import _data_element, _plain, fast_loads

    doc = fast_loads()(text)
    node = _data_element(doc.get("Event", {})) if type(doc) is dict else None
    return node is not None and _plain(node) is not None


def _text(raw: bytes) -> str | None:
    """A text value as the normaliser keeps it, or None for one not read here (a CR, a NUL, bad UTF-16)."""
    try:
        text = raw.decode("utf-16-le")
    except UnicodeDecodeError:
        return None
    return None if "\r" in text or "\x00" in text else text


def _fields(data: bytes, plan: Plan, offsets: tuple, fields: dict[str, str]) -> bool:
    """Put the plain data fields of one template instance into ``fields``; False for a value not read here."""
    for name, index, vtype in plan.data:
        raw = data[offsets[index]:offsets[index + 1]]
        if vtype == _STRING:
            value = _text(raw)
            if value is None:
                return False
        else:
            width, signed, _code = _INTS[vtype]
            if len(raw) != width:
                return False
            value = str(int.from_bytes(raw, "little", signed=signed))
        fields[name] = value
    return True


def _event(data: bytes, found: tuple, entry: tuple, source: str, locator: str,
           share: Callable[[Mapping[str, str], tuple], Mapping[str, str]] | None = None) -> Event | None:
    """The Event of a record of a known shape: ``entry`` gives what is constant, the record the rest
    (``share``: ``TemplateMemo._share``)."""
    plan, offsets, inner, _key = found
    if plan.time is None or plan.rid is None:
        return None
    at = offsets[plan.time]
    if offsets[plan.time + 1] - at != 8:
        return None
    ticks = int.from_bytes(data[at:at + 8], "little")
    if ticks // 10 > _LAST_TIME:  # pyevtx-rs writes such a time in another form; the normaliser decides
        return None
    at = offsets[plan.rid]
    if offsets[plan.rid + 1] - at != 8:
        return None
    number = int.from_bytes(data[at:at + 8], "little")
    fields = dict(entry[1])
    if plan.data and not _fields(data, plan, offsets, fields):
        return None
    if inner is not None and inner[0].data and not _fields(data, inner[0], inner[1], fields):
        return None
    # records with equal data share one mapping, as the reader's RecordMemo makes them (the analysis
    # finds the shape of an event by its mapping first)
    mapping = entry[2] if fields == entry[1] else MappingProxyType(fields)
    if share is not None:
        mapping = share(mapping, entry[0])
    return _new(Event, (source, locator, number, _EPOCH + timedelta(microseconds=ticks // 10), *entry[0], mapping,
                        None, "evtx"))


class Layout:
    """Where, byte for byte, a record of known templates and value sizes keeps what differs between records.

    Two records of equal size whose System template sits at the same chunk offset (and is the same
    template in both chunks), and whose bytes agree everywhere but at the record header, the time,
    the record id, the Correlation/Execution values, the plain data fields and the slack after the
    end of the fragment, are read alike: their value descriptors (so every value's offset) and
    every constant value are among the bytes that agree. One ``struct`` call then gives both the
    key (the agreeing bytes) and the values, instead of reading the templates' instances again.
    """

    __slots__ = ("entries", "fields", "format", "inner", "inner_here", "inner_ident", "key", "names", "outer", "raw",
                 "rid", "texts", "time", "unpack")

    def __init__(self, fmt: str, key: list[int], roles: dict[str, int], fields: list[tuple[str, int, bool]],
                 outer: int, inner_ident: int | None, inner_here: int) -> None:
        self.format = fmt
        self.unpack = struct.Struct(fmt).unpack_from
        self.key = itemgetter(*key)
        self.time, self.rid = roles["time"], roles["rid"]
        self.inner = roles.get("inner")  # where the payload's template offset is among the values
        self.inner_here = inner_here  # that offset, relative to the record, when the template is defined inline
        self.inner_ident = inner_ident
        self.outer = outer
        self.fields = fields
        self.texts = any(text for _name, _i, text in fields)
        indexes = [i for _name, i, _text in fields]
        # the fields' raw values, always as a tuple (a one-item itemgetter gives the item itself; zip with
        # the names reads only the first of the pair)
        self.raw = (itemgetter(*indexes) if len(indexes) > 1 else itemgetter(*indexes, *indexes)) if fields else None
        self.names = [name for name, _i, _text in fields]
        self.entries: dict[Any, Any] = {}


def layout_of(data: bytes, p: int, size: int, found: tuple) -> Layout | None:
    """The Layout of the record at ``p`` as ``TemplateMemo._record`` read it, or None."""
    plan, offsets, inner, _key = found
    if plan.time is None or plan.rid is None:
        return None
    # the record header (the walk checks it) and the System template's offset (the caller checks that the
    # template there is the one this layout was made for)
    spans: list[tuple[int, int, str, Any]] = [(p, p + 24, "x", None), (p + 34, p + 38, "x", None)]

    def values(plan: Plan, offsets: tuple) -> bool:
        for index in plan.skips:
            if offsets[index + 1] > offsets[index]:
                spans.append((offsets[index], offsets[index + 1], "x", None))
        for name, index, vtype in plan.data:
            width = offsets[index + 1] - offsets[index]
            if vtype == _STRING:  # (an empty one too: a record's base may hold another record's text there)
                spans.append((offsets[index], offsets[index + 1], f"{width}s", ("text", name)))
            elif width == _INTS[vtype][0]:
                spans.append((offsets[index], offsets[index + 1], _INTS[vtype][2], ("int", name)))
            else:
                return False
        return True

    for role, index in (("time", plan.time), ("rid", plan.rid)):
        if offsets[index + 1] - offsets[index] != 8:
            return None
        spans.append((offsets[index], offsets[index] + 8, "Q", role))
    if not values(plan, offsets):
        return None
    inner_ident, inner_here = None, 0
    if inner is not None:
        a = offsets[plan.payload]
        if data[a:a + 4] == _FRAGMENT:
            a += 4
        spans.append((a + 6, a + 10, "I", "inner"))
        inner_ident, inner_here = inner[0].ident, a + 10 - p
        if not values(inner[0], inner[1]):
            return None
    end = offsets[-1]
    if end + 1 < p + size - 4:
        spans.append((end + 1, p + size - 4, "x", None))  # slack after the end of the fragment
    spans.sort(key=lambda span: span[:2])  # (empty spans and the span they touch keep their order)
    fmt = ["<"]
    key: list[int] = []
    roles: dict[str, int] = {}
    fields: list[tuple[str, int, bool]] = []
    pos, index = p, 0
    for start, stop, code, role in spans:
        if start < pos:
            return None
        if start > pos:
            fmt.append(f"{start - pos}s")
            key.append(index)
            index += 1
        if code[-1] == "x":
            fmt.append(f"{stop - start}x")
        else:
            fmt.append(code)
            if role == "inner":  # the payload template's offset: checked like the System template's
                roles["inner"] = index
            elif type(role) is tuple:
                fields.append((role[1], index, role[0] == "text"))
            else:
                roles[role] = index
            index += 1
        pos = stop
    if pos < p + size:
        fmt.append(f"{p + size - pos}s")
        key.append(index)
    if len(key) < 2:
        return None
    return Layout("".join(fmt), key, roles, fields, plan.ident, inner_ident, inner_here)
