"""Timeline outputs: Timesketch/Elastic JSONL and Timeline Explorer CSV from `tlsdiag events`."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from tlsdiag.cli import main
from tlsdiag.report.timeline import CSV_COLUMNS

SCENARIO = Path(__file__).resolve().parents[2] / "samples" / "ws2012r2-session-ticket"


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    assert main(["events", str(SCENARIO), *args]) == 0
    return capsys.readouterr().out


def test_timesketch_jsonl_has_required_fields_and_signatures(capsys: pytest.CaptureFixture[str]) -> None:
    lines = _run(capsys, "--format", "timesketch").splitlines()
    rows = [json.loads(line) for line in lines]
    assert rows and all({"datetime", "timestamp_desc", "message"} <= row.keys() for row in rows)
    assert all(row["datetime"].endswith("Z") and row["message"] for row in rows)
    matched = [row for row in rows if row["signature"]]
    assert {"lync-32042", "lync-61045"} <= {row["signature"] for row in matched}
    assert all("ws2012r2-session-tickets" in row["causes"] for row in matched if row["signature"] == "lync-61045")
    # background events are there too, unmatched, with a payload summary as message
    assert len(matched) < len(rows)


def test_timeline_csv_columns_and_rows(capsys: pytest.CaptureFixture[str]) -> None:
    text = _run(capsys, "--format", "timeline", "--id", "32042,61045")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == CSV_COLUMNS
    body = rows[1:]
    assert body and {r[4] for r in body} == {"32042", "61045"}
    assert all(r[8] in ("lync-32042", "lync-61045") for r in body)


def test_scan_timeline_lists_the_evidence_in_time_order(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["scan", "--quiet", "--format", "timesketch", str(SCENARIO)]) == 1
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert rows and all(row["signature"] for row in rows)
    assert [r["datetime"] for r in rows] == sorted(r["datetime"] for r in rows)
    assert {"lync-32042", "lync-61045"} <= {s for r in rows for s in r["signature"].split(",")}


def test_scan_timeline_rows_are_the_views_matched_events() -> None:
    """Every kept match of the scan is on one row of its event (all its entries), none twice, in time order."""
    from tlsdiag.report.timeline import view_rows
    from tlsdiag.report.view import scan_view
    from tlsdiag.scan import run_scan

    result = run_scan([SCENARIO])
    view = scan_view(result)
    items = view.matched_events
    assert sum(len(i.matches) for i in items) == len(result.matches) > 0
    assert len({(i.event.source, i.event.locator) for i in items}) == len(items)
    assert [i.event.timestamp for i in items] == sorted(m.event.timestamp for m in {
        (m.event.source, m.event.locator): m for m in result.matches}.values())
    rows = list(view_rows(view))
    assert [(r["source_file"], r["locator"]) for r in rows] == [(i.event.source, i.event.locator) for i in items]
    assert [r["signature"] for r in rows] == [",".join(m.entry.id for m in i.matches) for i in items]
