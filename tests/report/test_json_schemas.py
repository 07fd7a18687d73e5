"""Every JSON output of the sample runs validates against its published schema (src/tlsdiag/report/schemas/):
`scan`, `stores`, `explain`, `events --format jsonl` and the timesketch lines, on the bundled samples, the
real-world reg exports and pasted texts in ../shared/realworld, and damaged inputs.

The schemas are strict (`additionalProperties: false`, required fields, enums), so a field added, renamed or
dropped without the schema and docs/json-output.md fails here."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from support.paths import REPO, SAMPLES
from tlsdiag.cli import main
from tlsdiag.report import SCHEMA_DIR, SCHEMA_VERSION

REALWORLD = REPO.parent / "shared" / "realworld"
SAMPLE_DIRS = sorted(p for p in SAMPLES.iterdir() if p.is_dir())
REAL_REG = sorted((REALWORLD / "reg").glob("*.reg"))
REAL_EVENTS = sorted((REALWORLD / "events").iterdir())
SCHEMAS = ("scan", "stores", "explain", "event", "timesketch")


def _schema(name: str) -> dict[str, Any]:
    return json.loads((SCHEMA_DIR / f"{name}.schema.json").read_text(encoding="utf-8"))


VALIDATORS = {name: jsonschema.Draft202012Validator(_schema(name)) for name in SCHEMAS}


def _valid(name: str, doc: Any) -> None:
    errors = sorted(VALIDATORS[name].iter_errors(doc), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors[:5])


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    rc = main(list(argv))
    return rc, capsys.readouterr().out


def test_the_real_data_is_there() -> None:
    # A missing folder would make the parametrised tests below vanish rather than fail.
    assert len(SAMPLE_DIRS) >= 6 and len(REAL_REG) >= 3 and len(REAL_EVENTS) >= 5


@pytest.mark.parametrize("name", SCHEMAS)
def test_each_schema_is_a_valid_draft_2020_12_schema(name: str) -> None:
    jsonschema.Draft202012Validator.check_schema(_schema(name))


def test_scan_and_stores_describe_a_store_finding_and_a_step_the_same_way() -> None:
    scan, stores, explain = _schema("scan"), _schema("stores"), _schema("explain")
    for part in ("time", "step", "certificate", "store_finding"):
        assert scan["$defs"][part] == stores["$defs"][part], part
    assert scan["$defs"]["step"] == explain["$defs"]["step"]
    assert scan["$defs"]["workaround"] == explain["$defs"]["workaround"]
    assert scan["$defs"]["kb_article"] == explain["$defs"]["kb_article"]
    for doc in (scan, stores, explain):
        assert doc["properties"]["schema_version"] == {"const": SCHEMA_VERSION}


@pytest.mark.parametrize("sample", SAMPLE_DIRS, ids=lambda p: p.name)
def test_scan_json_and_timesketch_of_each_sample_validate(sample: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, out = _run(capsys, "scan", "--quiet", "--format", "json", str(sample))
    doc = json.loads(out)
    _valid("scan", doc)
    assert doc["stats"]["files"] > 0
    if (sample / "stores").is_dir():
        assert doc["stores"], "a sample with stores/ gives a store analysis"
    _, lines = _run(capsys, "scan", "--quiet", "--format", "timesketch", str(sample))
    for line in lines.splitlines():
        _valid("timesketch", json.loads(line))


def _damage_evtx(path: Path) -> None:
    """Zero the middle of the file's first chunk's records (its CRC no longer matches) and cut off its end."""
    data = bytearray(path.read_bytes())
    assert data[:8] == b"ElfFile\x00" and data[4096:4104] == b"ElfChnk\x00"
    start = 4096 + 512 + 2000
    data[start:start + 4000] = bytes(4000)
    path.write_bytes(bytes(data[:len(data) - 30000]))


def _damage_reg(path: Path) -> None:
    """Break the first certificate blob of a UTF-16 reg export (a DER that does not parse)."""
    text = path.read_bytes().decode("utf-16")
    at = text.index('"Blob"=hex:')
    der = text.index("20,00,00,00,01,00,00,00,", at) + len("20,00,00,00,01,00,00,00,") + 12
    path.write_bytes(b"\xff\xfe" + (text[:der] + "ff,ff" + text[der + 5:]).encode("utf-16-le"))


@pytest.fixture()
def damaged(tmp_path: Path) -> Path:
    folder = tmp_path / "damaged"
    shutil.copytree(SAMPLES / "lync2013-fe-root-store", folder)
    _damage_evtx(folder / "Lync Server.evtx")
    _damage_reg(folder / "stores" / "SystemCertificates.reg")
    broken = ("Windows Registry Editor Version 5.00\r\n\r\n[HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\"
              "SystemCertificates\\CA]\r\nnot a value line\r\n")
    (folder / "stores" / "Broken.reg").write_bytes(b"\xff\xfe" + broken.encode("utf-16-le"))
    return folder


def test_scan_json_of_damaged_input_validates_and_names_the_losses(damaged: Path,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    _, out = _run(capsys, "scan", "--quiet", "--format", "json", str(damaged))
    doc = json.loads(out)
    _valid("scan", doc)
    lost = {i["source"].rsplit("/", 1)[-1]: i["lost"] for i in doc["stats"]["inputs"] if i["lost"]}
    assert "Lync Server.evtx" in lost and "SystemCertificates.reg" in lost, lost


def test_stores_json_of_damaged_exports_validates_and_a_broken_file_is_not_fatal(damaged: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, out = _run(capsys, "stores", "--format", "json", str(damaged / "stores"))
    doc = json.loads(out)
    _valid("stores", doc)
    [computer] = doc["computers"]
    assert [x["item"] for x in computer["lost"]] == ["certificate"]
    assert [(x["source"].rsplit("/", 1)[-1], x["item"]) for x in doc["lost"]] == [("Broken.reg", "file")]


@pytest.mark.parametrize("path", [*REAL_REG, *(p / "stores" for p in SAMPLE_DIRS if (p / "stores").is_dir())],
                         ids=lambda p: p.name if p.suffix else p.parent.name)
def test_stores_json_of_real_and_sample_exports_validates(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc, out = _run(capsys, "stores", "--format", "json", str(path))
    doc = json.loads(out)
    _valid("stores", doc)
    names = {c["computer"] for c in doc["computers"]}
    assert doc["computers"] and {f["computer"] for f in doc["findings"] + doc["clean"]} <= names
    assert rc == (1 if any(f["kind"] == "problem" and f["severity"] != "info" for f in doc["findings"]) else 0)
    text = out.encode("ascii")  # ASCII-escaped: no raw control or bidi character from a certificate name
    assert b"\x1b" not in text


def _paste_texts() -> list[tuple[str, str]]:
    cases = json.loads((REALWORLD / "paste_cases.json").read_text(encoding="utf-8"))
    texts = [(c["id"], c["text"]) for c in cases]
    return texts + [(p.name, p.read_text(encoding="utf-8", errors="replace")) for p in REAL_EVENTS]


@pytest.mark.slow  # 1.5 s: every real paste through explain
def test_explain_json_of_every_real_paste_validates(capsys: pytest.CaptureFixture[str]) -> None:
    texts = _paste_texts()
    assert len(texts) >= 30
    found = 0
    for name, text in texts:
        _, out = _run(capsys, "explain", "--format", "json", text)
        doc = json.loads(out)
        try:
            _valid("explain", doc)
        except AssertionError as exc:
            raise AssertionError(f"{name}: {exc}") from None
        found += bool(doc["fix"])
    assert found, "some real paste gets a fix, so the fix part of the schema was exercised"


@pytest.mark.parametrize("path", [*SAMPLE_DIRS, *REAL_EVENTS], ids=lambda p: p.name)
def test_events_jsonl_and_timesketch_lines_validate(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, out = _run(capsys, "events", "--format", "jsonl", str(path))
    lines = out.splitlines()
    assert lines
    for line in lines:
        _valid("event", json.loads(line))
    _, out = _run(capsys, "events", "--format", "timesketch", str(path))
    assert len(out.splitlines()) == len(lines)
    for line in out.splitlines():
        _valid("timesketch", json.loads(line))


def test_events_jsonl_of_a_damaged_log_validates(damaged: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["events", "--format", "jsonl", str(damaged / "Lync Server.evtx")])
    captured = capsys.readouterr()
    assert rc == 0 and "lost at:" in captured.err
    lines = captured.out.splitlines()
    assert lines
    for line in lines:
        _valid("event", json.loads(line))


def test_stores_json_is_deterministic(capsys: pytest.CaptureFixture[str]) -> None:
    path = str(REAL_REG[0])
    first = _run(capsys, "stores", "--format", "json", "--at", "2026-01-01", path)
    second = _run(capsys, "stores", "--format", "json", "--at", "2026-01-01", path)
    assert first == second and json.loads(first[1])["findings"] is not None


def test_explain_json_names_the_shell_of_a_workaround_like_scan(capsys: pytest.CaptureFixture[str]) -> None:
    # rw013 (a real forum paste of the 16 KB trusted-issuer list) gets a fix whose workaround is a cmd line
    # (`if not exist ... && reg add ...`); explain's JSON dropped the shell that scan's JSON gives, so a
    # reader of it could not tell that the command is not PowerShell.
    from tlsdiag.kb import load_kb

    text = dict(_paste_texts())["rw013"]
    _, out = _run(capsys, "explain", "--format", "json", text)
    fix = json.loads(out)["fix"]
    assert fix["cause"] == "trusted-issuer-list-too-large"
    cause = load_kb(REPO / "signatures").causes[fix["cause"]]
    assert [w["shell"] for w in fix["workarounds"]] == [w.shell for w in cause.workarounds]
    assert "cmd" in [w["shell"] for w in fix["workarounds"]]
