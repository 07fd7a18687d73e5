"""`tlsdiag scan PATH...`: read a collection, print the diagnoses (exit 0 nothing, 1 diagnosis, 2 unusable)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from tlsdiag.errors import InputError
from tlsdiag.report import SCAN_FORMATS, render_scan

# Only light modules at the top: every subcommand module is imported to build the parser, so
# anything imported here is paid by every tlsdiag command. Heavy imports go inside run().


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
                        help="report format (default: text; html is one self-contained file for a ticket)")
    parser.add_argument("-o", "--output", type=Path, metavar="FILE", help="write the report to FILE")
    parser.add_argument("--backend", choices=("rust", "python"), default="rust",
                        help="EVTX parser: rust (fast, default) or python (python-evtx, slow second opinion)")
    parser.add_argument("--quiet", action="store_true", help="no progress on stderr")
    parser.add_argument("--stats", action="store_true", help="also show where the time went")
    parser.add_argument("--signatures", type=Path, metavar="DIR", help="knowledge base directory (default: bundled)")
    parser.set_defaults(func=run)


class _Progress:
    """Bytes done / total on one stderr line with rate and ETA, at most 10 updates a second.

    The rate is measured from the first progress report (not from start-up), and shown once
    there is a third of a second to measure it over, so the first line promises no wild ETA.
    """

    def __init__(self) -> None:
        self.start: float | None = None
        self.first = 0
        self.last = 0.0
        self.shown = False

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if self.start is None:
            self.start, self.first = now, done
        if now - self.last < 0.1 and done < total:
            return
        self.last = now
        elapsed = now - self.start
        pct = f"{100 * done / total:5.1f}%" if total else "     "
        speed = ""
        if elapsed >= 0.3 and done > self.first:
            rate = (done - self.first) / elapsed
            eta = f"ETA {max(total - done, 0) / rate:5.0f} s" if total else ""
            speed = f"{rate / 1e6:7.1f} MB/s  {eta}"
        sys.stderr.write(f"\rscanning {done / 1e6:9.1f} / {total / 1e6:.1f} MB {pct}  {speed:<22}")
        sys.stderr.flush()
        self.shown = True

    def close(self) -> None:
        if self.shown:
            sys.stderr.write("\r" + " " * 79 + "\r")
            sys.stderr.flush()


def run(args: argparse.Namespace) -> int:
    from tlsdiag.kb import load_kb
    from tlsdiag.scan import default_paths, run_scan

    paths = args.paths or [str(p) for p in default_paths()]
    if not args.paths and not all(Path(p).exists() for p in paths):
        raise InputError(paths[0], "no path given and the bundled samples are missing")
    kb = load_kb(args.signatures)
    progress = _Progress() if (not args.quiet and sys.stderr.isatty()) else None
    try:
        result = run_scan(paths, backend=args.backend, progress=progress, kb=kb)
    finally:
        if progress is not None:
            progress.close()
    to_file = args.output is not None
    color = args.format == "text" and not to_file and sys.stdout.isatty()
    report = render_scan(result, args.format, color=color, stats=args.stats)
    if to_file:
        args.output.write_text(report, encoding="utf-8")
    else:
        sys.stdout.write(report)
    return result.exit_code
