"""Map registry keys (from a ``reg export`` file or an offline hive) onto store certificates.

Both readers hand over key paths relative to HKLM and raw values; this module knows
which paths are certificate stores, which are the SCHANNEL settings, and turns
each ``Certificates\\<thumbprint>`` key's ``Blob`` into a :class:`StoreCert`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, TypeAlias

from cryptography.exceptions import UnsupportedAlgorithm

from tlsdiag.errors import InputError
from tlsdiag.stores.blob import parse_blob
from tlsdiag.stores.certs import Cert
from tlsdiag.stores.model import (
    ENTERPRISE,
    GROUP_POLICY,
    MACHINE,
    SCHANNEL_VALUES,
    StoreCert,
    StoreLocation,
    StoreSnapshot,
    canonical_store,
)

_PREFIX = re.compile(r"^(?:HKEY_LOCAL_MACHINE|HKLM)\\", re.IGNORECASE)
_LOCATION_RES: list[tuple[StoreLocation, re.Pattern[str]]] = [
    (GROUP_POLICY, re.compile(r"^SOFTWARE\\Policies\\Microsoft\\SystemCertificates(?:\\(.*))?$", re.IGNORECASE)),
    (MACHINE, re.compile(r"^SOFTWARE\\Microsoft\\SystemCertificates(?:\\(.*))?$", re.IGNORECASE)),
    (ENTERPRISE, re.compile(r"^SOFTWARE\\Microsoft\\EnterpriseCertificates(?:\\(.*))?$", re.IGNORECASE)),
]
_SCHANNEL = re.compile(r"^SYSTEM\\(?:CurrentControlSet|ControlSet\d{3})\\Control\\SecurityProviders\\SCHANNEL$",
                       re.IGNORECASE)
_THUMB = re.compile(r"^[0-9A-Fa-f]{40}$")


class NoStoreData(InputError):
    """A registry export or hive that holds none of the keys this package reads (a folder walk skips it)."""


KeyKind: TypeAlias = Literal["tree", "store", "certificates", "cert", "schannel", "other"]
"""What a registry key is: a location's root ("tree"), a store, a store's Certificates key, one certificate's
key, the SCHANNEL key, or something this package does not read."""


@dataclass(frozen=True)
class KeyRole:
    kind: KeyKind
    location: StoreLocation | None = None
    store: str = ""
    name: str = ""  # the certificate key name (thumbprint as recorded)


def relative(path: str) -> str:
    return _PREFIX.sub("", path.strip().strip("\\"))


def classify(path: str) -> KeyRole:
    """What a key path (relative to HKLM, or with an HKEY_LOCAL_MACHINE prefix) is."""
    rel = relative(path)
    if _SCHANNEL.match(rel):
        return KeyRole("schannel")
    for location, rx in _LOCATION_RES:
        m = rx.match(rel)
        if not m:
            continue
        rest = m.group(1)
        if not rest:
            return KeyRole("tree", location)
        parts = rest.split("\\")
        store = canonical_store(parts[0])
        if len(parts) == 1:
            return KeyRole("store", location, store)
        if parts[1].lower() != "certificates":
            return KeyRole("other", location, store)
        if len(parts) == 2:
            return KeyRole("certificates", location, store)
        if len(parts) == 3:
            return KeyRole("cert", location, store, parts[2])
        return KeyRole("other", location, store)
    return KeyRole("other")


def add_cert_key(snapshot: StoreSnapshot, role: KeyRole, blob: bytes | None, where: str, source: str = "",
                 written: datetime | None = None) -> None:
    """Turn one ``...\\Certificates\\<thumbprint>`` key into a certificate of the snapshot.

    A key without a readable certificate (no Blob, a blob without its DER, a DER no parser reads)
    counts as a lost certificate; damage that leaves the certificate readable, or a key name that
    is not the certificate's SHA-1, become warnings; the rest of the store is still read.
    ``where`` names the file and the place in it; ``source`` is the file alone."""
    if role.location is None:
        raise ValueError(f"a certificate key lies under a store location, not {role}")
    snapshot.covered.add((role.location, role.store))
    source = source or where
    place = where[len(source):].strip() if where.startswith(source) else where
    if blob is None:
        snapshot.lose(source, place, f"certificate key {role.name} has no Blob value")
        return
    element = parse_blob(blob)
    if element.der is None:
        snapshot.lose(source, place, "; ".join(element.problems))
        return
    for problem in element.problems:
        snapshot.warnings.append(f"{where}: {problem}")
    try:
        cert = Cert(element.der)
    except (ValueError, UnsupportedAlgorithm) as exc:
        snapshot.lose(source, place, f"certificate does not parse: {exc}")
        return
    if _THUMB.match(role.name) and role.name.upper() != cert.thumbprint:
        snapshot.warnings.append(f"{where}: key name {role.name.upper()} is not the certificate's SHA-1 "
                                 f"{cert.thumbprint} (thumbprint mismatch)")
    elif not _THUMB.match(role.name):
        snapshot.warnings.append(f"{where}: key name {role.name!r} is not a SHA-1 thumbprint")
    snapshot.add(StoreCert(cert=cert, location=role.location, store=role.store,
                           has_private_key=element.has_private_key, friendly_name=element.friendly_name,
                           source=where, recorded_thumbprint=role.name.upper(), written=written))


def note_key(snapshot: StoreSnapshot, role: KeyRole) -> None:
    """Record coverage from keys that hold no certificate themselves."""
    if role.kind == "tree" and role.location is not None:
        snapshot.complete_locations.add(role.location)
    elif role.kind in ("store", "certificates") and role.location is not None:
        snapshot.covered.add((role.location, role.store))
    elif role.kind == "schannel":
        snapshot.schannel_collected = True


def add_schannel_value(snapshot: StoreSnapshot, name: str, value: int | str | bytes | None) -> None:
    for known in SCHANNEL_VALUES:
        if name.lower() == known.lower():
            if isinstance(value, bytes):
                value = int.from_bytes(value[:4].ljust(4, b"\0"), "little")
            if value is not None:
                snapshot.schannel[known] = value
