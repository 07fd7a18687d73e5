"""The real corpus (../shared/corpus/evtx): every file read, nothing lost silently.

The corpus must be present; its absence fails (conftest), never skips.
"""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from tlsdiag.inputs import discover, read_events
from tlsdiag.model import ReadSummary

# Dirty files (the header counts fewer chunks than the file holds) that are small enough for python-evtx,
# which reads roughly 100 records/s here; the python-backend comparison is kept to these so the suite
# stays fast.
PYTHON_DIRTY = [
    "fukusuket+evtx-parser/samples/Microsoft-Windows-Bits-Client%4Operational.evtx",
    "fukusuket+evtx-parser/samples/Microsoft-Windows-Crypto-NCrypt%4Operational.evtx",
    "fukusuket+evtx-parser/samples/Microsoft-Windows-Privacy-Auditing%4Operational.evtx",
    "fukusuket+evtx-parser/samples/Application.evtx",
]
# python-evtx cannot render value type 0x88 (UInt64 array) used here: those records must be counted as lost
PYTHON_PARTIAL = "fukusuket+evtx-parser/samples/Microsoft-Windows-Ntfs%4Operational.evtx"


def _chunk_slots(path: Path) -> tuple[int, int]:
    """(chunk count in the file header, chunks with a chunk signature in the file)."""
    data = path.read_bytes()
    header = struct.unpack_from("<H", data, 42)[0]
    real = sum(1 for off in range(4096, len(data), 65536) if data[off:off + 8] == b"ElfChnk\x00")
    return header, real


@pytest.fixture(scope="module")
def rust_reports(corpus_dir: Path) -> dict[str, tuple[int, ReadSummary, list]]:
    out = {}
    for inp in discover([corpus_dir]):
        if inp.kind != "evtx":
            continue
        summary = ReadSummary()
        events = list(read_events([inp], summary=summary))  # no exception may escape
        rel = str(Path(inp.display).relative_to(corpus_dir))
        out[rel] = (len(events), summary, events)
    return out


@pytest.mark.slow
def test_every_manifest_file_is_found_as_evtx_and_read(corpus_manifest: list[dict],
                                                       rust_reports: dict) -> None:
    assert len(corpus_manifest) > 100
    missing = [e["path"] for e in corpus_manifest if e["path"] not in rust_reports]
    assert missing == []
    unusable = {k: s.files[0].error for k, (_, s, _) in rust_reports.items() if s.files[0].error}
    assert unusable == {}


@pytest.mark.slow
def test_rust_backend_reads_at_least_the_manifest_records(corpus_manifest: list[dict], rust_reports: dict) -> None:
    short = {}
    for entry in corpus_manifest:
        count, summary, _ = rust_reports[entry["path"]]
        assert summary.records == count
        if count < entry["records"]:
            short[entry["path"]] = (count, entry["records"])
    assert short == {}


def test_files_the_reference_parser_had_errors_on_report_losses_with_chunk(corpus_manifest: list[dict],
                                                                          rust_reports: dict) -> None:
    for entry in corpus_manifest:
        if entry["errors"]:
            _, summary, _ = rust_reports[entry["path"]]
            assert summary.losses, entry["path"]
            assert all(loss.where.startswith("chunk ") for loss in summary.losses)


def test_all_three_event_id_shapes_normalise(corpus_dir: Path, rust_reports: dict) -> None:
    # integer (most files), object with Qualifiers (classic providers), object with string text and
    # qualifiers (MSExchange_Management_wec.evtx)
    wec = next(v for k, v in rust_reports.items() if k.endswith("MSExchange_Management_wec.evtx"))
    assert all(isinstance(e.event_id, int) for e in wec[2])
    assert any(e.qualifiers == 16384 for e in wec[2])
    app = rust_reports["NickSmet+ts-evtx/test/fixtures/Application.evtx"][2]
    capi = [e for e in app if e.provider == "Microsoft-Windows-CAPI2" and e.event_id == 4097]
    assert capi and capi[0].qualifiers == 0 and list(capi[0].data) == ["1", "2"]  # classic unnamed data


def test_dirty_files_read_past_the_header_count(corpus_dir: Path, rust_reports: dict) -> None:
    dirty = 0
    for rel, (_count, summary, events) in rust_reports.items():
        header, real = _chunk_slots(corpus_dir / rel)
        if real > header and not summary.losses:
            dirty += 1
            chunks = {int(e.locator.split()[1]) for e in events}
            assert max(chunks, default=0) >= header, rel  # records came from beyond the header count
    assert dirty >= 10


@pytest.mark.slow
@pytest.mark.parametrize("rel", PYTHON_DIRTY)
def test_python_backend_equals_rust_on_dirty_files(corpus_dir: Path, rust_reports: dict, rel: str) -> None:
    header, real = _chunk_slots(corpus_dir / rel)
    assert real > header, "chosen file must be dirty"
    summary = ReadSummary()
    events = list(read_events([corpus_dir / rel], summary=summary, backend="python"))
    count, _, rust_events = rust_reports[rel]
    assert len(events) == count
    assert [e.to_dict() for e in events] == [e.to_dict() for e in rust_events]


@pytest.mark.slow
def test_python_backend_counts_records_it_cannot_render(corpus_dir: Path, rust_reports: dict) -> None:
    summary = ReadSummary()
    events = list(read_events([corpus_dir / PYTHON_PARTIAL], summary=summary, backend="python"))
    count = rust_reports[PYTHON_PARTIAL][0]
    assert 0 < len(events) < count
    assert summary.records + summary.records_lost == count
    assert all(loss.where.startswith("chunk 0 record ") for loss in summary.losses)
