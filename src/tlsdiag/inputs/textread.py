"""Event Viewer "Copy details as text" blocks, English and German.

Administrators paste these into tickets, mails and forum posts, sometimes
flattened onto one line (the seed write-up quotes one that way). A file may
hold several blocks. Each block gives channel, source, id, level, computer and
the rendered description; what the text does not say stays empty. When the
block ends with the "Event Xml:" section, that XML (parsed safely) supplies
the exact fields and event data.

Times in these blocks are the exporting machine's local time with no zone; they
are taken as UTC and the locator says so. The German label set is that of the
German Event Viewer (Protokollname, Quelle, Datum, Ereignis-ID, ...).
"""

from __future__ import annotations

import codecs
import io
import re
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import BinaryIO

from lxml import etree

from tlsdiag.inputs.normalize import event_from_xml, parse_time
from tlsdiag.model import EPOCH, LEVEL_NUMBERS, Event, FileReport, Loss, freeze_data

LABELS: dict[str, str] = {
    "log name": "channel", "protokollname": "channel",
    "source": "provider", "quelle": "provider",
    "date": "date", "datum": "date",
    "event id": "event_id", "ereignis-id": "event_id",
    "task category": "task", "aufgabenkategorie": "task",
    "level": "level", "ebene": "level",
    "keywords": "keywords", "schlüsselwörter": "keywords",
    "user": "user", "benutzer": "user",
    "computer": "computer",
    "opcode": "opcode", "vorgangscode": "opcode",
    "description": "description", "beschreibung": "description",
}
_LABEL_RE = "|".join(sorted((re.escape(k) for k in LABELS), key=len, reverse=True))
_LABEL = re.compile(rf"(?:^|(?<=\s))({_LABEL_RE})\s*:", re.I)
_START = re.compile(r"(?:^|(?<=\s))(?:Log Name|Protokollname)\s*:", re.I)
_START_LINE = re.compile(r"^\s*(?:Log Name|Protokollname)\s*:", re.I)
_XML_LINE = re.compile(r"^\s*(?:Event Xml|Ereignis-XML)\s*:\s*$", re.I)
_DESC_LINE = re.compile(r"^\s*(?:Description|Beschreibung)\s*:", re.I)
_NONE_WORDS = {"none", "keine", "n/a", "-"}
_DATE_FORMATS = ("%m/%d/%Y %I:%M:%S %p", "%m/%d/%Y %H:%M:%S", "%d.%m.%Y %H:%M:%S", "%d.%m.%Y %H:%M",
                 "%Y-%m-%d %H:%M:%S", "%d/%m/%Y %H:%M:%S")
MAX_BLOCK_LINES = 20000


def _decode_stream(stream: BinaryIO) -> io.TextIOBase:
    head = stream.read(4)
    stream.seek(0)
    if head.startswith(codecs.BOM_UTF8):
        enc = "utf-8-sig"
    elif head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        enc = "utf-16"
    elif len(head) >= 2 and head[1] == 0:
        enc = "utf-16-le"
    else:
        enc = "utf-8"
    return io.TextIOWrapper(stream, encoding=enc, errors="replace", newline=None)


def parse_date(text: str) -> datetime | None:
    """Event Viewer date text (local time of the exporting machine, taken as UTC)."""
    value = text.strip().replace("\u200e", "").replace("\u200f", "")
    if not value:
        return None
    iso = parse_time(value)
    if iso:
        return iso
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(value, fmt).replace(tzinfo=timezone.utc)
        except ValueError:
            continue
    return None


def _header_fields(text: str) -> tuple[dict[str, str], str | None]:
    """Label -> value from header text; the description's first-line text if on the same line."""
    fields: dict[str, str] = {}
    matches = list(_LABEL.finditer(text))
    desc_inline = None
    for i, m in enumerate(matches):
        key = LABELS[m.group(1).lower()]
        end = matches[i + 1].start() if i + 1 < len(matches) else len(text)
        if key == "description":
            desc_inline = text[m.end():].strip()
            break
        fields.setdefault(key, " ".join(text[m.end():end].split()))
    return fields, desc_inline


def _blocks(lines: Iterator[str]) -> Iterator[tuple[int, list[str]]]:
    """(line number, lines) per block; a block starts at a 'Log Name:' line."""
    current: list[str] = []
    start = 0
    for number, line in enumerate(lines, 1):
        if _START_LINE.match(line) or (_START.search(line) and _is_inline(line)):
            if current:
                yield start, current
            current, start = [line], number
            continue
        if current:
            current.append(line)
            if len(current) > MAX_BLOCK_LINES:
                yield start, current
                current = []
    if current:
        yield start, current


def _is_inline(line: str) -> bool:
    keys = {LABELS[m.group(1).lower()] for m in _LABEL.finditer(line)}
    return {"channel", "provider", "event_id"} <= keys


def _parse_block(start: int, lines: list[str], source: str, report: FileReport) -> Event | None:
    first = lines[0]
    m = _START.search(first)
    first = first[m.start():] if m else first
    if _is_inline(first):
        fields, desc = _header_fields(first)
        description = desc or ""
        xml_text = None
    else:
        header: list[str] = [first]
        body: list[str] = []
        in_desc = False
        xml_lines: list[str] | None = None
        for line in lines[1:]:
            if xml_lines is not None:
                xml_lines.append(line)
            elif in_desc:
                if _XML_LINE.match(line):
                    xml_lines = []
                else:
                    body.append(line)
            elif _DESC_LINE.match(line):
                in_desc = True
                header.append(line)
            else:
                header.append(line)
        fields, desc = _header_fields("\n".join(header))
        if not in_desc:
            # a block cut short before its Description (the rest of a paste lost): the header still names
            # the event; the caller reports the cut
            if "event_id" not in fields or "channel" not in fields:
                return None
            desc, body = None, []
        parts = [desc] if desc else []
        parts.extend(line.rstrip("\r\n") for line in body)
        description = "\n".join(parts).strip("\n").rstrip()
        xml_text = "".join(xml_lines) if xml_lines else None
    if "event_id" not in fields or "channel" not in fields:
        return None
    locator = f"line {start}"
    if xml_text:
        event = _from_event_xml(xml_text, source, locator, description)
        if isinstance(event, Event):
            return event
        # the header fields still give a usable event, but the event data of the XML section is gone: say so
        report.lost.append(Loss(source, locator, f"Event Xml section not read ({event}); event kept from its "
                                "header fields, without its event data", 0))
    try:
        event_id = int(fields["event_id"].split()[0])
    except (ValueError, IndexError):
        return None
    level_text = fields.get("level", "").strip()
    ts = parse_date(fields.get("date", ""))
    task = fields.get("task", "").strip()
    keywords = fields.get("keywords", "").strip()
    return Event(
        source=source,
        locator=locator if ts else f"{locator} (no date)",
        record_id=None,
        timestamp=ts or EPOCH,
        channel=fields.get("channel", "").strip(),
        provider=fields.get("provider", "").strip(),
        event_id=event_id & 0xFFFF,
        level=LEVEL_NUMBERS.get(level_text.lower()),
        computer=fields.get("computer", "").strip(),
        task_name="" if task.lower() in _NONE_WORDS else task,
        keywords="" if keywords.lower() in _NONE_WORDS else keywords,
        data=freeze_data({}),
        message=description or None,
        form="text",
    )


def _from_event_xml(text: str, source: str, locator: str, description: str) -> Event | str:
    """The event its XML section gives, or why that section could not be read."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
    try:
        root = etree.fromstring(text.strip().encode("utf-8"), parser)
        if etree.QName(root).localname != "Event":
            return f"root element is {etree.QName(root).localname!r}, not Event"
        for elem in root.iter():
            # the section is pretty-printed: whitespace-only text across lines is layout, not a value
            if len(elem) == 0 and elem.text and "\n" in elem.text and not elem.text.strip():
                elem.text = None
        event = event_from_xml(root, source=source, locator=locator, form="text")
    except Exception as exc:  # lxml and the event builder fail in many ways on a damaged section
        return f"{type(exc).__name__}: {exc}"[:200]
    return event._replace(message=description or event.message)


MAX_LINE_CHARS = 1024 * 1024


def _capped_lines(text: io.TextIOBase, source: str, report: FileReport) -> Iterator[str]:
    """Lines of at most MAX_LINE_CHARS: one endless line must not be held in memory whole."""
    number = 0
    while True:
        line = text.readline(MAX_LINE_CHARS)
        if not line:
            return
        number += 1
        if len(line) >= MAX_LINE_CHARS and not line.endswith("\n"):
            rest = line
            while rest and not rest.endswith("\n"):
                rest = text.readline(MAX_LINE_CHARS)
            report.lost.append(Loss(source, f"line {number}", f"line longer than {MAX_LINE_CHARS} characters; "
                                    "the rest of it is not read", 0))
            line += "\n"
        yield line


def read_text(stream: BinaryIO, source: str, report: FileReport) -> Iterator[Event]:
    """Events of every 'Copy details as text' block in the file, in order."""
    text = _decode_stream(stream)
    try:
        for start, lines in _blocks(_capped_lines(text, source, report)):
            event = _parse_block(start, lines, source, report)
            if event is None:
                report.lost.append(Loss(source, f"line {start}", "event text block without Event ID or "
                                        "Description; not read", 1))
                continue
            if not any(_DESC_LINE.match(line) for line in lines[1:]) and not _is_inline(lines[0]):
                report.lost.append(Loss(source, f"line {start}", "event text block cut short before its "
                                        "Description: header read, message and event data missing", 0))
            yield event
    finally:
        text.detach()
