"""XML exports: wevtutil's rootless stream and Event Viewer's <Events> file, read safely."""

from __future__ import annotations

import codecs
import io
from pathlib import Path

import evtx

from support.evtxspecs import capi, lync, schannel
from tlsdiag.inputs import discover, read_events
from tlsdiag.model import ReadSummary
from tlsdiag_devkit.evtxwrite import evtx_bytes

EVENT_NS = "http://schemas.microsoft.com/win/2004/08/events/event"
SPECS = [schannel(0), lync(1), capi(2), schannel(3), lync(4)]


def _evtx_and_xml(tmp_path: Path) -> tuple[Path, list[str]]:
    """An .evtx and the XML of its records as pyevtx-rs renders them (no declaration)."""
    path = tmp_path / "System.evtx"
    path.write_bytes(evtx_bytes(SPECS))
    xml = [r["data"].split("?>", 1)[1].strip()
           for r in evtx.PyEvtxParser(io.BytesIO(path.read_bytes()), indent=False).records()]
    return path, xml


def _read(path: Path) -> tuple[list, ReadSummary]:
    summary = ReadSummary()
    return list(read_events([path], summary=summary)), summary


def _core(event) -> dict:
    d = event.to_dict()
    for key in ("source", "locator", "form", "message"):
        d.pop(key)
    return d


def test_wevtutil_rootless_utf16_gives_the_same_events_as_the_evtx(tmp_path: Path) -> None:
    path, xml = _evtx_and_xml(tmp_path)
    export = tmp_path / "export.xml"  # PowerShell redirection writes UTF-16LE with a BOM
    export.write_bytes(codecs.BOM_UTF16_LE + "\r\n".join(xml).encode("utf-16-le"))
    assert [i.kind for i in discover([export])] == ["xml"]
    from_evtx, _ = _read(path)
    from_xml, summary = _read(export)
    assert summary.records_lost == 0 and summary.files[0].form == "xml"
    assert [_core(e) for e in from_xml] == [_core(e) for e in from_evtx]
    assert all(e.form == "xml" and e.locator.startswith("line ") for e in from_xml)


def test_event_viewer_save_as_xml_keeps_rendered_message(tmp_path: Path) -> None:
    path, xml = _evtx_and_xml(tmp_path)
    rendered = []
    for i, item in enumerate(xml):
        info = (f'<RenderingInfo Culture="en-US"><Message>Message {i} &lt;b&gt;</Message>'
                "<Level>Error</Level></RenderingInfo></Event>")
        rendered.append(item[: -len("</Event>")] + info)
    export = tmp_path / "saved.txt"  # recognised by content, not by name
    export.write_text('<?xml version="1.0" encoding="UTF-8"?>\n<Events>\n' + "\n".join(rendered) + "\n</Events>\n",
                      encoding="utf-8")
    from_evtx, _ = _read(path)
    events, summary = _read(export)
    assert summary.records == len(SPECS) and summary.records_lost == 0
    assert [e.message for e in events] == [f"Message {i} <b>" for i in range(len(SPECS))]
    assert [_core(e) for e in events] == [_core(e) for e in from_evtx]


def test_dtd_and_entities_are_refused(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.xml"
    bomb.write_text('<?xml version="1.0"?>\n<!DOCTYPE Events [<!ENTITY a "aaaaaaaaaa">'
                    '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>\n'
                    f'<Events><Event xmlns="{EVENT_NS}"><System><EventID>&b;</EventID></System></Event></Events>')
    assert [i.kind for i in discover([bomb])] == ["xml"]
    events, summary = _read(bomb)
    assert events == []
    assert "DTD" in (summary.files[0].error or "")


def test_external_entity_is_not_fetched_or_expanded(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    doc = tmp_path / "xxe.xml"
    doc.write_text(f'<!DOCTYPE Event [<!ENTITY x SYSTEM "file://{secret}">]>'
                   f'<Event xmlns="{EVENT_NS}"><System><EventID>1</EventID></System>'
                   "<EventData><Data Name='a'>&x;</Data></EventData></Event>")
    events, summary = _read(doc)
    assert events == [] and summary.files[0].error
    assert all("TOP-SECRET" not in str(v) for e in events for v in e.data.values())


def test_damaged_xml_keeps_events_before_the_damage_and_reports_the_line(tmp_path: Path) -> None:
    _, xml = _evtx_and_xml(tmp_path)
    broken = tmp_path / "broken.xml"
    broken.write_text("\n".join(xml[:3]) + "\n<Event><System><EventID>1</Event>\n" + "\n".join(xml[3:]))
    events, summary = _read(broken)
    assert len(events) == 3
    (loss,) = summary.losses
    assert loss.where == "line 4" and "XML damaged" in loss.reason


def test_event_without_system_is_counted_not_fatal(tmp_path: Path) -> None:
    _, xml = _evtx_and_xml(tmp_path)
    odd = tmp_path / "odd.xml"
    odd.write_text(xml[0] + "\n" + f'<Event xmlns="{EVENT_NS}"><EventData/></Event>' + "\n" + xml[1])
    events, summary = _read(odd)
    assert len(events) == 2
    assert [(loss.where, loss.records) for loss in summary.losses] == [("line 2", 1)]


def test_large_export_streams(tmp_path: Path) -> None:
    """Thousands of events go through without building the whole tree (elements are cleared)."""
    _, xml = _evtx_and_xml(tmp_path)
    big = tmp_path / "big.xml"
    with open(big, "w", encoding="utf-8") as fh:
        for _ in range(2000):
            fh.write(xml[2] + "\n")
    events, summary = _read(big)
    assert len(events) == 2000 and summary.records_lost == 0
    assert events[-1].locator == "line 2000"
