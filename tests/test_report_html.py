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

REPO = Path(__file__).resolve().parent.parent
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
    assert attrs <= {"class", "href", "lang", "charset", "name", "content"}, attrs
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


def test_hostile_html_stays_inert_in_the_browser(tmp_path: Path, chromium: str) -> None:
    report = tmp_path / "hostile.html"
    report.write_text(render_scan(analyse(_hostile_events(), load_kb())), encoding="utf-8")
    dom = _browser(chromium, tmp_path, "--dump-dom", report.as_uri())
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert "<script" not in dom.stdout.lower() and "<img" not in dom.stdout.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in dom.stdout
