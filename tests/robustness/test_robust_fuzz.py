"""Property-based fuzzing of the readers this project wrote itself (hypothesis, bounded examples).

Targets: the EVTX chunk logic (slot classification, record chain, per-chunk
accounting around both parsers), the XML and Event Viewer text readers, the
content sniffer, ``.reg`` parsing and certificate Blob parsing. The property is
the contract each states: only the documented error type may leave (InputError
for store files; nothing at all for event readers, which turn damage into Loss),
and what comes out is counted. Inputs are seeded from real structures (a
written chunk, an export, a reg file) and then mutated, so the fuzzer spends its
time past the first magic check.
"""

from __future__ import annotations

import io
import os
from datetime import datetime, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tlsdiag.errors import InputError
from tlsdiag.inputs.evtxfile import (
    CHUNK_SIZE,
    FILE_HEADER_SIZE,
    chunk_slot_loss,
    describe_chunk,
    parse_chunk_python,
    parse_chunk_rust,
    record_chain_length,
)
from tlsdiag.inputs.sniff import sniff
from tlsdiag.inputs.textread import read_text
from tlsdiag.inputs.xmlread import read_xml
from tlsdiag.model import FileReport
from tlsdiag.stores.blob import build_blob, parse_blob
from tlsdiag.stores.regfile import parse_reg
from tlsdiag_devkit.evtxwrite import EventSpec, UserData, evtx_bytes

EXAMPLES = int(os.environ.get("TLSDIAG_FUZZ_EXAMPLES", "150"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=not os.environ.get("TLSDIAG_FUZZ_RANDOM"),
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

T0 = datetime(2026, 11, 27, 8, 0, tzinfo=timezone.utc)
_FILE = evtx_bytes([EventSpec(channel="System", provider="Schannel", event_id=36888, level=2, time=T0,
                              provider_guid="{1F678132-5938-4686-9FDC-C8FF68F15C85}", computer="fe01",
                              userdata=UserData("EventXML", "LSA_NS", {"AlertDesc": 40, "ErrorState": i}))
                    for i in range(30)])
CHUNK = _FILE[FILE_HEADER_SIZE:FILE_HEADER_SIZE + CHUNK_SIZE]


def _mutated(base: bytes, edits: list[tuple[int, bytes]], cut: int | None) -> bytes:
    buf = bytearray(base)
    for pos, data in edits:
        pos %= len(buf)
        buf[pos:pos + len(data)] = data
    buf = buf[: len(base)]
    return bytes(buf[:cut] if cut is not None else buf)


# edits cluster where the structure is: chunk header, string/template tables, first records
_EDITS = st.lists(st.tuples(st.one_of(st.integers(0, 1024), st.integers(0, CHUNK_SIZE - 1)),
                            st.binary(min_size=1, max_size=8)), max_size=6)
_CUT = st.one_of(st.none(), st.integers(0, CHUNK_SIZE))


@FUZZ
@given(edits=_EDITS, cut=_CUT)
def test_chunk_logic_and_rust_parser_never_raise(edits: list[tuple[int, bytes]], cut: int | None) -> None:
    data = _mutated(CHUNK, edits, cut)
    chunk = describe_chunk(0, FILE_HEADER_SIZE, data)
    assert chunk.state in ("ok", "zero", "bad-magic", "truncated")
    assert 0 <= record_chain_length(data) <= CHUNK_SIZE // 28
    chunk_slot_loss(chunk, "f", header_count=1)
    if chunk.parseable:
        result = parse_chunk_rust(chunk, "f")
        assert result.parsed >= len(result.events)
        if data != CHUNK:  # damage is either harmless (identical events) or named
            clean = parse_chunk_rust(describe_chunk(0, FILE_HEADER_SIZE, CHUNK), "f")
            same = [e.to_dict() for e in result.events] == [e.to_dict() for e in clean.events]
            assert same or result.losses, "changed events without a Loss naming the chunk"


@pytest.mark.slow
@settings(FUZZ, max_examples=max(EXAMPLES // 5, 10))
@given(edits=_EDITS, cut=_CUT)
def test_python_parser_chunk_never_raises(edits: list[tuple[int, bytes]], cut: int | None) -> None:
    chunk = describe_chunk(0, FILE_HEADER_SIZE, _mutated(CHUNK, edits, cut))
    if chunk.parseable:
        result = parse_chunk_python(chunk, "f")
        assert result.parsed >= len(result.events)


@FUZZ
@given(st.binary(max_size=4096))
def test_sniff_any_bytes(data: bytes) -> None:
    assert sniff(io.BytesIO(data), len(data), "x") in ("evtx", "xml", "text", "reg", "hive", "storejson", "cert",
                                                        "zip", "unknown")


_XML_PARTS = st.sampled_from([
    '<Event xmlns="http://schemas.microsoft.com/win/2004/08/events/event">', "</Event>", "<System>", "</System>",
    "<EventID>", "36888", "</EventID>", "<EventID Qualifiers='49152'>", "<TimeCreated SystemTime='",
    "2026-11-27T08:00:00.000Z", "'/>", "<Data Name='a'>", "</Data>", "<Data>", "<EventData>", "</EventData>",
    "<Computer>", "</Computer>", "<Provider Name='Schannel'/>", "&amp;", "&bogus;", "<![CDATA[x]]>", "<!-- c -->",
    "<?pi x?>", "<", ">", "\x00", "\x1b[31m", "\u202e", "\ud7ff", "<Events>", "</Events>", "<RenderingInfo>",
    "<Message>", "</Message>", "<Level>", "2", "</Level>", "<Channel>System</Channel>", "<EventRecordID>",
    "99999999999999999999999", "</EventRecordID>", "<UserData><X xmlns='LSA_NS'><A>1</A></X></UserData>",
])
_XML = st.lists(_XML_PARTS, max_size=60).map("".join)
_ENCODING = st.sampled_from(["utf-8", "utf-16-le", "utf-16", "cp1252", "latin-1"])


@FUZZ
@given(_XML, _ENCODING)
def test_xml_reader_never_raises_and_counts(text: str, encoding: str) -> None:
    raw = text.encode(encoding, "replace")
    report = FileReport("x.xml", "xml")
    events = list(read_xml(io.BytesIO(raw), "x.xml", report))
    assert all(e.form == "xml" for e in events)
    if report.error:
        assert not events


_TEXT_PARTS = st.sampled_from([
    "Log Name:      System\n", "Source:        Schannel\n", "Date:          27.11.2026 08:00:00\n",
    "Date:          11/27/2026 8:00:00 AM\n", "Event ID:      36888\n", "Event ID:      x\n", "Level:         Error\n",
    "Computer:      fe01\n", "Description:\n", "A fatal alert was generated.\n", "Event Xml:\n",
    '<Event xmlns="http://schemas.microsoft.com/win/2004/08/events/event"><System><EventID>1</EventID>',
    "</System></Event>\n", "Protokollname: System\n", "Quelle:        Schannel\n", "Ereignis-ID:   36888\n",
    "\n", "\r\n", "\x00", "\x1b]0;t\x07", "Task Category: None\n", "Keywords:      Classic\n", ":" * 10,
])


@FUZZ
@given(st.lists(_TEXT_PARTS, max_size=80).map("".join), _ENCODING)
def test_text_reader_never_raises(text: str, encoding: str) -> None:
    report = FileReport("x.txt", "text")
    events = list(read_text(io.BytesIO(text.encode(encoding, "replace")), "x.txt", report))
    assert all(e.form == "text" for e in events)


_REG_PARTS = st.sampled_from([
    "Windows Registry Editor Version 5.00\r\n", "REGEDIT4\r\n", "\r\n",
    "[HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\SystemCertificates\\ROOT\\Certificates\\AB12]\r\n",
    "[HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL]\r\n",
    '"Blob"=hex:20,00,00,00,01,00,00,00,', "03,00,00,00,30,82,01", ",\\\r\n  ", "00,zz,", '"EventLogging"=dword:00000003\r\n',
    '"X"="a\\"b"\r\n', '"Y"=hex(7):41,00,00,00\r\n', '"Z"=dword:fffffffff\r\n', "[HKEY_BROKEN\r\n", "@=\"d\"\r\n",
    "; comment\r\n", "\ufeff", "-", "=", '"', "\\",
])


@FUZZ
@given(st.lists(_REG_PARTS, max_size=40).map("".join), st.sampled_from(["utf-16", "utf-8", "utf-16-le"]))
def test_reg_parser_raises_only_input_error(text: str, encoding: str) -> None:
    try:
        keys = parse_reg(text.encode(encoding, "replace"), "x.reg")
    except InputError as exc:
        assert exc.path == "x.reg" and exc.reason
        return
    assert isinstance(keys, list)


_DER = bytes.fromhex("3082010a0282010100") + bytes(200)


@FUZZ
@given(st.one_of(st.binary(max_size=512),
                 st.builds(lambda edits, cut: _mutated(build_blob(_DER, private_key=True, friendly_name="n"),
                                                       edits, cut),
                           st.lists(st.tuples(st.integers(0, 300), st.binary(min_size=1, max_size=4)), max_size=4),
                           st.one_of(st.none(), st.integers(0, 300)))))
def test_blob_parser_records_problems_never_raises(data: bytes) -> None:
    blob = parse_blob(data)
    assert blob.der is not None or blob.problems
