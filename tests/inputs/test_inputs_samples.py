"""The bundled samples: every scenario reads cleanly, and every other input form gives the same events."""

from __future__ import annotations

from pathlib import Path

import pytest

from tlsdiag.inputs import read_events
from tlsdiag.model import ReadSummary

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "samples"
TICKET = SAMPLES / "ws2012r2-session-ticket"
FORMS = SAMPLES / "other-forms"
LOGS = ("System", "Application", "Lync Server")


def _read(*paths: Path, backend: str = "rust") -> tuple[list, ReadSummary]:
    summary = ReadSummary()
    return list(read_events(list(paths), summary=summary, backend=backend)), summary


def _core(event) -> dict:
    d = event.to_dict()
    for key in ("source", "locator", "form", "message"):
        d.pop(key)
    return d


def _scenarios() -> list[Path]:
    return sorted(p for p in SAMPLES.iterdir() if p.is_dir() and p.name != "other-forms")


def test_samples_are_there() -> None:
    assert len(_scenarios()) >= 5 and (FORMS / "copied-details.txt").is_file()


@pytest.mark.parametrize("scenario", _scenarios(), ids=lambda p: p.name)
def test_every_scenario_reads_without_loss(scenario: Path) -> None:
    events, summary = _read(scenario)
    evtx_reports = [f for f in summary.files if f.form == "evtx"]
    assert evtx_reports and all(f.records > 0 and not f.lost and not f.error for f in evtx_reports)
    assert len(events) == sum(f.records for f in evtx_reports)


@pytest.mark.parametrize("log", LOGS)
def test_wevtutil_export_equals_the_evtx(log: str) -> None:
    evtx_events, _ = _read(TICKET / f"{log}.evtx")
    xml_events, summary = _read(FORMS / f"wevtutil-{log}.xml")
    assert summary.files[0].form == "xml" and summary.records_lost == 0
    assert [_core(e) for e in xml_events] == [_core(e) for e in evtx_events]


def test_event_viewer_xml_equals_the_evtx_and_keeps_messages() -> None:
    evtx_events, _ = _read(TICKET / "Lync Server.evtx")
    xml_events, _ = _read(FORMS / "eventviewer-Lync Server.xml")
    assert [_core(e) for e in xml_events] == [_core(e) for e in evtx_events]
    assert all(e.message for e in xml_events)


def test_zip_equals_the_folder() -> None:
    zipped, summary = _read(FORMS / "LyncFE01-triage.zip")
    assert all("!LyncFE01/C/Windows/System32/winevt/Logs/" in f.source for f in summary.files)
    folder = [e for log in ("Application", "Lync Server", "System") for e in _read(TICKET / f"{log}.evtx")[0]]
    assert [_core(e) for e in zipped] == [_core(e) for e in folder]


def test_copied_text_blocks_match_the_evtx_events() -> None:
    blocks, summary = _read(FORMS / "copied-details.txt")
    assert summary.records == 3 and summary.records_lost == 0
    lync, _ = _read(TICKET / "Lync Server.evtx")
    first = {eid: next(e for e in lync if e.event_id == eid) for eid in (32042, 61045)}
    with_xml, plain, german = blocks
    assert _core(with_xml) == _core(first[32042])  # the "Event Xml:" section gives every field
    for block, want in ((plain, first[61045]), (german, first[32042])):
        assert (block.channel, block.provider, block.event_id, block.level, block.computer) == (
            want.channel, want.provider, want.event_id, want.level, want.computer)
        assert block.timestamp == want.timestamp.replace(microsecond=0)  # text has whole seconds
        assert block.message and block.form == "text"


@pytest.mark.slow
def test_python_backend_equals_rust_on_a_sample() -> None:
    rust, _ = _read(TICKET / "Lync Server.evtx")
    python, _ = _read(TICKET / "Lync Server.evtx", backend="python")
    assert [e.to_dict() for e in python] == [e.to_dict() for e in rust]
