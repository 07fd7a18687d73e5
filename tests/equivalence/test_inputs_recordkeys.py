"""The record-level chunk test (inputs/recordkeys.py) on every real chunk: it never says "no" to a chunk
that holds a wanted (provider, event id), and it does say "no" to the EventLog chunks without 6009."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from evtx import PyEvtxParser

from tlsdiag.inputs import chunk_prefilter, discover
from tlsdiag.inputs.evtxfile import CHUNK_SIZE, FILE_HEADER_SIZE, records_crc_ok, synthetic_header
from tlsdiag.kb import load_kb
from tlsdiag.scan import prefilter_event_ids, prefilter_names

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
ENGINES = ["hyperscan", "fold"]


def _whole_chunks(paths: list[Path]):
    for path in paths:
        data = path.read_bytes()
        for at in range(FILE_HEADER_SIZE, len(data) - CHUNK_SIZE + 1, CHUNK_SIZE):
            chunk = data[at:at + CHUNK_SIZE]
            if chunk.startswith(b"ElfChnk\x00") and records_crc_ok(chunk):
                yield path, (at - FILE_HEADER_SIZE) // CHUNK_SIZE, chunk


def _may_match(prefilter, chunk: bytes, ends: list[int] | None = None, templates=None) -> bool:
    """The chunk-level verdict: the record-level test names some record, or cannot tell (None)."""
    found = prefilter.wanted_records(chunk, ends, templates)
    return found is None or bool(found)


def _keys(chunk: bytes) -> list[tuple[str, int]]:
    """(provider, event id) of every record pyevtx-rs reads from the chunk."""
    return [key for key, _number in _numbered_keys(chunk)]


def _numbered_keys(chunk: bytes) -> list[tuple[tuple[str, int], int]]:
    """((provider, event id), record number) of every record pyevtx-rs reads from the chunk."""
    out = []
    parser = PyEvtxParser(io.BytesIO(synthetic_header(1) + chunk), number_of_threads=1, validate_checksums=False)
    for record in parser.records_json():
        system = json.loads(record["data"])["Event"]["System"]
        name = system.get("Provider", {}).get("#attributes", {}).get("Name", "")
        eid = system.get("EventID")
        eid = eid.get("#text") if isinstance(eid, dict) else eid
        out.append(((name.lower(), int(eid) & 0xFFFF), record["event_record_id"]))
    return out


@pytest.mark.slow
@pytest.mark.parametrize("engine", ENGINES)
def test_no_chunk_holding_a_wanted_record_is_refused(engine: str, corpus_dir: Path) -> None:
    kb = load_kb()
    ids = {name.lower(): found for name, found in prefilter_event_ids(kb).items()}
    prefilter = chunk_prefilter(prefilter_names(kb), prefilter_event_ids(kb), engine=engine)
    files = [i.path for i in discover([SAMPLES, corpus_dir]) if i.kind == "evtx" and not i.is_archive_member]
    refused = wanted_chunks = eventlog_refused = 0
    for path, index, chunk in _whole_chunks(files):
        if not prefilter(chunk):
            continue
        numbered = _numbered_keys(chunk)
        keys = [k for k, _n in numbered]
        holds = [k for k in keys if k[1] in ids.get(k[0], ())]
        verdict = _may_match(prefilter, chunk)
        named = prefilter.wanted_records(chunk)
        if holds:
            wanted_chunks += 1
            assert verdict, f"{path} chunk {index} holds {holds[:3]} but was refused"
            # and the records it names for the parser include every wanted one, by pyevtx-rs's record number
            assert named is None or {n for k, n in numbered if k[1] in ids.get(k[0], ())} <= named
        elif not verdict:
            refused += 1
            eventlog_refused += any(k[0] == "eventlog" for k in keys)
    assert wanted_chunks > 20  # the samples' Schannel, Lync, Fabric chunks and the corpus' 6009 chunks
    assert refused > 50 and eventlog_refused > 20  # and the test is selective on real logs


def test_a_record_it_cannot_read_makes_it_say_maybe() -> None:
    kb = load_kb()
    prefilter = chunk_prefilter(prefilter_names(kb), prefilter_event_ids(kb))
    files = [i.path for i in discover([SAMPLES]) if i.kind == "evtx"]
    for _path, _index, chunk in _whole_chunks(files):
        if prefilter(chunk) and not _may_match(prefilter, chunk):
            break
    else:
        pytest.fail("no sample chunk is refused at record level")
    damaged = bytearray(chunk)
    damaged[512 + 28] = 0x01  # the first record is no longer a template instance
    assert _may_match(prefilter, bytes(damaged))
    damaged = bytearray(chunk)
    damaged[16:24] = (int.from_bytes(chunk[16:24], "little") + 1).to_bytes(8, "little")  # one record more claimed
    assert _may_match(prefilter, bytes(damaged))


def test_a_bug_in_the_shortcut_is_logged_and_counted_and_costs_no_event(monkeypatch: pytest.MonkeyPatch,
                                                                        caplog: pytest.LogCaptureFixture) -> None:
    from tlsdiag.inputs import ReadStats, read_events
    from tlsdiag.inputs.prefilter import ChunkPrefilter
    from tlsdiag.model import ReadSummary

    kb = load_kb()
    inputs = [i for i in discover([SAMPLES]) if i.kind == "evtx"]

    def read() -> tuple[list[dict], ReadStats]:
        stats = ReadStats()
        prefilter = chunk_prefilter(prefilter_names(kb), prefilter_event_ids(kb))
        events = [e.to_dict() for e in read_events(inputs, summary=ReadSummary(), stats=stats, prefilter=prefilter)]
        return events, stats

    want, plain = read()

    def broken(self: ChunkPrefilter, raw: bytes, *ends: list[int]) -> frozenset[int]:
        raise IndexError("a bug")

    monkeypatch.setattr(ChunkPrefilter, "wanted_records", broken)
    with caplog.at_level("WARNING", logger="tlsdiag.inputs.evtxfile"):
        got, stats = read()
    assert got == want and len(want) > 100
    # every chunk that reached the shortcut counted a failure, and those it would have refused were parsed
    assert stats.fast_path_failures >= plain.chunks_skipped_by_records > 0
    assert stats.chunks_parsed == plain.chunks_parsed + plain.chunks_skipped_by_records
    assert stats.chunks_skipped_by_records == 0 and "record-level prefilter failed" in caplog.text


def test_remembered_templates_answer_as_a_fresh_read(corpus_dir: Path) -> None:
    """The template memo (one per reading, across chunks and files) changes no verdict on any real chunk,
    read in order, against a memo of the chunk's own."""
    from tlsdiag.inputs.recordkeys import TemplateMemo

    kb = load_kb()
    prefilter = chunk_prefilter(prefilter_names(kb), prefilter_event_ids(kb))
    memo = TemplateMemo()
    files = [i.path for i in discover([SAMPLES, corpus_dir]) if i.kind == "evtx" and not i.is_archive_member]
    compared = 0
    for _path, _index, chunk in _whole_chunks(files):
        if not prefilter(chunk):
            continue
        assert _may_match(prefilter, chunk, templates=memo) == _may_match(prefilter, chunk)
        compared += 1
    assert compared > 100 and memo.hits > 50 and memo.reads > 50


def test_a_remembered_template_is_read_again_when_a_name_it_refers_to_differs(corpus_dir: Path) -> None:
    from tlsdiag.inputs.recordkeys import TemplateMemo, _template

    kb = load_kb()
    prefilter = chunk_prefilter(prefilter_names(kb), prefilter_event_ids(kb))
    files = [i.path for i in discover([corpus_dir]) if i.kind == "evtx" and not i.is_archive_member]
    for _path, _index, chunk in _whole_chunks(files):
        seen = TemplateMemo()
        if prefilter(chunk) and _may_match(prefilter, chunk, templates=seen) is not None:
            found = [(key[0], refs) for key in seen._known
                     if (refs := _template(chunk, key[0])[1])]
            if found:
                break
    else:
        pytest.fail("no real template refers to a name stored elsewhere in its chunk")
    offset, refs = found[0]
    memo = TemplateMemo()
    memo.sources(chunk, offset)
    memo.sources(chunk, offset)
    assert (memo.reads, memo.hits) == (1, 1)
    # a name the test does not read (Level, Task, ...): the answer stays, but it must be read, not remembered
    at = next(at for at, raw in refs if raw[2:].decode("utf-16-le") not in ("Event", "System", "Provider", "Name",
                                                                               "EventID"))
    changed = bytearray(chunk)
    changed[at + 8] ^= 0x20  # the name's first character, outside the template's bytes: another case
    changed = bytes(changed)
    assert memo.sources(changed, offset) == _template(changed, offset)[0]
    assert (memo.reads, memo.hits) == (2, 1)


def test_the_block_search_gives_every_name_end_the_chunk_search_gives(corpus_dir: Path) -> None:
    """``select(..., ends)`` hands the record-level test its name ends: a superset of the slot's own search
    wherever it gives them, and the same verdicts with them as without (every real file, in 64-slot blocks)."""
    kb = load_kb()
    prefilter = chunk_prefilter(prefilter_names(kb), prefilter_event_ids(kb), engine="hyperscan")
    files = [i.path for i in discover([SAMPLES, corpus_dir]) if i.kind == "evtx" and not i.is_archive_member]
    given = 0
    for path in files:
        data = path.read_bytes()[FILE_HEADER_SIZE:]
        for at in range(0, len(data), 64 * CHUNK_SIZE):
            block = data[at:at + 64 * CHUNK_SIZE]
            ends: dict[int, list[int]] = {}
            selected = prefilter.select(block, CHUNK_SIZE, ends)
            assert set(ends) <= selected
            for k, found in ends.items():
                chunk = block[k * CHUNK_SIZE:(k + 1) * CHUNK_SIZE]
                assert set(prefilter.name_ends(chunk)) <= set(found), (path, k)
                if chunk.startswith(b"ElfChnk\x00") and records_crc_ok(chunk):
                    assert _may_match(prefilter, chunk, found) == _may_match(prefilter, chunk)
                    given += 1
    assert given > 100


def test_the_readers_know_a_record_filter_by_its_protocol() -> None:
    from tlsdiag.inputs.prefilter import RecordFilter

    assert isinstance(chunk_prefilter(["Schannel"]), RecordFilter)
    assert not isinstance(lambda raw: True, RecordFilter)  # a plain chunk filter: byte test only
