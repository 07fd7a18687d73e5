"""Read ``reg export`` files: the zero-install way to take a server's stores away.

``reg export`` writes UTF-16LE with a BOM ("Windows Registry Editor Version 5.00");
REGEDIT4 files are ANSI/UTF-8. Binary values are ``hex:`` byte lists wrapped with
a trailing backslash, DWORDs are ``dword:``, other types ``hex(N):``. Any line that
does not fit the format makes the whole file unusable, with the line number,
because a silently skipped ``Blob`` would hide a certificate.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from tlsdiag.errors import InputError
from tlsdiag.stores.model import StoreSnapshot
from tlsdiag.stores.registry import NoStoreData, add_cert_key, add_schannel_value, classify, note_key

HEADERS = ("Windows Registry Editor Version 5.00", "REGEDIT4")
MAX_LINE = 16 * 1024 * 1024  # a logical line longer than this is not a certificate store


@dataclass
class RegValue:
    name: str
    kind: str  # "sz", "dword", "hex", "hex(N)", "delete"
    data: bytes | int | str | None
    line: int


@dataclass
class RegKey:
    path: str
    line: int
    values: dict[str, RegValue] = field(default_factory=dict)


def decode_reg(data: bytes) -> str:
    """Text of a .reg file: UTF-16 (with BOM), UTF-8 (with or without BOM), or ANSI."""
    if data.startswith(b"\xff\xfe"):
        return data[2:].decode("utf-16-le", errors="strict")
    if data.startswith(b"\xfe\xff"):
        return data[2:].decode("utf-16-be", errors="strict")
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def looks_like_reg(head: bytes) -> bool:
    """Cheap content test on the first bytes of a file."""
    try:
        text = decode_reg(head[: len(head) - (len(head) % 2) if head.startswith(b"\xff\xfe") else len(head)])
    except UnicodeDecodeError:
        return False
    return text.lstrip().startswith(HEADERS)


_NAME_VALUE = re.compile(r'^(?:@|"((?:[^"\\]|\\.)*)")=(.*)$', re.DOTALL)
_HEX_LIST = re.compile(r"(?:[0-9a-fA-F]{2}(?:,[0-9a-fA-F]{2})*,?)?")
_HEX_TYPE = re.compile(r"^hex(?:\(([0-9a-fA-F]{1,8})\))?:(.*)$", re.DOTALL)


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text)


def _hex_bytes(text: str, display: str, line_at: Callable[[int], int], start: int, name: str) -> bytes:
    """Bytes of a comma-separated hex list; ``line_at(offset)`` names the physical line of a bad item."""
    compact = text.replace(" ", "").replace("\t", "")
    if _HEX_LIST.fullmatch(compact):
        return bytes.fromhex(compact.replace(",", ""))
    out = bytearray()
    pos = start
    items = text.split(",")
    for n, item in enumerate(items):
        token = item.strip(" \t")
        if token == "" and n == len(items) - 1:
            break
        if len(token) != 2 or not all(c in "0123456789abcdefABCDEF" for c in token):
            raise InputError(display, f"line {line_at(pos)}: bad hex byte {token[:8]!r} in value {name!r}")
        out.append(int(token, 16))
        pos += len(item) + 1
    return bytes(out)


@dataclass
class _Logical:
    line: int  # first physical line
    text: str
    starts: list[tuple[int, int]]  # (offset in text, physical line)

    def line_at(self, offset: int) -> int:
        found = self.line
        for start, number in self.starts:
            if start <= offset:
                found = number
        return found


def _logical_lines(text: str, display: str) -> Iterator[_Logical]:
    """Join continuation lines (trailing backslash), remembering where each physical line starts."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    last_content = max((n for n, text in enumerate(lines) if text.strip()), default=-1)
    i = 0
    while i < len(lines):
        start = i + 1
        line = lines[i].rstrip("\r")
        i += 1
        if line.startswith("[") or line.lstrip().startswith(";"):
            yield _Logical(start, line, [(0, start)])
            continue
        buf = [line]
        starts = [(0, start)]
        total = len(line)
        while buf[-1].endswith("\\") and _continues(buf):
            buf[-1] = buf[-1][:-1]
            total -= 1
            if i > last_content:
                raise InputError(display, f"line {i}: value continues past the end of the file (truncated?)")
            nxt = lines[i].rstrip("\r").lstrip(" ")
            if not nxt:
                raise InputError(display, f"line {i + 1}: empty continuation line inside a value")
            starts.append((total, i + 1))
            i += 1
            total += len(nxt)
            if total > MAX_LINE:
                raise InputError(display, f"line {start}: value longer than {MAX_LINE} characters")
            buf.append(nxt)
        yield _Logical(start, "".join(buf), starts)


def _continues(buf: list[str]) -> bool:
    """A trailing backslash continues hex data, not a quoted string ending in an escaped backslash."""
    joined = "".join(buf)
    if "=" not in joined:
        return False
    value = joined.split("=", 1)[1] if not joined.startswith('"') else _after_name(joined)
    return value is not None and not value.startswith('"')


def _after_name(line: str) -> str | None:
    m = _NAME_VALUE.match(line)
    return m.group(2) if m else None


def parse_reg(data: bytes, display: str) -> list[RegKey]:
    """Parse a whole export; raise :class:`InputError` naming the line on the first damage."""
    try:
        text = decode_reg(data)
    except UnicodeDecodeError as exc:
        raise InputError(display, f"not valid UTF-16/UTF-8 text at byte {exc.start}") from None
    text = text.lstrip("\ufeff")
    keys: list[RegKey] = []
    current: RegKey | None = None
    seen_header = False
    for logical in _logical_lines(text, display):
        number, line = logical.line, logical.text
        stripped = line.strip()
        if not seen_header:
            if not stripped:
                continue
            if stripped not in HEADERS:
                raise InputError(display, f"line {number}: not a registry export (expected "
                                          f"'Windows Registry Editor Version 5.00' or 'REGEDIT4')")
            seen_header = True
            continue
        if not stripped or stripped.startswith(";"):
            continue
        if stripped.startswith("["):
            if not stripped.endswith("]"):
                raise InputError(display, f"line {number}: key line without closing ']'")
            path = stripped[1:-1]
            if path.startswith("-"):
                current = None  # a deletion entry; nothing to read
                continue
            current = RegKey(path, number)
            keys.append(current)
            continue
        m = _NAME_VALUE.match(line)
        if not m:
            raise InputError(display, f"line {number}: not a key or value line: {stripped[:40]!r}")
        if current is None:
            raise InputError(display, f"line {number}: value outside any [key] section")
        name = "" if line.startswith("@") else _unescape(m.group(1))
        raw = m.group(2)
        offset = len(line) - len(raw) + (len(raw) - len(raw.lstrip()))
        current.values[name.lower()] = _value(name, raw.strip(), logical, offset, display)
    if not seen_header:
        raise InputError(display, "empty file, not a registry export")
    return keys


def _value(name: str, raw: str, logical: _Logical, offset: int, display: str) -> RegValue:
    line = logical.line
    if raw == "-":
        return RegValue(name, "delete", None, line)
    if raw.startswith('"'):
        if len(raw) < 2 or not raw.endswith('"') or (raw.endswith('\\"') and not raw.endswith('\\\\"')):
            raise InputError(display, f"line {line}: unterminated string in value {name!r}")
        return RegValue(name, "sz", _unescape(raw[1:-1]), line)
    if raw.lower().startswith("dword:"):
        digits = raw[6:].strip()
        if not re.fullmatch(r"[0-9a-fA-F]{1,8}", digits):
            raise InputError(display, f"line {line}: bad dword {digits[:12]!r} in value {name!r}")
        return RegValue(name, "dword", int(digits, 16), line)
    m = _HEX_TYPE.match(raw)
    if m:
        kind = f"hex({m.group(1).lower()})" if m.group(1) else "hex"
        data_start = offset + m.start(2)
        return RegValue(name, kind, _hex_bytes(m.group(2), display, logical.line_at, data_start, name), line)
    raise InputError(display, f"line {line}: unknown value type in {name!r}: {raw[:20]!r}")


def read_reg(data: bytes, display: str, snapshot: StoreSnapshot) -> None:
    """Add every store certificate and SCHANNEL value of an export to ``snapshot``."""
    keys = parse_reg(data, display)
    relevant = 0
    for key in keys:
        role = classify(key.path)
        if role.kind == "other":
            continue
        relevant += 1
        note_key(snapshot, role)
        if role.kind == "cert":
            blob = key.values.get("blob")
            raw = blob.data if blob is not None and isinstance(blob.data, bytes) else None
            where = f"{display} line {blob.line if blob else key.line}"
            add_cert_key(snapshot, role, raw, where, display)
        elif role.kind == "schannel":
            for value in key.values.values():
                if value.kind in ("dword", "sz") or value.kind.startswith("hex"):
                    add_schannel_value(snapshot, value.name, value.data)
    if not relevant:
        raise NoStoreData(display, "registry export holds none of the certificate-store or SCHANNEL keys")
    if display not in snapshot.sources:
        snapshot.sources.append(display)
