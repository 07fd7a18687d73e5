"""Building blocks that turn untrusted text into inert ``rich.text.Text`` for widgets.

A plain ``str`` given to a Textual widget is parsed as markup, so event data such
as ``[link=...]`` would become a link. Everything shown in the TUI is built here
as ``Text`` objects from ``textsafe.terminal`` output, which escapes control
characters; styles are applied by span, never by markup.
"""

from __future__ import annotations

from datetime import datetime

from rich.text import Text

from tlsdiag import textsafe
from tlsdiag.model import iso_utc

# Symbol, word and style per confidence: never colour alone (monochrome terminals, colour blindness).
CONFIDENCE = {
    "high": ("●●●", "high", "bold red"),
    "medium": ("●●○", "medium", "bold yellow"),
    "low": ("●○○", "low", "yellow"),
    "weak": ("○○○", "weak", "dim"),
    "ruled out": ("✗", "ruled out", "dim strike"),
    "excluded": ("–", "excluded", "dim"),
}

# Finding marks in the stores tree and the proof step.
PROBLEM = ("✗", "bold red")
CLEAN = ("✓", "green")
WARNING = ("!", "yellow")
INFO = ("·", "dim")


def safe(text: object, style: str = "") -> Text:
    """Untrusted text (may span lines) as a literal Text."""
    return Text(textsafe.terminal(text), style=style)


def line(text: object, style: str = "") -> Text:
    """Untrusted text on one line as a literal Text."""
    return Text(textsafe.one_line(text), style=style)


def when(ts: datetime | None) -> str:
    return iso_utc(ts) if ts else "-"


def short_time(ts: datetime | None) -> str:
    return ts.strftime("%Y-%m-%d %H:%M:%S") if ts else "-"


def confidence_badge(confidence: str) -> Text:
    symbol, word, style = CONFIDENCE.get(confidence, ("?", confidence, ""))
    return Text.assemble((symbol.ljust(3), style), " ", (word.ljust(9), style))


def heading(text: str) -> Text:
    return Text(text, style="bold underline")


def join_lines(parts: list[Text]) -> Text:
    return Text("\n").join(parts)
