"""Event Viewer "Copy details as text" blocks: English, German, flattened, several per file."""

from __future__ import annotations

import io
from datetime import datetime, timezone
from pathlib import Path

import evtx

from support.evtxspecs import lync, schannel
from tlsdiag.inputs import discover, read_events
from tlsdiag.model import ReadSummary
from tlsdiag_devkit.evtxwrite import evtx_bytes

ENGLISH = """Log Name:      System
Source:        Schannel
Date:          11/27/2026 7:05:54 AM
Event ID:      36888
Task Category: None
Level:         Error
Keywords:
User:          SYSTEM
Computer:      fe01.contoso.local
Description:
A fatal alert was generated and sent to the remote endpoint. This may result in termination of the connection. The TLS protocol defined fatal error code is 40. The Windows SChannel error state is 1205.

Log Name:      Lync Server
Source:        LS User Services
Date:          11/27/2026 7:06:10 AM
Event ID:      32174
Task Category: (1006)
Level:         Warning
Keywords:      Classic
User:          N/A
Computer:      fe01.contoso.local
Description:
Server startup is being delayed because fabric pool manager has not finished initial placement of users.
Currently waiting for routing group: {63BB8586-A9D8-5AF2-83FF-B5CE680594C0}.

Cause: This is normal during cold-start of a Pool.
"""

GERMAN = """Protokollname: System
Quelle:        Schannel
Datum:         27.11.2026 08:05:54
Ereignis-ID:   36885
Aufgabenkategorie:Keine
Ebene:         Warnung
Schlüsselwörter:
Benutzer:      SYSTEM
Computer:      fe02.contoso.local
Beschreibung:
When asking for client authentication, this server sends a list of trusted certificate authorities to the client.
"""

# As the seed write-up quotes it: one block flattened onto one line inside other text, no Date.
SEED_LINE = ("https://support.microsoft.com/en-us/kb/2795828\n"
             "Log Name: Microsoft-Windows-WindowsFabric/Admin Source: Microsoft-Windows-WindowsFabric Event ID: 18465 "
             "Task Category: FM Level: Warning Keywords: None User: NETWORK SERVICE Computer: lync2013.msxfaq.net "
             "Description: Replica on b6277d62e11a4e816f7179f3d6b8e7:129970606058458545 for FailoverUnit "
             "6aebabd3-c487-445e-8450-11c522ec93a8 partition name build error OperationFailed\n"
             "Per PowerShell sieht man, dass Lync mit sich noch nicht im Reinen ist.\n")


def _read(path: Path) -> tuple[list, ReadSummary]:
    summary = ReadSummary()
    return list(read_events([path], summary=summary)), summary


def test_english_blocks(tmp_path: Path) -> None:
    path = tmp_path / "ticket.txt"
    path.write_text(ENGLISH, encoding="utf-8")
    assert [i.kind for i in discover([path])] == ["text"]
    events, summary = _read(path)
    assert summary.records == 2 and summary.records_lost == 0
    s, ly = events
    assert (s.channel, s.provider, s.event_id, s.level, s.computer) == (
        "System", "Schannel", 36888, 2, "fe01.contoso.local")
    assert s.timestamp == datetime(2026, 11, 27, 7, 5, 54, tzinfo=timezone.utc)
    assert s.task_name == "" and s.message.startswith("A fatal alert") and s.message.endswith("1205.")
    assert dict(s.data) == {} and s.form == "text" and s.locator == "line 1"
    assert (ly.channel, ly.provider, ly.event_id, ly.level, ly.keywords, ly.task_name) == (
        "Lync Server", "LS User Services", 32174, 3, "Classic", "(1006)")
    assert ly.message.splitlines()[-1] == "Cause: This is normal during cold-start of a Pool."
    assert ly.locator == "line 13"


def test_german_block_utf16(tmp_path: Path) -> None:
    path = tmp_path / "kopie.txt"
    path.write_bytes(b"\xff\xfe" + GERMAN.replace("\n", "\r\n").encode("utf-16-le"))
    events, _summary = _read(path)
    (e,) = events
    assert (e.channel, e.provider, e.event_id, e.level, e.computer) == (
        "System", "Schannel", 36885, 3, "fe02.contoso.local")
    assert e.timestamp == datetime(2026, 11, 27, 8, 5, 54, tzinfo=timezone.utc)
    assert e.message.startswith("When asking for client authentication")


def test_flattened_block_inside_prose(tmp_path: Path) -> None:
    path = tmp_path / "seed.txt"
    path.write_text("Some article text.\n" + SEED_LINE, encoding="utf-8")
    events, _summary = _read(path)
    (e,) = events
    assert (e.channel, e.provider, e.event_id, e.level, e.task_name, e.computer) == (
        "Microsoft-Windows-WindowsFabric/Admin", "Microsoft-Windows-WindowsFabric", 18465, 3, "FM",
        "lync2013.msxfaq.net")
    assert e.message.endswith("OperationFailed")  # the prose on the next line is not part of it
    assert e.locator == "line 3 (no date)"


def test_event_xml_section_supplies_exact_fields(tmp_path: Path) -> None:
    raw = evtx_bytes([schannel(0), lync(0)])
    xml = [r["data"].split("?>", 1)[1] for r in evtx.PyEvtxParser(io.BytesIO(raw)).records()]
    evtx_path = tmp_path / "System.evtx"
    evtx_path.write_bytes(raw)
    text = ENGLISH.replace("\nLog Name:      Lync Server", "Event Xml:\n" + xml[0] + "\n\nLog Name:      Lync Server")
    text += "Event Xml:\n" + xml[1]
    path = tmp_path / "with-xml.txt"
    path.write_text(text, encoding="utf-8")
    events, _ = _read(path)
    summary = ReadSummary()
    originals = list(read_events([evtx_path], summary=summary))
    for got, want in zip(events, originals, strict=True):
        assert (got.timestamp, got.event_id, got.qualifiers, got.provider_guid, dict(got.data)) == (
            want.timestamp, want.event_id, want.qualifiers, want.provider_guid, dict(want.data))
        assert got.form == "text" and got.message  # the description stays the message


def test_block_without_description_is_counted(tmp_path: Path) -> None:
    # a block cut short before its Description (issue 17: the real 36888 paste ends so) still names the event;
    # it is read from its header and the cut is reported, with no record lost
    path = tmp_path / "cut.txt"
    path.write_text("Log Name: System\nSource: Schannel\nEvent ID: 36888\n\n" + GERMAN, encoding="utf-8")
    events, summary = _read(path)
    assert len(events) == 2 and (events[0].event_id, events[0].message) == (36888, None)
    assert [(loss.where, loss.records) for loss in summary.losses] == [("line 1", 0)]
    assert "cut short" in summary.losses[0].reason


def test_block_without_event_id_is_lost(tmp_path: Path) -> None:
    path = tmp_path / "cut.txt"
    path.write_text("Log Name: System\nSource: Schannel\n\n" + GERMAN, encoding="utf-8")
    events, summary = _read(path)
    assert len(events) == 1
    assert [(loss.where, loss.records) for loss in summary.losses] == [("line 1", 1)]
