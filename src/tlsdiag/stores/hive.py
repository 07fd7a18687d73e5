"""Read offline ``SOFTWARE`` and ``SYSTEM`` hives (forensic triage collections) with regipy.

An offline ``SYSTEM`` hive has no ``CurrentControlSet``: ``Select\\Current`` names the
``ControlSet00N`` that was current. Only fixed key paths are walked (never a
recursive descent), so a damaged hive cannot send the reader into a loop; any
parser failure becomes one :class:`InputError` naming the file and offset.
"""

from __future__ import annotations

import logging
import os
import struct
import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from tlsdiag.errors import InputError
from tlsdiag.stores.model import StoreLocation, StoreSnapshot
from tlsdiag.stores.registry import KeyRole, NoStoreData, add_cert_key, add_schannel_value, note_key

if TYPE_CHECKING:  # regipy is imported where a hive is read; its classes are named here for the types
    from regipy.registry import NKRecord, RegistryHive

REGF_HEADER = 4096
_TREES: dict[StoreLocation, str] = {
    "machine": r"\Microsoft\SystemCertificates",
    "group-policy": r"\Policies\Microsoft\SystemCertificates",
    "enterprise": r"\Microsoft\EnterpriseCertificates",
}


def looks_like_hive(head: bytes) -> bool:
    return head[:4] == b"regf"


def check_header(data: bytes, display: str) -> None:
    """Validate the base block before handing the file to regipy (which trusts it)."""
    if len(data) < REGF_HEADER + 32:
        raise InputError(display, f"offset 0x0: {len(data)} bytes is too short for a registry hive")
    if data[:4] != b"regf":
        raise InputError(display, "offset 0x0: no 'regf' signature; not a registry hive")
    checksum = 0
    for (word,) in struct.iter_unpack("<I", data[:508]):
        checksum ^= word
    if checksum in (0, 0xFFFFFFFF):
        checksum = 1 if checksum == 0 else 0xFFFFFFFE
    (stored,) = struct.unpack_from("<I", data, 508)
    if stored != checksum:
        raise InputError(display, f"offset 0x1fc: header checksum 0x{stored:08x} does not match 0x{checksum:08x} "
                                  "(damaged hive)")
    root, size = struct.unpack_from("<II", data, 36)
    if data[REGF_HEADER:REGF_HEADER + 4] != b"hbin":
        raise InputError(display, f"offset 0x{REGF_HEADER:x}: no 'hbin' signature (damaged hive)")
    if root + REGF_HEADER + 80 > len(data) or root >= size:
        raise InputError(display, f"offset 0x24: root key offset 0x{root:x} lies outside the hive data")


def read_hive(data: bytes, display: str, snapshot: StoreSnapshot, path: Path | None = None) -> None:
    """Read certificate stores (SOFTWARE) and SCHANNEL values (SYSTEM) from one hive."""
    check_header(data, display)
    from regipy.registry import RegistryHive

    logging.getLogger("regipy").setLevel(logging.CRITICAL)
    tmp: str | None = None
    try:
        if path is None:
            fd, tmp = tempfile.mkstemp(prefix="tlsdiag-hive-")
            with os.fdopen(fd, "wb") as out:
                out.write(data)
            hive_path = tmp
        else:
            hive_path = str(path)
        try:
            hive = RegistryHive(hive_path)
            found = _read(hive, display, snapshot)
        except InputError:
            raise
        except Exception as exc:
            pos = _position(locals().get("hive"))
            detail = " ".join(str(exc).split())[:160]
            if pos is None:
                where = ""
            elif pos > len(data):
                where = f"a key points to offset 0x{pos:x}, beyond the end of the file (0x{len(data):x}): "
            else:
                where = f"offset 0x{pos:x}: "
            raise InputError(display, f"{where}damaged registry hive ({type(exc).__name__}: {detail})") from None
    finally:
        if tmp:
            os.unlink(tmp)
    if not found:
        raise NoStoreData(display, "hive holds neither certificate stores (SOFTWARE) nor SCHANNEL settings (SYSTEM)")
    if display not in snapshot.sources:
        snapshot.sources.append(display)


def _position(hive: object) -> int | None:
    stream = getattr(hive, "_stream", None)
    try:
        return int(stream.tell()) if stream is not None else None
    except (ValueError, OSError):
        return None


def _key(hive: RegistryHive, path: str) -> NKRecord | None:
    from regipy.exceptions import NoRegistrySubkeysException, RegistryKeyNotFoundException

    try:
        key: NKRecord = hive.get_key(path)  # regipy's methods carry no annotations
        return key
    except (RegistryKeyNotFoundException, NoRegistrySubkeysException):
        return None


def _values(key: NKRecord) -> dict[str, object]:
    if not key.values_count:
        return {}
    return {v.name.lower(): v.value for v in key.iter_values(trim_values=False)}


def _written(key: object) -> datetime | None:
    """A key's last write time (FILETIME in its nk record), or None when it is zero or out of range."""
    ticks = getattr(getattr(key, "header", None), "last_modified", 0) or 0
    if not isinstance(ticks, int) or ticks <= 0:
        return None
    try:
        return datetime(1601, 1, 1, tzinfo=timezone.utc) + timedelta(microseconds=ticks // 10)
    except OverflowError:
        return None


def _subkeys(key: NKRecord) -> list[NKRecord]:
    if not key.subkey_count:
        return []
    return list(key.iter_subkeys())


def _read(hive: RegistryHive, display: str, snapshot: StoreSnapshot) -> bool:
    found = False
    for location, tree_path in _TREES.items():
        tree = _key(hive, tree_path)
        if tree is None:
            continue
        found = True
        note_key(snapshot, KeyRole("tree", location))
        for store_key in _subkeys(tree):
            from tlsdiag.stores.model import canonical_store

            store = canonical_store(store_key.name)
            snapshot.covered.add((location, store))
            certs = next((k for k in _subkeys(store_key) if k.name.lower() == "certificates"), None)
            if certs is None:
                continue
            for cert_key in _subkeys(certs):
                blob = _values(cert_key).get("blob")
                role = KeyRole("cert", location, store, cert_key.name)
                where = f"{display} key {tree_path}\\{store_key.name}\\Certificates\\{cert_key.name}"
                add_cert_key(snapshot, role, blob if isinstance(blob, bytes) else None, where, display,
                             _written(cert_key))
    version = _key(hive, r"\Microsoft\Windows NT\CurrentVersion")
    if version is not None:
        values = _values(version)
        build = values.get("currentbuildnumber") or values.get("currentbuild")
        if isinstance(build, str) and build.strip().isdigit():
            snapshot.os_build = int(build.strip())
    select = _key(hive, r"\Select")
    if select is not None:
        current = _values(select).get("current")
        if isinstance(current, int) and 0 < current < 1000:
            control = f"\\ControlSet{current:03d}"
            schannel = _key(hive, control + r"\Control\SecurityProviders\SCHANNEL")
            found = True
            if schannel is not None:
                snapshot.schannel_collected = True
                for name, value in _values(schannel).items():
                    if isinstance(value, (int, bytes)):
                        add_schannel_value(snapshot, name, value)
            else:
                snapshot.warnings.append(f"{display}: {control}\\Control\\SecurityProviders\\SCHANNEL is missing")
            name_key = _key(hive, control + r"\Control\ComputerName\ComputerName")
            if name_key is not None:
                computer = _values(name_key).get("computername")
                if isinstance(computer, str) and computer.strip():
                    snapshot.computer = computer.strip()
                    snapshot.named = True
            tcpip = _key(hive, control + r"\Services\Tcpip\Parameters")
            if tcpip is not None:  # the DNS names that the event logs' Computer field is made of
                values = _values(tcpip)
                host, domain = values.get("hostname"), values.get("domain")
                snapshot.dns_host = host.strip() if isinstance(host, str) else snapshot.dns_host
                snapshot.dns_domain = domain.strip() if isinstance(domain, str) else snapshot.dns_domain
    return found
