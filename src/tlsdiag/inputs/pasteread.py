"""Events as administrators paste and export them outside Event Viewer's own text and XML files.

- **Event Viewer XML view** copied from the "Friendly/XML View": each element line starts with "- " or
  "+ " (the fold markers) and ends in spaces; also an XML paste cut short (the rest of a forum post
  lost): complete events are read exactly, the cut one is read as far as it goes and the loss is
  reported with its line.
- **Event Viewer Friendly View** copied from the Details tab: ``- System`` / ``- EventData`` sections,
  ``[ Name]  value`` attribute lines and ``Name value`` element lines.
- **Get-WinEvent | Format-List** (default or ``*`` properties): ``Name : value`` lines, continuation
  lines indented; a record ends where its first property comes again.
- **Get-WinEvent | ConvertTo-Json** (Windows PowerShell ``/Date(ms)/`` times or PowerShell 7 ISO times),
  one object or an array.
- **Get-WinEvent | Export-Csv** (with or without the ``#TYPE`` line; comma or semicolon).
- **SIEM NDJSON** with Winlogbeat / Elastic field names (``winlog.channel``, ``winlog.event_id``,
  ``winlog.event_data``, ``@timestamp``), nested or dotted.

PowerShell exports carry the rendered message but the event data only as unnamed ``Properties``, so
those events keep the message and no data (form ``text``: the matcher reads the named fields back
from the message through the catalog's templates); NDJSON keeps the named ``event_data`` (form ``xml``).
Times without a zone are the exporting machine's local time, taken as UTC as for Event Viewer text.
Nothing here knows a cause or the knowledge base.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import re
from collections.abc import Iterator, Mapping
from datetime import datetime, timezone
from typing import Any, BinaryIO, Literal

from lxml import etree

from tlsdiag.inputs.normalize import event_from_xml, parse_time
from tlsdiag.inputs.textread import parse_date
from tlsdiag.model import EPOCH, LEVEL_NUMBERS, Event, FileReport, Loss, freeze_data

Form = Literal["xml-view", "xml-cut", "friendly-view", "format-list", "json", "csv", "ndjson"]
MAX_PASTE = 64 * 1024 * 1024  # exports are read whole; a bigger one is not a paste and is refused with a reason

_MARKER = re.compile(r"^[ \t]*[-+][ \t]+(?=<)", re.M)  # Event Viewer's fold markers before an element
_XML_VIEW = re.compile(r"^[ \t]*[-+][ \t]+<Event[\s>]", re.M)
_EVENT_START = re.compile(r"<Event[\s>]")
_EVENT_END = re.compile(r"</Event\s*>")
_FRIENDLY = re.compile(r"^[ \t]*-[ \t]*System[ \t]*$", re.M)
_FRIENDLY_ID = re.compile(r"^[ \t]*(?:-[ \t]*)?EventID\b", re.M)
_FRIENDLY_ATTR = re.compile(r"^[ \t]*\[[ \t]*([A-Za-z]+)\][ \t]*(.*?)[ \t]*$")
_FRIENDLY_ELEM = re.compile(r"^[ \t]*(-[ \t]*)?([A-Za-z][A-Za-z0-9_]*)(?:[ \t]+(.*?))?[ \t]*$")
_FIELD_LIKE = re.compile(r"[A-Za-z]*[a-z][A-Z]\w*|[A-Za-z_]*\d+|\w*_\w*")  # AlertDesc, param1, Error_State
_FL_LINE = re.compile(r"^([A-Za-z][A-Za-z0-9]*)[ \t]*:[ \t]?(.*)$")
_FL_KEYS = {"TimeCreated", "ProviderName", "Id", "Message", "LogName", "MachineName", "RecordId", "LevelDisplayName"}
_MS_DATE = re.compile(r"/Date\((-?\d+)(?:[+-]\d{4})?\)/")


def decode(raw: bytes) -> str:
    """Text of an export: BOMs, UTF-16 without BOM (PowerShell 5.1 redirection), UTF-8, then cp1252."""
    for bom, enc in ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be")):
        if raw.startswith(bom):
            return raw[len(bom):].decode(enc, "replace")
    sample = raw[:512]
    if len(sample) >= 4 and sample[1::2].count(0) > len(sample) // 4:
        return raw.decode("utf-16-le", "replace")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("cp1252", "replace")


def detect(text: str) -> Form | None:
    """Which of these forms the text is, or None (Event Viewer text and whole XML files have their own readers)."""
    body = text.lstrip("\ufeff \t\r\n")
    if not body:
        return None
    if _XML_VIEW.search(text[:65536]):
        return "xml-view"
    if _FRIENDLY.search(text[:65536]) and _FRIENDLY_ID.search(text[:65536]):
        return "friendly-view"
    if body.startswith(("<Event ", "<Event>", "<?xml")) and _EVENT_START.search(body[:4096]) \
            and not re.search(r"</Events?>\s*$", body):
        return "xml-cut"
    first = body.split("\n", 1)[0].strip()
    if first.startswith("{") and first.endswith("}"):
        try:
            obj = json.loads(first)
        except ValueError:
            obj = None
        if isinstance(obj, dict) and (_get(obj, "winlog") is not None or _get(obj, "winlog.event_id") is not None):
            return "ndjson"
    if body[0] in "[{" and re.search(r'"(?:ProviderName|Id)"\s*:', body[:65536]) and '"TimeCreated"' in body[:65536]:
        return "json"
    header = first if not first.startswith("#TYPE") else (body.split("\n", 2)[1:2] or [""])[0].strip()
    if re.search(r'"?ProviderName"?\s*[,;]', header) or re.search(r'[,;]\s*"?ProviderName"?(?:\s*[,;]|\s*$)', header):
        if re.search(r'(?:^|[,;])\s*"?Id"?\s*(?:[,;]|$)', header):
            return "csv"
    keys = set()
    for line in body.splitlines()[:80]:
        m = _FL_LINE.match(line)
        if m and m.group(1) in _FL_KEYS:
            keys.add(m.group(1))
    if {"ProviderName", "Id"} <= keys and ({"TimeCreated", "Message"} & keys):
        return "format-list"
    return None


def read_export(stream: BinaryIO, source: str, report: FileReport) -> Iterator[Event]:
    """Events of one pasted or exported file in any of the forms above, in file order."""
    raw = stream.read(MAX_PASTE + 1)
    if len(raw) > MAX_PASTE:
        report.error = f"larger than {MAX_PASTE // (1024 * 1024)} MiB: not a paste or export this reader takes"
        return
    text = decode(raw)
    form = detect(text)
    if form is None:
        report.error = "not a recognised event export (XML view, Format-List, ConvertTo-Json, Export-Csv, NDJSON)"
        return
    yield from events_from_text(text, source, report, form)


def events_from_text(text: str, source: str, report: FileReport, form: Form | None = None) -> Iterator[Event]:
    """The events of pasted text (``detect`` decides the form when not given); losses go to ``report``."""
    form = form or detect(text)
    if form in ("xml-view", "xml-cut"):
        yield from _xml_events(text, source, report)
    elif form == "friendly-view":
        yield from _friendly_view(text, source, report)
    elif form == "format-list":
        yield from _format_list(text, source, report)
    elif form == "json":
        yield from _json(text, source, report)
    elif form == "csv":
        yield from _csv(text, source, report)
    elif form == "ndjson":
        yield from _ndjson(text, source, report)


# ---------------------------------------------------------------- XML view and cut XML

def _line_of(text: str, pos: int) -> int:
    return text.count("\n", 0, pos) + 1


def _xml_events(text: str, source: str, report: FileReport) -> Iterator[Event]:
    clean = "\n".join(line.rstrip() for line in _MARKER.sub("", text).split("\n"))
    strict = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
    lenient = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False, recover=True)
    pos = 0
    while True:
        start = _EVENT_START.search(clean, pos)
        if start is None:
            return
        if "<!DOCTYPE" in clean[:start.start()] or "<!ENTITY" in clean[:start.start()]:
            report.error = "XML with a DTD or entity declarations is refused (event exports never need one)"
            return
        end = _EVENT_END.search(clean, start.end())
        nxt = _EVENT_START.search(clean, start.end())
        line = _line_of(clean, start.start())
        locator = f"line {line}"
        if end is not None and (nxt is None or end.start() < nxt.start()):
            segment = clean[start.start():end.end()]
            pos = end.end()
            try:
                yield _event(etree.fromstring(segment.encode("utf-8"), strict), source, locator)
            except Exception as exc:
                report.lost.append(Loss(source, locator, f"event XML not readable: {_short(exc)}", 1))
            continue
        # cut short: read what is there, say what is missing
        stop = nxt.start() if nxt is not None else len(clean)
        segment = clean[start.start():stop]
        pos = stop
        try:
            root = etree.fromstring(segment.encode("utf-8"), lenient)
            event = _event(root, source, f"{locator} (cut short)")
        except Exception as exc:
            report.lost.append(Loss(source, locator, f"event XML cut short and not readable: {_short(exc)}", 1))
            continue
        report.lost.append(Loss(source, locator, "event XML cut short: read up to the cut; fields after it are "
                                "missing", 0))
        yield event


def _event(root: Any, source: str, locator: str) -> Event:
    if root is None or etree.QName(root).localname != "Event":
        raise ValueError("no <Event> element")
    for elem in root.iter():
        if len(elem) == 0 and elem.text and not elem.text.strip():
            elem.text = None  # pretty-printing, not a value
    return event_from_xml(root, source=source, locator=locator, form="xml")


def _short(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:200] or type(exc).__name__


# ---------------------------------------------------------------- Event Viewer Friendly View

def _friendly_view(text: str, source: str, report: FileReport) -> Iterator[Event]:
    """Each "- System" section starts an event; element, attribute and EventData lines fill it."""
    blocks: list[tuple[int, list[str]]] = []
    for number, line in enumerate(text.splitlines(), 1):
        if _FRIENDLY.match(line):
            blocks.append((number, []))
        elif blocks:
            blocks[-1][1].append(line)
    for start, lines in blocks:
        system: dict[str, str] = {}
        attrs: dict[str, str] = {}
        data: list[tuple[str, str]] = []
        section, parent = "System", ""
        for line in lines:
            if not line.strip():
                continue
            attr = _FRIENDLY_ATTR.match(line)
            if attr:
                attrs.setdefault(f"{parent}.{attr.group(1)}", attr.group(2))
                continue
            elem = _FRIENDLY_ELEM.match(line)
            if elem is None:
                if section != "System":
                    data.append((str(len(data) + 1), line.strip()))  # classic events: values without names
                continue
            opener, name, value = elem.group(1), elem.group(2), (elem.group(3) or "").strip()
            if opener and name in ("EventData", "UserData"):
                section, parent = name, ""
            elif opener:
                parent = name
                if section == "System" and value:  # "- EventID 7024" (with a [ Qualifiers] line below)
                    system.setdefault(name, value)
            elif section == "System":
                system.setdefault(name, value)
            elif value:
                data.append((name, value))
            else:
                data.append((str(len(data) + 1), name))
        if "EventID.Qualifiers" in attrs and not all(_FIELD_LIKE.fullmatch(k) for k, _ in data):
            # a classic event: its EventData lines are values (numbered like %1, %2), not "Name value"
            data = [(str(i), v if k.isdigit() else f"{k} {v}".strip()) for i, (k, v) in enumerate(data, 1)]
        event_id = _int(system.get("EventID"))
        provider = attrs.get("Provider.Name", "").strip()
        if event_id is None or not provider:
            report.lost.append(Loss(source, f"line {start}", "Friendly View section without EventID or provider; "
                                    "not read", 1))
            continue
        ts = parse_time(attrs.get("TimeCreated.SystemTime", ""))
        locator = f"line {start}"
        yield Event(
            source=source, locator=locator if ts else f"{locator} (no date)", record_id=_int(system.get("EventRecordID")),
            timestamp=ts or EPOCH, channel=system.get("Channel", ""), provider=provider, event_id=event_id & 0xFFFF,
            level=_int(system.get("Level")), computer=system.get("Computer", ""),
            provider_guid=_guid(attrs.get("Provider.Guid")), qualifiers=_int(attrs.get("EventID.Qualifiers")),
            task=_int(system.get("Task")), keywords=system.get("Keywords", ""),
            data=freeze_data(data), message=None, form="xml")


# ---------------------------------------------------------------- PowerShell exports

def _get(obj: Mapping[str, Any], dotted: str) -> Any:
    """A nested value by dotted path, or the same path as one flat key (Elastic exports use both)."""
    if dotted in obj:
        return obj[dotted]
    cur: Any = obj
    for part in dotted.split("."):
        if not isinstance(cur, Mapping) or part not in cur:
            return None
        cur = cur[part]
    return cur


def _ps_time(value: Any) -> datetime | None:
    if isinstance(value, Mapping):  # ConvertTo-Json of a DateTime with its ETS properties
        value = value.get("value", value.get("DateTime"))
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(value / 1000, tz=timezone.utc)
    if not isinstance(value, str):
        return None
    m = _MS_DATE.search(value)
    if m:
        return datetime.fromtimestamp(int(m.group(1)) / 1000, tz=timezone.utc)
    return parse_time(value) or parse_date(value)


def _int(value: Any) -> int | None:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return None


def _level(props: Mapping[str, Any]) -> int | None:
    level = _int(props.get("Level"))
    if level is not None:
        return level
    name = str(props.get("LevelDisplayName") or "").strip().lower()
    return LEVEL_NUMBERS.get(name)


def _ps_event(props: Mapping[str, Any], source: str, locator: str, report: FileReport) -> Event | None:
    """An Event from one record's PowerShell properties; None (and a Loss) without provider or id."""
    event_id = _int(props.get("Id"))
    provider = str(props.get("ProviderName") or "").strip()
    if event_id is None or not provider:
        report.lost.append(Loss(source, locator, "record without ProviderName or Id; not read", 1))
        return None
    ts = _ps_time(props.get("TimeCreated"))
    message = props.get("Message")
    return Event(
        source=source, locator=locator if ts else f"{locator} (no date)", record_id=_int(props.get("RecordId")),
        timestamp=ts or EPOCH, channel=str(props.get("LogName") or "").strip(), provider=provider,
        event_id=event_id & 0xFFFF, level=_level(props), computer=str(props.get("MachineName") or "").strip(),
        provider_guid=_guid(props.get("ProviderId")), qualifiers=_int(props.get("Qualifiers")),
        task=_int(props.get("Task")), task_name=str(props.get("TaskDisplayName") or "").strip(),
        data=freeze_data({}), message=str(message).strip() if message else None, form="text")


def _guid(value: Any) -> str | None:
    text = str(value or "").strip().strip("{}")
    return "{" + text.upper() + "}" if re.fullmatch(r"[0-9a-fA-F-]{36}", text) else None


def _format_list(text: str, source: str, report: FileReport) -> Iterator[Event]:
    records: list[tuple[int, dict[str, str]]] = []
    current: dict[str, str] = {}
    start = 0
    key = None
    for number, line in enumerate(text.splitlines(), 1):
        m = _FL_LINE.match(line)
        if m and not line[:1].isspace():
            name, value = m.group(1), m.group(2).rstrip()
            if name in current:  # the first property again: the next record
                records.append((start, current))
                current = {}
            if not current:
                start = number
            current[name] = value
            key = name
        elif key is not None and current:
            current[key] += "\n" + line.strip() if line.strip() else "\n"
    if current:
        records.append((start, current))
    for start, props in records:
        if "Message" in props:
            props["Message"] = re.sub(r"\n{3,}", "\n\n", props["Message"]).strip()
        event = _ps_event(props, source, f"line {start}", report)
        if event is not None:
            yield event


def _json(text: str, source: str, report: FileReport) -> Iterator[Event]:
    try:
        doc = json.loads(text.lstrip("\ufeff"))
    except ValueError as exc:
        report.lost.append(Loss(source, f"line {getattr(exc, 'lineno', '?')}", f"JSON damaged, nothing read: "
                                f"{_short(exc)}", None))
        return
    items = doc if isinstance(doc, list) else [doc]
    for i, item in enumerate(items, 1):
        if not isinstance(item, Mapping):
            report.lost.append(Loss(source, f"item {i}", "not an object; not read", 1))
            continue
        event = _ps_event(item, source, f"item {i}", report)
        if event is not None:
            yield event


def _csv(text: str, source: str, report: FileReport) -> Iterator[Event]:
    lines = text.lstrip("\ufeff").splitlines(keepends=True)
    skip = 1 if lines and lines[0].startswith("#TYPE") else 0
    body = "".join(lines[skip:])
    header = lines[skip] if len(lines) > skip else ""
    delimiter = ";" if header.count(";") > header.count(",") else ","
    reader = csv.DictReader(io.StringIO(body), delimiter=delimiter)
    try:
        for row in reader:
            locator = f"line {reader.line_num + skip}"
            event = _ps_event({k: v for k, v in row.items() if k}, source, locator, report)
            if event is not None:
                yield event
    except csv.Error as exc:
        report.lost.append(Loss(source, f"line {reader.line_num + skip}", f"CSV damaged, rest not read: {_short(exc)}",
                                None))


def _ndjson(text: str, source: str, report: FileReport) -> Iterator[Event]:
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        locator = f"line {number}"
        try:
            obj = json.loads(line)
        except ValueError as exc:
            report.lost.append(Loss(source, locator, f"not a JSON line: {_short(exc)}", 1))
            continue
        if not isinstance(obj, Mapping):
            report.lost.append(Loss(source, locator, "not a JSON object; not read", 1))
            continue
        event_id = _int(_get(obj, "winlog.event_id") or _get(obj, "event.code"))
        provider = str(_get(obj, "winlog.provider_name") or _get(obj, "event.provider") or "").strip()
        if event_id is None or not provider:
            report.lost.append(Loss(source, locator, "record without winlog.event_id or provider name; not read", 1))
            continue
        data = _get(obj, "winlog.event_data") or _get(obj, "winlog.user_data") or {}
        ts = _ps_time(_get(obj, "@timestamp"))
        level_text = str(_get(obj, "log.level") or _get(obj, "winlog.level") or "").strip().lower()
        message = _get(obj, "message")
        yield Event(
            source=source, locator=locator if ts else f"{locator} (no date)", record_id=_int(_get(obj, "winlog.record_id")),
            timestamp=ts or EPOCH, channel=str(_get(obj, "winlog.channel") or "").strip(), provider=provider,
            event_id=event_id & 0xFFFF, level=LEVEL_NUMBERS.get(level_text),
            computer=str(_get(obj, "winlog.computer_name") or _get(obj, "host.name") or "").strip(),
            provider_guid=_guid(_get(obj, "winlog.provider_guid")),
            task_name=str(_get(obj, "winlog.task") or "").strip(),
            data=freeze_data(data if isinstance(data, Mapping) else {}),
            message=str(message).strip() if message else None, form="xml" if data else "text")


# ---------------------------------------------------------------- for explain

def details_text(text: str) -> str | None:
    """Pasted exports as Event Viewer "details" text blocks (header, description, data), or None.

    ``explain`` matches such blocks already; this lets it take the other forms pasted the same way.
    """
    if detect(text) is None:
        return None
    report = FileReport("(pasted text)", form="export", size=len(text))
    events = list(events_from_text(text, "(pasted text)", report))
    if not events:
        return None
    blocks = []
    for e in events:
        lines = [f"Log Name: {e.channel}", f"Source: {e.provider}", f"Event ID: {e.event_id}"]
        if e.level is not None:
            lines.append(f"Level: {e.level_name}")
        if e.computer:
            lines.append(f"Computer: {e.computer}")
        lines.append("Description:")
        lines.append(e.message or "")
        lines += [f"{k}: {v}" for k, v in e.data.items()]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


__all__ = ["MAX_PASTE", "decode", "details_text", "detect", "events_from_text", "read_export"]
