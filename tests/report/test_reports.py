"""Text, JSON and Markdown reports of a scan: content, schema, determinism, and hostile event text kept inert."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from support.smallkb import T0, boot, ev, write_kb  # the small knowledge base and event builders
from tlsdiag.kb import load_kb
from tlsdiag.match import explain
from tlsdiag.model import FileReport, Loss, ReadSummary
from tlsdiag.report import SCHEMA_DIR, render_explain, render_scan
from tlsdiag.scan import analyse

HOSTILE = "evil\x1b]0;pwned\x07\x1b[31mred\u202etxt.exe [click](http://x.invalid) <b>*bold*</b>"


@pytest.fixture(scope="module")
def kb(tmp_path_factory: pytest.TempPathFactory):
    return load_kb(write_kb(tmp_path_factory.mktemp("kb") / "signatures"))


@pytest.fixture(scope="module")
def result(kb):
    summary = ReadSummary()
    report = summary.add(FileReport(source="C:/logs/System.evtx", form="evtx", size=69632, records=5))
    report.saw(T0)
    report.lost.append(Loss("C:/logs/System.evtx", "chunk 3", "bad chunk checksum", records=12))
    events = [
        boot("9200", "6.02."),
        ev(32042, "LS User Services", "Lync Server", data={"1": HOSTILE, "2": "Contoso-CA"}),
        ev(32042, "LS User Services", "Lync Server", minutes=5, data={"1": "fe01.contoso.com", "2": "Contoso-CA"}),
        ev(36874, computer="EDGE01", data={"Protocol": "TLS 1.2"}),
        ev(36888, computer="EDGE01", minutes=1, data={"AlertDesc": "40", "ErrorState": "1205"}),
    ]
    return analyse(events, kb, summary=summary, paths=["C:/logs"])


def _schema(name: str) -> dict:
    return json.loads((SCHEMA_DIR / name).read_text())


def test_text_report_names_cause_kb_fix_and_renders_messages(result) -> None:
    text = render_scan(result, "text")
    assert "== FE01" in text and "== EDGE01" in text
    assert "Non-self-signed certificates in Trusted Root" in text
    assert "KB2795828" in text
    assert "PS> Get-ChildItem Cert:\\LocalMachine\\Root" in text
    assert "Invalid incoming HTTPS certificate." in text and "Issuer: Contoso-CA" in text  # rendered from fields
    assert "Windows 6.2 build 9200" in text
    assert "lost 12 record(s) at chunk 3: bad chunk checksum" in text
    # on EDGE01 the cipher mismatch is ranked, with the combination
    edge = text[text.index("== EDGE01"):]
    assert "1. Cipher suite or protocol mismatch" in edge
    assert "together within 5m" in edge


def test_text_report_keeps_hostile_event_text_inert(result) -> None:
    for color in (False, True):
        text = render_scan(result, "text", color=color)
        assert "\x1b]0;" not in text and "\x07" not in text and "\u202e" not in text
        assert "\\x1b]0;pwned\\x07" in text and "\\u202e" in text
    assert "\x1b[" not in render_scan(result, "text", color=False)
    assert "\x1b[1m" in render_scan(result, "text", color=True)


def test_json_report_validates_and_is_deterministic(result) -> None:
    out = render_scan(result, "json")
    data = json.loads(out)
    jsonschema.validate(data, _schema("scan.schema.json"))
    assert out == render_scan(result, "json")
    assert "\x1b" not in out and "\u202e" not in out  # ASCII-escaped
    fe = [f for f in data["findings"] if f["computer"] == "FE01"]
    assert fe[0]["cause"] == "root-store" and fe[0]["rank"] == 1 and fe[0]["made"]
    assert fe[0]["kb"][0]["number"] == 2795828
    assert fe[0]["fix"][0]["command"].startswith("Get-ChildItem")
    assert fe[0]["evidence"][0]["count"] == 2
    assert fe[0]["evidence"][0]["events"][0]["message"].startswith("Invalid incoming HTTPS certificate.")
    excluded = next(f for f in fe if f["cause"] == "session-tickets")
    assert excluded["confidence"] == "excluded" and not excluded["made"]
    assert data["stats"]["records_lost"] == 12 and data["stats"]["diagnoses_made"] == 2
    assert "timing" not in data
    with_stats = json.loads(render_scan(result, "json", stats=True))
    jsonschema.validate(with_stats, _schema("scan.schema.json"))
    assert with_stats["timing"]["events_matched_against"] == 5


def test_json_schema_rejects_a_broken_report(result) -> None:
    data = json.loads(render_scan(result, "json"))
    del data["findings"][0]["confidence"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(data, _schema("scan.schema.json"))


def test_markdown_report_is_literal(result) -> None:
    out = render_scan(result, "markdown")
    assert out.startswith("# tlsdiag report")
    assert "## FE01" in out and "KB2795828" in out
    assert "```powershell" in out
    outside = out.split("```")[0::2]  # text outside fenced blocks renders; inside is shown literally
    assert "](http" not in "".join(outside) and "<b>" not in "".join(outside)
    assert "\\[click\\]" in "".join(outside) or "click" not in "".join(outside)
    assert "\x1b" not in out and "\u202e" not in out


def test_empty_scan_reports_nothing_found(kb) -> None:
    empty = analyse([boot("9600")], kb, summary=ReadSummary())
    assert empty.exit_code == 0
    assert "no known certificate-store or TLS problem found" in render_scan(empty, "text")
    data = json.loads(render_scan(empty, "json"))
    jsonschema.validate(data, _schema("scan.schema.json"))
    assert data["findings"] == []


def test_explain_outputs_validate(kb) -> None:
    for text in ("CERT_E_UNTRUSTEDROOT", "nothing to see here at all, just some words"):
        answer = explain(text, kb)
        data = json.loads(render_explain(answer, "json"))
        jsonschema.validate(data, _schema("explain.schema.json"))
        assert render_explain(answer, "text")
        assert render_explain(answer, "markdown")


def test_schema_files_ship_in_the_package() -> None:
    assert Path(SCHEMA_DIR, "scan.schema.json").is_file() and Path(SCHEMA_DIR, "explain.schema.json").is_file()
