"""`tlsdiag scan samples/<scenario>` names the right cause first, and nothing on the healthy server;
the same holds for the XML, text and zip forms of the same data (samples/other-forms)."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from tlsdiag.cli import main
from tlsdiag.kb import load_kb
from tlsdiag.report import SCHEMA_DIR, render_scan
from tlsdiag.scan import run_scan

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "samples"
EXPECTED = {
    "lync2013-fe-root-store": "root-store-non-self-signed",
    "edge-cms-replication": "edge-cms-replication-certificate",
    "trusted-issuer-list-16kb": "trusted-issuer-list-too-large",
    "ws2012r2-session-ticket": "ws2012r2-session-tickets",
}
FORMS = SAMPLES / "other-forms"


@pytest.fixture(scope="module")
def kb():
    return load_kb()


def _first_made(result):
    made = result.made
    assert made, [(d.computer, d.cause.id, d.confidence, round(d.score, 3)) for d in result.diagnoses]
    top = max(made, key=lambda d: (d.score, d.cause.id))
    return top.cause.id, {d.computer for d in made}


def _signature(result) -> list[tuple[str, str, str, float]]:
    return [(d.computer.casefold(), d.cause.id, d.confidence, round(d.score, 6)) for d in result.diagnoses]


def test_every_scenario_is_covered() -> None:
    present = {p.name for p in SAMPLES.iterdir() if p.is_dir()}
    assert set(EXPECTED) | {"healthy-server", "other-forms"} <= present, present


@pytest.mark.parametrize(("scenario", "cause"), sorted(EXPECTED.items()))
def test_scenario_names_its_cause_first(kb, scenario: str, cause: str) -> None:
    result = run_scan([SAMPLES / scenario], kb=kb)
    assert result.summary.records_lost == 0
    first, _ = _first_made(result)
    assert first == cause
    for computer in {d.computer for d in result.made}:
        ranked = [d for d in result.diagnoses_for(computer) if d.made]
        if any(d.cause.id == cause for d in ranked):
            assert ranked[0].cause.id == cause, [(d.cause.id, d.score) for d in ranked]
    assert result.exit_code == 1
    jsonschema.validate(json.loads(render_scan(result, "json")),
                        json.loads((SCHEMA_DIR / "scan.schema.json").read_text()))


def test_root_store_scenario_names_the_misplaced_certificates(kb) -> None:
    result = run_scan([SAMPLES / "lync2013-fe-root-store"], kb=kb)
    d = next(d for d in result.made if d.cause.id == "root-store-non-self-signed")
    assert d.store == "proven"
    certs = [f.cert for f in d.store_findings if f.check == "root-not-self-signed"]
    assert len(certs) == 3 and all(c.thumbprint and c.subject for c in certs)
    text = render_scan(result, "text")
    for c in certs:
        assert c.thumbprint in text


def test_healthy_server_gives_nothing(kb) -> None:
    result = run_scan([SAMPLES / "healthy-server"], kb=kb)
    assert result.made == [] and result.exit_code == 0
    assert result.summary.records > 0
    assert "no known certificate-store or TLS problem found" in render_scan(result, "text")


@pytest.mark.parametrize("form", ["LyncFE01-triage.zip", "copied-details.txt", "eventviewer-Lync Server.xml",
                                  "wevtutil-Lync Server.xml"])
def test_other_forms_name_the_same_cause(kb, form: str) -> None:
    result = run_scan([FORMS / form], kb=kb)
    first, computers = _first_made(result)
    assert first == "ws2012r2-session-tickets"
    assert {c.casefold() for c in computers} == {"lyncfe01.contoso.local"}


def test_zip_and_xml_forms_equal_the_evtx_form(kb) -> None:
    evtx = _signature(run_scan([SAMPLES / "ws2012r2-session-ticket"], kb=kb))
    assert _signature(run_scan([FORMS / "LyncFE01-triage.zip"], kb=kb)) == evtx
    xml = [FORMS / "wevtutil-System.xml", FORMS / "wevtutil-Application.xml", FORMS / "wevtutil-Lync Server.xml"]
    assert _signature(run_scan(xml, kb=kb)) == evtx


def test_text_form_recovers_fields_or_says_so(kb) -> None:
    result = run_scan([FORMS / "copied-details.txt"], kb=kb)
    assert {m.event.form for m in result.matches} == {"text"}
    assert all(m.complete or m.uncertain for m in result.matches)
    d = next(d for d in result.made if d.cause.id == "ws2012r2-session-tickets")
    assert d.combinations, "32042 and 61045 within minutes should combine in the text form too"


def test_cli_scan_without_a_path_scans_the_bundled_samples(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["scan", "--quiet", "--format", "json"]) == 1
    data = json.loads(capsys.readouterr().out)
    causes = {f["cause"] for f in data["findings"] if f["made"]}
    assert set(EXPECTED.values()) <= causes
    sources = {Path(i["source"]).parent.name for i in data["stats"]["inputs"]}
    assert {"healthy-server", "lync2013-fe-root-store"} <= sources


def test_the_same_records_in_two_forms_count_once(kb) -> None:
    alone = run_scan([SAMPLES / "ws2012r2-session-ticket"], kb=kb)
    both = run_scan([SAMPLES / "ws2012r2-session-ticket", FORMS / "LyncFE01-triage.zip"], kb=kb)
    assert _signature(both) == _signature(alone)
    counts = {(d.cause.id, i.evidence.id): i.hit.count for d in alone.diagnoses for i in d.evidence}
    assert counts == {(d.cause.id, i.evidence.id): i.hit.count for d in both.diagnoses for i in d.evidence}
    assert both.stats.duplicates == len({id(m.event) for m in alone.matches}) > 0
    assert any("counted once" in n for n in both.notes)


@pytest.mark.parametrize("scenario", [*sorted(EXPECTED), "healthy-server"])
def test_prefiltered_and_full_scans_agree(kb, scenario: str) -> None:
    filtered = run_scan([SAMPLES / scenario], kb=kb)
    full = run_scan([SAMPLES / scenario], kb=kb, prefilter=False)
    assert _signature(filtered) == _signature(full)
    assert {k: h.build for k, h in filtered.hosts.items() if h.build} == \
        {k: h.build for k, h in full.hosts.items() if h.build}
