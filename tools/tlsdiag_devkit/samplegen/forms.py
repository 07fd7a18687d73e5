"""The other input forms an administrator sends: XML exports, copied text, a zip.

* ``wevtutil qe <log> /f:xml``: rendered events one after another with no root
  element, attributes in single quotes (as in the rendered Schannel XML of
  [S31]), one event per line.
* Event Viewer "Save all events as XML": an ``<Events>`` root, each event with a
  ``RenderingInfo`` whose ``<Message>`` holds the rendered text.
* Event Viewer "Copy details as text": the ``Log Name: ... Description:`` block
  the seed quotes, English, optionally followed by "Event Xml:"; and the same
  block with the labels of a German Event Viewer.
* A zip of a collection in the layout of a forensic triage copy
  (``C/Windows/System32/winevt/Logs/``), stored uncompressed with fixed
  timestamps so it is byte-identical on every machine.
"""

from __future__ import annotations

import zipfile
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timezone
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

from tlsdiag_devkit.evtxwrite import EventSpec

EVENT_NS = "http://schemas.microsoft.com/win/2004/08/events/event"
LEVEL_EN = {0: "Information", 1: "Critical", 2: "Error", 3: "Warning", 4: "Information"}
LEVEL_DE = {0: "Informationen", 1: "Kritisch", 2: "Fehler", 3: "Warnung", 4: "Informationen"}


def _q(value: str) -> str:
    """Single-quoted XML attribute value."""
    text = quoteattr(value)
    if text.startswith('"'):
        text = "'" + text[1:-1].replace("'", "&apos;") + "'"
    return text


def _time(ts: datetime) -> str:
    # Windows renders FILETIME with 9 fractional digits (100-ns precision, then "00")
    ts = ts.astimezone(timezone.utc)
    return ts.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ts.microsecond:06d}000Z"


def _value(v: object) -> str:
    if isinstance(v, (bytes, bytearray)):
        return bytes(v).hex().upper()
    if isinstance(v, datetime):
        return _time(v)
    return str(v)


def render_xml(spec: EventSpec, message: str | None = None, task_name: str | None = None) -> str:
    """One event as Windows renders it (EvtRender), optionally with RenderingInfo."""
    s = spec
    p = [f"<Event xmlns={_q(EVENT_NS)}><System><Provider Name={_q(s.provider)}"]
    if s.provider_guid:
        p.append(f" Guid={_q('{' + s.provider_guid.strip('{}').lower() + '}')}")
    if s.event_source_name:
        p.append(f" EventSourceName={_q(s.event_source_name)}")
    p.append("/>")
    p.append(f"<EventID Qualifiers={_q(str(s.qualifiers))}>" if s.qualifiers is not None else "<EventID>")
    p.append(f"{s.event_id}</EventID>")
    if not s.classic:
        p.append(f"<Version>{s.version}</Version>")
    p.append(f"<Level>{s.level}</Level><Task>{s.task}</Task>")
    if not s.classic:
        p.append(f"<Opcode>{s.opcode}</Opcode>")
    p.append(f"<Keywords>0x{s.resolved_keywords():x}</Keywords>")
    p.append(f"<TimeCreated SystemTime={_q(_time(s.time))}/>")
    p.append(f"<EventRecordID>{s.record_id}</EventRecordID>")
    if not s.classic:
        p.append(f"<Correlation ActivityID={_q(s.activity_id)}/>" if s.activity_id else "<Correlation/>")
        ex = ""
        if s.process_id is not None:
            ex += f" ProcessID={_q(str(s.process_id))}"
        if s.thread_id is not None:
            ex += f" ThreadID={_q(str(s.thread_id))}"
        p.append(f"<Execution{ex}/>")
    p.append(f"<Channel>{escape(s.channel)}</Channel><Computer>{escape(s.computer)}</Computer>")
    p.append(f"<Security UserID={_q(s.user_sid)}/>" if s.user_sid else "<Security/>")
    p.append("</System>")
    if s.userdata is not None:
        ud = s.userdata
        ns = f" xmlns={_q(ud.namespace)}" if ud.namespace else ""
        inner = "".join(f"<{k}>{escape(_value(v))}</{k}>" for k, v in ud.fields.items())
        p.append(f"<UserData><{ud.name}{ns}>{inner}</{ud.name}></UserData>")
    elif s.data is not None or s.binary is not None or s.classic or s.eventdata_name:
        ed = f" Name={_q(s.eventdata_name)}" if s.eventdata_name else ""
        items = ""
        if isinstance(s.data, Mapping):
            items = "".join(f"<Data Name={_q(k)}>{escape(_value(v))}</Data>" for k, v in s.data.items())
        elif s.data is not None:
            items = "".join(f"<Data>{escape(_value(v))}</Data>" for v in s.data)
        if s.binary:
            items += f"<Binary>{s.binary.hex().upper()}</Binary>"
        p.append(f"<EventData{ed}>{items}</EventData>" if items else f"<EventData{ed}/>")
    if message is not None:
        kw = "<Keywords><Keyword>Classic</Keyword></Keywords>" if s.classic else "<Keywords/>"
        p.append("<RenderingInfo Culture='en-US'>")
        p.append(f"<Message>{escape(message)}</Message><Level>{LEVEL_EN.get(s.level, '')}</Level>")
        p.append(f"<Task>{escape(task_name or '')}</Task><Opcode>Info</Opcode><Channel>{escape(s.channel)}</Channel>")
        p.append(f"<Provider>{escape(s.provider)}</Provider>{kw}</RenderingInfo>")
    p.append("</Event>")
    return "".join(p)


def wevtutil_xml(specs: Iterable[EventSpec]) -> str:
    """``wevtutil qe LOG /f:xml`` output: no root element, one event per line."""
    return "".join(render_xml(s) + "\r\n" for s in specs)


def saved_events_xml(specs: Iterable[EventSpec], message: Callable[[EventSpec], str | None]) -> str:
    """Event Viewer "Save all events as XML": <Events> root, RenderingInfo with the message."""
    body = "".join(render_xml(s, message(s), f"({s.task})") + "\r\n" for s in specs)
    return '<?xml version="1.0" encoding="utf-8" standalone="yes"?>\r\n<Events>\r\n' + body + "</Events>\r\n"


def _us_date(ts: datetime) -> str:
    hour = ts.hour % 12 or 12
    return f"{ts.month}/{ts.day}/{ts.year} {hour}:{ts.minute:02d}:{ts.second:02d} {'AM' if ts.hour < 12 else 'PM'}"


def details_text(spec: EventSpec, message: str, with_xml: bool = False) -> str:
    """Event Viewer "Copy details as text" (English); the server clock is UTC in these samples."""
    user = "N/A" if not spec.user_sid else {"S-1-5-18": "SYSTEM", "S-1-5-20": "NETWORK SERVICE"}.get(
        spec.user_sid, spec.user_sid)
    lines = [
        f"Log Name:      {spec.channel}",
        f"Source:        {spec.provider}",
        f"Date:          {_us_date(spec.time)}",
        f"Event ID:      {spec.event_id}",
        f"Task Category: ({spec.task})" if spec.task else "Task Category: None",
        f"Level:         {LEVEL_EN.get(spec.level, '')}",
        f"Keywords:      {'Classic' if spec.classic else ''}",
        f"User:          {user}",
        f"Computer:      {spec.computer}",
        "Description:",
        message.replace("\n", "\r\n"),
    ]
    if with_xml:
        lines += ["Event Xml:", _pretty(render_xml(spec))]
    return "\r\n".join(lines) + "\r\n"


def details_text_de(spec: EventSpec, message: str) -> str:
    """The same block as a German Event Viewer labels it (labels as German Windows shows them [I])."""
    user = "Nicht zutreffend" if not spec.user_sid else spec.user_sid
    lines = [
        f"Protokollname: {spec.channel}",
        f"Quelle:        {spec.provider}",
        f"Datum:         {spec.time:%d.%m.%Y %H:%M:%S}",
        f"Ereignis-ID:   {spec.event_id}",
        f"Aufgabenkategorie:({spec.task})",
        f"Ebene:         {LEVEL_DE.get(spec.level, '')}",
        f"Schlüsselwörter:{'Klassisch' if spec.classic else ''}",
        f"Benutzer:      {user}",
        f"Computer:      {spec.computer}",
        "Beschreibung:",
        message.replace("\n", "\r\n"),
    ]
    return "\r\n".join(lines) + "\r\n"


def _pretty(xml: str) -> str:
    """The indented, double-quoted XML that Event Viewer puts under "Event Xml:"."""
    from lxml import etree

    root = etree.fromstring(xml.encode("utf-8"), etree.XMLParser(resolve_entities=False, no_network=True))
    return etree.tostring(root, pretty_print=True, encoding="unicode").rstrip("\n").replace("\n", "\r\n")


ZIP_TIME = (2013, 12, 5, 9, 30, 0)


def write_zip(path: Path, members: list[tuple[str, bytes]]) -> None:
    """A stored (uncompressed) zip with fixed member times: byte-identical everywhere."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as zf:
        for name, data in members:
            info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
            info.compress_type = zipfile.ZIP_STORED
            info.external_attr = 0o644 << 16
            info.create_system = 0
            zf.writestr(info, data)
