"""`tlsdiag events`: formats, filters, the stderr summary and exit codes."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import replace
from pathlib import Path

import pytest

from support.evtxspecs import T0, capi, lync, schannel
from tlsdiag.cli import main
from tlsdiag_devkit.evtxwrite import EventSpec, damage, evtx_bytes


@pytest.fixture
def collection(tmp_path: Path) -> Path:
    logs = tmp_path / "Logs"
    logs.mkdir()
    later = replace(schannel(1), time=T0.replace(hour=9))
    (logs / "System.evtx").write_bytes(evtx_bytes([schannel(0), later]))
    (logs / "Lync Server.evtx").write_bytes(evtx_bytes([lync(0)]))
    (logs / "Application.evtx").write_bytes(evtx_bytes([capi(0)]))
    return logs


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    rc = main(["events", *args])
    out, err = capsys.readouterr()
    return rc, out, err


def test_jsonl_has_every_event_with_stable_keys(collection: Path, capsys) -> None:
    rc, out, err = run(capsys, str(collection), "--format", "jsonl")
    assert rc == 0
    rows = [json.loads(line) for line in out.splitlines()]
    assert sorted(r["event_id"] for r in rows) == [4097, 32174, 36888, 36888]
    assert list(rows[0]) == ["source", "locator", "record_id", "timestamp", "channel", "provider", "provider_guid",
                             "event_id", "qualifiers", "level", "level_name", "computer", "task", "task_name",
                             "keywords", "data", "message", "form"]
    assert all(r["timestamp"].endswith("Z") for r in rows)
    assert err.count("\n") == 1 and "3 file(s), 4 record(s) read, 0 lost" in err


def test_filters(collection: Path, capsys) -> None:
    _, out, _ = run(capsys, str(collection), "--format", "jsonl", "--provider", "SCHANNEL", "--since",
                    "2026-11-27T08:30:00Z")
    assert [json.loads(x)["timestamp"] for x in out.splitlines()] == ["2026-11-27T09:00:00.123456Z"]
    _, out, _ = run(capsys, str(collection), "--format", "jsonl", "--id", "32174,4097", "--channel", "lync server")
    assert [json.loads(x)["event_id"] for x in out.splitlines()] == [32174]
    _, out, _ = run(capsys, str(collection), "--format", "jsonl", "--until", "2026-11-27")
    assert out == ""


def test_csv_has_header_and_neutralises_formulas(tmp_path: Path, capsys) -> None:
    spec = replace(capi(0), data={"Subject": "=HYPERLINK(\"http://x\")", "Thumbprint": "+1"})
    path = tmp_path / "Application.evtx"
    path.write_bytes(evtx_bytes([spec]))
    rc, out, _ = run(capsys, str(path), "--format", "csv")
    assert rc == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert len(rows) == 1 and rows[0]["event_id"] == "4097"
    for cell in rows[0].values():
        assert not cell.startswith(("=", "+", "-", "@"))
    assert json.loads(rows[0]["data"].lstrip("'"))["Subject"].startswith("=HYPERLINK")


def test_table_makes_terminal_controls_inert(tmp_path: Path, capsys) -> None:
    evil = "\x1b]0;pwned\x07\x1b[2J\u202eevil"
    spec = EventSpec(channel="System", provider="Schannel", event_id=36888, time=T0, computer=evil,
                     provider_guid="{1F678132-5938-4686-9FDC-C8FF68F15C85}", data={"Target": evil})
    path = tmp_path / "System.evtx"
    path.write_bytes(evtx_bytes([spec]))
    rc, out, _ = run(capsys, str(path))
    assert rc == 0
    assert "\x1b" not in out and "\u202e" not in out and "\x07" not in out
    assert "\\x1b" in out


def test_damage_is_summarised_on_stderr_with_where(tmp_path: Path, capsys) -> None:
    clean = evtx_bytes([capi(i) for i in range(600)])
    path = tmp_path / "System.evtx"
    path.write_bytes(damage(clean, "bad_chunk_magic", chunk=1))
    rc, out, err = run(capsys, str(path), "--format", "jsonl")
    assert rc == 0
    assert "lost at:" in err and "chunk 1" in err
    assert len(out.splitlines()) < 600


def test_missing_path_exits_2_with_one_line(tmp_path: Path, capsys) -> None:
    rc, out, err = run(capsys, str(tmp_path / "missing.evtx"))
    assert rc == 2 and out == ""
    assert err.strip().count("\n") == 0 and "missing.evtx" in err and "no such file" in err


def test_no_usable_input_exits_2(tmp_path: Path, capsys) -> None:
    notes = tmp_path / "notes.md"
    notes.write_text("# nothing\n")
    rc, out, err = run(capsys, str(notes))
    assert rc == 2 and out == "" and "notes.md" in err and "not an event log" in err
    broken = tmp_path / "System.evtx"
    broken.write_bytes(b"ElfFile\x00" + bytes(20))
    rc, out, err = run(capsys, str(broken))
    assert rc == 2 and "System.evtx" in err and "file header" in err


def test_bad_filter_value_exits_2(collection: Path, capsys) -> None:
    rc, _, err = run(capsys, str(collection), "--id", "abc")
    assert rc == 2 and "--id" in err


def test_python_backend_option(collection: Path, capsys) -> None:
    _, rust, _ = run(capsys, str(collection), "--format", "jsonl")
    _, python, _ = run(capsys, str(collection), "--format", "jsonl", "--backend", "python")
    assert rust == python
