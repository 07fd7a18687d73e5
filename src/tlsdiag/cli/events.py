"""`tlsdiag events`: print the normalised events of logs, exports and collections."""

from __future__ import annotations

import argparse
import sys

from tlsdiag.errors import InputError
from tlsdiag.model import ReadSummary
from tlsdiag.report import formats
from tlsdiag.report.events import WRITERS, Selection, summary_lines
from tlsdiag.usertime import time_option

# tlsdiag.inputs (EVTX, XML and zip readers) is imported in run(): building the parser for any command
# must not load the readers. Its BACKENDS are repeated here for --help; a test keeps them equal.
BACKENDS = ("rust", "python")


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
    parser.add_argument("--since", metavar="T",
                        help="only events at or after T (ISO-8601 date or time, UTC unless a zone is given; "
                        "a date alone is its midnight)")
    parser.add_argument("--until", metavar="T", help="only events at or before T (the same forms as --since)")
    parser.add_argument("--format", choices=formats.EVENT_FORMATS, default="table",
                        help="table (default), jsonl (one JSON object per event), csv (with header), "
                        "timesketch (flat JSONL with datetime/timestamp_desc/message, also for Elastic bulk "
                        "ingest), timeline (CSV with Timeline Explorer columns and the matched signature)")
    parser.add_argument("--backend", choices=list(BACKENDS), default="rust",
                        help="EVTX parser: rust (pyevtx-rs, default) or python (python-evtx, slow)")
    parser.set_defaults(func=run)


def _ids_arg(value: str | None) -> frozenset[int]:
    if not value:
        return frozenset()
    try:
        return frozenset(int(part) for part in value.split(",") if part.strip())
    except ValueError:
        raise InputError(f"--id {value}", "event ids must be numbers separated by commas") from None


def _selection(args: argparse.Namespace) -> Selection:
    """The filters, checked before anything is read (a bad one is exit 2 with nothing printed)."""
    return Selection(channels=frozenset(c.lower() for c in args.channel or ()),
                     providers=frozenset(p.lower() for p in args.provider or ()),
                     ids=_ids_arg(args.ids), since=time_option(args.since, "since"),
                     until=time_option(args.until, "until"))


def run(args: argparse.Namespace) -> int:
    from tlsdiag.inputs import EVENT_KINDS, read_events, require_usable
    from tlsdiag.inputs.read import resolve_inputs

    selection = _selection(args)
    inputs = resolve_inputs(args.paths)  # a missing path is an InputError (exit 2) before any output
    if not inputs:
        raise InputError(", ".join(args.paths), "no files found (empty folder)")
    if not any(i.kind in EVENT_KINDS and not i.problem for i in inputs):
        probe = ReadSummary()
        for _ in read_events(inputs, summary=probe, backend=args.backend):
            pass
        require_usable(probe)
    summary = ReadSummary()
    write = WRITERS[formats.pick(args.format, formats.EVENT_FORMATS)]
    write(selection.select(read_events(inputs, summary=summary, backend=args.backend)), sys.stdout)
    sys.stdout.flush()
    require_usable(summary)
    for line in summary_lines(summary):
        print(line, file=sys.stderr)
    return 0
