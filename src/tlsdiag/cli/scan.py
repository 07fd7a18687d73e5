"""`tlsdiag scan PATH...`: read a collection, print the diagnoses (exit 0 nothing, 1 diagnosis, 2 unusable)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tlsdiag.errors import InputError
from tlsdiag.report import SCAN_FORMATS, formats, render_scan
from tlsdiag.report.progress import ProgressLine

# Only light modules at the top: every subcommand module is imported to build the parser, so
# anything imported here is paid by every tlsdiag command. Heavy imports go inside run().


# scan.MAX_KEPT_MATCHES, repeated for --help (tlsdiag.scan is heavy to import); a test keeps them equal.
KEPT_MATCHES = 20_000


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "scan", help="diagnose a collection of event logs and certificate-store exports",
        description="Read event logs (.evtx, XML or Event Viewer text exports, the XML view as pasted, Get-WinEvent "
                    "Format-List/ConvertTo-Json/Export-Csv, Winlogbeat NDJSON, folders, zips) and certificate-store "
                    "exports, and report per computer the likely causes, the evidence, the KB articles and the fix. "
                    "Without a path, the bundled sample collections are scanned. Exit status: 0 nothing found, "
                    "1 a diagnosis was made, 2 unusable input.")
    parser.add_argument("paths", nargs="*", metavar="PATH", help="files, folders or zip archives")
    parser.add_argument("--format", choices=SCAN_FORMATS, default="text",
                        help="report format (default: text; html is one self-contained file for a ticket; "
                        f"timesketch and timeline list the matched events the scan keeps, its first {KEPT_MATCHES:,} "
                        "matches: for every event use tlsdiag events --format timeline)")
    parser.add_argument("-o", "--output", type=Path, metavar="FILE", help="write the report to FILE")
    parser.add_argument("--backend", choices=("rust", "python"), default="rust",
                        help="EVTX parser: rust (fast, default) or python (python-evtx, slow second opinion)")
    parser.add_argument("--quiet", action="store_true", help="no progress on stderr")
    parser.add_argument("--stats", action="store_true", help="also show where the time went")
    parser.add_argument("--signatures", type=Path, metavar="DIR", help="knowledge base directory (default: bundled)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from tlsdiag.kb import load_kb
    from tlsdiag.scan import default_paths, run_scan

    paths = args.paths or [str(p) for p in default_paths()]
    if not args.paths and not all(Path(p).exists() for p in paths):
        raise InputError(paths[0], "no path given and the bundled samples are missing")
    kb = load_kb(args.signatures)
    progress = ProgressLine() if (not args.quiet and sys.stderr.isatty()) else None
    try:
        result = run_scan(paths, backend=args.backend, progress=progress, kb=kb)
    finally:
        if progress is not None:
            progress.close()
    fmt = formats.pick(args.format, SCAN_FORMATS)
    to_file = args.output is not None
    color = fmt == "text" and not to_file and sys.stdout.isatty()
    report = render_scan(result, fmt, color=color, stats=args.stats)
    if to_file:
        args.output.write_text(report, encoding="utf-8")
    else:
        sys.stdout.write(report)
    return result.exit_code
