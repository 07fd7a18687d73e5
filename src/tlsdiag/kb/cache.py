"""A cache of the validated knowledge base, so that a small scan does not pay for YAML and JSON Schema.

Loading ``signatures/`` parses every YAML file and validates it against the schemas, which costs
far more than scanning a small collection. The result only depends on bytes we can hash, so the
loaded ``KnowledgeBase`` is pickled under a SHA-256 key over:

* the tlsdiag version, the Python version and the source of the modules that build the result
  (``kb/model.py``, ``kb/load.py``, ``kb/yamlsafe.py``, this file): in a checkout the version does
  not change when the loader or the model classes do, and a stale pickle must never load;
* the signatures directory path (the entries carry their file paths);
* every file in ``schema/``, ``events/``, ``causes/`` and ``checks/``: relative name and bytes, so any edit,
  added or removed file gives a new key.

The validation also checks that the example sample folders named by causes exist; those lie
outside the hashed folders, so an entry records them and a hit re-checks them.

Every failure here (no usable directory, a truncated, corrupt or foreign file, a pickle of the wrong
shape, a full disk) means "no cache": the caller does the full load. Only a knowledge base that
loaded without problems is ever saved, and ``check_kb`` never reads the cache.

Where: ``$TLSDIAG_CACHE_DIR``, else ``$XDG_CACHE_HOME/tlsdiag``, else ``~/.cache/tlsdiag``;
``TLSDIAG_CACHE_DIR=off`` disables it. Unpickling runs code named in the file, so a file is read only
if it is a regular file owned by the current user in a directory owned by the user that nobody else
can write to, and its payload matches the SHA-256 stored in its header.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import stat
import sys
from collections.abc import Iterable
from pathlib import Path

from tlsdiag import __version__
from tlsdiag.kb.model import CatalogEvent, Cause, KnowledgeBase, StoreCheck

ENV = "TLSDIAG_CACHE_DIR"
FORMAT = b"tlsdiag-kb-cache 1\n"  # file header; change it when the file layout changes
KEEP = 4  # newest entries kept (a few checkouts or signature folders side by side)
MAX_FILE = 4 * 1024 * 1024  # a signature file this large is refused by the loader; do not hash it
_PREFIX, _SUFFIX = "kb-", ".pickle"
_HASHED_FOLDERS = ("schema", "events", "causes", "checks", "codes")
_CODE = ("model.py", "load.py", "yamlsafe.py", "cache.py")
_HERE = Path(__file__).resolve().parent


def cache_dir() -> Path | None:
    """The cache folder from the environment, or None when the cache is off or has no sensible home."""
    value = os.environ.get(ENV, "").strip()
    if value.lower() == "off":
        return None
    if value:
        return Path(value).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME", "").strip()
    if xdg and os.path.isabs(xdg):  # the XDG spec says to ignore a relative value
        return Path(xdg) / "tlsdiag"
    try:
        return Path.home() / ".cache" / "tlsdiag"
    except (RuntimeError, KeyError, OSError):  # no home directory (some service accounts)
        return None


def key_for(directory: Path) -> str | None:
    """SHA-256 hex over everything the loaded knowledge base depends on, or None if it cannot be hashed.

    None (an unreadable file, a special file, a huge file) means: do not use the cache; the full load
    then reports the problem as usual.
    """
    h = hashlib.sha256()
    _field(h, b"version", __version__.encode())
    _field(h, b"python", f"{sys.implementation.cache_tag} {sys.version}".encode())
    _field(h, b"directory", os.fsencode(str(directory)))
    try:
        _field(h, b"resolved", os.fsencode(str(directory.resolve())))
        for name in _CODE:
            _field(h, b"code " + name.encode(), (_HERE / name).read_bytes())
        for folder in _HASHED_FOLDERS:
            base = directory / folder
            if not base.is_dir():
                _field(h, b"missing", folder.encode())
                continue
            for path in sorted(base.iterdir()):
                st = path.stat()  # follows symlinks, as the loader does
                if not stat.S_ISREG(st.st_mode) or st.st_size > MAX_FILE:
                    return None
                _field(h, b"file " + os.fsencode(f"{folder}/{path.name}"), path.read_bytes())
    except Exception:  # unreadable, a symlink loop, an odd name: no cache, and the full load says what is wrong
        return None
    return h.hexdigest()


def _field(h: hashlib._Hash, label: bytes, value: bytes) -> None:
    # length-prefixed, so that no two different inputs hash the same byte stream
    for part in (label, value):
        h.update(len(part).to_bytes(8, "big"))
        h.update(part)


def _entry_path(folder: Path, key: str) -> Path:
    return folder / f"{_PREFIX}{key}{_SUFFIX}"


def _private(st: os.stat_result, *, directory: bool) -> bool:
    """Owned by us and writable by nobody else (POSIX); elsewhere the file system's ACLs decide."""
    if not hasattr(os, "getuid"):
        return True
    if st.st_uid != os.getuid() or st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        return False
    return stat.S_ISDIR(st.st_mode) if directory else stat.S_ISREG(st.st_mode)


def _safe_folder(folder: Path, directory: Path) -> bool:
    """Never keep the cache in the package or in the signatures folder: those are inputs."""
    try:
        where = folder.resolve()
        for forbidden in (directory.resolve(), _HERE.parent):
            if where == forbidden or forbidden in where.parents:
                return False
    except Exception:  # cannot tell where it is: do not use it
        return False
    return True


def load(key: str, directory: Path) -> KnowledgeBase | None:
    """The cached knowledge base for ``key``, or None (a miss, or anything at all wrong with the entry)."""
    try:
        return _load(key, directory)
    except Exception:  # corrupt or foreign data can fail in any way while unpickling; all mean "miss"
        return None


def _load(key: str, directory: Path) -> KnowledgeBase | None:
    folder = cache_dir()
    if folder is None or not _safe_folder(folder, directory):
        return None
    path = _entry_path(folder, key)
    if not _private(os.stat(folder), directory=True):
        return None
    with open(path, "rb") as fh:
        if not _private(os.fstat(fh.fileno()), directory=False):
            return None
        blob = fh.read(MAX_FILE * 8 + 1)
    kb, required = _decode(blob, key, directory)
    if not all(Path(p).is_dir() for p in required):
        return None  # a sample folder the validation demands is gone: the full load must say so
    try:
        os.utime(path)  # recently used entries survive pruning
    except OSError:
        pass
    return kb


def _decode(blob: bytes, key: str, directory: Path) -> tuple[KnowledgeBase, tuple[str, ...]]:
    if not blob.startswith(FORMAT):
        raise ValueError("not a tlsdiag cache file")
    digest, payload = blob[len(FORMAT):len(FORMAT) + 32], blob[len(FORMAT) + 32:]
    if len(digest) != 32 or hashlib.sha256(payload).digest() != digest:
        raise ValueError("truncated or damaged")
    record = pickle.loads(payload)  # noqa: S301 - our own file: private folder, owner checked, digest matched
    if not isinstance(record, dict) or record.get("key") != key:
        raise ValueError("entry for another key")
    kb, required = record["kb"], record["required_dirs"]
    if not isinstance(kb, KnowledgeBase) or kb.directory != directory:
        raise ValueError("not a knowledge base for this directory")
    if not isinstance(required, tuple) or not all(isinstance(p, str) for p in required):
        raise ValueError("bad required_dirs")
    for mapping, cls in ((kb.events, CatalogEvent), (kb.causes, Cause)):
        if type(mapping) is not dict or not mapping:
            raise ValueError("bad mapping")
        if not all(type(v) is cls and v.id == k for k, v in mapping.items()):
            raise ValueError(f"bad {cls.__name__} entry")
    if type(kb.checks) is not dict or not all(type(v) is StoreCheck and v.id == k for k, v in kb.checks.items()):
        raise ValueError("bad StoreCheck entry")
    return kb, required


def save(key: str, kb: KnowledgeBase, required_dirs: Iterable[Path]) -> None:
    """Store ``kb`` (which loaded without problems) under ``key``; silently does nothing on any failure."""
    folder = cache_dir()
    if folder is None or not _safe_folder(folder, kb.directory):
        return
    try:
        record = {"key": key, "kb": kb, "required_dirs": tuple(str(p) for p in required_dirs)}
        payload = pickle.dumps(record, protocol=pickle.HIGHEST_PROTOCOL)
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not _private(os.stat(folder), directory=True):
            return
        _write_atomic(folder, _entry_path(folder, key), FORMAT + hashlib.sha256(payload).digest() + payload)
        _prune(folder)
    except Exception:  # a cache must never break a scan: unwritable, full disk, unpicklable, ...
        return


def _write_atomic(folder: Path, target: Path, data: bytes) -> None:
    import tempfile

    fd, tmp = tempfile.mkstemp(prefix=".kb-", suffix=".tmp", dir=folder)  # mode 0600
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, 0o600)
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _prune(folder: Path) -> None:
    entries = []
    for path in folder.glob(f"{_PREFIX}*{_SUFFIX}"):
        try:
            entries.append((path.stat().st_mtime, path))
        except OSError:
            continue
    entries.sort(reverse=True)
    for _, path in entries[KEEP:]:
        try:
            path.unlink()
        except OSError:
            pass
