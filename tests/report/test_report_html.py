"""The HTML report: self-contained, safe against hostile event text, rendered by a real browser."""

from __future__ import annotations

import shutil
import struct
import subprocess
import zlib
from datetime import datetime, timedelta, timezone
from pathlib import Path

import lxml.html
import pytest

from tlsdiag.cli import main
from tlsdiag.kb import load_kb
from tlsdiag.model import Event, freeze_data
from tlsdiag.report.html import render_scan
from tlsdiag.scan import analyse

REPO = Path(__file__).resolve().parents[2]
HOSTILE = '<script>alert(1)</script><img src=x onerror="alert(2)">\x1b[31m\u202eEVIL[bold]x[/bold]'


def _hostile_events() -> list[Event]:
    """A cause's own positive example, replayed with hostile text in computer name, source and data."""
    kb = load_kb()
    for cause in sorted(kb.causes.values(), key=lambda c: c.id):
        for example in cause.examples["positive"]:
            if "events" not in example:
                continue
            t0 = datetime(2026, 3, 1, 8, 0, tzinfo=timezone.utc)
            out = []
            for i, spec in enumerate(example["events"]):
                data = {k: f"{v} {HOSTILE}" for k, v in spec.get("data", {}).items()}
                ts = datetime.fromisoformat(spec["time"].replace("Z", "+00:00")) if "time" in spec \
                    else t0 + timedelta(minutes=i)
                out.append(Event(source=f"evidence/{HOSTILE}.evtx", locator=f"record {i + 1}", record_id=i + 1,
                                 timestamp=ts, channel=spec["channel"], provider=spec["provider"],
                                 event_id=spec["event_id"], level=spec.get("level", 2),
                                 computer="FE01" + HOSTILE, data=freeze_data(data), qualifiers=spec.get("qualifiers")))
            result = analyse(out, kb)
            if result.made:
                return out
    pytest.fail("no cause has an inline positive example that makes a diagnosis")


def test_html_is_self_contained_and_inert(tmp_path: Path) -> None:
    kb = load_kb()
    html = render_scan(analyse(_hostile_events(), kb))
    assert html.startswith("<!DOCTYPE html>")
    doc = lxml.html.fromstring(html)
    tags = {el.tag for el in doc.iter() if isinstance(el.tag, str)}
    assert not tags & {"script", "img", "iframe", "object", "embed", "link", "form", "input", "base"}, tags
    attrs = {name for el in doc.iter() if isinstance(el.tag, str) for name in el.attrib}
    # the timeline's SVG adds geometry and accessibility attributes only: no style, no event handler, no link
    svg = {"viewbox", "role", "aria-label", "x", "y", "x1", "y1", "x2", "y2", "width", "height", "text-anchor"}
    assert attrs <= {"class", "href", "lang", "charset", "name", "content"} | svg, attrs
    assert not any(name.startswith("on") or name in ("style", "src", "xlink:href") for name in attrs)
    assert any(HOSTILE[:20] in t for t in doc.xpath("//svg//title/text()"))  # there as text, not markup
    # The only links are to sources (KB articles); nothing is loaded from anywhere.
    assert all(h.startswith(("https://", "http://")) for h in doc.xpath("//a/@href"))
    style = "".join(doc.xpath("//style/text()"))
    assert "@import" not in style and "url(" not in style
    assert "\x1b" not in html and "\u202e" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


@pytest.fixture(scope="module")
def chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        pytest.fail("chromium is required for the HTML rendering test (python3 dev.py test installs it)")
    return path


def _browser(chromium: str, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={tmp_path / 'profile'}", *args],
        capture_output=True, text=True, timeout=120, check=False)


def _png_colours(path: Path) -> int:
    """Distinct byte values in the decoded image rows: a blank page has one or two."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat = 8, b""
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        if kind == b"IDAT":
            idat += data[pos + 8:pos + 8 + length]
        pos += 12 + length
    return len(set(zlib.decompress(idat)))


@pytest.mark.slow
def test_html_report_renders_in_headless_chromium(tmp_path: Path, chromium: str) -> None:
    report = tmp_path / "report.html"
    rc = main(["scan", "--quiet", "--format", "html", "-o", str(report), str(REPO / "samples" / "lync2013-fe-root-store")])
    assert rc == 1
    dom = _browser(chromium, tmp_path, "--dump-dom", report.as_uri())
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert "tlsdiag report" in dom.stdout and "Fix" in dom.stdout
    shot = tmp_path / "report.png"
    run = _browser(chromium, tmp_path, f"--screenshot={shot}", "--window-size=1200,1600", report.as_uri())
    assert run.returncode == 0 and shot.is_file(), run.stderr[-2000:]
    assert shot.stat().st_size > 20_000
    assert _png_colours(shot) > 20


@pytest.mark.slow
def test_hostile_html_stays_inert_in_the_browser(tmp_path: Path, chromium: str) -> None:
    report = tmp_path / "hostile.html"
    report.write_text(render_scan(analyse(_hostile_events(), load_kb())), encoding="utf-8")
    dom = _browser(chromium, tmp_path, "--dump-dom", report.as_uri())
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert "<script" not in dom.stdout.lower() and "<img" not in dom.stdout.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in dom.stdout


# ---------------------------------------------------------------- the report people look at


@pytest.fixture(scope="module")
def sample_result():
    from tlsdiag.scan import run_scan

    return run_scan([REPO / "samples" / "lync2013-fe-root-store"])


def test_timeline_marks_every_entry_diagnosis_window_and_store_fact(sample_result) -> None:
    from tlsdiag.report.evidence import evidence_groups, timeline

    doc = lxml.html.fromstring(render_scan(sample_result))
    [d] = sample_result.made
    groups = evidence_groups(d)
    [figure] = doc.xpath("//figure[@class='timeline']")
    svg = figure.xpath(".//svg")[0]
    labels = svg.xpath(".//text[@class='sub']/text()")
    assert [label.split(" ")[0] for label in labels] == [s.entry for s in timeline(
        sample_result, d.computer, [d], bins=60).series]
    assert {g.entry for g in groups} == {label.split(" ")[0] for label in labels}
    # each row's bars add up to the events of that entry the scan kept (here: all of them)
    assert sample_result.stats.matches_kept == sample_result.stats.matches
    for g in groups:
        bars = svg.xpath(f".//rect[@class='bar'][contains(title, ' x {g.entry} from')]/title/text()")
        assert sum(int(t.split(" x ")[0]) for t in bars) == g.count, g.entry
    [window] = svg.xpath(".//rect[@class='win']")
    span = f"evidence from {d.first_seen:%Y-%m-%d %H:%M} to {d.last_seen:%Y-%m-%d %H:%M}"
    assert span in window.xpath("title/text()")[0]
    caption = figure.xpath("string(.//figcaption)")
    assert "stores collected 2013-06-12 21:00" in caption  # the export was taken after the last event
    assert "registry exports do not record it" in caption
    # the narrow-screen version lists the same entries with sparklines
    rows = figure.xpath(".//table[@class='tlnarrow']//tr[td]")
    assert len(rows) == len(groups) and all(len(r.xpath("string(td[@class='spark'])")) == 20 for r in rows)
    tl = timeline(sample_result, d.computer, [d], bins=60)
    hours = round(tl.step.total_seconds() * 3 / 3600)  # three of the 60 bins per mark
    assert f"(one mark per {hours} hours)" in figure.xpath("string(.//table[@class='tlnarrow']//th[3])")


def test_evidence_is_grouped_with_one_example_and_the_rest_folded(sample_result) -> None:
    from tlsdiag.report.evidence import evidence_groups

    html = render_scan(sample_result)
    doc = lxml.html.fromstring(html)
    [d] = sample_result.made
    groups = evidence_groups(d)
    blocks = doc.xpath("//section[@class='card']//div[@class='group']")
    assert len(blocks) == len(groups) >= 4
    for block, g in zip(blocks, groups, strict=True):
        head = block.xpath("string(div[@class='ghead'])")
        assert head.startswith(f"{g.count}\u00d7 {g.title} {g.entry}")
        assert len(block.xpath("pre[@class='msg']")) == 1  # one example rendered
        [folded] = block.xpath("details")
        assert folded.xpath("string(summary)") == (f"{len(g.others)} more event(s) kept, and "
                                                   f"{g.count - 1 - len(g.others)} more counted")
        assert len(folded.xpath(".//tr[td]")) == len(g.others)
    # hundreds of matched events, but only the kept few are rendered
    rendered = doc.xpath("//section[@class='card']//td[@class='msg'] | //section[@class='card']//pre[@class='msg']")
    assert sum(g.count for g in groups) > 300  # hundreds of matched events ...
    assert len(rendered) == sum(1 + len(g.others) for g in groups) <= 10 * len(groups)  # ... the kept few shown


def test_store_proof_per_certificate_and_copyable_commands(sample_result) -> None:
    doc = lxml.html.fromstring(render_scan(sample_result))
    [d] = sample_result.made
    certs = doc.xpath("//section[@class='card']//div[@class='cert']")
    assert len(certs) == len(d.store_findings)
    for block, f in zip(certs, d.store_findings, strict=True):
        text = block.text_content()
        assert f.cert.thumbprint in text and f.cert.subject in text and f.check in text
        commands = block.xpath(".//pre[@class='cmd']/text()")
        assert [c for c in commands] == [s.command for s in f.fix if s.command]
    fix = [s.command.strip() for s in d.cause.fix if s.command]
    shown = [c.strip() for c in doc.xpath("//section[@class='card']/ol[@class='steps']//pre[@class='cmd']/text()")]
    assert all(c in shown for c in fix)
    style = "".join(doc.xpath("//style/text()"))
    assert "pre.cmd { user-select: all" in style  # one click selects a whole command, no script needed
    assert "@media print" in style and "::details-content" in style


def test_a_store_finding_has_one_rendering_in_the_proof_and_the_stores_section(sample_result) -> None:
    """The stores section shows every finding of every export the way a diagnosis's proof shows it: the
    same block, byte for byte, with the certificate and its fix commands (not a second, shorter form)."""
    doc = lxml.html.fromstring(render_scan(sample_result))
    [d] = sample_result.made
    proof = [lxml.html.tostring(b) for b in doc.xpath("//section[@class='card']//div[@class='cert']")]
    listed = doc.xpath("//div[@class='cert'][not(ancestor::section)]")
    findings = [f for a in sample_result.stores for f in a.findings]
    assert len(listed) == len(findings) >= len(proof) == len(d.store_findings) > 0
    for block, f in zip(listed, findings, strict=True):
        text = block.text_content()
        assert f.check in text and f.why in text and (f.cert is None or f.cert.thumbprint in text)
        assert block.xpath(".//pre[@class='cmd']/text()") == [s.command for s in f.fix if s.command]
    rendered = {lxml.html.tostring(b) for b in listed}
    assert all(b in rendered for b in proof)


@pytest.mark.slow
@pytest.mark.parametrize(("width", "name"), [(1200, "desktop"), (420, "narrow")])
def test_report_in_headless_chromium_at_desktop_and_narrow_width(tmp_path: Path, chromium: str, width: int,
                                                                 name: str) -> None:
    """The DOM Chromium builds keeps the figure, the folded details and the commands; at each width the
    page is drawn without horizontal overflow of the body (the SVG or the narrow table is shown)."""
    report = tmp_path / "report.html"
    assert main(["scan", "--quiet", "--format", "html", "-o", str(report),
                 str(REPO / "samples" / "lync2013-fe-root-store")]) == 1
    dom = _browser(chromium, tmp_path, "--dump-dom", f"--window-size={width},1600", report.as_uri())
    assert dom.returncode == 0, dom.stderr[-2000:]
    tree = lxml.html.fromstring(dom.stdout)
    assert tree.xpath("//figure[@class='timeline']//svg") and tree.xpath("//details/summary")
    assert tree.xpath("//pre[@class='cmd']") and not tree.xpath("//script")
    shot = tmp_path / f"{name}.png"
    run = _browser(chromium, tmp_path, f"--screenshot={shot}", f"--window-size={width},1600", "--hide-scrollbars",
                   report.as_uri())
    assert run.returncode == 0 and shot.is_file(), run.stderr[-2000:]
    assert _png_colours(shot) > 20
    assert struct.unpack(">II", shot.read_bytes()[16:24]) == (width, 1600)


@pytest.mark.slow
def test_timeline_marks_when_a_certificate_key_was_written_in_a_hive(tmp_path: Path) -> None:
    """An offline SOFTWARE hive records each certificate key's last write time: the timeline marks it for
    the certificates that prove the diagnosis (a reg export, as in the sample, does not record it)."""
    from tlsdiag.scan import run_scan
    from tlsdiag_devkit import storegen as td

    folder = tmp_path / "FE"
    folder.mkdir()
    for log in (REPO / "samples" / "lync2013-fe-root-store").glob("*.evtx"):
        shutil.copy(log, folder / log.name)
    stores = td.lync_root_store("lyncse01.contoso.local")
    added = datetime(2013, 6, 11, 14, 5, tzinfo=timezone.utc)
    planted = [e for e in stores.entries if e.store == "ROOT" and e.label]
    assert planted
    for e in planted:
        e.written = added
    td.write_hives(stores, folder / "hives")
    result = run_scan([folder])
    [d] = result.made
    assert d.store == "proven" and all(f.cert.written == added for f in d.store_findings if f.cert)
    doc = lxml.html.fromstring(render_scan(result))
    facts = doc.xpath("//figure[@class='timeline']//line[@class='fact']/title/text()")
    assert any("last written (added or changed) (2013-06-11 14:05)" in t for t in facts), facts
    assert "2013-06-11T14:05:00Z (added to the store or changed then)" in doc.text_content()
