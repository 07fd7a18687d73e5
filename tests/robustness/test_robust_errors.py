"""Every unusable input: exit 2, exactly one stderr line naming the path and the reason, no traceback.

Permission checks do not apply to root, and CI runs as root. So the permission
cases run the CLI as the unprivileged ``nobody`` user (``setpriv``), on a tree
outside pytest's private temp folder; the test fails loudly if that is not
possible, rather than proving nothing.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tlsdiag_devkit.evtxwrite import EventSpec, UserData, damage, evtx_bytes

NOBODY = 65534


def _log(n: int = 5) -> bytes:
    from datetime import datetime, timezone

    t0 = datetime(2026, 11, 27, 8, 0, tzinfo=timezone.utc)
    return evtx_bytes([EventSpec(channel="System", provider="Schannel", event_id=36888, level=2, time=t0,
                                 provider_guid="{1F678132-5938-4686-9FDC-C8FF68F15C85}", computer="fe01",
                                 userdata=UserData("EventXML", "LSA_NS", {"AlertDesc": 40, "ErrorState": i}))
                       for i in range(n)])


def cli(*args: str, user: int | None = None) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "tlsdiag", *args]
    env = dict(os.environ)
    if user is not None:
        setpriv = shutil.which("setpriv")
        if not setpriv:
            pytest.fail("setpriv (util-linux) is needed to test permission errors as an unprivileged user")
        cmd = [setpriv, f"--reuid={user}", f"--regid={user}", "--clear-groups", *cmd]
        env.update(HOME="/tmp", PYTHONDONTWRITEBYTECODE="1")
    return subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False, env=env)


def one_line_error(proc: subprocess.CompletedProcess[str], path: Path | str, *words: str) -> str:
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("tlsdiag: error: ") and str(path) in lines[0], lines[0]
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


@pytest.fixture
def shared_tmp() -> Iterator[Path]:
    """A folder the 'nobody' user can reach (pytest's own tmp is private to root)."""
    path = Path(tempfile.mkdtemp(prefix="tlsdiag-robust-", dir="/tmp"))
    path.chmod(0o755)
    try:
        yield path
    finally:
        for p in [path, *path.rglob("*")]:
            p.chmod(0o755) if p.is_dir() else p.chmod(0o644)
        shutil.rmtree(path)


def test_unprivileged_user_really_is_unprivileged(shared_tmp: Path) -> None:
    secret = shared_tmp / "secret"
    secret.write_text("x")
    secret.chmod(0o600)
    proc = subprocess.run([shutil.which("setpriv") or "setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}",
                           "--clear-groups", "cat", str(secret)], capture_output=True, text=True, check=False)
    assert proc.returncode != 0 and "Permission denied" in proc.stderr


@pytest.mark.slow
@pytest.mark.parametrize("command", [["events"], ["scan", "--quiet"]])
def test_missing_path(command: list[str], tmp_path: Path) -> None:
    missing = tmp_path / "nope" / "System.evtx"
    one_line_error(cli(*command, str(missing)), missing, "no such file")


@pytest.mark.slow
@pytest.mark.parametrize("command", [["events"], ["scan", "--quiet"]])
def test_permission_denied_file(command: list[str], shared_tmp: Path) -> None:
    path = shared_tmp / "System.evtx"
    path.write_bytes(_log())
    path.chmod(0o000)
    one_line_error(cli(*command, str(path), user=NOBODY), path, "Permission denied")


@pytest.mark.slow
def test_permission_denied_folder_inside_a_collection_is_named(shared_tmp: Path) -> None:
    (shared_tmp / "good.evtx").write_bytes(_log())
    (shared_tmp / "good.evtx").chmod(0o644)
    locked = shared_tmp / "locked"
    locked.mkdir()
    (locked / "System.evtx").write_bytes(_log())
    locked.chmod(0o000)
    proc = cli("events", str(shared_tmp), user=NOBODY)
    assert proc.returncode == 0 and proc.stdout.count("\n") == 6  # header + 5 events from the readable log
    assert f"{locked}: cannot list folder: Permission denied" in proc.stderr
    scan = cli("scan", "--quiet", str(shared_tmp), user=NOBODY)
    assert f"{locked} " in scan.stdout and "cannot list folder" in scan.stdout
    one_line_error(cli("events", str(locked), user=NOBODY), locked, "Permission denied")


@pytest.mark.slow
@pytest.mark.parametrize("name, content, words", [
    ("empty.evtx", b"", ("empty file",)),
    ("empty.xml", b"", ("event log",)),
    ("notes.txt", b"just some notes\n", ("event log",)),
    ("System.evtx", b"MZ\x90\x00" + bytes(5000), ("not one",)),
    ("utf32.xml", '<Event xmlns="x"><System/></Event>'.encode("utf-32"), ("event log",)),
    ("cut.evtx", b"ElfFile\x00" + bytes(200), ("file header",)),
    ("random.evtx", bytes(range(256)) * 40, ("not one",)),
])
@pytest.mark.parametrize("command", [["events"], ["scan", "--quiet"]])
def test_unusable_file(tmp_path: Path, command: list[str], name: str, content: bytes, words: tuple[str, ...]) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    one_line_error(cli(*command, str(path)), path, *words)


@pytest.mark.slow
@pytest.mark.parametrize("command", [["events"], ["scan", "--quiet"]])
def test_folder_with_nothing_usable(tmp_path: Path, command: list[str]) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    one_line_error(cli(*command, str(empty)), empty)
    junk = tmp_path / "junk"
    junk.mkdir()
    (junk / "readme.txt").write_text("collected by bob\n")
    (junk / "image.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(100))
    one_line_error(cli(*command, str(junk)), junk)


@pytest.mark.slow
def test_stores_unusable_input(tmp_path: Path) -> None:
    path = tmp_path / "HKLM-certs.reg"
    path.write_bytes("Windows Registry Editor Version 5.00\r\n\r\n[HKEY_LOCAL_MACHINE\\X]\r\n\"A\"=hex:zz\r\n"
                     .encode("utf-16"))
    one_line_error(cli("stores", str(path)), path, "line 4")
    one_line_error(cli("stores", str(tmp_path / "missing")), tmp_path / "missing")


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    missing = tmp_path / "missing.evtx"
    proc = cli("--debug", "events", str(missing))
    assert proc.returncode != 0 and "Traceback" in proc.stderr and "InputError" in proc.stderr


@pytest.mark.slow
def test_partial_damage_gives_results_and_names_the_loss(tmp_path: Path) -> None:
    path = tmp_path / "System.evtx"
    clean = _log(600)
    path.write_bytes(damage(clean, "zeroed_chunk", chunk=1))
    proc = cli("events", str(path), "--format", "jsonl")
    assert proc.returncode == 0 and "Traceback" not in proc.stderr
    assert 0 < proc.stdout.count("\n") < 600
    assert f"lost at: {path} chunk 1" in proc.stderr
    scan = cli("scan", "--quiet", str(path))
    assert scan.returncode in (0, 1) and "lost records at chunk 1: " in scan.stdout
