"""Timeline outputs for the tools analysts already use.

Two shapes, one row per event:
- ``timesketch`` JSONL: a flat object with the three fields Timesketch requires
  (``datetime``, ``timestamp_desc``, ``message``) plus flat event fields; the
  same lines feed an Elastic bulk ingest or any JSONL-reading SIEM.
- ``timeline`` CSV: the columns Timeline Explorer users know from EvtxECmd
  (time, computer, channel, provider, event id, level, a payload summary,
  the matched signature), with spreadsheet-formula injection neutralised.

Messages are the catalog rendering when the event is a known one, otherwise
the input's own message, otherwise a ``name=value`` summary of the data.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator
from typing import Any, TextIO

from tlsdiag import textsafe
from tlsdiag.kb.model import KnowledgeBase
from tlsdiag.match.catalog import CatalogIndex, Match
from tlsdiag.match.render import render_message
from tlsdiag.model import Event, iso_utc
from tlsdiag.report.formats import TimelineFormat
from tlsdiag.report.view import ScanView

CSV_COLUMNS = ["TimeCreated", "Computer", "Channel", "Provider", "EventId", "Level", "RecordNumber",
               "PayloadSummary", "Signature", "Causes", "Message", "SourceFile", "Locator"]


def payload_summary(event: Event, limit: int = 300) -> str:
    text = "; ".join(f"{k}={v}" for k, v in event.data.items())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _row(event: Event, matches: list[Match], causes: dict[str, list[str]]) -> dict[str, Any]:
    entry = matches[0].entry if matches else None
    if entry is not None:
        message = render_message(event, entry, fields=matches[0].fields)
    else:
        message = event.message or f"{event.provider} {event.event_id}: {payload_summary(event)}"
    signatures = [m.entry.id for m in matches]
    cause_ids = sorted({c for s in signatures for c in causes.get(s, [])})
    return {
        "datetime": iso_utc(event.timestamp),
        "timestamp_desc": "Event Recorded",
        "message": message,
        "computer": event.computer,
        "channel": event.channel,
        "provider": event.provider,
        "event_id": event.event_id,
        "level": event.level_name,
        "record_id": event.record_id,
        "signature": ",".join(signatures),
        "causes": ",".join(cause_ids),
        "payload": payload_summary(event),
        "source_file": event.source,
        "locator": event.locator,
        "tag": ["tlsdiag", *signatures] if signatures else ["tlsdiag"],
    }


def _cause_index(kb: KnowledgeBase) -> dict[str, list[str]]:
    """Catalog entry id -> the causes that count it as evidence (the Causes column)."""
    out: dict[str, list[str]] = {}
    for cause in kb.causes.values():
        for evidence in cause.evidence:
            out.setdefault(evidence.event, []).append(cause.id)
    return out


def rows(events: Iterable[Event], index: CatalogIndex) -> Iterator[dict[str, Any]]:
    """Rows for every event (``tlsdiag events``), each labelled with the catalog entries it matches."""
    causes = _cause_index(index.kb)
    for event in events:
        yield _row(event, list(index.match(event)), causes)


def view_rows(view: ScanView) -> Iterator[dict[str, Any]]:
    """Rows for a scan's matched events (one row per event, all its signatures), in time order, as the
    view model orders them (``ScanView.matched_events``)."""
    causes = _cause_index(view.result.kb)
    for item in view.matched_events:
        yield _row(item.event, list(item.matches), causes)


def write_timesketch(rows_: Iterable[dict[str, Any]], out: TextIO) -> int:
    """JSONL, ASCII-escaped so that hostile text cannot act on a terminal showing it."""
    n = 0
    for row in rows_:
        out.write(json.dumps(row, ensure_ascii=True, sort_keys=False) + "\n")
        n += 1
    return n


def write_csv(rows_: Iterable[dict[str, Any]], out: TextIO) -> int:
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    n = 0
    for row in rows_:
        writer.writerow([textsafe.csv_cell(v) for v in (
            row["datetime"], row["computer"], row["channel"], row["provider"], row["event_id"], row["level"],
            row["record_id"] if row["record_id"] is not None else "", row["payload"], row["signature"],
            row["causes"], row["message"], row["source_file"], row["locator"])])
        n += 1
    return n


def write(fmt: TimelineFormat, rows_: Iterable[dict[str, Any]], out: TextIO) -> int:
    if fmt == "timesketch":
        return write_timesketch(rows_, out)
    if fmt == "timeline":
        return write_csv(rows_, out)
    raise ValueError(f"unknown timeline format {fmt!r}")
