"""Output formats are Literals (report/formats.py): the CLI's choices, the dispatchers and mypy agree."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import get_args

import pytest

from tlsdiag.cli import build_parser
from tlsdiag.report import formats
from tlsdiag.report.events import WRITERS
from tlsdiag.report.stores import RENDERERS
from tlsdiag.report.timeline import write

REPO = Path(__file__).resolve().parents[2]


def test_the_tuples_are_the_literals_and_every_format_has_a_writer() -> None:
    assert set(formats.SCAN_FORMATS) == set(get_args(formats.ScanFormat))
    assert set(formats.EVENT_FORMATS) == set(get_args(formats.EventFormat))
    assert set(RENDERERS) == set(formats.REPORT_FORMATS)
    assert set(WRITERS) == set(formats.EVENT_FORMATS)
    assert write.__annotations__["fmt"] == "TimelineFormat"


def test_the_cli_offers_exactly_the_literals() -> None:
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    choices = {name: next(a.choices for a in p._actions if a.dest == "format")
               for name, p in sub.choices.items() if any(a.dest == "format" for a in p._actions)}
    assert tuple(choices["scan"]) == formats.SCAN_FORMATS
    assert tuple(choices["explain"]) == formats.REPORT_FORMATS
    assert tuple(choices["stores"]) == formats.REPORT_FORMATS
    assert tuple(choices["events"]) == formats.EVENT_FORMATS


def test_pick_returns_the_member_or_names_the_allowed_ones() -> None:
    assert formats.pick("html", formats.SCAN_FORMATS) == "html"
    with pytest.raises(ValueError, match="one of text, json, markdown"):
        formats.pick("html", formats.REPORT_FORMATS)


@pytest.mark.slow
def test_mypy_rejects_a_misspelt_format(tmp_path: Path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text(
        "from typing import Any\n\n"
        "from tlsdiag.report import render_explain, render_scan\n"
        "from tlsdiag.report.stores import RENDERERS\n\n\n"
        "def f(result: Any) -> None:\n"
        "    render_scan(result, 'timeline')\n"
        "    render_scan(result, 'htm')\n"
        "    render_explain(result, 'html')\n"
        "    RENDERERS['csv']\n", encoding="utf-8")
    env = {**os.environ, "MYPYPATH": f"{REPO / 'src'}{os.pathsep}{REPO / 'tools'}"}
    done = subprocess.run([sys.executable, "-m", "mypy", "--config-file", os.devnull, "--cache-dir",
                           str(tmp_path / "cache"), "--no-error-summary", str(probe)],
                          capture_output=True, text=True, env=env, timeout=300, check=False)
    lines = [line.split(": error: ")[0].rsplit(":", 1)[1] for line in done.stdout.splitlines() if ": error: " in line]
    assert lines == ["9", "10", "11"], done.stdout + done.stderr
