"""`tlsdiag scan --help` states how many matches the scan keeps for its timelines; it must be the scan's number."""

from __future__ import annotations

from tlsdiag.cli import build_parser
from tlsdiag.cli import scan as scan_cli
from tlsdiag.scan import MAX_KEPT_MATCHES


def test_help_names_the_number_of_kept_matches() -> None:
    assert scan_cli.KEPT_MATCHES == MAX_KEPT_MATCHES
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")  # the subcommand action
    text = " ".join(sub.choices["scan"].format_help().split())
    assert f"its first {MAX_KEPT_MATCHES:,} matches" in text
