"""Find the input files inside paths, folders and zip archives.

Collections arrive as a copied ``winevt\\Logs`` folder, a triage tree
(``C/Windows/System32/winevt/Logs``) or a zip of either. Zips are read in
place: nothing is extracted, and an archive that tries to escape (``..``,
absolute names, drive letters), hides behind encryption, nests archives deeper
than one level or inflates beyond sane limits is refused with a reason that the
summary shows. Evidence is only ever opened read-only.
"""

from __future__ import annotations

import os
import re
import stat
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO

from tlsdiag.errors import InputError
from tlsdiag.inputs.sniff import sniff
from tlsdiag.model import InputKind

# Limits for archives, per top-level archive. Event logs compress well (empty
# chunks are zeros), so the ratio limit only applies to members of some size.
MAX_TOTAL_UNCOMPRESSED = 32 * 1024**3  # 32 GiB
MAX_RATIO = 1000
RATIO_MIN_SIZE = 1024 * 1024
MAX_MEMBERS = 200_000
MAX_NESTING = 1  # an archive inside an archive is read; one inside that is refused

_DRIVE = re.compile(r"^[A-Za-z]:")


@dataclass
class InputFile:
    """One input file: on disk, or a member of a zip (``archive.zip!member``).

    ``problem`` is set when the file was refused (unsafe archive entry, limits);
    readers then report it instead of reading it.
    """

    display: str
    kind: InputKind
    size: int
    path: Path  # the file on disk (for a member: the outermost archive)
    members: tuple[str, ...] = ()  # member names from the outer archive inwards
    problem: str | None = None

    def open(self) -> IO[bytes]:
        """A read-only binary stream of the content (seekable)."""
        if self.problem:
            raise InputError(self.display, self.problem)
        if not self.members:
            return open(self.path, "rb")
        return _open_member(self.path, self.members)

    @property
    def is_archive_member(self) -> bool:
        return bool(self.members)


def _open_member(path: Path, members: tuple[str, ...]) -> IO[bytes]:
    outer = zipfile.ZipFile(path, "r")
    try:
        stream = outer.open(members[0], "r")
        for name in members[1:]:
            inner = zipfile.ZipFile(stream, "r")
            stream = inner.open(name, "r")
        return stream
    finally:
        outer.close()


def unsafe_name(name: str) -> str | None:
    """Why an archive member name is refused, or None when it is safe."""
    norm = name.replace("\\", "/")
    if norm.startswith("/"):
        return "absolute path in archive"
    if _DRIVE.match(norm):
        return "drive letter in archive path"
    if any(part == ".." for part in norm.split("/")):
        return "path escapes the archive (..)"
    if "\x00" in norm:
        return "NUL in member name"
    return None


def discover(paths: Iterable[str | os.PathLike[str]]) -> list[InputFile]:
    """All input files under the given paths, kinds decided by content.

    A path that does not exist raises InputError; a folder is walked
    recursively in sorted order so runs are reproducible; zips are opened.
    """
    found: list[InputFile] = []
    for raw in paths:
        path = Path(raw)
        if not path.exists():
            raise InputError(str(raw), "no such file or folder")
        if path.is_dir():
            unreadable: list[InputFile] = []
            for child in _walk(path, unreadable):
                found.extend(_classify_file(child))
            found.extend(unreadable)
        else:
            found.extend(_classify_file(path))
    return found


def _walk(root: Path, unreadable: list[InputFile]) -> list[Path]:
    """Files under root; a folder that cannot be listed is reported, never skipped silently."""
    out: list[Path] = []

    def note(exc: OSError) -> None:
        where = exc.filename or str(root)
        unreadable.append(InputFile(str(where), "unknown", 0, Path(where),
                                    problem=f"cannot list folder: {exc.strerror or exc}"))

    for dirpath, dirnames, filenames in os.walk(root, onerror=note, followlinks=False):
        dirnames.sort()
        for name in sorted(filenames):
            out.append(Path(dirpath) / name)
    return out


def _classify_file(path: Path) -> list[InputFile]:
    display = str(path)
    try:
        st = path.stat()
    except OSError as exc:
        return [InputFile(display, "unknown", 0, path, problem=f"cannot stat: {exc.strerror or exc}")]
    if not stat.S_ISREG(st.st_mode):
        return [InputFile(display, "unknown", 0, path, problem="not a regular file")]
    try:
        with open(path, "rb") as fh:
            kind = sniff(fh, st.st_size, path.name)
    except OSError as exc:
        return [InputFile(display, "unknown", st.st_size, path, problem=f"cannot read: {exc.strerror or exc}")]
    if kind == "zip":
        return _archive(path, display, st.st_size)
    return [InputFile(display, kind, st.st_size, path)]


def _archive(path: Path, display: str, size: int) -> list[InputFile]:
    try:
        zf = zipfile.ZipFile(path, "r")
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        return [InputFile(display, "unknown", size, path, problem=f"unreadable zip archive: {exc}")]
    with zf:
        budget = _Budget()
        return _members(zf, path, (), display, budget, depth=0)


@dataclass
class _Budget:
    total: int = 0
    members: int = 0


def _members(zf: zipfile.ZipFile, path: Path, prefix: tuple[str, ...], display: str,
             budget: _Budget, depth: int) -> list[InputFile]:
    out: list[InputFile] = []
    infos = [i for i in zf.infolist() if not i.is_dir()]
    infos.sort(key=lambda i: i.filename)
    for info in infos:
        name = info.filename
        shown = f"{display}!{name}"
        members = (*prefix, name)

        def refuse(reason: str, info: zipfile.ZipInfo = info, shown: str = shown,
                   members: tuple[str, ...] = members) -> None:
            out.append(InputFile(shown, "unknown", info.file_size, path, members, problem=reason))

        budget.members += 1
        if budget.members > MAX_MEMBERS:
            refuse(f"archive has more than {MAX_MEMBERS} members; the rest is not read")
            break
        why = unsafe_name(name)
        if why:
            refuse(f"refused: {why}")
            continue
        if info.flag_bits & 0x1:
            refuse("refused: encrypted archive member")
            continue
        if stat.S_ISLNK(info.external_attr >> 16):
            # read in place it would only be its target's name; an extracting tool would follow it
            refuse("refused: symbolic link in archive")
            continue
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2,
                                      zipfile.ZIP_LZMA):
            refuse(f"refused: unsupported compression method {info.compress_type}")
            continue
        if info.file_size >= RATIO_MIN_SIZE and info.file_size > MAX_RATIO * max(info.compress_size, 1):
            refuse(f"refused: compression ratio {info.file_size // max(info.compress_size, 1)}:1 exceeds "
                   f"{MAX_RATIO}:1 (possible zip bomb)")
            continue
        if budget.total + info.file_size > MAX_TOTAL_UNCOMPRESSED:
            refuse(f"refused: archive expands beyond {MAX_TOTAL_UNCOMPRESSED // 1024**3} GiB")
            continue
        budget.total += info.file_size
        try:
            with zf.open(info, "r") as stream:
                kind = sniff(stream, info.file_size, PurePosixPath(name).name)
                if kind == "zip":
                    if depth + 1 > MAX_NESTING:
                        refuse("refused: archive nested more than one level deep")
                        continue
                    with zipfile.ZipFile(stream, "r") as inner:
                        out.extend(_members(inner, path, members, shown, budget, depth + 1))
                    continue
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError,
                NotImplementedError, RuntimeError) as exc:
            refuse(f"unreadable archive member: {exc}")
            continue
        out.append(InputFile(shown, kind, info.file_size, path, members))
    return out


def read_head(inp: InputFile, n: int) -> bytes:
    """The first n bytes of an input (tests and sniff helpers)."""
    with inp.open() as fh:
        return fh.read(n)


__all__ = ["InputFile", "discover", "read_head", "unsafe_name"]
