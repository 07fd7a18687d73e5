"""`tlsdiag events` views: the normalised events as a table, JSON lines, CSV or a timeline, and the
one-line read summary; plus the selection the command's filters make.

These were in ``cli/events.py``; they live here next to ``timeline.py`` so that ``cli/`` only wires
arguments to calls.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import TextIO

from tlsdiag import textsafe
from tlsdiag.model import Event, ReadSummary, iso_utc
from tlsdiag.report.formats import EventFormat, TimelineFormat

CSV_COLUMNS = ["timestamp", "computer", "channel", "provider", "event_id", "qualifiers", "level_name", "task",
               "task_name", "keywords", "record_id", "provider_guid", "data", "message", "source", "locator",
               "form"]


@dataclass(frozen=True, slots=True)
class Selection:
    """Which events to list: channel and provider names (case-insensitive, exact), event ids, a time range.

    An empty field selects everything."""

    channels: frozenset[str] = frozenset()
    providers: frozenset[str] = frozenset()
    ids: frozenset[int] = frozenset()
    since: datetime | None = None
    until: datetime | None = None

    def matches(self, event: Event) -> bool:
        return ((not self.channels or event.channel.lower() in self.channels)
                and (not self.providers or event.provider.lower() in self.providers)
                and (not self.ids or event.event_id in self.ids)
                and (self.since is None or event.timestamp >= self.since)
                and (self.until is None or event.timestamp <= self.until))

    def select(self, events: Iterable[Event]) -> Iterator[Event]:
        return (e for e in events if self.matches(e))


def _data_text(event: Event) -> str:
    return "; ".join(f"{k}={v}" for k, v in event.data.items())


def write_table(events: Iterable[Event], out: TextIO) -> None:
    """Fixed-width columns for a terminal; the header only when there is a row."""
    header = (f"{'Time (UTC)':<20} {'Computer':<20} {'Channel':<24} {'Provider':<28} {'ID':>6} {'Level':<11} "
              "Data/Message\n")
    for e in events:
        if header:
            out.write(header)
            header = ""
        detail = _data_text(e) or (e.message or "")
        row = (f"{iso_utc(e.timestamp)[:19]:<20} {textsafe.one_line(e.computer)[:20]:<20} "
               f"{textsafe.one_line(e.channel)[:24]:<24} {textsafe.one_line(e.provider)[:28]:<28} "
               f"{e.event_id:>6} {e.level_name[:11]:<11} {textsafe.one_line(detail)[:160]}")
        out.write(row + "\n")


def write_jsonl(events: Iterable[Event], out: TextIO) -> None:
    """One ``Event.to_dict()`` per line (docs/json-output.md, schemas/event.schema.json)."""
    # ASCII-escaped: C1 controls and bidi overrides in event text stay inert on a terminal.
    for e in events:
        out.write(json.dumps(e.to_dict(), ensure_ascii=True) + "\n")


def write_csv(events: Iterable[Event], out: TextIO) -> None:
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for e in events:
        d = e.to_dict()
        d["data"] = json.dumps(d["data"], ensure_ascii=False)
        writer.writerow([textsafe.csv_cell("" if d[c] is None else d[c]) for c in CSV_COLUMNS])


def _timeline(fmt: TimelineFormat) -> Callable[[Iterable[Event], TextIO], None]:
    def write(events: Iterable[Event], out: TextIO) -> None:
        from tlsdiag.kb import load_kb
        from tlsdiag.match.catalog import CatalogIndex
        from tlsdiag.report import timeline

        timeline.write(fmt, timeline.rows(events, CatalogIndex(load_kb())), out)

    return write


WRITERS: dict[EventFormat, Callable[[Iterable[Event], TextIO], None]] = {
    "table": write_table, "jsonl": write_jsonl, "csv": write_csv,
    "timesketch": _timeline("timesketch"), "timeline": _timeline("timeline")}


def _losses_text(summary: ReadSummary, limit: int = 5) -> str:
    losses = summary.losses
    if not losses:
        return ""
    shown = [f"{textsafe.one_line(loss.source)} {textsafe.one_line(loss.where)}" for loss in losses[:limit]]
    more = f" and {len(losses) - limit} more" if len(losses) > limit else ""
    return "; lost at: " + ", ".join(shown) + more


def summary_lines(summary: ReadSummary, prog: str = "tlsdiag events") -> list[str]:
    """What was read and lost (the first few losses named), then one line per unusable file."""
    out = [f"{prog}: {summary.one_line()}{_losses_text(summary)}"]
    out += [f"{prog}: {textsafe.one_line(r.source)}: {textsafe.one_line(r.error)}" for r in summary.files if r.error]
    return out
