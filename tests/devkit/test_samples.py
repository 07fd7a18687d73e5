"""The bundled samples: reproducible from tools/make_samples.py, readable, and saying what their READMEs say."""

from __future__ import annotations

import json
import re
import sys
import zipfile
from collections import Counter
from datetime import datetime
from pathlib import Path

import evtx
import Evtx.Evtx as PyEvtx
import pytest
from lxml import etree

from support.paths import REPO, SAMPLES

sys.path.insert(0, str(REPO / "tools"))
import make_samples

NS = "{http://schemas.microsoft.com/win/2004/08/events/event}"
SCENARIOS = ["lync2013-fe-root-store", "edge-cms-replication", "trusted-issuer-list-16kb",
             "ws2012r2-session-ticket", "healthy-server", "other-forms"]


# copied from a running server: dirty, header one chunk behind
DIRTY = {SAMPLES / "lync2013-fe-root-store" / "System.evtx", SAMPLES / "lync2013-fe-root-store" / "Lync Server.evtx"}


def _files(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` except dot files (samples/.keep)."""
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and not p.name.startswith(".")}


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("samples")
    make_samples.build(out)
    return out


@pytest.mark.slow
def test_committed_samples_equal_a_fresh_run(regenerated: Path) -> None:
    fresh, committed = _files(regenerated), _files(SAMPLES)
    assert sorted(fresh) == sorted(committed), "files differ: run python tools/make_samples.py and commit"
    changed = [name for name in fresh if fresh[name] != committed[name]]
    assert not changed, f"not byte-identical: {changed}"


def test_every_scenario_has_a_readme_with_sources() -> None:
    assert sorted(p.name for p in SAMPLES.iterdir() if p.is_dir()) == sorted(SCENARIOS)
    for name in SCENARIOS:
        text = (SAMPLES / name / "README.md").read_text(encoding="utf-8")
        assert text.startswith(f"# {name}:")
        assert "[S" in text, f"{name}: README names no source"


def _events(path: Path) -> list[dict]:
    """Records via evtx (Rust) with checksum validation; the chunks also verify in python-evtx."""
    with PyEvtx.Evtx(str(path)) as log:
        header = log.get_file_header()
        assert header.verify() and header.is_dirty() == (path in DIRTY)
        assert all(chunk.verify() for chunk in header.chunks(include_inactive=True))
    out = []
    for rec in evtx.PyEvtxParser(str(path), validate_checksums=True).records_json():
        event = json.loads(rec["data"])["Event"]
        system = event["System"]
        eid = system["EventID"]
        out.append({
            "record_id": rec["event_record_id"],
            "time": rec["timestamp"],
            "provider": system["Provider"]["#attributes"]["Name"],
            "event_id": int(eid["#text"] if isinstance(eid, dict) else eid),
            "computer": system["Computer"],
            "channel": system["Channel"],
            "event": event,
        })
    return out


def _ids(path: Path) -> Counter:
    return Counter((e["provider"], e["event_id"]) for e in _events(path))


def test_every_log_reads_cleanly_and_in_record_order() -> None:
    for path in sorted(SAMPLES.rglob("*.evtx")):
        events = _events(path)
        assert events, path
        ids = [e["record_id"] for e in events]
        assert ids == list(range(ids[0], ids[0] + len(ids))), path
        assert [e["time"] for e in events] == sorted(e["time"] for e in events), path
        expected_channel = path.stem.replace("%4", "/")
        assert {e["channel"] for e in events} == {expected_channel}, path
        assert len({e["computer"] for e in events}) == 1, path


def _data(event: dict) -> list:
    data = event["event"].get("EventData") or {}
    value = data.get("Data", {}).get("#text") if isinstance(data.get("Data"), dict) else None
    return value if isinstance(value, list) else [value]


@pytest.mark.parametrize(("scenario", "version"), [
    ("lync2013-fe-root-store", ["6.02.", "9200"]), ("trusted-issuer-list-16kb", ["6.02.", "9200"]),
    ("edge-cms-replication/lyncfe11", ["6.02.", "9200"]), ("edge-cms-replication/lyncedge01", ["6.02.", "9200"]),
    ("ws2012r2-session-ticket", ["6.03.", "9600"]), ("healthy-server", ["6.03.", "9600"]),
])
def test_windows_version_at_boot(scenario: str, version: list[str]) -> None:
    events = _events(SAMPLES / scenario / "System.evtx")
    boots = [e for e in events if (e["provider"], e["event_id"]) == ("EventLog", 6009)]
    assert boots
    for e in boots:
        assert _data(e)[:2] == version and _data(e)[3] == "Multiprocessor Free"


def test_root_store_scenario_holds_its_evidence() -> None:
    d = SAMPLES / "lync2013-fe-root-store"
    lync = _ids(d / "Lync Server.evtx")
    assert lync[("LS User Services", 32174)] > 20
    assert lync[("LS MCU Infrastructure", 61029)] > 5 and lync[("LS User Services", 32042)] > 5
    assert _ids(d / "Microsoft-Windows-WindowsFabric%4Admin.evtx")[("Microsoft-Windows-WindowsFabric", 18465)] > 20
    system = _events(d / "System.evtx")
    schannel = [e for e in system if e["provider"] == "Schannel"]
    assert {e["event_id"] for e in schannel} == {36874, 36888}
    s36888 = next(e for e in schannel if e["event_id"] == 36888)["event"]
    assert s36888["UserData"]["EventXML"]["#attributes"]["xmlns"] == "LSA_NS"
    assert s36888["UserData"]["EventXML"]["AlertDesc"] == 40
    assert len(schannel) < len(system) / 10  # needles in a haystack


def test_dirty_logs_hide_their_newest_records_from_header_readers() -> None:
    for path in sorted(DIRTY):
        with PyEvtx.Evtx(str(path)) as log:
            naive = sum(1 for _ in log.records())
        assert naive < len(_events(path)), path


def test_edge_scenario_evidence_is_on_the_front_end_only() -> None:
    d = SAMPLES / "edge-cms-replication"
    fe = _ids(d / "lyncfe11" / "Lync Server.evtx")
    assert fe[("LS File Transfer Agent Service", 1017)] > fe[("LS File Transfer Agent Service", 1015)] > 0
    assert not (d / "lyncedge01" / "Lync Server.evtx").exists()
    assert not any(p == "Schannel" for p, _ in _ids(d / "lyncedge01" / "System.evtx"))


def test_trusted_issuer_scenario() -> None:
    d = SAMPLES / "trusted-issuer-list-16kb"
    app = _ids(d / "Application.evtx")
    assert app[("Microsoft-Windows-CAPI2", 4097)] >= 50 and app[("Microsoft-Windows-CAPI2", 4111)] == 1
    system = _events(d / "System.evtx")
    first_36885 = min(e["time"] for e in system if e["event_id"] == 36885 and e["provider"] == "Schannel")
    first_36887 = min(e["time"] for e in system if e["event_id"] == 36887 and e["provider"] == "Schannel")
    assert first_36887 < first_36885  # warnings appear only after logging was enabled
    assert all(e["event"]["UserData"]["EventXML"]["AlertDesc"] == 47
               for e in system if e["event_id"] == 36887)
    assert all("UserData" not in e["event"] and "EventData" not in e["event"]
               for e in system if e["event_id"] == 36885)


def test_session_ticket_and_healthy_scenarios() -> None:
    lync = _ids(SAMPLES / "ws2012r2-session-ticket" / "Lync Server.evtx")
    assert lync[("LS User Services", 32042)] == lync[("LS MCU Infrastructure", 61045)] > 10
    assert not any(p == "Schannel" for p, _ in _ids(SAMPLES / "ws2012r2-session-ticket" / "System.evtx"))
    healthy = SAMPLES / "healthy-server"
    assert _ids(healthy / "Lync Server.evtx")[("LS User Services", 32174)] == 4
    schannel = [e for e in _events(healthy / "System.evtx") if e["provider"] == "Schannel"]
    assert {e["event"]["UserData"]["EventXML"].get("AlertDesc") for e in schannel} <= {70, None}


# ---- other forms --------------------------------------------------------------------------------


def _when(text: str) -> datetime:
    """'2013-12-03T01:31:19.415000000Z' (rendered) or '2013-12-03 01:31:19.415 UTC' (evtx) to a datetime."""
    m = re.match(r"(\d{4}-\d\d-\d\d)[T ](\d\d:\d\d:\d\d)(?:\.(\d+))?", text)
    assert m, text
    frac = (m.group(3) or "0")[:6].ljust(6, "0")
    return datetime.fromisoformat(f"{m.group(1)}T{m.group(2)}.{frac}+00:00")


def _rendered(path: Path) -> list[etree._Element]:
    raw = path.read_bytes()
    text = raw[2:].decode("utf-16-le") if raw.startswith(b"\xff\xfe") else raw.decode("utf-8")
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    if text.lstrip().startswith("<?xml"):
        root = etree.fromstring(text.encode("utf-8"), parser)
        assert root.tag == "Events"
        return list(root)
    return list(etree.fromstring(f"<Root>{text}</Root>".encode(), parser))


@pytest.mark.parametrize("log", ["System", "Application", "Lync Server"])
def test_wevtutil_exports_hold_the_session_ticket_events(log: str) -> None:
    events = _events(SAMPLES / "ws2012r2-session-ticket" / f"{log}.evtx")
    rendered = _rendered(SAMPLES / "other-forms" / f"wevtutil-{log}.xml")
    assert len(rendered) == len(events)
    for el, ev in zip(rendered, events, strict=True):
        system = el.find(f"{NS}System")
        assert int(system.findtext(f"{NS}EventRecordID")) == ev["record_id"]
        assert int(system.findtext(f"{NS}EventID")) == ev["event_id"]
        assert system.find(f"{NS}Provider").get("Name") == ev["provider"]
        assert _when(system.find(f"{NS}TimeCreated").get("SystemTime")) == _when(ev["time"])


def test_saved_xml_has_messages_and_text_blocks_match() -> None:
    rendered = _rendered(SAMPLES / "other-forms" / "eventviewer-Lync Server.xml")
    messages = {int(el.find(f"{NS}System").findtext(f"{NS}EventID")): el.find(f"{NS}RenderingInfo").findtext(
        f"{NS}Message") for el in rendered}
    assert messages[32042].startswith("Invalid incoming HTTPS certificate.\nSubject Name: LyncFE01.contoso.local")
    assert "https:// LyncFE01.contoso.local:444/LiveServer/Focus" in messages[61045]
    text = (SAMPLES / "other-forms" / "copied-details.txt").read_text(encoding="utf-8")
    assert text.count("Log Name:      Lync Server") == 2 and text.count("Protokollname: Lync Server") == 1
    assert text.count("Event Xml:") == 1


def test_zip_holds_the_session_ticket_logs() -> None:
    with zipfile.ZipFile(SAMPLES / "other-forms" / "LyncFE01-triage.zip") as zf:
        names = zf.namelist()
        for path in sorted((SAMPLES / "ws2012r2-session-ticket").glob("*.evtx")):
            member = f"LyncFE01/C/Windows/System32/winevt/Logs/{path.name}"
            assert member in names
            assert zf.read(member) == path.read_bytes()


def test_samples_stay_small() -> None:
    total = sum(p.stat().st_size for p in SAMPLES.rglob("*") if p.is_file())
    assert total < 15_000_000


def test_auto_updated_roots_are_in_the_store_export() -> None:
    """The README says the 4097 events name roots that stores/ holds: check it."""
    d = SAMPLES / "trusted-issuer-list-16kb"
    export = (d / "stores" / "SystemCertificates.reg").read_bytes().decode("utf-16").upper()
    thumbs = [_data(e)[1] for e in _events(d / "Application.evtx") if e["event_id"] == 4097]
    assert thumbs and all(f"\\AUTHROOT\\CERTIFICATES\\{t}]" in export for t in thumbs)
