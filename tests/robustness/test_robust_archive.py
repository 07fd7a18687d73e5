"""Hostile zip collections through the real CLI: refused or bounded, named, and nothing written to disk.

Zips are read in place. Each hostile member is refused with its reason in the
summary (and the good members beside it are still read); a lying size is
bounded by the zip reader's CRC check; and the test checks that no file appears
in the working directory, the temporary directory or next to the evidence.
"""

from __future__ import annotations

import importlib
import os
import struct
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tlsdiag.inputs import read_events
from tlsdiag.model import ReadSummary
from tlsdiag_devkit.evtxwrite import EventSpec, UserData, evtx_bytes

discover_mod = importlib.import_module("tlsdiag.inputs.discover")  # the package re-exports discover()


def _log(n: int = 3) -> bytes:
    from datetime import datetime, timezone

    t0 = datetime(2026, 11, 27, 8, 0, tzinfo=timezone.utc)
    return evtx_bytes([EventSpec(channel="System", provider="Schannel", event_id=36888, level=2, time=t0,
                                 provider_guid="{1F678132-5938-4686-9FDC-C8FF68F15C85}", computer="fe01",
                                 userdata=UserData("EventXML", "LSA_NS", {"AlertDesc": 40, "ErrorState": i}))
                       for i in range(n)])


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() if p.is_file() else b"<dir>" for p in sorted(root.rglob("*"))}


def _cli(args: list[str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """Run tlsdiag with its own empty cwd and TMPDIR, and check both stay empty."""
    cwd, tmp = tmp_path / "cwd", tmp_path / "tmp"
    cwd.mkdir(exist_ok=True)
    tmp.mkdir(exist_ok=True)
    env = {**os.environ, "TMPDIR": str(tmp), "TEMP": str(tmp), "TMP": str(tmp)}
    proc = subprocess.run([sys.executable, "-m", "tlsdiag", *args], capture_output=True, text=True, cwd=cwd, env=env,
                          timeout=300, check=False)
    assert list(cwd.iterdir()) == [] and list(tmp.iterdir()) == [], "files written to cwd or TMPDIR"
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


def _zip(path: Path, members: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> Path:
    with zipfile.ZipFile(path, "w", method) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def _symlink_zip(path: Path) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("Logs/System.evtx", _log())
        info = zipfile.ZipInfo("Logs/Security.evtx")
        info.external_attr = (0o120777 << 16)  # a symbolic link; its content is the target
        info.create_system = 3
        zf.writestr(info, "/etc/shadow")
    return path


def _set_encrypted(path: Path, name: str) -> None:
    """Set the 'encrypted' flag of one member in its local and central header (zipfile cannot write one)."""
    raw = bytearray(path.read_bytes())
    encoded = name.encode()
    for sig, flag_off, name_off in ((b"PK\x03\x04", 6, 30), (b"PK\x01\x02", 8, 46)):
        pos = raw.find(sig)
        while pos >= 0:
            if raw[pos + name_off:pos + name_off + len(encoded)] == encoded:
                flags = struct.unpack_from("<H", raw, pos + flag_off)[0]
                struct.pack_into("<H", raw, pos + flag_off, flags | 0x1)
            pos = raw.find(sig, pos + 4)
    path.write_bytes(bytes(raw))


@pytest.fixture
def collection(tmp_path: Path) -> Path:
    """One zip holding every hostile member kind next to a good log."""
    evidence = tmp_path / "evidence"
    evidence.mkdir()
    inner = _zip(tmp_path / "inner.zip", {"deep.evtx": _log()})
    middle = _zip(tmp_path / "middle.zip", {"inner.zip": inner.read_bytes()})
    bomb = b"\x00" * (60 * 1024 * 1024)  # deflates ~1000:1
    path = _zip(evidence / "collection.zip", {
        "Logs/System.evtx": _log(),
        "../../escape.evtx": _log(),
        "/etc/absolute.evtx": _log(),
        "C:/Windows/drive.evtx": _log(),
        "..\\..\\backslash.evtx": _log(),
        "Logs/bomb.evtx": bomb,
        "nested/middle.zip": middle.read_bytes(),
        "Logs/Locked.evtx": _log(),
    })
    _set_encrypted(path, "Logs/Locked.evtx")
    return path


EXPECTED = {
    "../../escape.evtx": "escapes the archive",
    "/etc/absolute.evtx": "absolute path",
    "C:/Windows/drive.evtx": "drive letter",
    "..\\..\\backslash.evtx": "escapes the archive",
    "Logs/bomb.evtx": "zip bomb",
    "nested/middle.zip!inner.zip": "nested",
    "Logs/Locked.evtx": "encrypted",
}


def test_each_hostile_member_is_refused_and_named(collection: Path, tmp_path: Path) -> None:
    before = _tree(collection.parent)
    proc = _cli(["events", str(collection), "--format", "jsonl"], tmp_path)
    assert proc.returncode == 0
    assert proc.stdout.count("\n") == 3  # the good log is read
    for member, reason in EXPECTED.items():
        lines = [ln for ln in proc.stderr.splitlines() if f"{collection}!{member}:" in ln]
        assert len(lines) == 1 and reason in lines[0], (member, proc.stderr)
    assert _tree(collection.parent) == before


@pytest.mark.slow
def test_scan_names_refused_members(collection: Path, tmp_path: Path) -> None:
    proc = _cli(["scan", str(collection), "--quiet"], tmp_path)
    assert proc.returncode in (0, 1)
    for member, reason in EXPECTED.items():
        assert f"{collection}!{member}" in proc.stdout and reason in proc.stdout, member


def test_symlink_member_is_refused(tmp_path: Path) -> None:
    path = _symlink_zip(tmp_path / "links.zip")
    proc = _cli(["events", str(path)], tmp_path)
    assert proc.returncode == 0
    assert f"{path}!Logs/Security.evtx: refused: symbolic link in archive" in proc.stderr


def test_lying_uncompressed_size_is_bounded(tmp_path: Path) -> None:
    """A member whose header says 1 KiB but inflates to 50 MB: read stops at the declared size, CRC fails."""
    path = _zip(tmp_path / "liar.zip", {"Logs/System.evtx": _log() + b"\x00" * (50 * 1024 * 1024)})
    raw = bytearray(path.read_bytes())
    real = len(_log()) + 50 * 1024 * 1024
    for sig, off in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        pos = raw.find(sig)
        assert struct.unpack_from("<I", raw, pos + off)[0] == real
        struct.pack_into("<I", raw, pos + off, len(_log()))
    path.write_bytes(bytes(raw))
    summary = ReadSummary()
    list(read_events([path], summary=summary))
    (report,) = summary.files
    assert report.size == len(_log())  # the declared size bounds what is read, not the 50 MB behind it
    # the lie is noticed and named (the zip CRC covers the whole stream, so this member is lost as a whole)
    assert report.lost and report.lost[-1].where == "file" and "CRC" in report.lost[-1].reason


def test_total_expansion_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The total-size budget over all members (32 GiB by default; lowered here to exercise it)."""
    monkeypatch.setattr(discover_mod, "MAX_TOTAL_UNCOMPRESSED", 3 * 1024 * 1024)
    path = _zip(tmp_path / "many.zip", {f"Logs/part{i}.evtx": os.urandom(1024 * 1024) for i in range(5)},
                zipfile.ZIP_STORED)
    found = discover_mod.discover([path])
    refused = [i for i in found if i.problem]
    assert len(found) == 5 and len(refused) == 2
    assert all("expands beyond" in i.problem for i in refused)


def test_member_count_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(discover_mod, "MAX_MEMBERS", 10)
    path = _zip(tmp_path / "swarm.zip", {f"f{i:03}.txt": b"x" for i in range(50)}, zipfile.ZIP_STORED)
    found = discover_mod.discover([path])
    assert len(found) == 11 and "more than 10 members" in (found[-1].problem or "")


def test_truncated_and_garbage_archives(tmp_path: Path) -> None:
    good = _zip(tmp_path / "g.zip", {"Logs/System.evtx": _log(300)})
    cut = tmp_path / "cut.zip"
    cut.write_bytes(good.read_bytes()[: len(good.read_bytes()) // 2])
    proc = _cli(["events", str(cut)], tmp_path)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and str(cut) in proc.stderr
    junk = tmp_path / "junk.zip"
    junk.write_bytes(b"PK\x03\x04" + os.urandom(5000))
    proc = _cli(["events", str(junk)], tmp_path)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and str(junk) in proc.stderr
