"""Find store exports among inputs and build one :class:`StoreSnapshot` per computer.

Inputs are paths (files or folders, searched recursively) or ``InputFile`` objects
from :func:`tlsdiag.inputs.discover` (``.display``, ``.kind``, ``.open()``). The form
is decided by content, never by the file name alone. Files of one collection folder
(the collectors write one folder per computer) form one snapshot; snapshots that
name the same computer are merged.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import IO, TYPE_CHECKING, Protocol

from tlsdiag.errors import InputError
from tlsdiag.model import STORE_KINDS
from tlsdiag.stores.certfiles import CERT_SUFFIXES, looks_like_cert, read_certfile
from tlsdiag.stores.hive import looks_like_hive, read_hive
from tlsdiag.stores.jsonfile import looks_like_storejson, read_storejson
from tlsdiag.stores.manifest import MANIFEST_NAME, read_manifest
from tlsdiag.stores.model import StoreLoss, StoreSnapshot, is_store_name
from tlsdiag.stores.regfile import looks_like_reg, read_reg
from tlsdiag.stores.registry import NoStoreData

if TYPE_CHECKING:
    from tlsdiag.model import FileForm, FileReport, InputKind

METADATA_NAME = "tlsdiag-collection.txt"
MAX_INPUT = 1 << 30  # a SOFTWARE hive is large, but not a gigabyte


class StoreInput(Protocol):
    """What this package reads of a discovered input file (``tlsdiag.inputs.InputFile``)."""

    @property
    def display(self) -> str: ...
    @property
    def kind(self) -> InputKind: ...
    @property
    def size(self) -> int: ...
    @property
    def path(self) -> Path: ...
    @property
    def members(self) -> tuple[str, ...]: ...
    @property
    def problem(self) -> str | None: ...
    def open(self) -> IO[bytes]: ...


@dataclass
class _Item:
    display: str
    kind: str
    opener: Callable[[], IO[bytes]]
    path: Path | None = None
    explicit: bool = False  # named on the command line itself (not found in a folder)


def _split(display: str) -> tuple[str, str]:
    """(parent, name) of a display path; zip members use '/' after '!'."""
    cut = max(display.rfind("/"), display.rfind("\\"))
    if cut < 0:
        bang = display.rfind("!")
        return (display[:bang], display[bang + 1:]) if bang >= 0 else ("", display)
    return display[:cut], display[cut + 1:]


def is_collection_file(display: str) -> bool:
    """The collector's own notes (collection note, manifest): store inputs by name, whatever their kind,
    so that they are read inside zips too, where no file beside a reg export can be looked up on disk."""
    return _split(str(display))[1].lower() in (METADATA_NAME, MANIFEST_NAME)


def sniff(head: bytes, name: str) -> str:
    """The store-input kind of a file from its first bytes (and, for certificates, its suffix)."""
    if name.lower() == METADATA_NAME:
        return "collection"
    if name.lower() == MANIFEST_NAME:
        return "manifest"
    if looks_like_hive(head):
        return "hive"
    if looks_like_reg(head):
        return "reg"
    if looks_like_storejson(head):
        return "storejson"
    if name.lower().endswith(CERT_SUFFIXES) and looks_like_cert(head):
        return "cert"
    return "unknown"


def _from_inputfile(obj: StoreInput, skipped: list[str], explicit: bool = False) -> list[_Item]:
    """Store inputs among discovered files; files the discoverer could not classify are
    sniffed again with this package's own content tests (collector JSON, metadata)."""
    display = str(obj.display)
    name = _split(display)[1]
    kind: str = obj.kind  # and this package's own kinds: collection, manifest
    problem = obj.problem
    if problem:
        if kind in STORE_KINDS or name.lower().endswith((".reg", ".json", *CERT_SUFFIXES)):
            skipped.append(f"{display}: {problem}")
        return []
    if name.lower() == METADATA_NAME:
        kind = "collection"
    elif name.lower() == MANIFEST_NAME:
        kind = "manifest"
    elif kind == "unknown":
        try:
            with obj.open() as handle:
                kind = sniff(handle.read(4096), name)
        except OSError as exc:
            skipped.append(f"{display}: cannot read: {exc}")
            return []
    if kind not in (*STORE_KINDS, "collection", "manifest") or not (explicit or wanted_hive(kind, display)):
        return []
    on_disk = Path(obj.path) if not obj.members else None
    return [_Item(display, kind, obj.open, on_disk, explicit)]


_HIVE_NAMES = ("SOFTWARE", "SYSTEM")
_HIVE_SIDE_FILES = (".LOG", ".LOG1", ".LOG2", ".SAV", ".ALT", ".TMP")


def wanted_hive(kind: str, display: str) -> bool:
    """In a folder walk only the SOFTWARE and SYSTEM hives matter: SAM, NTUSER.DAT, transaction
    logs (.LOG1/.LOG2, which also start with 'regf') and stale RegBack copies are skipped."""
    if kind != "hive":
        return True
    parts = display.replace("\\", "/").replace("!", "/").split("/")
    if any(part.lower() == "regback" for part in parts[:-1]):
        return False
    stem, dot, ext = parts[-1].rpartition(".")
    name, suffix = (stem, dot + ext) if dot else (ext, "")
    return name.upper() in _HIVE_NAMES and suffix.upper() not in _HIVE_SIDE_FILES


def _items_from_path(path: Path, skipped: list[str]) -> list[_Item]:
    """Store inputs under a path, found by :func:`tlsdiag.inputs.discover` (folders, zips in place)."""
    from tlsdiag.inputs import discover

    if not path.exists():
        raise InputError(str(path), "no such file or directory")
    explicit = path.is_file()
    items = [item for obj in discover([path]) for item in _from_inputfile(obj, skipped, explicit)]
    if not items and explicit:
        raise InputError(str(path), "not a certificate-store export (reg export, hive, collector JSON, "
                                    "or certificate file in a store-named folder)")
    return items


def _read_all(item: _Item) -> bytes:
    with item.opener() as handle:
        data = handle.read(MAX_INPUT + 1)
    if len(data) > MAX_INPUT:
        raise InputError(item.display, f"larger than {MAX_INPUT} bytes; not a store export")
    return data


def _group(item: _Item) -> str:
    parent, _ = _split(item.display)
    if item.kind == "cert":
        parent = _split(parent)[0]
    return parent


def _read_collection(data: bytes, display: str, snapshot: StoreSnapshot) -> None:
    """``tlsdiag-collection.txt`` written by collect-tlsdiag.cmd: computer (NetBIOS, DNS host, DNS domain),
    time, OS version."""
    text = data.decode("utf-16") if data[:2] in (b"\xff\xfe", b"\xfe\xff") else data.decode("utf-8", "replace")
    for line in text.splitlines():
        key, _, value = line.strip().partition("=")
        key, value = key.strip().lower(), value.strip()
        if key == "computername" and value:
            snapshot.computer = value
            snapshot.named = True
        elif key == "dnshostname" and value:
            snapshot.dns_host = value
        elif key == "dnsdomain" and value:
            snapshot.dns_domain = value
        elif key == "localdatetime" and value:
            snapshot.collected = parse_wmi_time(value) or snapshot.collected
        elif key == "osversion":
            m = re.match(r"^\d+\.\d+\.(\d+)", value)
            if m:
                snapshot.os_build = int(m.group(1))


def parse_wmi_time(text: str) -> datetime | None:
    """WMI CIM_DATETIME ``yyyymmddHHMMSS.mmmmmm+UUU`` (offset in minutes) as UTC."""
    m = re.match(r"^(\d{14})\.(\d{6})([+-])(\d{3})$", text.strip())
    if not m:
        return None
    local = datetime.strptime(m.group(1), "%Y%m%d%H%M%S").replace(microsecond=int(m.group(2)))
    offset = timedelta(minutes=int(m.group(4))) * (1 if m.group(3) == "+" else -1)
    return (local - offset).replace(tzinfo=timezone.utc)


def _read_manifest(data: bytes, display: str, snapshot: StoreSnapshot) -> None:
    """The collector's manifest: names when no store file gave them, and what was (not) collected.
    A damaged manifest is a warning: it never costs the stores or the events beside it."""
    try:
        manifest = read_manifest(data, display)
    except InputError as exc:
        snapshot.warnings.append(str(exc))
        return
    snapshot.manifest = manifest
    if manifest.computer and not snapshot.named:
        snapshot.computer, snapshot.named = manifest.computer, True
    snapshot.dns_host = snapshot.dns_host or manifest.dns_host
    snapshot.dns_domain = snapshot.dns_domain or manifest.dns_domain
    if display not in snapshot.sources:
        snapshot.sources.append(display)


def _read_item(item: _Item, data: bytes, snapshot: StoreSnapshot) -> None:
    if item.kind == "collection":
        _read_collection(data, item.display, snapshot)
    elif item.kind == "manifest":
        _read_manifest(data, item.display, snapshot)
    elif item.kind == "reg":
        read_reg(data, item.display, snapshot)
    elif item.kind == "hive":
        read_hive(data, item.display, snapshot, path=item.path)
    elif item.kind == "storejson":
        read_storejson(data, item.display, snapshot)
    elif item.kind == "cert":
        store_folder = _split(_split(item.display)[0])[1]
        if not is_store_name(store_folder):
            snapshot.lose(item.display, "", f"folder {store_folder!r} is not a store name (Root, AuthRoot, CA, My, "
                                            "...); file skipped", "file")
            return
        read_certfile(data, item.display, store_folder, snapshot)


def load_stores(inputs: Iterable[str | os.PathLike[str] | StoreInput], *, failed: list[StoreLoss] | None = None) -> list[StoreSnapshot]:
    """One snapshot per computer from paths or ``InputFile`` objects.

    Raises :class:`InputError` for an explicitly named file that is no store export or
    for a damaged export; a path that holds no store export at all yields no snapshot.
    With ``failed`` (a scan beside event logs), a damaged export is recorded there as a lost
    file instead and the other inputs are still read."""
    items: list[_Item] = []
    skipped: list[str] = []
    for entry in inputs:
        if isinstance(entry, (str, os.PathLike)):
            items.extend(_items_from_path(Path(entry), skipped))
        else:
            items.extend(_from_inputfile(entry, skipped))
    groups: dict[str, StoreSnapshot] = {}
    for item in items:
        key = _group(item)
        snapshot = groups.setdefault(key, StoreSnapshot(computer=""))
        try:
            _read_item(item, _read_all(item), snapshot)
        except NoStoreData:
            if item.explicit:
                raise
        except InputError as exc:
            if failed is None:
                raise
            failed.append(StoreLoss(item.display, "", exc.reason, "file"))
    # Paths given directly: a metadata file beside reg exports belongs to the collection too.
    for key, snapshot in groups.items():
        meta = Path(key) / METADATA_NAME if key else None
        if meta is not None and meta.is_file() and str(meta) not in snapshot.sources \
                and not any(i.display == str(meta) for i in items):
            _read_collection(meta.read_bytes(), str(meta), snapshot)
    for note in skipped:
        display, _, reason = note.partition(": ")
        groups.setdefault(_split(display)[0], StoreSnapshot(computer="")).lose(display, "", reason, "file")
    merged: dict[str, StoreSnapshot] = {}
    for key, snapshot in groups.items():
        if not snapshot.sources:
            if failed is not None:
                failed.extend(snapshot.lost)
            continue  # only a metadata file, or files that could not be read
        if not snapshot.computer:
            snapshot.computer = _split(key)[1] or key or "(unknown computer)"
        ident = snapshot.computer.lower()
        if ident in merged:
            merged[ident].merge(snapshot)
        else:
            merged[ident] = snapshot
    return list(merged.values())



def certificates_from(snapshots: Iterable[StoreSnapshot], display: str) -> int:
    """How many certificates the store file ``display`` gave (each ``StoreCert.source`` starts with its file)."""
    return sum(1 for snap in snapshots for sc in snap.certs
               if sc.source == display or sc.source.startswith(display + " "))


def file_reports(inputs: Iterable[str | os.PathLike[str] | StoreInput], snapshots: list[StoreSnapshot],
                 failed: list[StoreLoss]) -> list[FileReport]:
    """One ``FileReport`` per store input, so a scan's summary counts store losses as it counts event losses.

    ``records`` stays 0 (event-record counts are not mixed with certificates: ``certificates_from`` says
    what a file gave); every lost certificate, store or file is one ``Loss`` with where; a file that
    could not be read at all also gets its ``error``."""
    from tlsdiag.model import FileReport, Loss

    losses = [loss for snap in snapshots for loss in snap.lost] + list(failed)
    out = []
    for obj in inputs:
        kind: FileForm
        if isinstance(obj, (str, os.PathLike)):  # a path given as it is (load_stores takes those too)
            display, kind, size = str(obj), "store", 0
        else:
            display, kind, size = obj.display, obj.kind, obj.size
        if is_collection_file(display):
            kind = "collection"
        mine = [x for x in losses if x.source == display]
        unusable = next((x.reason for x in failed if x.source == display), None)
        report = FileReport(display, kind, size, error=unusable)
        report.lost = [Loss(display, x.where or "whole file", f"{x.item} lost: {x.reason}") for x in mine]
        out.append(report)
    return out
