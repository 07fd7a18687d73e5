"""`tlsdiag events`: print the normalised events of logs, exports and collections."""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections.abc import Iterable, Iterator
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from tlsdiag import textsafe
from tlsdiag.errors import InputError
from tlsdiag.model import ReadSummary, iso_utc

if TYPE_CHECKING:
    from tlsdiag.model import Event

# tlsdiag.inputs (EVTX, XML and zip readers) is imported in run(): building the parser for any command
# must not load the readers. Its BACKENDS are repeated here for --help; a test keeps them equal.
BACKENDS = ("rust", "python")

CSV_COLUMNS = ["timestamp", "computer", "channel", "provider", "event_id", "qualifiers", "level_name", "task",
               "task_name", "keywords", "record_id", "provider_guid", "data", "message", "source", "locator",
               "form"]


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "events", help="print the normalised events of EVTX files, XML/text exports, folders and zips",
        description="Read event logs (EVTX, wevtutil/Event Viewer XML, Event Viewer 'Copy details as text', "
        "the XML view as pasted, Get-WinEvent Format-List/ConvertTo-Json/Export-Csv, Winlogbeat NDJSON), "
        "folders and zip collections, and print the events in one normalised form. A one-line summary "
        "(files, records read, records lost and where) goes to stderr.")
    parser.add_argument("paths", nargs="+", metavar="PATH", help="files, folders or .zip archives")
    parser.add_argument("--channel", action="append", metavar="C",
                        help="only this channel/log name (case-insensitive; repeatable)")
    parser.add_argument("--provider", action="append", metavar="P",
                        help="only this provider/source name (case-insensitive; repeatable)")
    parser.add_argument("--id", dest="ids", metavar="N[,N...]", help="only these event ids")
    parser.add_argument("--since", metavar="T", help="only events at or after T (ISO-8601, UTC unless a zone is given)")
    parser.add_argument("--until", metavar="T", help="only events at or before T")
    parser.add_argument("--format", choices=["table", "jsonl", "csv", "timesketch", "timeline"], default="table",
                        help="table (default), jsonl (one JSON object per event), csv (with header), "
                        "timesketch (flat JSONL with datetime/timestamp_desc/message, also for Elastic bulk "
                        "ingest), timeline (CSV with Timeline Explorer columns and the matched signature)")
    parser.add_argument("--backend", choices=list(BACKENDS), default="rust",
                        help="EVTX parser: rust (pyevtx-rs, default) or python (python-evtx, slow)")
    parser.set_defaults(func=run)


def _time_arg(value: str | None, name: str) -> datetime | None:
    if value is None:
        return None
    text = value.strip()
    if len(text) == 10:
        text += "T00:00:00"
    from tlsdiag.inputs.normalize import parse_time

    ts = parse_time(text)
    if ts is None:
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            raise InputError(f"--{name} {value}", "not an ISO-8601 time (e.g. 2026-11-27T08:00:00Z)") from None
        ts = parsed.replace(tzinfo=timezone.utc) if parsed.tzinfo is None else parsed.astimezone(timezone.utc)
    return ts


def _ids_arg(value: str | None) -> set[int] | None:
    if not value:
        return None
    try:
        return {int(part) for part in value.split(",") if part.strip()}
    except ValueError:
        raise InputError(f"--id {value}", "event ids must be numbers separated by commas") from None


def _filtered(events: Iterable[Event], args: argparse.Namespace) -> Iterator[Event]:
    channels = {c.lower() for c in args.channel} if args.channel else None
    providers = {p.lower() for p in args.provider} if args.provider else None
    ids = _ids_arg(args.ids)
    since = _time_arg(args.since, "since")
    until = _time_arg(args.until, "until")
    for event in events:
        if channels is not None and event.channel.lower() not in channels:
            continue
        if providers is not None and event.provider.lower() not in providers:
            continue
        if ids is not None and event.event_id not in ids:
            continue
        if since is not None and event.timestamp < since:
            continue
        if until is not None and event.timestamp > until:
            continue
        yield event


def _data_text(event: Event) -> str:
    return "; ".join(f"{k}={v}" for k, v in event.data.items())


def _table(events: Iterable[Event], out) -> None:
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


def _jsonl(events: Iterable[Event], out) -> None:
    # ASCII-escaped: C1 controls and bidi overrides in event text stay inert on a terminal.
    for e in events:
        out.write(json.dumps(e.to_dict(), ensure_ascii=True) + "\n")


def _timeline(fmt: str):
    def write(events: Iterable[Event], out) -> None:
        from tlsdiag.kb import load_kb
        from tlsdiag.match.catalog import CatalogIndex
        from tlsdiag.report import timeline

        timeline.write(fmt, timeline.rows(events, CatalogIndex(load_kb())), out)

    return write


def _csv(events: Iterable[Event], out) -> None:
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for e in events:
        d = e.to_dict()
        d["data"] = json.dumps(d["data"], ensure_ascii=False)
        writer.writerow([textsafe.csv_cell("" if d[c] is None else d[c]) for c in CSV_COLUMNS])


def _losses_text(summary: ReadSummary, limit: int = 5) -> str:
    losses = summary.losses
    if not losses:
        return ""
    shown = [f"{textsafe.one_line(loss.source)} {textsafe.one_line(loss.where)}" for loss in losses[:limit]]
    more = f" and {len(losses) - limit} more" if len(losses) > limit else ""
    return "; lost at: " + ", ".join(shown) + more


def run(args: argparse.Namespace) -> int:
    from tlsdiag.inputs import EVENT_KINDS, read_events, require_usable
    from tlsdiag.inputs.read import resolve_inputs

    # validate filters before reading anything
    _ids_arg(args.ids)
    _time_arg(args.since, "since")
    _time_arg(args.until, "until")
    inputs = resolve_inputs(args.paths)  # a missing path is an InputError (exit 2) before any output
    if not inputs:
        raise InputError(", ".join(args.paths), "no files found (empty folder)")
    if not any(i.kind in EVENT_KINDS and not i.problem for i in inputs):
        probe = ReadSummary()
        for _ in read_events(inputs, summary=probe, backend=args.backend):
            pass
        require_usable(probe)
    summary = ReadSummary()
    events = _filtered(read_events(inputs, summary=summary, backend=args.backend), args)
    writer = {"table": _table, "jsonl": _jsonl, "csv": _csv,
              "timesketch": _timeline("timesketch"), "timeline": _timeline("timeline")}[args.format]
    out = sys.stdout
    writer(events, out)
    out.flush()
    require_usable(summary)
    print(f"tlsdiag events: {summary.one_line()}{_losses_text(summary)}", file=sys.stderr)
    for report in summary.files:
        if report.error:
            print(f"tlsdiag events: {textsafe.one_line(report.source)}: {textsafe.one_line(report.error)}",
                  file=sys.stderr)
    return 0
