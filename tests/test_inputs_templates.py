"""Chunks read from their template instances (``inputs/templates.py``) give exactly what pyevtx-rs gives.

Every comparison reads the same chunks twice: through pyevtx-rs alone (``TLSDIAG_TEMPLATES=0``, the
reference) and with the template memo, which learns from the chunks pyevtx-rs reads and then reads
later chunks itself. Nothing is mocked: real files, the project's EVTX writer, the real parser.
"""

from __future__ import annotations

import struct
import zlib
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from tlsdiag.evtxwrite import EventSpec, UserData, evtx_bytes
from tlsdiag.evtxwrite.writer import chunk_header_crc
from tlsdiag.inputs import discover
from tlsdiag.inputs import evtxfile as ef
from tlsdiag.inputs.evtxfile import (
    CHUNK_HEADER_SIZE,
    FILE_HEADER_SIZE,
    Chunk,
    describe_chunk,
    parse_chunk_rust,
)
from tlsdiag.inputs.prefilter import chunk_prefilter
from tlsdiag.kb import load_kb
from tlsdiag.scan import prefilter_event_ids, prefilter_names

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
T0 = datetime(2026, 11, 27, 8, 0, 0, 123456, tzinfo=timezone.utc)
SCHANNEL_GUID = "{1F678132-5938-4686-9FDC-C8FF68F15C85}"


@pytest.fixture
def fresh(monkeypatch: pytest.MonkeyPatch):
    """Switch the template memo on or off for this thread, starting from an empty memo each time."""

    def switch(on: bool) -> None:
        monkeypatch.setenv("TLSDIAG_TEMPLATES", "1" if on else "0")
        for name in ("templates", "memo"):
            ef._LOCAL.__dict__.pop(name, None)

    yield switch
    for name in ("templates", "memo"):
        ef._LOCAL.__dict__.pop(name, None)


def _chunks(data: bytes) -> list[Chunk]:
    body = data[FILE_HEADER_SIZE:]
    return [describe_chunk(i, FILE_HEADER_SIZE + at, body[at:at + 65536]) for i, at in
            enumerate(range(0, len(body), 65536)) if body[at:at + 65536].startswith(b"ElfChnk\x00")]


def _same(reference: ef.ChunkResult, got: ef.ChunkResult, where: str) -> None:
    assert got.events == reference.events, where
    assert [list(e.data.items()) for e in got.events] == [list(e.data.items()) for e in reference.events], where
    assert (got.parsed, got.skipped, got.losses) == (reference.parsed, reference.skipped, reference.losses), where


def _compare(fresh, files: list[tuple[str, list[Chunk]]], wanted=None, passes: int = 2) -> int:
    """Each file's chunks through pyevtx-rs alone, then ``passes`` times through one template memo (kept
    across files, as a reading thread keeps it); returns how many chunks the memo read itself."""
    fresh(False)
    reference = {source: [parse_chunk_rust(c, source, wanted) for c in chunks] for source, chunks in files}
    fresh(True)
    for _ in range(passes):
        for source, chunks in files:
            for chunk, ref in zip(chunks, reference[source], strict=True):
                _same(ref, parse_chunk_rust(chunk, source, wanted), f"{source} chunk {chunk.index}")
    return ef._LOCAL.templates.chunks


def _scan_filter():
    kb = load_kb()
    return chunk_prefilter(prefilter_names(kb), prefilter_event_ids(kb))


def test_every_sample_and_corpus_chunk_reads_as_pyevtx_rs_reads_it(fresh, corpus_dir: Path) -> None:
    files = [(i.display, _chunks(i.path.read_bytes())) for i in discover([SAMPLES, corpus_dir])
             if i.kind == "evtx" and not i.is_archive_member]
    assert sum(len(chunks) for _, chunks in files) > 700
    # read here, not by pyevtx-rs: with no filter about a third of the chunks on the second pass (the rest
    # hold a record whose constant part varies, a value of a type not read here, ...), with the scan's
    # filter most (records it does not want need no fields)
    plain, filtered = _compare(fresh, files), _compare(fresh, files, _scan_filter())
    assert plain > 200
    assert filtered > 350


def _schannel(i: int, alert: int = 40, **kw) -> EventSpec:
    spec = {"computer": "fe01.contoso.local", "user_sid": "S-1-5-18", **kw}
    return EventSpec(channel="System", provider="Schannel", provider_guid=SCHANNEL_GUID, event_id=36888, level=2,
                     time=T0 + timedelta(seconds=7 * i, microseconds=13 * i),
                     userdata=UserData("EventXML", "LSA_NS", {"AlertDesc": alert, "ErrorState": 100_000 + i}),
                     **spec)


def _named(i: int, **fields) -> EventSpec:
    return EventSpec(channel="Application", provider="Microsoft-Windows-CAPI2", event_id=4097, time=T0,
                     provider_guid="{5BBCA4A8-B209-48DC-A8C7-B23D3E5216FB}", computer="fe01.contoso.local",
                     data={"Subject": f"CN=Root {i}", "Count": i, **fields})


def _layouts(n: int) -> list[EventSpec]:
    """Records that differ in everything this module reads or keys on, in every record of a few chunks."""
    specs = []
    texts = ["", "x", "Ünïcödé ✓", "tab\there", "quote \" and \\ back", "𝄞 astral", "a\r\nb", "a\x00b"]
    for i in range(n):
        # every kind in the first third; then only kinds read here (a chunk with one record of another kind,
        # such as a Boolean field, goes to pyevtx-rs as a whole), with texts of any length but no CR or NUL
        k = i % 12 if i < n // 3 else (0, 1, 2, 4, 6, 11)[i % 6]
        if i >= n // 3:
            texts = texts[:6]
        if k == 0:
            specs.append(_schannel(i, alert=(40, 42, 46)[i % 3]))
        elif k == 1:
            specs.append(_schannel(i, activity_id=f"{{{i:08X}-0000-0000-0000-000000000000}}", process_id=600 + i,
                                   thread_id=i))
        elif k == 2:
            specs.append(_named(i, Text=texts[i % len(texts)]))
        elif k == 3:
            specs.append(_named(i, Text=texts[(i + 3) % len(texts)], Flag=True))
        elif k == 4:
            specs.append(_named(i, Big=2**63 + i, Small=-i))
        elif k == 5:
            specs.append(EventSpec(channel="Lync Server", provider="LS User Services", event_id=32174,
                                   qualifiers=33777, level=3, task=1006, time=T0, computer="fe01",
                                   data=[f"item {i}", "", "1"], binary=bytes([i % 256, 0xAB])))
        elif k == 6:
            specs.append(_schannel(i, user_sid=None))
        elif k == 7:
            specs.append(_schannel(i, form="mixed"))
        elif k == 8:
            specs.append(_schannel(i, form="inline"))
        elif k == 9:
            specs.append(_named(i, BinaryData=f"{i:04X}"))
        elif k == 10:
            specs.append(EventSpec(channel="System", provider="Schannel", provider_guid=SCHANNEL_GUID,
                                   event_id=36885, level=4, time=T0, computer="fe01.contoso.local"))
        else:
            specs.append(_schannel(i, computer=f"fe{i % 3:02d}.contoso.local"))
    return specs


def test_records_that_differ_in_every_way_read_as_pyevtx_rs_reads_them(fresh) -> None:
    chunks = _chunks(evtx_bytes(_layouts(3000)))
    assert len(chunks) > 5
    assert _compare(fresh, [("layouts.evtx", chunks)], passes=3) > 0
    assert _compare(fresh, [("layouts.evtx", chunks)], _scan_filter(), passes=3) > 0


def test_a_log_of_distinct_alerts_is_read_here_after_its_first_chunk(fresh) -> None:
    specs = [_schannel(i, alert=(40, 42, 46, 48, 70)[i % 5]) for i in range(2000)]
    chunks = _chunks(evtx_bytes(specs))
    read_here = _compare(fresh, [("distinct.evtx", chunks)], passes=1)
    assert read_here == len(chunks) - 1  # the first chunk teaches the memo
    events = [e for c in chunks for e in parse_chunk_rust(c, "distinct.evtx").events]
    assert [e.data["ErrorState"] for e in events] == [str(100_000 + i) for i in range(2000)]


def _rechecksum(chunk: bytearray) -> None:
    free = struct.unpack_from("<I", chunk, 48)[0]
    struct.pack_into("<I", chunk, 52, zlib.crc32(chunk[CHUNK_HEADER_SIZE:free]))
    struct.pack_into("<I", chunk, 124, chunk_header_crc(chunk))


@pytest.mark.parametrize("record", [101, 151])  # a Schannel record (UserData), a CAPI2 one (EventData, a text)
def test_any_changed_byte_of_a_known_record_is_read_as_pyevtx_rs_reads_it(fresh, record: int) -> None:
    """Flip each byte of one record (checksums made to match again): the memo, taught by the unchanged
    chunk, must give what pyevtx-rs gives for the changed one, whatever that is."""
    specs = [_schannel(i, alert=(40, 42)[i % 2]) for i in range(120)] + [_named(i, Text="t" * (i % 3))
                                                                         for i in range(60)]
    original = _chunks(evtx_bytes(specs))[0]
    data = original.data
    offsets = []
    p = CHUNK_HEADER_SIZE
    while len(offsets) <= record + 1:
        offsets.append(p)
        p += struct.unpack_from("<I", data, p + 4)[0]
    start, end = offsets[record], offsets[record + 1]  # a later record: its templates are defined earlier
    cases = []
    for at in range(start, end):
        changed = bytearray(data)
        changed[at] ^= 0x01 if at % 2 else 0x80
        _rechecksum(changed)
        cases.append(describe_chunk(0, FILE_HEADER_SIZE, bytes(changed)))
    fresh(False)
    reference = [parse_chunk_rust(c, "x.evtx") for c in cases]
    fresh(True)
    for _ in range(3):  # the memo knows the unchanged chunk's records
        parse_chunk_rust(original, "x.evtx")
    assert ef._LOCAL.templates.chunks >= 1
    for case, ref, at in zip(cases, reference, range(start, end), strict=True):
        _same(ref, parse_chunk_rust(case, "x.evtx"), f"byte {at - start} of the record changed")
        parse_chunk_rust(original, "x.evtx")


@pytest.mark.parametrize("name", ["Computer", "AlertDesc"])  # in the System template, in the UserData one
def test_another_template_at_the_same_offset_is_not_taken_for_the_learned_one(fresh, name: str) -> None:
    """Two chunks alike byte for byte but for one element name in a template they define: what was
    learned in one must not be used in the other, though their records refer to the same offsets."""
    specs = [_named(0)] + [_schannel(i) for i in range(1, 150)]  # the first record is longer than the rest
    first = _chunks(evtx_bytes(specs))[0]
    data = bytearray(first.data)
    encoded = name.encode("utf-16-le")
    at = data.index(encoded, CHUNK_HEADER_SIZE)  # where the template that first uses it defines it
    data[at:at + len(encoded)] = (name[:-1] + "x").encode("utf-16-le")
    _rechecksum(data)
    second = describe_chunk(0, FILE_HEADER_SIZE, bytes(data))
    files = [("a.evtx", [first]), ("b.evtx", [second])]
    assert _compare(fresh, files, passes=3) >= 2
    fresh(False)
    changed = parse_chunk_rust(second, "b.evtx").events[5]
    assert changed.computer == "" if name == "Computer" else "AlertDesx" in changed.data


def test_a_value_of_another_type_than_its_template_declares_is_not_read_as_the_declared_type(fresh) -> None:
    """The error state is declared UInt32 but stored as Int32 in every record (patched): pyevtx-rs renders
    the stored type, so a negative value must not come out as a large unsigned one, though the first record's
    small value reads the same either way."""
    specs = [_schannel(0)] + [_schannel(i, alert=40) for i in range(1, 120)]
    original = _chunks(evtx_bytes(specs))[0]
    data = bytearray(original.data)
    fresh(True)
    memo = ef._LOCAL.__dict__.setdefault("templates", ef._templates())
    p, records = CHUNK_HEADER_SIZE, 0
    while records < original.declared:
        size = struct.unpack_from("<I", data, p + 4)[0]
        found = memo._record(bytes(data), p, size, {})
        _plan, _offsets, (inner_plan, inner_offsets), _key = found
        index = next(i for name, i, _t in inner_plan.data if name == "ErrorState")
        descriptors = inner_offsets[0] - 4 * inner_plan.count
        data[descriptors + 4 * index + 2] = 0x07  # Int32
        if records:
            struct.pack_into("<i", data, inner_offsets[index], -records)
        p += size
        records += 1
    _rechecksum(data)
    changed = describe_chunk(0, FILE_HEADER_SIZE, bytes(data))
    _compare(fresh, [("int32.evtx", [changed])], passes=3)
    fresh(False)
    assert parse_chunk_rust(changed, "int32.evtx").events[5].data["ErrorState"] == "-5"


def test_a_worker_copy_of_the_filter_keeps_what_was_learned_and_another_filter_does_not(fresh) -> None:
    import pickle

    from tlsdiag.inputs.prefilter import same_record_answers

    chunks = _chunks(evtx_bytes([_schannel(i, alert=(40, 42)[i % 2]) for i in range(600)]))
    wanted = _scan_filter()
    copy = pickle.loads(pickle.dumps(wanted))  # noqa: S301 - what a worker receives with every range
    other = chunk_prefilter(["Schannel"], {"Schannel": [36887]})  # does not want 36888
    assert same_record_answers(wanted, copy) and same_record_answers(None, None)
    assert not same_record_answers(wanted, other) and not same_record_answers(wanted, None)
    fresh(False)
    reference = [parse_chunk_rust(c, "x.evtx", other) for c in chunks]
    fresh(True)
    parse_chunk_rust(chunks[0], "x.evtx", wanted)
    assert parse_chunk_rust(chunks[1], "x.evtx", copy).templated  # learned under the original
    assert not parse_chunk_rust(chunks[1], "x.evtx", other).templated  # nothing learned under this one yet
    for chunk, ref in zip(chunks[1:], reference[1:], strict=True):  # and what it learns is its own
        _same(ref, parse_chunk_rust(chunk, "x.evtx", other), f"chunk {chunk.index}")
    assert not reference[1].events and parse_chunk_rust(chunks[2], "x.evtx", other).templated


def test_a_field_name_given_twice_in_a_template_is_read_as_pyevtx_rs_reads_it(fresh) -> None:
    """Two Data elements named alike (patched into the template): whatever pyevtx-rs makes of them, the
    memo, taught by records whose two values are equal, must not give anything else for later records."""
    specs = [_named(0, AAA1=f"v{0}", AAA2=f"v{0}")] + [_named(i, AAA1=f"a{i % 10}", AAA2=f"b{i % 10}")
                                                         for i in range(1, 200)]
    original = _chunks(evtx_bytes(specs))[0]
    data = bytearray(original.data)
    at = data.index("AAA2".encode("utf-16-le"), CHUNK_HEADER_SIZE)  # the Name value in the template
    data[at:at + 8] = "AAA1".encode("utf-16-le")
    _rechecksum(data)
    changed = describe_chunk(0, FILE_HEADER_SIZE, bytes(data))
    fresh(False)
    sample = parse_chunk_rust(changed, "dup.evtx").events[7].data
    assert "AAA2" not in sample and "AAA1" in sample
    _compare(fresh, [("dup.evtx", [changed])], passes=3)


@pytest.mark.parametrize("grow", [2, 4, 40, 4000])
@pytest.mark.parametrize("value", ["Text", "payload"])
def test_a_value_that_runs_past_its_record_is_read_as_pyevtx_rs_reads_it(fresh, grow: int, value: str) -> None:
    """A value's size made larger (checksums made to match) in one record of a learned shape: a data text,
    or the payload (the EventData instance) in the System template's values. The values would then run
    into the bytes after the record; the memo must not read them from there."""
    specs = [_named(i, Text="t" * (1 + i % 3)) for i in range(200)]
    original = _chunks(evtx_bytes(specs))[0]
    data = bytearray(original.data)
    fresh(True)
    memo = ef._templates()
    p = CHUNK_HEADER_SIZE
    for _ in range(150):  # a later record
        p += struct.unpack_from("<I", data, p + 4)[0]
    size = struct.unpack_from("<I", data, p + 4)[0]
    plan, offsets, (inner_plan, inner_offsets), _key = memo._record(bytes(data), p, size, {})
    if value == "Text":
        index = next(i for name, i, _t in inner_plan.data if name == "Text")
        at = inner_offsets[0] - 4 * inner_plan.count + 4 * index
    else:
        at = offsets[0] - 4 * plan.count + 4 * plan.payload
    struct.pack_into("<H", data, at, struct.unpack_from("<H", data, at)[0] + grow)
    _rechecksum(data)
    changed = describe_chunk(0, FILE_HEADER_SIZE, bytes(data))
    files = [("a.evtx", [original]), ("b.evtx", [changed])]
    _compare(fresh, files, passes=3)


def test_what_the_layouts_hold_stays_bounded(fresh, monkeypatch: pytest.MonkeyPatch) -> None:
    from tlsdiag.inputs import templates

    monkeypatch.setattr(templates, "MAX_LAYOUT_LOAD", 5)
    specs = [_schannel(i, alert=(40, 42, 46, 48, 70)[i % 5], computer=f"fe{i % 7}.contoso.local")
             for i in range(3000)]
    chunks = _chunks(evtx_bytes(specs))
    assert _compare(fresh, [("bounded.evtx", chunks)], passes=2) > len(chunks)  # still read from templates
    memo = ef._LOCAL.templates
    held = sum(len(layout.entries) + sum(len(e[2]) for e in layout.entries.values() if type(e[2]) is dict)
               for known in memo._layouts.values() for layout in known)
    assert memo._load <= 6 and held <= 12
