"""`tlsdiag explain [TEXT | -]`: paste an error, get the matching events, causes and the fix."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tlsdiag.report import formats, render_explain

MAX_INPUT = 1024 * 1024  # a pasted text, not a log file


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "explain", help="explain a pasted event text, error code, cmdlet line or KB number",
        description="Find the catalog events and root causes that pasted text points to (an Event Viewer "
                    "description or details block, the XML view, Get-WinEvent Format-List/ConvertTo-Json/Export-Csv "
                    "output, Get-CsPoolFabricState output, an IIS status like 403.16, an error code like 0x800B0109 "
                    "in hex or decimal, a TLS alert, a .NET/curl/SQL client error line, an event id, a KB number; "
                    "English or German; the .NET secure-channel messages in a few more languages), with the fix for the best cause. A recognised error code or message is "
                    "answered with its meaning and what to check, most likely first. Reads stdin when TEXT is "
                    "missing or '-'. Exit status: 0 a match or a known code, 1 nothing matches well.")
    parser.add_argument("text", nargs="*", metavar="TEXT", help="the text (several words are joined); '-' for stdin")
    parser.add_argument("--format", choices=formats.REPORT_FORMATS, default="text",
                        help="answer format (default: text)")
    parser.add_argument("--signatures", type=Path, metavar="DIR", help="knowledge base directory (default: bundled)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from tlsdiag.kb import load_kb
    from tlsdiag.match import explain

    if not args.text or args.text == ["-"]:
        if sys.stdin.isatty():
            print("Paste the text, then press Ctrl-D (Ctrl-Z Enter on Windows):", file=sys.stderr)
        raw = sys.stdin.buffer.read(MAX_INPUT + 1)
        if len(raw) > MAX_INPUT:
            print(f"tlsdiag: error: stdin: more than {MAX_INPUT} bytes; paste the message, not a whole log",
                  file=sys.stderr)
            return 2
        text = raw.decode("utf-8", errors="replace").lstrip("\ufeff")
    else:
        text = " ".join(args.text)
    kb = load_kb(args.signatures)
    result = explain(text, kb)
    fmt = formats.pick(args.format, formats.REPORT_FORMATS)
    color = fmt == "text" and sys.stdout.isatty()
    sys.stdout.write(render_explain(result, fmt, color=color))
    return 0 if result.found else 1
