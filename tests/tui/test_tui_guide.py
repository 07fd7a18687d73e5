"""The guided view's content at 80 columns: honest proof steps and wrapped lines that keep their indent.

Runs the real pipeline on the bundled front-end sample (its store export proves the root-store cause)
and the real Textual pilot at 80x24.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest
from rich.text import Text
from textual.widgets import Static

from tlsdiag.kb import load_kb
from tlsdiag.scan import run_scan
from tlsdiag.tui.app import TlsdiagApp
from tlsdiag.tui.guide import build_steps
from tlsdiag.tui.render import hang

SAMPLE = Path(__file__).resolve().parents[2] / "samples" / "lync2013-fe-root-store"


@pytest.fixture(scope="module")
def result():
    return run_scan([SAMPLE])


def _diagnosis(result, cause_id: str):
    return next(d for d in result.diagnoses if d.cause.id == cause_id)


def test_proof_of_a_cause_without_store_check_says_so_and_shows_the_stores(result) -> None:
    d = _diagnosis(result, "pool-quorum-loss")
    assert not d.cause.proves  # the premise: no store check can prove or rule out a quorum loss
    proof = build_steps(d, d.cause, result=result)[2]
    text = proof.body.plain
    assert "This cause has no certificate-store check" in text
    assert "No certificate-store data" not in text and "reg export" not in text and not proof.commands
    assert f"What the stores showed for {d.computer}" in text
    root = _diagnosis(result, "root-store-non-self-signed")
    for f in root.store_findings:
        if f.cert is not None:
            assert f.cert.subject in text
    assert f"proves: {root.cause.title}" in text
    assert "checked and clean: " in text


def test_proof_without_any_store_export_asks_for_none_when_no_check_exists(result) -> None:
    d = _diagnosis(result, "pool-quorum-loss")
    text = build_steps(d, d.cause, result=None)[2].body.plain
    assert "No store export is needed for this cause." in text


def _rows(text: Text) -> list[str]:
    return text.plain.split("\n")


def test_hang_keeps_each_wrapped_line_under_its_own_text() -> None:
    body = Text.assemble("  1. ", ("Move the certificate to Intermediate, then restart the front end service " * 2,
                                   "bold"), "\n    reg export HKLM\\SYSTEM\\CurrentControlSet\\Control\\"
                         "SecurityProviders\\SCHANNEL C:\\tlsdiag-backup\\schannel.reg /y\nshort line")
    out = hang(body, 40)
    rows = _rows(out)
    assert all(len(r) <= 40 for r in rows)
    assert rows[0].startswith("  1. Move") and all(r.startswith("     ") for r in rows[1:4])
    command = [r for r in rows if "reg export" in r or "SCHANNEL" in r or "schannel.reg" in r]
    assert len(command) >= 2 and all(r.startswith("    ") for r in command)
    assert rows[-1] == "short line"
    assert re.sub(r"\s+", "", out.plain) == re.sub(r"\s+", "", body.plain)  # nothing lost or added
    assert any(span.style == "bold" for span in out.spans)  # styles survive the wrapping


@pytest.mark.slow
@pytest.mark.parametrize("step", ["1", "3", "4", "5"])
def test_guided_steps_at_80_columns_wrap_under_their_indent(step: str) -> None:
    """In the real app at 80x24 the step text is shown pre-wrapped: no line is wider than the body, so
    Textual never wraps one again at column 0, and every continuation keeps its row's indent."""
    kb = load_kb()

    async def scenario() -> None:
        app = TlsdiagApp([SAMPLE], kb=kb)
        async with app.run_test(size=(80, 24)) as pilot:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 60
            while app.result is None or app.scanning:
                assert loop.time() < deadline, "scan did not finish"
                await pilot.pause(0.05)
            await pilot.press("enter", step)
            await pilot.pause()
            screen = app.screen
            width = screen._body_width()
            assert 60 <= width < 80
            shown = str(screen.query_one("#step-body", Static).visual)
            source = screen.current_step.body
            assert shown == hang(source, width).plain
            assert max(len(r) for r in shown.split("\n")) <= width
            wrapped = [r for r in _rows(source) if len(r) > width]
            assert wrapped, "this step has lines longer than 80 columns, the case under test"
            assert any(row.startswith(" ") for row in wrapped), "no indented long line to test"
            lines = shown.split("\n")
            for row in wrapped:
                indent = len(row) - len(row.lstrip(" "))
                first = lines.index(next(x for x in lines if len(x.strip()) > 3 and row.startswith(x.rstrip())))
                assert lines[first + 1].startswith(" " * indent), (row, lines[first + 1])

    asyncio.run(scenario())


def test_sparkline_scales_to_the_busiest_bin() -> None:
    from tlsdiag.report.evidence import sparkline

    assert sparkline([0, 1, 4, 8]) == " ▁▄█"
    assert sparkline([0, 0]) == "  " and sparkline([]) == ""
    assert sparkline([3]) == "█"


def test_what_happened_shows_each_catalog_entry_once_with_its_sparkline(result) -> None:
    from tlsdiag.report.evidence import evidence_groups, sparkline, timeline
    from tlsdiag.tui.guide import SPARK_BINS

    d = _diagnosis(result, "root-store-non-self-signed")
    text = build_steps(d, d.cause, result=result)[0].body.plain
    tl = timeline(result, d.computer, [d], bins=SPARK_BINS)
    bars = {s.entry: sparkline(s.counts) for s in tl.series}
    rows = text.split("\n")
    groups = evidence_groups(d)
    assert len(groups) >= 4
    for g in groups:
        [head] = [i for i, r in enumerate(rows) if r.startswith(f"  {g.count:>5} × {g.title} [")]
        assert rows[head + 1].startswith("          " + bars[g.entry] + "  ")
        assert sum(1 for r in rows if r.startswith(f"    {g.example.event.source}, {g.example.event.locator}")) == 1
    # one example per entry, not every kept event
    assert text.count("(+") == sum(1 for g in groups if g.count > 1)


def test_hang_continues_a_labelled_value_under_the_value() -> None:
    """Field lines of the events detail pane and the store findings ("Source        ...",
    "thumbprint:  ...", "  KB2795828  ...") continue under their value, not under the label."""
    text = Text("Source        samples/lync2013-fe-root-store/Microsoft-Windows-WindowsFabric%4Admin.evtx chunk 0\n"
                "  KB2795828  Lync Server 2013 Front-End service cannot start in Windows Server 2012\n"
                "thumbprint:  50E12DC41A416170E87D52AE88FB1A620E6EB652  in local machine ROOT")
    rows = _rows(hang(text, 50))
    assert rows[0].startswith("Source        samples/") and rows[1].startswith(" " * 14 + "soft-Windows")
    kb = rows.index(next(r for r in rows if r.startswith("  KB2795828  Lync")))
    assert rows[kb + 1].startswith(" " * 13) and not rows[kb + 1].startswith(" " * 14)
    assert rows[-1].startswith(" " * 13) and "ROOT" in rows[-1]
