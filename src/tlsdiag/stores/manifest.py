"""``tlsdiag-manifest.json``: what a collector took off a server, what it skipped and why.

Both collectors write it last (schema: ``collector/tlsdiag-manifest.schema.json``). Without it the tool
cannot tell "not collected" from "not present" from "empty": a missing CAPI2/Operational export may mean
the log is disabled (its default), and a System log that covers two days proves nothing about last week.
The reader is tolerant: a field of the wrong type is dropped with a warning, never the whole manifest.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, get_args

from tlsdiag.errors import InputError
from tlsdiag.stores.jsonfile import decode_json_bytes, parse_time

MANIFEST_NAME = "tlsdiag-manifest.json"
FORMAT = "tlsdiag-manifest"

Status = Literal["exported", "not-present", "failed", "skipped"]
STATUSES: tuple[str, ...] = get_args(Status)
_STATUS_OF: dict[str, Status] = {name: name for name in get_args(Status)}  # a manifest's text -> the typed status


@dataclass(frozen=True, slots=True)
class LogEntry:
    """One event log as the collector found it on the server (``wevtutil gl``/``gli``) and what it did."""

    name: str
    status: Status
    file: str = ""
    exit_code: int | None = None
    enabled: bool | None = None
    size_bytes: int | None = None  # the live log file's size (an upper bound of a windowed export)
    records: int | None = None
    oldest: datetime | None = None  # the oldest record still in the live log
    reason: str = ""


@dataclass(frozen=True, slots=True)
class KeyEntry:
    """One registry key export (``.cmd``) or store section (``.ps1``)."""

    name: str
    status: Status
    file: str = ""
    exit_code: int | None = None
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Manifest:
    collector: str
    computer: str = ""
    dns_host: str = ""
    dns_domain: str = ""
    started: datetime | None = None
    folder: str = ""
    days: int | None = None  # 0: whole logs; None: not recorded
    free_bytes: int | None = None
    needed_bytes: int | None = None
    logs: tuple[LogEntry, ...] = ()
    keys: tuple[KeyEntry, ...] = ()
    archives: tuple[str, ...] = ()  # Archive-*.evtx files next to the live logs, listed, not copied
    errors: tuple[str, ...] = ()
    warnings: list[str] = field(default_factory=list)  # fields this reader could not use
    source: str = ""  # where the manifest was read from


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    return None


def _bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return None


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""  # views make it safe to show


def _time(value: Any, where: str, warnings: list[str]) -> datetime | None:
    if not isinstance(value, str) or not value.strip():
        return None
    from tlsdiag.stores.load import parse_wmi_time  # the .cmd records WMI CIM_DATETIME

    found = parse_time(value) or parse_wmi_time(value)
    if found is None:
        warnings.append(f"{where}: {value!r} is not an ISO-8601 or WMI time")
    return found


def _status(value: Any, where: str, warnings: list[str]) -> Status:
    status = _STATUS_OF.get(value.strip().lower()) if isinstance(value, str) else None
    if status is not None:
        return status
    warnings.append(f"{where}: status {value!r} unknown; read as failed")
    return "failed"


def _items(doc: dict[str, Any], name: str) -> list[dict[str, Any]]:
    value = doc.get(name)
    if isinstance(value, dict):  # ConvertTo-Json writes a one-element array as a bare object
        value = [value]
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def read_manifest(data: bytes, display: str) -> Manifest:
    """Parse a manifest; raises InputError when it is no JSON or not this format."""
    try:
        doc = json.loads(decode_json_bytes(data))
    except UnicodeDecodeError as exc:
        raise InputError(display, f"not UTF-8/UTF-16 text at byte {exc.start}") from None
    except json.JSONDecodeError as exc:
        raise InputError(display, f"line {exc.lineno} column {exc.colno}: invalid JSON: {exc.msg}") from None
    if not isinstance(doc, dict) or doc.get("Format") != FORMAT:
        raise InputError(display, f"not a tlsdiag collection manifest (expected \"Format\": \"{FORMAT}\")")
    if doc.get("Version") != 1:
        raise InputError(display, f"unsupported manifest version {doc.get('Version')!r} (this tlsdiag reads 1)")
    warnings: list[str] = []
    logs = tuple(LogEntry(name=_text(item.get("Name")) or f"Logs[{n}]",
                          status=_status(item.get("Status"), f"{display} Logs[{n}]", warnings),
                          file=_text(item.get("File")), exit_code=_int(item.get("ExitCode")),
                          enabled=_bool(item.get("Enabled")), size_bytes=_int(item.get("SizeBytes")),
                          records=_int(item.get("Records")),
                          oldest=_time(item.get("OldestRecordUtc"), f"{display} Logs[{n}].OldestRecordUtc", warnings),
                          reason=_text(item.get("Reason")))
                 for n, item in enumerate(_items(doc, "Logs")))
    keys = tuple(KeyEntry(name=_text(item.get("Name")) or f"Keys[{n}]",
                          status=_status(item.get("Status"), f"{display} Keys[{n}]", warnings),
                          file=_text(item.get("File")), exit_code=_int(item.get("ExitCode")),
                          reason=_text(item.get("Reason")))
                 for n, item in enumerate(_items(doc, "Keys")))
    archives = doc.get("Archives")
    errors = doc.get("Errors")
    return Manifest(collector=_text(doc.get("Collector")) or "unknown collector",
                    computer=_text(doc.get("ComputerName")), dns_host=_text(doc.get("DnsHostName")),
                    dns_domain=_text(doc.get("DnsDomain")),
                    started=_time(doc.get("Started"), f"{display} Started", warnings),
                    folder=_text(doc.get("OutputFolder")), days=_int(doc.get("Days")),
                    free_bytes=_int(doc.get("FreeBytes")), needed_bytes=_int(doc.get("NeededBytes")),
                    logs=logs, keys=keys,
                    archives=tuple(_text(a) for a in archives if isinstance(a, str)) if isinstance(archives, list)
                    else (),
                    errors=tuple(_text(e) for e in errors if isinstance(e, str)) if isinstance(errors, list) else (),
                    warnings=warnings, source=display)


def _size(n: int | None) -> str:
    if n is None:
        return "size unknown"
    return f"{n / 1_048_576:.1f} MB" if n >= 1_048_576 else f"{n} bytes"


def describe(manifest: Manifest) -> list[str]:
    """Sentences for the scan report: the window, then every log and key that was not simply exported."""
    who = manifest.computer or "(computer not recorded)"
    window = ("whole logs" if manifest.days == 0 else f"the last {manifest.days} day(s) of each log"
              if manifest.days else "window not recorded")
    lines = [f"Collection of {who} by {manifest.collector} ({window}; folder on the server: "
             f"{manifest.folder or 'not recorded'}), from {manifest.source or 'its manifest'}:"]
    for log in manifest.logs:
        state = "disabled" if log.enabled is False else "enabled" if log.enabled else "enabled state unknown"
        oldest = f", oldest record {log.oldest:%Y-%m-%d %H:%M}Z" if log.oldest else ""
        facts = f"{_size(log.size_bytes)}, {state}{oldest}"
        if log.status == "exported":
            lines.append(f"  log {log.name}: exported ({facts})" + (f": {log.reason}" if log.reason else ""))
        else:
            code = f", exit code {log.exit_code}" if log.exit_code not in (None, 0) else ""
            lines.append(f"  log {log.name}: {log.status}{code} ({facts})"
                         + (f": {log.reason}" if log.reason else ""))
    for key in manifest.keys:
        if key.status != "exported":
            code = f", exit code {key.exit_code}" if key.exit_code not in (None, 0) else ""
            lines.append(f"  {key.name}: {key.status}{code}" + (f": {key.reason}" if key.reason else ""))
    if manifest.archives:
        lines.append(f"  {len(manifest.archives)} archived log file(s) on the server were not collected: "
                     + ", ".join(manifest.archives[:5]) + (" ..." if len(manifest.archives) > 5 else ""))
    lines.extend(f"  collector reported: {e}" for e in manifest.errors)
    lines.extend(f"  {w}" for w in manifest.warnings)
    return lines
