"""Turn parser output (pyevtx-rs JSON, or event XML) into one ``Event`` shape.

The same event must come out the same whichever reader saw it, so both
normalisers here follow one set of rules:

* ``EventID`` may be an integer, a string, or an object with ``#text`` and
  ``Qualifiers`` (all three occur in real files); the 16-bit id and the
  qualifiers are kept apart.
* Named ``<Data Name=...>`` keep their names; unnamed classic ``<Data>`` become
  ``"1"``, ``"2"``, ...; ``<ComplexData Name=...>`` takes its name; ``Binary``
  is upper-case hex and left out when empty.
* ``UserData/<Wrapper>`` (Schannel: ``UserData/EventXML``) is flattened:
  leaf elements by name, nested ones as ``Parent.Child``, attributes as
  ``Element@attr``; a repeated name gets ``_1``, ``_2`` like pyevtx-rs does.
* JSON scalars are written the way Windows renders them in XML (``true``/
  ``false`` for booleans, decimal integers).
* Times become timezone-aware UTC; provider GUIDs ``{UPPER-CASE}``.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from types import MappingProxyType
from typing import Any

from tlsdiag.inputs.prefilter import same_record_answers
from tlsdiag.model import EPOCH, Event, EventForm, event_at, event_rest, event_system

_TS = re.compile(r"(\d{4})-(\d\d)-(\d\d)[T ](\d\d):(\d\d):(\d\d)(?:[.,](\d+))?\s*(Z|[+-]\d\d:?\d\d)?$")
_SKIP_ATTRS = ("xmlns",)
# python-evtx renders a string array as "<string>a</string>\n<string>b</string>\n" text
_PY_ARRAY = re.compile(r"(?:<string>(.*?)</string>\n)+", re.S)
_PY_ITEM = re.compile(r"<string>(.*?)</string>\n", re.S)


def parse_time(text: Any) -> datetime | None:
    """ISO-8601-ish time (pyevtx-rs, Windows XML with 7 fractional digits, python-evtx) to UTC."""
    if not isinstance(text, str):
        return None
    if len(text) == 27 and text[-1] == "Z" and text[10] == "T":  # pyevtx-rs: 2025-06-03T00:42:22.465914Z
        try:
            return _from_iso_z(text)
        except ValueError:
            pass
    m = _TS.match(text.strip())
    if not m:
        return None
    year, month, day, hour, minute, second = (int(m.group(i)) for i in range(1, 7))
    frac = m.group(7) or ""
    micro = int((frac + "000000")[:6]) if frac else 0
    try:
        ts = datetime(year, month, day, hour, minute, second, micro, tzinfo=timezone.utc)
    except ValueError:
        return None
    zone = m.group(8)
    if zone and zone != "Z":
        sign = 1 if zone[0] == "+" else -1
        digits = zone[1:].replace(":", "")
        ts -= sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
    return ts


def norm_guid(value: Any) -> str | None:
    if not value or not isinstance(value, str):
        return None
    core = value.strip().strip("{}").upper()
    return "{" + core + "}" if core else None


def _int(value: Any) -> int | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    try:
        text = str(value).strip()
        return int(text, 16) if text.lower().startswith("0x") else int(text)
    except ValueError:
        return None


def split_event_id(raw: int | None, qualifiers: int | None) -> tuple[int, int | None]:
    """The 16-bit id; a legacy 32-bit id carries its qualifiers in the high word."""
    if raw is None:
        return 0, qualifiers
    if raw > 0xFFFF:
        return raw & 0xFFFF, qualifiers if qualifiers is not None else raw >> 16
    return raw, qualifiers


@lru_cache(maxsize=256)
def _keywords(text: str) -> str:
    if text.lower().startswith("0x"):
        try:
            return f"0x{int(text, 16):x}"
        except ValueError:
            return text
    return text


def keywords(value: Any) -> str:
    """Keywords as Windows writes them: ``0x`` and hex without leading zeros."""
    return _keywords(scalar(value).strip())


def scalar(value: Any) -> str:
    """A JSON scalar as Windows renders it in event XML."""
    if type(value) is str:
        return value
    if value is None:
        return ""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, list):
        return ",".join(scalar(v) for v in value)
    if isinstance(value, dict):
        return scalar(value.get("#text"))
    return str(value)


class _Data:
    """Ordered field collector with pyevtx-rs style de-duplication of names."""

    __slots__ = ("fields", "unnamed")

    def __init__(self) -> None:
        self.fields: dict[str, str] = {}
        self.unnamed = 0

    def put(self, name: str, value: str) -> None:
        if "\r" in value:  # XML parsers turn CRLF into LF; make every reader agree
            value = value.replace("\r\n", "\n")
        fields = self.fields
        if name not in fields:
            fields[name] = value
            return
        if name in fields:
            n = 1
            while f"{name}_{n}" in self.fields:
                n += 1
            name = f"{name}_{n}"
        self.fields[name] = value

    def put_unnamed(self, value: str) -> None:
        self.unnamed += 1
        self.put(str(self.unnamed), value)

    def frozen(self) -> Mapping[str, str]:
        if self.unnamed == 1 and self.fields.get("1") == "":
            # an empty insertion-string array: pyevtx-rs and python-evtx show one empty <Data>, Windows'
            # own XML shows none; either way there is no value, so every reader gives no "1"
            del self.fields["1"]
        return MappingProxyType(self.fields)


# ---------------------------------------------------------------- JSON (pyevtx-rs)

def _json_attrs(node: dict[str, Any]) -> dict[str, Any]:
    attrs = node.get("#attributes")
    return attrs if isinstance(attrs, dict) else {}


def _json_flatten(data: _Data, name: str, value: Any) -> None:
    """One element (leaf or parent) of UserData or a nested EventData element."""
    if isinstance(value, dict):
        attrs = {k: v for k, v in _json_attrs(value).items() if not k.startswith(_SKIP_ATTRS)}
        children = [(k, v) for k, v in value.items() if k not in ("#attributes", "#text")]
        if children:
            for k, v in attrs.items():
                data.put(f"{name}@{k}", scalar(v))
            for k, v in children:
                _json_flatten(data, f"{name}.{k}", v)
        else:
            data.put(name, scalar(value.get("#text")))
            for k, v in attrs.items():
                data.put(f"{name}@{k}", scalar(v))
    else:
        data.put(name, scalar(value))


def _json_eventdata(data: _Data, node: Any) -> None:
    if not isinstance(node, dict):
        return
    put = data.put
    for key, value in node.items():
        kind = type(value)
        if kind is str or kind is int:
            if key.startswith("Binary") and (key == "Binary" or key[6:].lstrip("_").isdigit()):
                if value != "":
                    put(key, str(value).upper())
            else:
                put(key, value if kind is str else str(value))
            continue
        if key == "#attributes":
            continue
        if key == "Data" and isinstance(value, dict) and "#text" in value and "Name" not in _json_attrs(value):
            texts = value["#text"]
            for text in texts if isinstance(texts, list) else [texts]:
                data.put_unnamed(scalar(text))
            continue
        if key.startswith("Binary") and (key == "Binary" or key[6:].lstrip("_").isdigit()):
            if value not in (None, ""):
                data.put(key, scalar(value).upper())
            continue
        if isinstance(value, dict) and "Name" in _json_attrs(value):  # ComplexData Name=...
            data.put(str(_json_attrs(value)["Name"]), scalar(value.get("#text")))
            continue
        _json_flatten(data, key, value)


def _json_userdata(data: _Data, node: Any) -> None:
    if not isinstance(node, dict):
        return
    for wrapper_name, wrapper in node.items():
        if wrapper_name == "#attributes":
            continue
        if isinstance(wrapper, dict):
            put = data.put
            for key, value in wrapper.items():
                kind = type(value)
                if kind is str:
                    put(key, value)
                    continue
                if kind is int:
                    put(key, str(value))
                    continue
                if key == "#attributes":
                    continue
                if key == "#text":
                    data.put(wrapper_name, scalar(value))
                    continue
                _json_flatten(data, key, value)
        else:
            data.put(wrapper_name, scalar(wrapper))


_NO_ATTRS: dict[str, Any] = {}
_UTC = timezone.utc


def event_from_json(doc: Mapping[str, Any], *, source: str, locator: str, record_id: int | None,
                    fallback_time: str | None = None) -> Event:
    """One pyevtx-rs ``records_json()`` document (already ``json.loads``-ed) as an Event.

    Written for speed (it runs once per record): common shapes take the short path.
    """
    ev = doc.get("Event") if type(doc) is dict else None
    if type(ev) is not dict:
        raise ValueError("record has no Event element")
    system = ev.get("System")
    if type(system) is not dict:
        system = _NO_ATTRS
    provider = system.get("Provider")
    pattrs = provider.get("#attributes") if type(provider) is dict else None
    if type(pattrs) is not dict:
        pattrs = _NO_ATTRS
    eid = system.get("EventID")
    qualifiers = None
    if type(eid) is dict:
        qualifiers = _int(_json_attrs(eid).get("Qualifiers"))
        eid = eid.get("#text")
    event_id = eid if type(eid) is int else _int(eid)
    if event_id is None or event_id > 0xFFFF:
        event_id, qualifiers = split_event_id(event_id, qualifiers)
    created = system.get("TimeCreated")
    ts = None
    if type(created) is dict:
        cattrs = created.get("#attributes")
        if type(cattrs) is dict:
            text = cattrs.get("SystemTime")
            ts = _fast_time(text) if type(text) is str else None
    if ts is None:
        ts = parse_time(fallback_time) or EPOCH
    rid = system.get("EventRecordID")
    if type(rid) is not int:
        rid = _int(rid)
    level = system.get("Level")
    task = system.get("Task")
    channel = system.get("Channel")
    computer = system.get("Computer")
    guid = pattrs.get("Guid")
    return Event(
        source,
        locator,
        rid if rid is not None else record_id,
        ts,
        channel if type(channel) is str else scalar(channel),
        scalar(pattrs.get("Name") or pattrs.get("EventSourceName")),
        event_id,
        level if type(level) is int else _int(level),
        computer if type(computer) is str else scalar(computer),
        _guid(guid) if type(guid) is str else None,
        qualifiers,
        task if type(task) is int else _int(task),
        "",
        keywords(system.get("Keywords")),
        _json_data(ev),
        None,
        "evtx",
    )


_KNOWN_PARTS = frozenset(("#attributes", "System", "EventData", "UserData", "RenderingInfo"))


def _plain(node: dict[str, Any], text_checked: bool = False) -> dict[str, str] | None:
    """The fields of an element whose children are all plain text or numbers, as the general rules give
    them (``_Data.put``, ``_json_eventdata``, ``_json_userdata``); None where any other rule could apply.

    ``text_checked``: the caller made sure on the record's text that no key starts with "Binary" and
    no value holds a CR, so the loop need not look (it runs once per record).
    """
    fields = {}
    for key, value in node.items():
        kind = type(value)
        if kind is str:
            if not text_checked and ("\r" in value or key.startswith("Binary")):
                return None
            fields[key] = value
        elif kind is int:
            if not text_checked and key.startswith("Binary"):
                return None
            fields[key] = str(value)
        elif key != "#attributes":
            return None
    return fields


def _data_element(parts: dict[str, Any]) -> dict[str, Any] | None:
    """The one element whose children are an Event's data in the usual layouts (EventData alone, or the
    one wrapper element in UserData), or None for any other layout."""
    if not parts.keys() <= _KNOWN_PARTS:
        return None
    eventdata = parts.get("EventData")
    if eventdata is not None:
        return eventdata if "UserData" not in parts and type(eventdata) is dict else None
    userdata = parts.get("UserData")
    if type(userdata) is not dict:
        return None
    found = None
    for name, wrapper in userdata.items():
        if name != "#attributes":
            if found is not None or type(wrapper) is not dict:
                return None
            found = wrapper
    return found


def _json_data(parts: dict[str, Any], text_checked: bool = False) -> Mapping[str, str]:
    """The data fields of an Event element's parts (EventData, then UserData, then any other part).

    ``text_checked``: as for ``_plain``.
    """
    node = _data_element(parts)
    if node is not None:  # the usual record: one flat element of plain values
        fields = _plain(node, text_checked)
        if fields is not None:
            return MappingProxyType(fields)
    return _json_data_by_rules(parts)


def _json_data_by_rules(parts: dict[str, Any]) -> Mapping[str, str]:
    """``_json_data`` by the general rules (any layout)."""
    data = _Data()
    eventdata = parts.get("EventData")
    if eventdata is not None:
        _json_eventdata(data, eventdata)
    userdata = parts.get("UserData")
    if userdata is not None:
        _json_userdata(data, userdata)
    if not parts.keys() <= _KNOWN_PARTS:
        for key, value in parts.items():
            if key not in _KNOWN_PARTS and type(value) is dict:
                for k, v in value.items():
                    if k != "#attributes":
                        _json_flatten(data, k, v)
    return data.frozen()


def _fast_time(text: str) -> datetime | None:
    if len(text) == 27 and text[-1] == "Z":
        try:
            return _from_iso_z(text)
        except ValueError:
            pass
    return parse_time(text)


def _from_iso_z_310(text: str) -> datetime:
    return datetime.fromisoformat(text[:-1]).replace(tzinfo=_UTC)


# Python 3.11 reads the "Z" itself, about 8 times faster than parsing without it and replacing the zone
_from_iso_z = datetime.fromisoformat if sys.version_info >= (3, 11) else _from_iso_z_310


@lru_cache(maxsize=1024)
def _guid(value: str) -> str | None:
    return norm_guid(value)


# ---------------------------------------------------------------- XML (exports, python-evtx)

def _local(tag: Any) -> str:
    if not isinstance(tag, str):
        return ""
    return tag.rsplit("}", 1)[-1]


def _text(elem: Any) -> str:
    return elem.text or "" if elem is not None else ""


def _xml_attrs(elem: Any) -> list[tuple[str, str]]:
    return [(_local(k), v) for k, v in elem.attrib.items() if not _local(k).startswith(_SKIP_ATTRS)]


def _elements(elem: Any) -> list[Any]:
    return [c for c in elem if isinstance(c.tag, str)]


def _xml_flatten(data: _Data, name: str, elem: Any, pyevtx: bool = False) -> None:
    children = _elements(elem)
    if children:
        for k, v in _xml_attrs(elem):
            data.put(f"{name}@{k}", v)
        seen: dict[str, int] = {}
        for child in children:
            cname = _local(child.tag)
            n = seen.get(cname, 0)
            seen[cname] = n + 1
            _xml_flatten(data, f"{name}.{cname}" if n == 0 else f"{name}.{cname}_{n}", child, pyevtx)
    else:
        text = _text(elem)
        if pyevtx and _PY_ARRAY.fullmatch(text):
            for item in _PY_ITEM.findall(text):
                data.put(name, item)  # repeated name: name, name_1, ... as pyevtx-rs
        else:
            data.put(name, _time_value(text))
        for k, v in _xml_attrs(elem):
            data.put(f"{name}@{k}", v)


_LONG_FRACTION = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6})\d{1,3}Z")


def _time_value(text: str) -> str:
    """A FILETIME/SYSTEMTIME value as pyevtx-rs writes it (6 fractional digits; Windows XML has 7 or 9)."""
    if 28 <= len(text) <= 30 and text[-1] == "Z":
        m = _LONG_FRACTION.fullmatch(text)
        if m:
            return m.group(1) + "Z"
    return text


def _xml_eventdata(data: _Data, node: Any, pyevtx: bool = False) -> None:
    for child in _elements(node):
        tag = _local(child.tag)
        if tag == "Data":
            name = child.get("Name")
            text = _text(child)
            if pyevtx and _PY_ARRAY.fullmatch(text):
                items = _PY_ITEM.findall(text)
                if name is None:
                    for item in items:
                        data.put_unnamed(item)
                else:
                    data.put(name, ",".join(items))
                continue
            text = _time_value(text)
            if name is None:
                data.put_unnamed(text)
            else:
                data.put(name, text)
        elif tag == "Binary":
            if _text(child).strip():
                value = _text(child).strip()
                data.put("Binary", value.upper())
        elif child.get("Name") is not None and not _elements(child):
            data.put(child.get("Name"), _text(child))
        else:
            _xml_flatten(data, tag, child, pyevtx)


def _xml_userdata(data: _Data, node: Any, pyevtx: bool = False) -> None:
    for wrapper in _elements(node):
        children = _elements(wrapper)
        if not children:
            if wrapper.text and wrapper.text.strip():
                data.put(_local(wrapper.tag), wrapper.text)
            continue
        seen: dict[str, int] = {}
        for child in children:
            cname = _local(child.tag)
            n = seen.get(cname, 0)
            seen[cname] = n + 1
            _xml_flatten(data, cname if n == 0 else f"{cname}_{n}", child, pyevtx)


def event_from_xml(root: Any, *, source: str, locator: str, form: EventForm, pyevtx: bool = False) -> Event:
    """An lxml ``<Event>`` element (Windows export, python-evtx rendering) as an Event.

    ``pyevtx`` splits python-evtx's rendering of a string array inside one
    ``<Data>`` (``<string>a</string>``...) into the separate items Windows
    and pyevtx-rs show; its other value quirks are fixed where it renders them
    (``evtxfile._patch_python_evtx``).
    """
    system = None
    parts: dict[str, Any] = {}
    for child in _elements(root):
        tag = _local(child.tag)
        if tag == "System":
            system = child
        else:
            parts.setdefault(tag, child)
    if system is None:
        raise ValueError("event has no System element")
    fields: dict[str, Any] = {}
    for child in _elements(system):
        fields[_local(child.tag)] = child
    provider = fields.get("Provider")
    eid_elem = fields.get("EventID")
    qualifiers = _int(eid_elem.get("Qualifiers")) if eid_elem is not None else None
    event_id, qualifiers = split_event_id(_int(_text(eid_elem)), qualifiers)
    created = fields.get("TimeCreated")
    ts = parse_time(created.get("SystemTime")) if created is not None else None
    data = _Data()
    message = None
    for tag, node in parts.items():
        if tag == "EventData":
            _xml_eventdata(data, node, pyevtx)
        elif tag == "UserData":
            _xml_userdata(data, node, pyevtx)
        elif tag == "RenderingInfo":
            for child in _elements(node):
                if _local(child.tag) == "Message" and child.text:
                    message = child.text
        else:
            for child in _elements(node):
                _xml_flatten(data, _local(child.tag), child, pyevtx)
    name = ""
    guid = None
    if provider is not None:
        name = provider.get("Name") or provider.get("EventSourceName") or ""
        guid = norm_guid(provider.get("Guid"))
    return Event(
        source=source,
        locator=locator,
        record_id=_int(_text(fields.get("EventRecordID"))),
        timestamp=ts or EPOCH,
        channel=_text(fields.get("Channel")),
        provider=name,
        provider_guid=guid,
        event_id=event_id,
        qualifiers=qualifiers,
        level=_int(_text(fields.get("Level"))),
        computer=_text(fields.get("Computer")),
        task=_int(_text(fields.get("Task"))),
        keywords=keywords(_text(fields.get("Keywords"))),
        data=data.frozen(),
        message=message,
        form=form,
    )


# ---------------------------------------------------------------- repeated records (pyevtx-rs JSON)

# The parts of a record that differ between repetitions of the same event: its time and record id, and
# the Correlation/Execution elements (activity, process and thread ids), which no Event field comes from.
_INSTANCE = re.compile(
    r'"TimeCreated":\{"#attributes":\{"SystemTime":"(?P<t>[^"\\]*)"\}\},"EventRecordID":(?P<r>\d{1,19}),'
    r'(?P<x>"Correlation":(?:null|\{"#attributes":\{(?:[^{}"\\]|"[^"\\]*")*\}\}),'
    r'"Execution":(?:null|\{"#attributes":\{(?:[^{}"\\]|"[^"\\]*")*\}\}),)?')
MAX_REPEATS = 4096  # distinct record shapes remembered per parser (cleared when full)
COLD_RECORDS = 4096  # records decoded without the memo after a window in which it rarely hit


_NOT_WANTED = ("not wanted",)  # the shape of records the caller's filter skips (compared by identity)


def fast_loads() -> Callable[[str], Any]:
    """``json.loads`` for pyevtx-rs record text: orjson where installed (about twice as fast).

    Text orjson refuses (a lone surrogate escape, NaN) is read by json. The two differ
    otherwise only on integers beyond 64 bits (orjson makes them floats), which pyevtx-rs
    never writes: BinXML numbers are at most 64-bit and serde_json writes them exactly.
    (test_inputs_memo compares with json.loads on every sample and corpus record.)
    """
    import json

    try:
        import orjson
    except ImportError:
        return json.loads
    fast, slow, refused = orjson.loads, json.loads, orjson.JSONDecodeError

    def loads(text: str) -> Any:
        try:
            return fast(text)
        except refused:
            return slow(text)

    return loads


def _orjson_loads() -> Callable[[str], Any]:
    """orjson's loads alone (json's where orjson is missing): for text whose refusal has a way around it."""
    try:
        import orjson
    except ImportError:
        import json

        return json.loads
    return orjson.loads


class RecordMemo:
    """``event_from_json`` for pyevtx-rs JSON text, reusing what was decoded for earlier records.

    Busy logs repeat the same event thousands of times (a failing TLS handshake every few
    seconds), and decoding the JSON costs more than everything else done per record. Two
    records whose text is equal once the instance parts (``_INSTANCE``) are cut out give
    equal Events but for source, locator, record id and time, so the rest is taken from the
    first.

    Records that differ in their data (an error state, a user name) still share their System
    element with many others: every field of an Event but its data comes from there. So the
    System part is remembered as well, and for a record whose System was seen before only
    its data parts (EventData, UserData) are decoded.

    A record whose text does not have the expected shape is decoded as always. The answer
    of a ``wanted`` filter (``record_decision(text)``) is remembered with either, where it
    was decided by the text before the instance parts.
    """

    def __init__(self, loads: Any = None) -> None:
        self._loads = loads or fast_loads()
        # the data parts alone: text orjson refuses gives None there, and the whole record is decoded instead
        self._part_loads = loads or _orjson_loads()
        self._seen: dict[tuple[str, str], tuple] = {}  # (text before, text after the instance parts)
        self._systems: dict[tuple[str, str], tuple] = {}  # (text before them, after them up to the data)
        self._wanted: Any = None
        self.hits = 0  # records taken whole from an earlier one
        self.system_hits = 0  # records of which only the data parts were decoded
        # Where whole records rarely repeat (a Fabric Admin log, a log of distinct failures), building and
        # storing their key costs more than it saves: after a window of records that hit little, the next
        # COLD_RECORDS skip the whole-record memo (the System memo is still asked), then it is tried again.
        self._cold = 0
        self._window = self._window_hits = 0

    def _decode(self, text: str, source: str, where: str, record_id: int | None, fallback_time: str | None) -> Event:
        return event_from_json(self._loads(text), source=source, locator=f"{where} record {record_id}",
                               record_id=record_id, fallback_time=fallback_time)

    def event(self, text: str, source: str, where: str, record_id: int | None,
              fallback_time: str | None = None, wanted: Any = None) -> Event | None:
        """The record's Event (locator ``"{where} record {record_id}"``), or None when ``wanted`` does not want it.

        ``wanted`` is a ChunkPrefilter. The locator is made only for a record that gives an Event.
        """
        if wanted is not self._wanted:  # another filter (or a worker's copy of the same one)
            if not same_record_answers(wanted, self._wanted):
                self._seen.clear()
                self._systems.clear()
            self._wanted = wanted
        parts = _INSTANCE.split(text, 1)  # [before, time, record id, Correlation/Execution, after] when found
        ts = _fast_time(parts[1]) if len(parts) == 5 else None
        if ts is None:  # a record of an unusual shape: decoded as it is
            if wanted is not None and not wanted.record_wanted(text):
                return None
            return self._decode(text, source, where, record_id, fallback_time)
        # the match is the instance parts and constant text between them, so cutting it all out loses nothing
        # (two records that then still collide differ at most in Correlation/Execution, which no Event field uses);
        # the text before and after it are kept apart in the key, so records with equal keys agree on each
        before, after = parts[0], parts[4]
        number = int(parts[2])
        key = None
        if self._cold:  # the whole-record memo stands aside for a while (see __init__)
            self._cold -= 1
        else:
            key = (before, after)
            shape = self._seen.get(key)
            self._window += 1
            if shape is not None:
                self._window_hits += 1
            if self._window >= 256:
                self._cold = COLD_RECORDS if self._window_hits < 64 else 0
                self._window = self._window_hits = 0
            if shape is not None:
                self.hits += 1
                if shape is _NOT_WANTED:
                    return None
                return event_at(source, f"{where} record {record_id}", number, ts, shape)
            if len(self._seen) >= MAX_REPEATS:
                self._seen.clear()
        # the System memo: a record whose System element was seen before has only its data parts decoded
        split = _DATA_PART.search(after) if text.endswith("}}") else None
        if split is not None:
            at = split.start()
            system = self._systems.get((before, after[:at]))  # only text that starts with _EVENT_HEAD is kept
            if system is None:
                if text.startswith(_EVENT_HEAD):
                    event = self._first_of_system(text, before, after, at, ts, number, source, where, record_id,
                                                  fallback_time, wanted)
                else:
                    split = None
            elif system is _NOT_WANTED or (system[0] is _ASK and not wanted.record_wanted(text)):
                event = None
            elif system[1] is not None and (data := self._data(after[at + 1:-1])) is not None:
                self.system_hits += 1
                event = event_at(source, f"{where} record {record_id}", number, ts, (*system[1], data, None, "evtx"))
            else:
                event = self._decode(text, source, where, record_id, fallback_time)
        if split is None:  # no data part, or not the usual layout: decoded as it is
            if wanted is not None and not wanted.record_wanted(text):
                event = None
            else:
                event = self._decode(text, source, where, record_id, fallback_time)
        if key is not None:
            self._seen[key] = _NOT_WANTED if event is None else _shape_of(event)
        return event

    def _first_of_system(self, text: str, before: str, after: str, at: int, ts: datetime, number: int, source: str,
                         where: str, record_id: int | None, fallback_time: str | None, wanted: Any) -> Event | None:
        """The Event of a record whose System element was not seen before; what can be reused is remembered.

        ``before`` and ``after`` are the text around the instance parts, ``after[at]`` the comma before
        the first data part.
        """
        key = (before, after[:at])
        if len(self._systems) >= MAX_REPEATS:
            self._systems.clear()
        answer = None
        if wanted is not None:
            wants, extent = wanted.record_decision(text)
            answer = None if extent <= len(before) else _ASK  # decided by the text before the instance parts, or not
            if not wants:
                if answer is None:
                    self._systems[key] = _NOT_WANTED
                return None
        event = self._decode(text, source, where, record_id, fallback_time)
        # The split at the data part is used only when it gives what the full decoding gave: the split
        # is then between the System element and the data parts (see _DATA_PART), and the instance
        # parts are where the time and record id come from.
        fields = None
        if event.timestamp == ts and event.record_id == number and event.message is None and event.form == "evtx":
            data = self._data(after[at + 1:-1])
            if data is not None and list(data.items()) == list(event.data.items()):
                fields = event_system(event)
        self._systems[key] = (answer, fields)
        return event

    def _data(self, tail: str) -> Mapping[str, str] | None:
        """The data fields of the data parts; ``tail`` is the Event element's text after the comma that
        follows System, up to and including the Event element's closing brace."""
        try:
            parts = self._part_loads("{" + tail)
        except ValueError:
            return None
        if type(parts) is not dict:
            return None
        return _json_data(parts, '"Binary' not in tail and "\\r" not in tail)  # no Binary key, no CR in a value


def _shape_of(event: Event) -> tuple:
    """The fields of an Event after source, locator, record id and time (channel ... form)."""
    return event_rest(event)


_ASK = ("ask the filter",)  # a System whose filter answer depends on more than its own text
# The layout pyevtx-rs writes, up to the System element's first child.
_EVENT_HEAD = '{"Event":{"#attributes":{"xmlns":"http://schemas.microsoft.com/win/2004/08/events/event"},"System":{'
# The comma before the first data part. "{" and the text after that comma, without the document's final
# brace, is a JSON object only when the comma is one of the Event element's own (one level below the
# document): after any deeper comma, braces close before the end. After _EVENT_HEAD and the instance
# parts, such a comma follows the System element.
_DATA_PART = re.compile(r',"(?:EventData|UserData)":')
