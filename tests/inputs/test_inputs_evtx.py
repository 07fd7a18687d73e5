"""EVTX reading: event shapes, both backends, dirty files and every damage kind.

Fixtures are written with the project's EVTX writer (tlsdiag_devkit.evtxwrite) and
read back through the real parsers; nothing is mocked.
"""

from __future__ import annotations

import io
import json
from datetime import datetime, timezone
from pathlib import Path

import evtx
import pytest

from support.evtxspecs import SCHANNEL_GUID, T0, capi, lync, schannel
from tlsdiag.inputs import ReadStats, read_events
from tlsdiag.inputs.evtxfile import CHUNK_SIZE, FILE_HEADER_SIZE
from tlsdiag.inputs.normalize import event_from_json
from tlsdiag.model import ReadSummary
from tlsdiag_devkit.evtxwrite import damage, evtx_bytes
from tlsdiag_devkit.evtxwrite.damage import chunk_record_ids


def read(path: Path, backend: str = "rust", **kw) -> tuple[list, ReadSummary]:
    summary = ReadSummary()
    events = list(read_events([path], summary=summary, backend=backend, **kw))
    return events, summary


def shapes(tmp_path: Path, forms: tuple[str, ...]) -> Path:
    specs = [f(0, form) for form in forms for f in (schannel, lync, capi)]
    path = tmp_path / "System.evtx"
    path.write_bytes(evtx_bytes(specs))
    return path


@pytest.fixture
def shapes_file(tmp_path: Path) -> Path:
    return shapes(tmp_path, ("template",))


# python-evtx cannot render the writer's plain-element ("mixed"/"inline") BinXML forms,
# only the template form Windows itself writes; pyevtx-rs reads all three.
@pytest.mark.parametrize("backend, forms", [("rust", ("template", "mixed", "inline")), ("python", ("template",))])
def test_event_shapes_normalise_the_same_in_every_binxml_form(tmp_path: Path, backend: str,
                                                              forms: tuple[str, ...]) -> None:
    events, summary = read(shapes(tmp_path, forms), backend)
    assert summary.records == 3 * len(forms) and summary.records_lost == 0
    for i in range(len(forms)):
        s, ly, c = events[3 * i: 3 * i + 3]
        # Schannel: manifest provider, fields under UserData/EventXML
        assert (s.provider, s.channel, s.event_id, s.qualifiers, s.level) == ("Schannel", "System", 36888, None, 2)
        assert s.provider_guid == SCHANNEL_GUID
        assert dict(s.data) == {"AlertDesc": "40", "ErrorState": "1205", "TargetName": ""}
        assert s.timestamp == T0 and s.timestamp.tzinfo is not None
        # Lync: classic provider, qualifiers apart, unnamed data numbered, binary as hex
        assert (ly.provider, ly.event_id, ly.qualifiers, ly.task, ly.provider_guid) == (
            "LS User Services", 32174, 33777, 1006, None)
        assert dict(ly.data) == {"1": "{63BB8586-A9D8-5AF2-83FF-B5CE680594C0}", "2": "", "3": "1",
                                 "Binary": "01AB"}
        # CAPI2: named data keep names; GUID upper-case with braces
        assert c.provider_guid == "{5BBCA4A8-B209-48DC-A8C7-B23D3E5216FB}"
        assert list(c.data) == ["Subject", "Thumbprint"]
        assert c.record_id == 3 * i + 3
        assert c.locator == f"chunk 0 record {c.record_id}"


def test_backends_give_identical_events(shapes_file: Path) -> None:
    rust, _ = read(shapes_file, "rust")
    python, _ = read(shapes_file, "python")
    assert [e.to_dict() for e in rust] == [e.to_dict() for e in python]


@pytest.mark.parametrize("eid, expected", [
    (36888, (36888, None)),  # integer
    ("4622", (4622, None)),  # string
    ({"#attributes": {"Qualifiers": 16384}, "#text": 7036}, (7036, 16384)),  # object, int qualifiers
    ({"#attributes": {"Qualifiers": "16384"}, "#text": "1"}, (1, 16384)),  # object, strings (MSExchange file)
    (0xC3F17D8E, (0x7D8E, 0xC3F1)),  # legacy 32-bit id carries qualifiers in the high word
])
def test_event_id_shapes(eid: object, expected: tuple[int, int | None]) -> None:
    doc = {"Event": {"System": {"EventID": eid, "Provider": {"#attributes": {"Name": "P"}},
                                "TimeCreated": {"#attributes": {"SystemTime": "2015-06-23T06:00:53.937500Z"}}}}}
    event = event_from_json(doc, source="s", locator="l", record_id=1)
    assert (event.event_id, event.qualifiers) == expected


def test_json_shapes_named_data_called_data_and_complexdata() -> None:
    # Shapes seen in the corpus: <Data Name="Data"> renders as a plain value, ComplexData carries its Name
    doc = {"Event": {"System": {"EventID": 1},
                     "EventData": {"Data": "TriggerStarted", "Group": 0, "Flag": False,
                                   "ComplexData": {"#attributes": {"Name": "IdleState"}, "#text": "01"},
                                   "Binary": None}}}
    event = event_from_json(doc, source="s", locator="l", record_id=None, fallback_time="2020-01-01T00:00:00Z")
    assert dict(event.data) == {"Data": "TriggerStarted", "Group": "0", "Flag": "false", "IdleState": "01"}
    assert event.timestamp == datetime(2020, 1, 1, tzinfo=timezone.utc)


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["rust", "python"])
def test_dirty_file_is_read_past_the_header_chunk_count(tmp_path: Path, backend: str) -> None:
    from tlsdiag_devkit.evtxwrite import EvtxWriter

    path = tmp_path / "Lync Server.evtx"
    with EvtxWriter(path, dirty=True) as w:
        for i in range(400):
            w.add(lync(i))
        chunks = w.chunks
    assert chunks >= 3
    header_count = int.from_bytes(path.read_bytes()[42:44], "little")
    assert header_count < chunks  # the header lags behind: a naive reader misses records
    events, summary = read(path, backend)
    assert len(events) == 400 and summary.records_lost == 0
    assert [e.record_id for e in events] == list(range(1, 401))


def _big_file(tmp_path: Path, n: int = 600) -> Path:
    path = tmp_path / "System.evtx"
    path.write_bytes(evtx_bytes([capi(i) if i % 3 else schannel(i) for i in range(n)]))
    return path


def _damaged(tmp_path: Path, kind: str, chunk: int = 1) -> tuple[Path, bytes]:
    clean = _big_file(tmp_path).read_bytes()
    assert (len(clean) - FILE_HEADER_SIZE) // CHUNK_SIZE >= 3
    path = tmp_path / f"{kind}.evtx"
    path.write_bytes(damage(clean, kind, chunk=chunk))
    return path, clean


def _chunk_records(clean: bytes, chunk: int) -> int:
    first, last = chunk_record_ids(clean, chunk)
    return last - first + 1


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["rust", "python"])
@pytest.mark.parametrize("kind", ["bad_record_magic", "bad_record_size"])
def test_bad_record_is_counted_with_chunk_and_record_range(tmp_path: Path, kind: str, backend: str) -> None:
    path, clean = _damaged(tmp_path, kind)
    events, summary = read(path, backend)
    first, last = chunk_record_ids(clean, 1)
    losses = summary.losses
    # every record is either read or counted as lost, none disappears silently
    assert summary.records + summary.records_lost == 600
    assert all(loss.where.startswith("chunk 1 records ") for loss in losses)
    if backend == "rust" or kind == "bad_record_size":
        assert losses and summary.records_lost >= 1, "damage must be reported"
    # (python-evtx does not check record magic; with the structure intact it reads that record)
    read_ids = {e.record_id for e in events}
    assert set(range(1, first)) <= read_ids and set(range(last + 1, 601)) <= read_ids


@pytest.mark.parametrize("kind", ["bad_chunk_magic", "zeroed_chunk", "garbage_chunk"])
def test_unreadable_chunk_is_skipped_and_reported(tmp_path: Path, kind: str) -> None:
    path, clean = _damaged(tmp_path, kind)
    events, summary = read(path)
    assert [loss.where for loss in summary.losses] == ["chunk 1"]
    assert len(events) == 600 - _chunk_records(clean, 1)  # the other chunks are all read
    assert "chunk 1" in summary.losses[0].where


@pytest.mark.parametrize("kind", ["bad_chunk_header_crc", "bad_chunk_data_crc", "bad_file_header_crc"])
def test_checksum_damage_alone_loses_nothing(tmp_path: Path, kind: str) -> None:
    path, _ = _damaged(tmp_path, kind)
    events, summary = read(path)
    assert len(events) == 600 and summary.records_lost == 0


def test_truncated_file_reads_the_complete_records_and_counts_the_rest(tmp_path: Path) -> None:
    path, clean = _damaged(tmp_path, "truncated", chunk=2)
    events, summary = read(path)
    before = sum(_chunk_records(clean, c) for c in (0, 1))
    in_chunk = _chunk_records(clean, 2)
    assert before < len(events) < before + in_chunk  # part of the cut chunk is still there
    loss = summary.losses[0]
    assert loss.where.startswith("chunk 2 records ") and "file ends inside chunk" in loss.reason
    # the chunk after the cut is gone entirely; the file header still counts it
    assert summary.records + summary.records_lost == 600
    assert summary.losses[-1].where == "chunk 3" and "file ends before chunk 3" in summary.losses[-1].reason


def test_garbage_after_last_chunk_is_reported_not_fatal(tmp_path: Path) -> None:
    path, clean = _damaged(tmp_path, "garbage_tail")
    events, summary = read(path)
    assert len(events) == 600
    assert [loss.where for loss in summary.losses] == [f"chunk {(len(clean) - FILE_HEADER_SIZE) // CHUNK_SIZE}"]


def test_not_evtx_and_short_header_are_file_errors(tmp_path: Path) -> None:
    short = tmp_path / "short.evtx"
    short.write_bytes(b"ElfFile\x00" + bytes(100))
    events, summary = read(short)
    assert events == [] and "file header" in (summary.files[0].error or "")


def test_zero_filled_preallocated_chunks_are_not_losses(tmp_path: Path) -> None:
    path = tmp_path / "Application.evtx"
    path.write_bytes(evtx_bytes([capi(i) for i in range(5)]) + bytes(2 * CHUNK_SIZE))
    events, summary = read(path)
    assert len(events) == 5 and summary.losses == []


def test_stats_and_prefilter_counters(tmp_path: Path) -> None:
    path = _big_file(tmp_path)
    stats = ReadStats()
    seen: list[tuple[int, int]] = []
    events, _ = read(path, stats=stats, progress=lambda done, total: seen.append((done, total)),
                     prefilter=lambda raw: False)
    assert events == []
    assert stats.chunks_total == stats.chunks_skipped >= 3 and stats.chunks_parsed == 0
    assert seen[-1] == (path.stat().st_size, path.stat().st_size)


def test_chunk_parse_matches_whole_file_parse_of_pyevtx_rs(tmp_path: Path) -> None:
    """Our chunk-at-a-time reading yields exactly what the parser gives on the whole file."""
    path = _big_file(tmp_path)
    whole = [json.loads(r["data"]) for r in evtx.PyEvtxParser(io.BytesIO(path.read_bytes())).records_json()]
    events, _ = read(path)
    assert [e.record_id for e in events] == [d["Event"]["System"]["EventRecordID"] for d in whole]
