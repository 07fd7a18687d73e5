"""`tlsdiag tui [PATH...]`: the interactive app (scan in the background, guided diagnosis, paste an error)."""

from __future__ import annotations

import argparse
from pathlib import Path

from tlsdiag.errors import InputError


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "tui", help="interactive diagnosis in the terminal (keyboard only, works over SSH at 80x24)",
        description="Open the interactive app. With paths it starts scanning them at once; without, it opens a "
                    "file picker rooted at the current folder that also offers the bundled samples. "
                    "Press ? in the app for the keys, q or Ctrl+C to quit.")
    parser.add_argument("paths", nargs="*", metavar="PATH", help="event logs, store exports, folders or zips")
    parser.add_argument("--backend", choices=("rust", "python"), default="rust",
                        help="EVTX parser: rust (fast, default) or python (python-evtx)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    for p in args.paths:
        if not Path(p).exists():
            raise InputError(p, "no such file or folder")
    from tlsdiag.tui import run as run_tui

    return run_tui(args.paths, backend=args.backend)
