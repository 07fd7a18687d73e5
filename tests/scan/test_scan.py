"""run_scan end to end with the real readers on real files, and the `tlsdiag scan` / `explain` commands.

The shipped samples are scanned in test_kb_examples.py; here the pipeline's mechanics are pinned on the
real-world corpus (Windows versions from real EventLog 6009 records) and on damaged or unusable input.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import jsonschema
import pytest

from support.paths import SAMPLES
from support.smallkb import write_kb
from tlsdiag.cli import main
from tlsdiag.errors import InputError
from tlsdiag.kb import load_kb
from tlsdiag.report import SCHEMA_DIR, render_scan
from tlsdiag.scan import prefilter_names, run_scan

PLASO_SYSTEM = "log2timeline+plaso/test_data/evtx/System.evtx"
OMER_SYSTEM = "omerbenamram+evtx/samples/system.evtx"


@pytest.fixture(scope="module")
def kbdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_kb(tmp_path_factory.mktemp("kb") / "signatures")


@pytest.fixture(scope="module")
def kb(kbdir: Path):
    return load_kb(kbdir)


def test_scan_real_system_logs_reads_windows_builds(corpus_dir: Path, kb) -> None:
    result = run_scan([corpus_dir / PLASO_SYSTEM, corpus_dir / OMER_SYSTEM], kb=kb, backend="rust")
    reader = result.stats.reader
    assert result.summary.records_lost == 0 and reader["records_parsed"] > 1000
    assert reader["chunks_skipped"] > 0, "the provider prefilter should skip chunks of a plain System log"
    full = run_scan([corpus_dir / PLASO_SYSTEM, corpus_dir / OMER_SYSTEM], kb=kb, prefilter=False)
    assert full.stats.reader["chunks_skipped"] == 0 and full.stats.reader["records_parsed"] > 6000
    assert {k: (h.version, h.build) for k, h in full.hosts.items() if h.build} == \
        {k: (h.version, h.build) for k, h in result.hosts.items() if h.build}
    assert result.host("WIN-P4SIAA0SQCO").build == 15063
    assert result.host("dc1.internal.greendale.edu").build == 7601
    assert result.host("dc1.internal.greendale.edu").service_pack == "Service Pack 1"
    assert result.exit_code == 0 and result.made == []
    data = json.loads(render_scan(result, "json"))
    jsonschema.validate(data, json.loads((SCHEMA_DIR / "scan.schema.json").read_text()))
    builds = {c["computer"]: c["windows_build"] for c in data["computers"]}
    assert builds["WIN-P4SIAA0SQCO"] == 15063


def test_on_match_sees_every_match_incrementally(corpus_dir: Path, kb, kbdir: Path, tmp_path: Path) -> None:
    # EventLog 6009 is not in the catalog, so add a catalog entry for it and count the callbacks
    root = tmp_path / "signatures"
    shutil.copytree(kbdir, root)
    (root / "events" / "eventlog-6009.yaml").write_text(
        "id: eventlog-6009\ntitle: Windows version at boot\nchannel: System\nprovider: EventLog\nevent_id: 6009\n"
        "level: information\nmeaning: Windows logs its version and build at every start.\n"
        'fields: ["1", "2", "3", "4", "5"]\ntemplates:\n  en: "Microsoft (R) Windows (R) %1 %2 %3 %4."\n'
        "sources: [{key: S0, title: corpus, supports: layout, quality: inferred}]\n")
    # a scan matches only the entries some cause reads, so let one cause count it (as weak evidence)
    cause = root / "causes" / "cipher-mismatch.yaml"
    text = cause.read_text()
    assert "\nevidence:\n  - " in text
    cause.write_text(text.replace("\nevidence:\n", "\nevidence:\n  - {id: boot-version, event: eventlog-6009, "
                                  "weight: 0.05, role: generic}\n", 1))
    kb6009 = load_kb(root)
    seen = []
    result = run_scan([corpus_dir / OMER_SYSTEM], kb=kb6009, on_match=seen.append)
    assert len(seen) == result.stats.matches == len(result.matches) > 0
    assert {m.entry.id for m in seen} == {"eventlog-6009"}
    from tlsdiag.match import render_message

    text = render_message(seen[0].event, seen[0].entry)
    assert text.startswith("Microsoft (R) Windows (R) 10.00. 15063") and "%" not in text


def test_prefilter_names_keep_host_fact_sources(kb) -> None:
    names = prefilter_names(kb)
    assert "EventLog" in names and "Schannel" in names and "LS User Services" in names
    assert "System" not in names and "Lync Server" not in names  # channels would defeat the chunk filter


def test_missing_path_is_an_input_error(kb, tmp_path: Path) -> None:
    with pytest.raises(InputError):
        run_scan([tmp_path / "nope"], kb=kb)


def test_no_logs_is_an_input_error(kb, tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("just some notes, not a log\n")
    with pytest.raises(InputError) as err:
        run_scan([tmp_path], kb=kb)
    assert str(tmp_path) in str(err.value)


def test_cli_scan_exit_codes_and_output_file(corpus_dir: Path, kbdir: Path, tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "report.json"
    code = main(["scan", "--signatures", str(kbdir), "--format", "json", "-o", str(out), "--quiet",
                 str(corpus_dir / OMER_SYSTEM)])
    assert code == 0
    stats = json.loads(out.read_text())["stats"]
    # the whole file is read; only the chunks whose records include a wanted (provider, id) are parsed
    assert stats["bytes"] == (corpus_dir / OMER_SYSTEM).stat().st_size and stats["records_parsed"] > 100
    assert main(["scan", "--signatures", str(kbdir), str(tmp_path / "missing")]) == 2
    assert "missing" in capsys.readouterr().err
    code = main(["scan", "--signatures", str(kbdir), "--stats", "--format", "markdown", str(corpus_dir / OMER_SYSTEM)])
    text = capsys.readouterr().out
    assert code == 0 and "## Where the time went" in text and "chunks parsed" in text


def test_cli_explain_reads_argument_and_stdin(kbdir: Path, capsys: pytest.CaptureFixture[str],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    assert main(["explain", "--signatures", str(kbdir), "--format", "json", "0x800B0109"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["matches"][0]["id"] == "root-store" and data["fix"]["cause"] == "root-store"
    import io

    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(b"lorem ipsum dolor sit amet consectetur")))
    assert main(["explain", "--signatures", str(kbdir), "-"]) == 1
    assert "nothing in the knowledge base matches this text well" in capsys.readouterr().out


@pytest.mark.slow
def test_store_export_proves_or_rules_out_through_the_real_store_code(corpus_dir: Path, kbdir: Path,
                                                                       tmp_path: Path) -> None:
    from tlsdiag_devkit import storegen as testdata

    # the small KB's root-store cause proves/rules out with root-not-self-signed; the stores name FE01
    kb = load_kb(kbdir)
    planted = tmp_path / "planted"
    testdata.write_reg_exports(testdata.planted("FE01"), planted)
    result = run_scan([planted], kb=kb)
    [d] = [d for d in result.diagnoses if d.cause.id == "root-store"]
    assert d.computer == "FE01" and d.store == "proven" and d.made and d.evidence == []
    assert all(f.check == "root-not-self-signed" for f in d.store_findings)
    assert len(d.store_findings) == 3
    assert result.exit_code == 1
    text = render_scan(result, "text")
    assert "found in the stores" in text and "root-not-self-signed" in text
    data = json.loads(render_scan(result, "json"))
    jsonschema.validate(data, json.loads((SCHEMA_DIR / "scan.schema.json").read_text()))
    assert data["findings"][0]["store_findings"][0]["certificate"]["thumbprint"]

    clean = tmp_path / "clean"
    testdata.write_reg_exports(testdata.clean("FE01"), clean)
    result = run_scan([clean], kb=kb)
    assert result.exit_code == 0 and not [d for d in result.diagnoses if d.cause.id == "root-store"]
    assert "root-not-self-signed" in result.stores[0].clean_checks


def test_clean_store_rules_out_a_cause_seen_in_events(kb, tmp_path: Path) -> None:
    from support.smallkb import boot, ev
    from tlsdiag.scan import analyse
    from tlsdiag_devkit import storegen as testdata

    clean = tmp_path / "clean"
    testdata.write_reg_exports(testdata.clean("FE01"), clean)
    events = [boot("9200", "6.02.", computer="fe01.contoso.com"),
              ev(32042, "LS User Services", "Lync Server", computer="fe01.contoso.com")]
    result = analyse(events, kb, store_inputs=[clean])
    d = next(d for d in result.diagnoses if d.cause.id == "root-store")
    assert d.computer == "fe01.contoso.com"  # the export's short name FE01 joined to the logged FQDN
    assert d.store == "ruled_out" and not d.made


def test_progress_reports_bytes_up_to_the_total(corpus_dir: Path, kb) -> None:
    calls: list[tuple[int, int]] = []
    result = run_scan([corpus_dir / OMER_SYSTEM, corpus_dir / PLASO_SYSTEM], kb=kb,
                      progress=lambda done, total: calls.append((done, total)))
    assert len(calls) > 2
    dones = [d for d, _ in calls]
    assert dones == sorted(dones)
    assert calls[-1][0] == calls[-1][1] == result.summary.bytes


def test_scan_matches_only_what_a_cause_reads() -> None:
    """Catalog entries no cause reads (Service Control Manager's) serve explain, not the scan: matching them
    would make the prefilter open every System chunk, since real System logs are full of that provider."""
    from tlsdiag.scan import scanned_entries

    kb = load_kb()
    scanned = {e.id for e in scanned_entries(kb)}
    read = {e.event for c in kb.causes.values() for e in c.evidence}
    assert read <= scanned and scanned < set(kb.events)
    assert "scm-7024" in kb.events and "scm-7024" not in scanned
    assert "Service Control Manager" not in prefilter_names(kb)


def test_store_exports_given_as_paths_are_reported_as_store_exports(kb) -> None:
    # scan.analyse takes store exports as paths too; their FileReports have the form "store"
    # (model.FileForm), which the read section must show as a store export with its certificates, as it
    # shows the same files found by run_scan, not as an event file of 0 records.
    from tlsdiag.scan import analyse

    folder = SAMPLES / "lync2013-fe-root-store" / "stores"
    result = analyse([], kb, store_inputs=[str(folder / "SystemCertificates.reg")])
    assert [f.form for f in result.summary.files] == ["store"]
    line = next(x for x in render_scan(result, "text").splitlines() if "SystemCertificates.reg (store" in x)
    assert "store export, " in line and "certificate(s)" in line and "record(s)" not in line


def test_a_collectors_note_is_named_as_such_in_what_was_read() -> None:
    # the collector's tlsdiag-collection.txt is read for the computer's names and the collection time; the read
    # list called it "unknown, 0 record(s)", which reads like a file that could not be used
    from tlsdiag.report import render_scan
    from tlsdiag.scan import run_scan

    result = run_scan([SAMPLES / "healthy-server"])
    notes = [f for f in result.summary.files if f.source.endswith("tlsdiag-collection.txt")]
    assert [f.form for f in notes] == ["collection"]
    text = render_scan(result, "text")
    assert "tlsdiag-collection.txt (collection, 84 B): the collector's note" in text
    assert "(unknown" not in text
