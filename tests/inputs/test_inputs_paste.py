"""Pasted and exported events (inputs/pasteread.py, textread.py): every real event paste in
../shared/realworld/events is read with the event its name carries; the Event Viewer XML view with its fold
markers, XML cut short (read up to the cut, loss reported), Get-WinEvent | Format-List, ConvertTo-Json (both
PowerShell time forms), Export-Csv (comma and semicolon) and Winlogbeat NDJSON (nested and dotted) give the
right events; explain and scan take them too.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tlsdiag.inputs import discover, read_events
from tlsdiag.kb import load_kb
from tlsdiag.match import explain
from tlsdiag.model import ReadSummary
from tlsdiag.scan import run_scan

REPO = Path(__file__).resolve().parents[2]
REALWORLD = REPO.parent / "shared" / "realworld" / "events"
KB = load_kb()


def _read(path: Path) -> tuple[list, ReadSummary]:
    summary = ReadSummary()
    return list(read_events([path], summary=summary)), summary


def _real_pastes() -> list[Path]:
    if not REALWORLD.is_dir():
        pytest.fail(f"real-world material missing: expected {REALWORLD} (../shared/realworld)")
    return sorted(REALWORLD.iterdir())


@pytest.mark.parametrize("path", _real_pastes(), ids=lambda p: p.name)
def test_every_real_event_paste_is_read(path: Path) -> None:
    events, summary = _read(path)
    want = int(re.search(r"__[a-z]+_(\d+)", path.name).group(1))
    assert want in [e.event_id for e in events], (path.name, summary.files)
    assert all(f.error is None for f in summary.files)
    assert all(e.provider.casefold() == "schannel" for e in events)


def test_real_xml_view_paste_gives_event_data() -> None:
    events, summary = _read(REALWORLD / "dotnet_corefx_issue1894__schannel_36887.xml")
    assert discover([REALWORLD / "dotnet_corefx_issue1894__schannel_36887.xml"])[0].kind == "export"
    assert [(e.event_id, dict(e.data), e.computer) for e in events] == [(36887, {"AlertDesc": "20"}, "IS-6.All4Cars.ru")]
    assert not summary.files[0].lost


def test_real_text_paste_cut_short_keeps_the_header_and_reports_the_cut() -> None:
    events, summary = _read(REALWORLD / "jborean93_requests-credssp_issue18__schannel_36888.txt")
    assert [e.event_id for e in events] == [36888, 36874]
    assert dict(events[0].data) == {"AlertDesc": "40", "ErrorState": "1205"}
    losses = summary.files[0].lost
    assert len(losses) == 1 and losses[0].where == "line 39" and "cut short" in losses[0].reason
    assert losses[0].records == 0


_XML_VIEW_LINES = """\
- <Event xmlns="http://schemas.microsoft.com/win/2004/08/events/event">
- <System>
  <Provider Name="Schannel" Guid="{1F678132-5938-4686-9FDC-C8FF68F15C85}" />
  <EventID>36888</EventID>
  <Level>2</Level>
  <TimeCreated SystemTime="2021-03-01T10:00:00.000Z" />
  <Channel>System</Channel>
  <Computer>WEB01</Computer>
  </System>
- <EventData>
  <Data Name="AlertDesc">40</Data>
  <Data Name="ErrorState">1205</Data>
  </EventData>
  </Event>
- <Event xmlns="http://schemas.microsoft.com/win/2004/08/events/event">
- <System>
  <Provider Name="Schannel" />
  <EventID>36874</EventID>
  <TimeCreated SystemTime="2021-03-01T10:00:01.000Z" />
  <Channel>System</Channel>
  <Computer>WEB01</Computer>
  </System>
- <EventData>
  <Data Name="Protoc"""
# Event Viewer leaves trailing spaces after each element line; the paste keeps them
XML_VIEW = re.sub(r"(?m)>$", ">   ", _XML_VIEW_LINES)


def test_xml_view_with_markers_and_a_cut_event(tmp_path: Path) -> None:
    path = tmp_path / "paste.txt"
    path.write_text(XML_VIEW, encoding="utf-8")
    events, summary = _read(path)
    assert [(e.event_id, e.computer) for e in events] == [(36888, "WEB01"), (36874, "WEB01")]
    assert dict(events[0].data) == {"AlertDesc": "40", "ErrorState": "1205"}
    lost = summary.files[0].lost
    assert len(lost) == 1 and lost[0].where == "line 15" and "cut short" in lost[0].reason


def test_plain_xml_cut_short_is_read_up_to_the_cut(tmp_path: Path) -> None:
    plain = re.sub(r"(?m)^[-+] ", "", XML_VIEW)
    path = tmp_path / "cut.xml"
    path.write_text(plain, encoding="utf-8")
    events, summary = _read(path)
    assert [e.event_id for e in events] == [36888, 36874]
    assert "cut short" in summary.files[0].lost[0].reason


FORMAT_LIST = """\

TimeCreated  : 3/1/2021 10:00:00 AM
ProviderName : Schannel
Id           : 36887
Message      : A fatal alert was received from the remote endpoint. The TLS protocol defined fatal alert code is
               47.

TimeCreated  : 3/1/2021 10:00:05 AM
ProviderName : Schannel
Id           : 36885
Message      : When asking for client authentication, this server sends a list of trusted certificate
               authorities to the client. The client uses this list to choose a client certificate that is
               trusted by the server. Currently, this server trusts so many certificate authorities that the
               list has grown too long. This list has thus been truncated. The administrator of this machine
               should review the certificate authorities trusted for client authentication and remove those
               that do not really need to be trusted.
"""


def test_format_list(tmp_path: Path) -> None:
    path = tmp_path / "fl.txt"
    path.write_text(FORMAT_LIST, encoding="utf-8")
    events, _ = _read(path)
    assert [e.event_id for e in events] == [36887, 36885]
    assert events[0].message == ("A fatal alert was received from the remote endpoint. The TLS protocol defined fatal "
                                 "alert code is\n47.")
    assert events[0].timestamp.isoformat() == "2021-03-01T10:00:00+00:00"
    result = run_scan([path], kb=KB)
    assert result.diagnoses and result.diagnoses[0].cause.id == "trusted-issuer-list-too-large"


def _ps_records(ps51: bool) -> list[dict]:
    when = "/Date(1614592800000)/" if ps51 else "2021-03-01T10:00:00.0000000+00:00"
    return [{"Message": "A fatal alert was generated and sent to the remote endpoint. This may result in termination "
                        "of the connection. The TLS protocol defined fatal error code is 40. The Windows SChannel "
                        "error state is 1205.",
             "Id": 36888, "Level": 2, "RecordId": 2708, "ProviderName": "Schannel", "LogName": "System",
             "MachineName": "WEB01", "TimeCreated": when, "LevelDisplayName": "Error",
             "Properties": [{"Value": 40}, {"Value": 1205}]}]


@pytest.mark.parametrize("ps51", [True, False])
def test_convertto_json(tmp_path: Path, ps51: bool) -> None:
    path = tmp_path / "events.json"
    path.write_text(json.dumps(_ps_records(ps51), indent=4), encoding="utf-16" if ps51 else "utf-8")
    events, summary = _read(path)
    assert [(e.event_id, e.channel, e.computer, e.record_id, e.level) for e in events] == \
        [(36888, "System", "WEB01", 2708, 2)]
    assert events[0].timestamp.isoformat() == "2021-03-01T10:00:00+00:00"
    assert not summary.files[0].lost


@pytest.mark.parametrize("delimiter", [",", ";"])
def test_export_csv(tmp_path: Path, delimiter: str) -> None:
    rec = _ps_records(False)[0]
    cols = ["Message", "Id", "Level", "RecordId", "ProviderName", "LogName", "MachineName", "TimeCreated"]
    row = [str(rec[c]) for c in cols]
    row[0] = row[0].replace("the connection.", "the\nconnection.")  # a message with a line break, quoted
    text = ('#TYPE System.Diagnostics.Eventing.Reader.EventLogRecord\n'
            + delimiter.join(f'"{c}"' for c in cols) + "\n" + delimiter.join(f'"{v}"' for v in row) + "\n")
    path = tmp_path / "events.csv"
    path.write_text(text, encoding="utf-8")
    events, _ = _read(path)
    assert [(e.event_id, e.provider, e.computer) for e in events] == [(36888, "Schannel", "WEB01")]
    assert "\n" in events[0].message


def test_winlogbeat_ndjson_nested_and_dotted(tmp_path: Path) -> None:
    nested = {"@timestamp": "2021-03-01T10:00:00.000Z", "message": "A fatal alert was received ...",
              "log": {"level": "error"},
              "winlog": {"channel": "System", "provider_name": "Schannel", "event_id": "36887",
                         "computer_name": "WEB01", "record_id": 9, "event_data": {"AlertDesc": "47"}}}
    dotted = {"@timestamp": "2021-03-01T10:00:01.000Z", "winlog.channel": "System", "winlog.provider_name": "Schannel",
              "winlog.event_id": 36885, "winlog.computer_name": "WEB01"}
    path = tmp_path / "siem.ndjson"
    path.write_text(json.dumps(nested) + "\n" + json.dumps(dotted) + "\nnot json\n", encoding="utf-8")
    events, summary = _read(path)
    assert [(e.event_id, e.computer, dict(e.data)) for e in events] == \
        [(36887, "WEB01", {"AlertDesc": "47"}), (36885, "WEB01", {})]
    assert [loss.where for loss in summary.files[0].lost] == ["line 3"]
    result = run_scan([path], kb=KB)
    assert result.diagnoses[0].cause.id == "trusted-issuer-list-too-large"


def test_explain_takes_pasted_exports() -> None:
    result = explain(json.dumps(_ps_records(True)), KB)
    assert result.matches[0].id == "schannel-36888"
    result = explain(FORMAT_LIST, KB)
    assert "trusted-issuer-list-too-large" in [m.id for m in result.matches[:3]]


def test_ordinary_text_is_not_taken_for_an_export(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("Id: 5\nThe server is fine.\n", encoding="utf-8")
    assert discover([path])[0].kind == "unknown"


def test_xml_view_with_a_dtd_is_refused_with_a_reason(tmp_path: Path) -> None:
    path = tmp_path / "hostile.txt"
    path.write_text('<!DOCTYPE x [<!ENTITY a "aaaa">]>\n- <Event xmlns="http://schemas.microsoft.com/win/2004/08/events/'
                    'event">\n- <System>\n  <EventID>1</EventID>\n  </System>\n  </Event>\n', encoding="utf-8")
    events, summary = _read(path)
    assert events == []
    assert "DTD" in (summary.files[0].error or "")


def test_damaged_exports_report_where(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text('[{"Id": 36888, "ProviderName": "Schannel", "TimeCreated": "2021-03-01T10:00:00Z"}, {"Id": ',
                    encoding="utf-8")
    events, summary = _read(path)
    assert events == [] and "JSON damaged" in summary.files[0].lost[0].reason
    path = tmp_path / "partial.json"
    path.write_text('[{"Id": 36888, "ProviderName": "Schannel", "TimeCreated": "2021-03-01T10:00:00Z"}, {"Id": 5}]',
                    encoding="utf-8")
    events, summary = _read(path)
    assert [e.event_id for e in events] == [36888]
    assert [(loss.where, loss.records) for loss in summary.files[0].lost] == [("item 2", 1)]


_FRIENDLY_LINES = """\
- System

  - Provider

   [ Name]  Schannel
   [ Guid]  {1F678132-5938-4686-9FDC-C8FF68F15C85}

   EventID 36887

   Level 2

  - TimeCreated

   [ SystemTime]  2015-06-01T10:00:09.390968300Z

   EventRecordID 4262

   Channel System

   Computer IS-6.example.test

- EventData

  AlertDesc 47

- System
  - Provider
   [ Name]  LS Protocol Stack
  - EventID 14517
   [ Qualifiers]  50153
   Level 2
   Channel Lync Server
- EventData
  Some classic value with words
  2
"""
# the Friendly View keeps a trailing space on every line
FRIENDLY = re.sub(r"(?m)(\S)$", r"\1 ", _FRIENDLY_LINES)


def test_event_viewer_friendly_view(tmp_path: Path) -> None:
    path = tmp_path / "friendly.txt"
    path.write_text(FRIENDLY, encoding="utf-8")
    assert discover([path])[0].kind == "export"
    events, summary = _read(path)
    assert [(e.event_id, e.provider, e.channel, e.record_id, e.qualifiers) for e in events] == [
        (36887, "Schannel", "System", 4262, None), (14517, "LS Protocol Stack", "Lync Server", None, 50153)]
    assert dict(events[0].data) == {"AlertDesc": "47"}
    assert dict(events[1].data) == {"1": "Some classic value with words", "2": "2"}
    assert events[0].timestamp.isoformat() == "2015-06-01T10:00:09.390968+00:00"
    assert not summary.files[0].lost
    result = explain(FRIENDLY, KB)
    assert result.matches[0].id == "schannel-36887"
    assert "tls-alert-47" in [h.entry.id for h in result.codes]
