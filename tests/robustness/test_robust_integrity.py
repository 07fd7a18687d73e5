"""Evidence integrity: no command modifies, creates or touches anything in or next to the evidence.

The evidence tree holds every input form (EVTX, XML and text exports, a zip
collection, reg exports, collector JSON, a signatures folder). Before and after
each command, every path is hashed and its size, mode, mtime and ctime (ctime
changes on any write or metadata change, and reads cannot set it back) and
every folder listing are compared. Access times are recorded but not compared:
reading is allowed to update them (relatime).

Three independent checks, because CI runs as root and a read-only chmod alone
proves nothing there:
1. snapshots before/after each command, run as root (where writing would succeed);
2. the same commands as the unprivileged ``nobody`` user on a read-only tree, where
   any attempt to write would fail and show;
3. a Python audit hook in the CLI process that records every ``open`` of a path
   under the evidence tree and fails on any mode or flag that could write.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from tlsdiag.resources import signatures_dir
from tlsdiag_devkit.evtxwrite import EventSpec, UserData, write_file

NOBODY = 65534
SCHANNEL = "{1F678132-5938-4686-9FDC-C8FF68F15C85}"
T0 = datetime(2026, 1, 5, 8, 0, tzinfo=timezone.utc)

TEXT_EXPORT = """Log Name:      System
Source:        Schannel
Date:          1/5/2026 8:00:02 AM
Event ID:      36888
Task Category: None
Level:         Error
Keywords:
User:          SYSTEM
Computer:      WEB01
Description:
A fatal alert was generated and sent to the remote endpoint. The TLS protocol defined fatal error code is 40. The Windows SChannel error state is 1205.
"""
XML_EXPORT = ('<Events><Event xmlns="http://schemas.microsoft.com/win/2004/08/events/event"><System>'
              '<Provider Name="Schannel"/><EventID>36874</EventID><Level>2</Level>'
              '<TimeCreated SystemTime="2026-01-05T08:00:03.000Z"/><EventRecordID>9</EventRecordID>'
              '<Channel>System</Channel><Computer>WEB01</Computer></System>'
              '<EventData><Data Name="Protocol">TLS 1.2</Data></EventData></Event></Events>')

AUDIT = r"""
import os, sys
ROOT = os.path.realpath(sys.argv[1])
WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
seen, bad = [], []
def hook(event, args):
    if event == "open":
        path, mode, flags = args
        if isinstance(path, (str, bytes)) and not isinstance(path, int):
            p = os.path.realpath(os.fsdecode(path))
            if p == ROOT or p.startswith(ROOT + os.sep):
                seen.append(p)
                if (mode and any(c in mode for c in "wax+")) or (flags or 0) & WRITE_FLAGS:
                    bad.append((p, mode, flags))
    elif event in ("os.remove", "os.rename", "os.replace", "os.mkdir", "os.rmdir", "os.chmod", "os.utime",
                   "os.truncate", "os.symlink", "os.link", "shutil.rmtree", "os.chown"):
        target = args[0]
        if isinstance(target, (str, bytes, os.PathLike)):
            p = os.path.realpath(os.fsdecode(target))
            if p == ROOT or p.startswith(ROOT + os.sep):
                bad.append((p, event, None))
    elif event == "subprocess.Popen" or event == "os.system" or event == "os.exec":
        bad.append(("exec", event, str(args)[:200]))
sys.addaudithook(hook)
from tlsdiag.cli import main
try:
    code = main(sys.argv[2:])
except SystemExit as exc:
    code = exc.code
sys.stdout.flush()
print("AUDIT " + repr({"seen": len(set(seen)), "bad": bad}), file=sys.stderr)
sys.exit(code)
"""


def _specs() -> list[EventSpec]:
    host = "WEB01"
    return [
        EventSpec(channel="System", provider="Schannel", provider_guid=SCHANNEL, event_id=36874, level=2, time=T0,
                  computer=host, data={"Protocol": "TLS 1.2"}),
        EventSpec(channel="System", provider="Schannel", provider_guid=SCHANNEL, event_id=36888, level=2,
                  time=T0 + timedelta(seconds=1), computer=host,
                  userdata=UserData("EventXML", "LSA_NS", {"AlertDesc": 40, "ErrorState": 1205})),
    ]


@pytest.fixture(scope="module")
def evidence() -> Iterator[Path]:
    from tlsdiag_devkit import storegen as testdata

    root = Path(tempfile.mkdtemp(prefix="tlsdiag-evidence-", dir="/tmp")) / "case-4711"
    root.mkdir()
    logs = root / "WEB01" / "winevt" / "Logs"
    logs.mkdir(parents=True)
    write_file(logs / "System.evtx", _specs())
    write_file(logs / "Application.evtx", _specs()[:1])
    (root / "exports").mkdir()
    (root / "exports" / "System.xml").write_text(XML_EXPORT, encoding="utf-8")
    (root / "exports" / "event.txt").write_text(TEXT_EXPORT, encoding="utf-8")
    with zipfile.ZipFile(root / "WEB01-collection.zip", "w", zipfile.ZIP_DEFLATED) as zf:
        zf.write(logs / "System.evtx", "Logs/System.evtx")
        zf.writestr("Logs/../../escape.evtx", b"x")
    stores = testdata.planted("WEB01")
    testdata.write_reg_exports(stores, root / "stores-reg")
    testdata.write_storejson(stores, root / "stores-json" / "WEB01.json")
    shutil.copytree(signatures_dir(), root / "signatures")
    if (signatures_dir().parent / "samples").is_dir():  # the signatures' own examples refer to ../samples
        shutil.copytree(signatures_dir().parent / "samples", root / "samples")
    for p in [*root.rglob("*"), root]:
        p.chmod(0o555 if p.is_dir() else 0o444)
    root.parent.chmod(0o755)
    try:
        yield root
    finally:
        for p in [root, *root.rglob("*")]:
            p.chmod(0o755 if p.is_dir() else 0o644)
        shutil.rmtree(root.parent)


def snapshot(root: Path) -> tuple[dict[str, tuple], dict[str, int]]:
    """(what must not change, access times) for root, everything under it, and its parent's listing."""
    state: dict[str, tuple] = {"..": tuple(sorted(os.listdir(root.parent)))}
    atimes: dict[str, int] = {}
    for p in [root, *sorted(root.rglob("*"))]:
        st = p.lstat()
        rel = str(p.relative_to(root))
        if stat.S_ISDIR(st.st_mode):
            extra: object = tuple(sorted(os.listdir(p)))
        else:
            extra = hashlib.sha256(p.read_bytes()).hexdigest()
        state[rel] = (stat.S_IFMT(st.st_mode), stat.S_IMODE(st.st_mode), st.st_size, st.st_mtime_ns, st.st_ctime_ns,
                      st.st_nlink, extra)
        atimes[rel] = st.st_atime_ns
    return state, atimes


def commands(root: Path) -> list[list[str]]:
    collection = [str(root / "WEB01"), str(root / "exports"), str(root / "WEB01-collection.zip"),
                  str(root / "stores-reg"), str(root / "stores-json")]
    out = [["events", *collection[:3], "--format", fmt] for fmt in ("table", "jsonl", "csv")]
    out += [["scan", "--quiet", *collection, "--format", fmt] for fmt in ("text", "json", "markdown", "html")]
    out += [["scan", "--quiet", "--backend", "python", str(root / "WEB01")]]
    out += [["stores", str(root / "stores-reg"), str(root / "stores-json"), "--format", fmt]
            for fmt in ("text", "json", "markdown")]
    out += [["explain", "Schannel 36888 fatal alert 40 error state 1205"],
            ["kb", "--signatures", str(root / "signatures"), "check"],
            ["scan", "--quiet", "--signatures", str(root / "signatures"), str(root / "WEB01")]]
    return out


def _run(argv: list[str], root: Path, user: int | None = None) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-c", AUDIT, str(root), *argv]
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    cwd = root.parent if user is None else "/tmp"
    if user is not None:
        cmd = [shutil.which("setpriv") or "setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups", *cmd]
        env["HOME"] = "/tmp"
    return subprocess.run(cmd, capture_output=True, text=True, timeout=600, check=False, env=env, cwd=cwd)


def _audit(proc: subprocess.CompletedProcess[str]) -> dict:
    line = [ln for ln in proc.stderr.splitlines() if ln.startswith("AUDIT ")]
    assert line, proc.stderr[-2000:]
    import ast

    return ast.literal_eval(line[-1][6:])


def test_snapshot_sees_a_touch(tmp_path: Path) -> None:
    """The comparison can fail: a write with the content restored and the mtime put back still shows (ctime)."""
    (tmp_path / "root").mkdir()
    f = tmp_path / "root" / "a.evtx"
    f.write_bytes(b"x")
    before, _ = snapshot(tmp_path / "root")
    st = f.stat()
    f.write_bytes(b"x")
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert snapshot(tmp_path / "root")[0] != before


@pytest.mark.slow
@pytest.mark.parametrize("index", range(14))
def test_command_leaves_evidence_untouched(evidence: Path, index: int) -> None:
    argv = commands(evidence)[index]
    before, atimes = snapshot(evidence)
    proc = _run(argv, evidence)
    after, _ = snapshot(evidence)
    assert proc.returncode in (0, 1), (argv, proc.stderr[-2000:])
    assert after == before, f"{argv}: evidence changed"
    audit = _audit(proc)
    assert audit["bad"] == [], f"{argv}: opened for writing / modified: {audit['bad']}"
    if argv[0] not in ("explain",):
        assert audit["seen"] > 0, "the audit hook saw no evidence being opened: it proves nothing"
    assert isinstance(atimes, dict)


@pytest.mark.slow
@pytest.mark.parametrize("argv_index", [0, 3, 6, 7, 8, 12, 13])
def test_unprivileged_run_on_read_only_tree(evidence: Path, argv_index: int) -> None:
    """As 'nobody' on a 0444/0555 tree a write attempt would fail loudly; nothing fails, nothing changes."""
    argv = commands(evidence)[argv_index]
    before, _ = snapshot(evidence)
    proc = _run(argv, evidence, user=NOBODY)
    assert proc.returncode in (0, 1), (argv, proc.stderr[-2000:])
    assert "Permission denied" not in proc.stderr and "Traceback" not in proc.stderr
    assert snapshot(evidence)[0] == before
    assert _audit(proc)["bad"] == []


@pytest.mark.slow
def test_audit_hook_catches_a_write(tmp_path: Path) -> None:
    """The hook can fail: a report written into the evidence folder on request is seen."""
    root = tmp_path / "ev"
    root.mkdir()
    write_file(root / "System.evtx", _specs())
    proc = _run(["scan", "--quiet", "-o", str(root / "report.txt"), str(root / "System.evtx")], root)
    assert any(p.endswith("report.txt") for p, _mode, _flags in _audit(proc)["bad"])


@pytest.mark.slow
def test_command_list_is_complete(evidence: Path) -> None:
    assert len(commands(evidence)) == 14


@pytest.mark.slow
def test_outputs_report_what_they_read(evidence: Path) -> None:
    """Guard against a vacuous pass: the commands really read the evidence."""
    proc = _run(["scan", "--quiet", "--format", "json", str(evidence / "WEB01"), str(evidence / "exports"),
                 str(evidence / "WEB01-collection.zip")], evidence)
    doc = json.loads(proc.stdout)
    assert "WEB01" in json.dumps(doc)
    text = json.dumps(doc)
    assert "System.xml" in text and "event.txt" in text and "escapes the archive" in text
