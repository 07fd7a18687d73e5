"""Read the JSON that ``collector/Collect-TlsDiag.ps1`` writes (schema in collector/README.md).

PowerShell 3's ``ConvertTo-Json`` turns one-element arrays into bare objects in some
cases and writes UTF-8 with a BOM (or UTF-16 via ``Set-Content -Encoding Unicode``),
so the reader accepts all of those shapes.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from datetime import datetime, timezone
from typing import Any

from cryptography.exceptions import UnsupportedAlgorithm

from tlsdiag.errors import InputError
from tlsdiag.stores.blob import parse_blob
from tlsdiag.stores.certs import Cert
from tlsdiag.stores.model import (
    MACHINE,
    SCHANNEL_VALUES,
    StoreCert,
    StoreLocation,
    StoreSnapshot,
    canonical_store,
)

FORMAT = "tlsdiag-stores"
_LOCATION_ALIASES: dict[str, StoreLocation] = {"localmachine": MACHINE, "machine": MACHINE, "grouppolicy": "group-policy",
                     "group-policy": "group-policy", "policy": "group-policy", "enterprise": "enterprise"}


def decode_json_bytes(data: bytes) -> str:
    if data.startswith(b"\xff\xfe"):
        return data[2:].decode("utf-16-le")
    if data.startswith(b"\xfe\xff"):
        return data[2:].decode("utf-16-be")
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    return data.decode("utf-8")


def looks_like_storejson(head: bytes) -> bool:
    try:
        text = decode_json_bytes(head[: len(head) - (len(head) % 2)] if head[:2] in (b"\xff\xfe", b"\xfe\xff")
                                 else head)
    except UnicodeDecodeError:
        return False
    return text.lstrip().startswith("{") and (FORMAT in text or '"stores"' in text.lower())


def _list(value: Any) -> list[Any]:
    if value is None or value == {}:
        return []
    return value if isinstance(value, list) else [value]


def parse_time(text: str) -> datetime | None:
    """ISO-8601 as PowerShell's ``ToString('o')`` writes it (7 fractional digits)."""
    m = re.match(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)?$", text.strip())
    if not m:
        return None
    base = datetime.fromisoformat(m.group(1))
    micro = int((m.group(2) or "0")[:6].ljust(6, "0"))
    zone = m.group(3) or "Z"
    if zone == "Z":
        tz = timezone.utc
    else:
        sign = 1 if zone[0] == "+" else -1
        from datetime import timedelta
        tz = timezone(sign * timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6])))
    return base.replace(microsecond=micro, tzinfo=tz).astimezone(timezone.utc)


class _Keys(dict[str, Any]):
    """A JSON object whose keys match case-insensitively (hand-edited or other tools' JSON)."""

    def __init__(self, pairs: list[tuple[str, Any]]) -> None:
        super().__init__((str(k).lower(), v) for k, v in pairs)

    def get(self, key: str, default: Any = None) -> Any:
        return super().get(key.lower(), default)

    def __getitem__(self, key: str) -> Any:
        return super().__getitem__(key.lower())

    def __contains__(self, key: object) -> bool:
        return super().__contains__(str(key).lower())


def read_storejson(data: bytes, display: str, snapshot: StoreSnapshot) -> None:
    """Read one collector JSON. ``Format`` (when present) must be tlsdiag-stores and ``Version`` 1;
    a document without ``Format`` is accepted when it has a ``Stores`` list."""
    try:
        doc = json.loads(decode_json_bytes(data), object_pairs_hook=_Keys)
    except UnicodeDecodeError as exc:
        raise InputError(display, f"not UTF-8/UTF-16 text at byte {exc.start}") from None
    except json.JSONDecodeError as exc:
        raise InputError(display, f"line {exc.lineno} column {exc.colno}: invalid JSON: {exc.msg}") from None
    if not isinstance(doc, dict) or doc.get("Format", FORMAT) != FORMAT or (
            "Format" not in doc and not isinstance(doc.get("Stores"), (list, dict))):
        raise InputError(display, f"not a tlsdiag store collection (expected \"Format\": \"{FORMAT}\")")
    version = doc.get("Version", 1)
    if version != 1:
        raise InputError(display, f"unsupported collection version {version!r} (this tlsdiag reads version 1)")
    if isinstance(doc.get("ComputerName"), str) and doc["ComputerName"].strip():
        snapshot.computer = doc["ComputerName"].strip()
        snapshot.named = True
    for field_name, attr in (("DnsHostName", "dns_host"), ("DnsDomain", "dns_domain")):
        if isinstance(doc.get(field_name), str) and doc[field_name].strip():
            setattr(snapshot, attr, doc[field_name].strip())
    if isinstance(doc.get("CollectedUtc"), str):
        snapshot.collected = parse_time(doc["CollectedUtc"]) or snapshot.collected
        if snapshot.collected is None:
            snapshot.warnings.append(f"{display}: CollectedUtc {doc['CollectedUtc']!r} is not an ISO-8601 time")
    build = doc.get("OSBuild")
    if isinstance(build, int) or (isinstance(build, str) and build.isdigit()):
        snapshot.os_build = int(build)
    for n, store in enumerate(_list(doc.get("Stores"))):
        if not isinstance(store, dict) or not isinstance(store.get("Name"), str):
            snapshot.lose(display, f"Stores[{n}]", "store has no Name; skipped", "store")
            continue
        name = canonical_store(store["Name"])
        loc_raw = str(store.get("Location") or MACHINE)
        location = _LOCATION_ALIASES.get(loc_raw.strip().lower().replace(" ", ""))
        if location is None:
            snapshot.warnings.append(f"{display}: Stores[{n}] location {loc_raw!r} unknown; read as machine")
            location = MACHINE
        snapshot.covered.add((location, name))
        for m, item in enumerate(_list(store.get("Certificates"))):
            _add(snapshot, item, location, name, display, f"Stores[{n}].Certificates[{m}]")
    schannel = doc.get("Schannel")
    if isinstance(schannel, dict):
        snapshot.schannel_collected = True
        for key, value in schannel.items():
            for known in SCHANNEL_VALUES:
                if key.lower() == known.lower() and isinstance(value, (int, str)) and not isinstance(value, bool):
                    snapshot.schannel[known] = value
    for error in _list(doc.get("Errors")):
        snapshot.warnings.append(f"{display}: collector reported: {error}")
    if display not in snapshot.sources:
        snapshot.sources.append(display)


def _add(snapshot: StoreSnapshot, item: Any, location: StoreLocation, store: str, display: str, place: str) -> None:
    """One certificate: ``RawData`` (from the certificate provider) and/or ``Blob`` (the registry value of
    this physical store, base64, parsed like a reg export's). The provider returns the first physical copy
    of a thumbprint, so when the Blob is there its private-key flag and friendly name are this store's own
    and win over ``HasPrivateKey``/``FriendlyName`` (review M1). A certificate neither gives is lost, at
    ``place`` in ``display``."""
    where = f"{display} {place}"
    if not isinstance(item, dict) or not isinstance(item.get("RawData") or item.get("Blob"), str):
        snapshot.lose(display, place, "neither RawData nor Blob")
        return
    element = None
    try:
        if isinstance(item.get("Blob"), str) and item["Blob"]:
            element = parse_blob(base64.b64decode(item["Blob"], validate=True))
            if element.der is not None:
                for problem in element.problems:
                    snapshot.warnings.append(f"{where}: {problem}")
        if isinstance(item.get("RawData"), str) and item["RawData"]:
            der = base64.b64decode(item["RawData"], validate=True)
            if element is not None and element.der is not None and element.der != der:
                snapshot.warnings.append(f"{where}: Blob holds another certificate than RawData; RawData read")
            elif element is not None and element.der is None:
                snapshot.warnings.append(f"{where}: Blob unreadable ({'; '.join(element.problems)}); RawData read")
        elif element is not None and element.der is not None:
            der = element.der
        else:
            snapshot.lose(display, place, "; ".join(element.problems) if element is not None else "empty RawData")
            return
        cert = Cert(der)
    except (binascii.Error, ValueError, UnsupportedAlgorithm) as exc:
        snapshot.lose(display, place, f"certificate does not decode: {exc}")
        return
    recorded = str(item.get("Thumbprint") or "").upper()
    if recorded and recorded != cert.thumbprint:
        snapshot.warnings.append(f"{where}: Thumbprint {recorded} is not the certificate's SHA-1 "
                                 f"{cert.thumbprint} (thumbprint mismatch)")
    key = element.has_private_key if element is not None and element.der is not None else item.get("HasPrivateKey")
    friendly = (element.friendly_name if element is not None and element.der is not None
                else str(item.get("FriendlyName") or ""))
    snapshot.add(StoreCert(cert=cert, location=location, store=store,
                           has_private_key=key if isinstance(key, bool) else None,
                           friendly_name=friendly, source=where, recorded_thumbprint=recorded))
