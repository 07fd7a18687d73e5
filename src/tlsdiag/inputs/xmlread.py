"""Event XML exports: ``wevtutil qe /f:xml`` and Event Viewer "Save as XML".

wevtutil writes ``<Event>`` elements back to back with no root element, often as
UTF-16 when redirected from PowerShell; Event Viewer writes an ``<Events>``
root with ``RenderingInfo/Message``. Both are streamed through lxml's pull
parser inside a synthetic root, so memory stays flat however big the export.
Entities are not expanded, nothing is fetched from the network, and a file with
a DTD is refused outright: an event export never needs one.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterator
from typing import BinaryIO

from lxml import etree

from tlsdiag.inputs.normalize import event_from_xml
from tlsdiag.model import Event, FileReport, Loss

BLOCK = 1024 * 1024
_DECL = re.compile(r"^\s*<\?xml[^>]*\?>", re.S)
_DECL_ENCODING = re.compile(rb"^<\?xml[^>]*encoding=[\"']([A-Za-z0-9_.-]+)[\"']")
_WRAP = "tlsdiag-wrap"


class XmlRefused(Exception):
    """The whole file is refused (DTD, entity declarations)."""


def _encoding(head: bytes) -> tuple[str, int]:
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8", 3
    if head.startswith(codecs.BOM_UTF16_LE):
        return "utf-16-le", 2
    if head.startswith(codecs.BOM_UTF16_BE):
        return "utf-16-be", 2
    if head[:2] == b"<\x00":
        return "utf-16-le", 0
    if head[:2] == b"\x00<":
        return "utf-16-be", 0
    m = _DECL_ENCODING.match(head.lstrip())
    if m:
        name = m.group(1).decode("ascii").lower()
        try:
            codecs.lookup(name)
        except LookupError:
            return "utf-8", 0
        if not name.startswith("utf-16"):
            return name, 0
    return "utf-8", 0


def _text_blocks(stream: BinaryIO) -> Iterator[str]:
    head = stream.read(BLOCK)
    encoding, skip = _encoding(head)
    decoder = codecs.getincrementaldecoder(encoding)("replace")
    data = head[skip:]
    while data:
        text = decoder.decode(data)
        if text:
            yield text
        data = stream.read(BLOCK)
    tail = decoder.decode(b"", final=True)
    if tail:
        yield tail


def _prolog_checked(first: str) -> str:
    """Refuse DTDs; drop the XML declaration (the stream is re-encoded)."""
    start = re.search(r"<[A-Za-z_]", first)
    prolog = first[: start.start()] if start else first
    if "<!DOCTYPE" in prolog or "<!ENTITY" in prolog:
        raise XmlRefused("XML with a DTD or entity declarations is refused (event exports never need one)")
    return _DECL.sub(lambda m: "\n" * m.group().count("\n"), first, count=1)


def read_xml(stream: BinaryIO, source: str, report: FileReport) -> Iterator[Event]:
    """Events of one XML export, in file order; damage ends the file with a Loss."""
    parser = etree.XMLPullParser(events=("end",), tag="{*}Event", resolve_entities=False, no_network=True,
                                 load_dtd=False, huge_tree=False, remove_comments=True, remove_pis=True)
    blocks = _text_blocks(stream)
    count = 0

    def drained() -> Iterator[Event]:
        """Completed events from the parser; normalisation failures become Losses on the report."""
        nonlocal count
        for item in _drain(parser, source):
            if isinstance(item, Loss):
                report.lost.append(item)
                continue
            count += 1
            yield item

    try:
        first = True
        for block in blocks:
            if first:
                block = f"<{_WRAP}>" + _prolog_checked(block)
                first = False
            parser.feed(block)
            yield from drained()
        if first:
            return  # empty file
        parser.feed(f"</{_WRAP}>")
        parser.close()
        yield from drained()
    except XmlRefused as exc:
        report.error = str(exc)
    except etree.XMLSyntaxError as exc:
        # events completed before the damage are still queued in the parser
        yield from drained()
        line = getattr(exc, "lineno", None) or "?"
        msg = " ".join(str(getattr(exc, "msg", exc)).split())
        report.lost.append(Loss(source, f"line {line}", f"XML damaged after {count} event(s): {msg}; "
                                "rest of file not read", None))


def _drain(parser: etree.XMLPullParser, source: str) -> Iterator[Event | Loss]:
    for _action, elem in parser.read_events():
        line = elem.sourceline
        try:
            yield event_from_xml(elem, source=source, locator=f"line {line}", form="xml")
        except Exception as exc:
            yield Loss(source, f"line {line}", f"cannot normalise event: {exc}", 1)
        finally:
            parent = elem.getparent()
            elem.clear(keep_tail=False)
            if parent is not None:
                while elem.getprevious() is not None:
                    del parent[0]
