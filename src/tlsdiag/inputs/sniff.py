"""Decide what an input file is from its content, not its name.

Administrators rename, zip and copy logs; a ``System.evtx`` may arrive as
``system.log`` and an XML export as ``.txt``. So the first bytes decide. The
store-analysis kinds (reg, hive, storejson, cert) are only classified here; the
``stores`` package reads them.
"""

from __future__ import annotations

import codecs
import json
import re
from typing import IO

from tlsdiag.model import InputKind

EVTX_MAGIC = b"ElfFile\x00"
HIVE_MAGIC = b"regf"
ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")
SNIFF_BYTES = 64 * 1024
STOREJSON_MAX = 64 * 1024 * 1024  # a collector JSON this big is not ours; do not load it to find out

_TEXT_MARKER = re.compile(r"(?m)(?:^|\s)(?:Log Name|Protokollname):")
_XML_PROLOG = re.compile(r"^(?:\s+|<\?.*?\?>|<!--.*?-->)*", re.S)


def decode_head(head: bytes) -> str:
    """Best-effort text of a file head: BOMs, BOM-less UTF-16, UTF-8, then cp1252."""
    if head.startswith(codecs.BOM_UTF8):
        return head[3:].decode("utf-8", "replace")
    if head.startswith(codecs.BOM_UTF16_LE):
        return head[2:].decode("utf-16-le", "replace")
    if head.startswith(codecs.BOM_UTF16_BE):
        return head[2:].decode("utf-16-be", "replace")
    sample = head[:512]
    if len(sample) >= 4 and sample[1::2].count(0) > len(sample) // 4 and sample[0::2].count(0) == 0:
        return head.decode("utf-16-le", "replace")
    if len(sample) >= 4 and sample[0::2].count(0) > len(sample) // 4 and sample[1::2].count(0) == 0:
        return head.decode("utf-16-be", "replace")
    try:
        return head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # a multi-byte sequence cut at the end of the head is still UTF-8
        if exc.start >= len(head) - 4:
            return head[: exc.start].decode("utf-8", "replace")
        return head.decode("cp1252", "replace")


def _is_der_certificate(head: bytes, size: int) -> bool:
    """A DER X.509 certificate: SEQUENCE whose length covers the file, holding a SEQUENCE."""
    if len(head) < 8 or head[0] != 0x30:
        return False
    first = head[1]
    if first < 0x80:
        length, header = first, 2
    elif first in (0x81, 0x82, 0x83):
        n = first - 0x80
        length, header = int.from_bytes(head[2 : 2 + n], "big"), 2 + n
    else:
        return False
    return header + length == size and head[header] == 0x30


def _is_storejson(stream: IO[bytes], size: int) -> bool:
    if size > STOREJSON_MAX:
        return False
    stream.seek(0)
    raw = stream.read(size + 1)
    text = decode_head(raw)
    try:
        doc = json.loads(text)
    except ValueError:
        return False
    # The PowerShell collector writes "Stores" (ConvertTo-Json keeps property case); accept any case.
    return isinstance(doc, dict) and any(isinstance(k, str) and k.lower() == "stores" for k in doc)


def sniff(stream: IO[bytes], size: int, name: str = "") -> InputKind:
    """Return the kind of a seekable binary stream.

    One of evtx, xml, text, export, reg, hive, storejson, cert, zip, unknown.
    """
    stream.seek(0)
    head = stream.read(SNIFF_BYTES)
    if head.startswith(EVTX_MAGIC):
        return "evtx"
    if head.startswith(HIVE_MAGIC):
        return "hive"
    if head.startswith(ZIP_MAGICS):
        return "zip"
    if _is_der_certificate(head, size):
        return "cert"
    text = decode_head(head)
    stripped = text.lstrip("\ufeff \t\r\n")
    if stripped.startswith(("Windows Registry Editor Version 5.00", "REGEDIT4")):
        return "reg"
    if "-----BEGIN CERTIFICATE-----" in text[:4096] or "-----BEGIN PKCS7-----" in text[:4096]:
        return "cert"
    prolog = _XML_PROLOG.match(stripped)
    rest = stripped[prolog.end() if prolog else 0 :]
    if rest.startswith("<!DOCTYPE"):
        # judged by the root after the DTD; the XML reader refuses the DTD itself
        doctype = re.match(r"<!DOCTYPE[^\[>]*(?:\[.*?\])?\s*>", rest, re.S)
        rest = rest[doctype.end():].lstrip() if doctype else ""
    if re.match(r"<(?:[\w.-]+:)?Events?[\s>/]", rest) and not (size <= SNIFF_BYTES and _is_paste(text)):
        return "xml"
    if stripped.startswith("{") and _is_storejson(stream, size):
        return "storejson"
    if _TEXT_MARKER.search(text):
        return "text"
    if _is_paste(text):
        return "export"
    return "unknown"


def _is_paste(text: str) -> bool:
    """An event export of another kind: Event Viewer's XML view, cut XML, PowerShell or SIEM exports."""
    from tlsdiag.inputs.pasteread import detect

    return detect(text) is not None
