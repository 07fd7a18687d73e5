"""Building blocks that turn untrusted text into inert ``rich.text.Text`` for widgets.

A plain ``str`` given to a Textual widget is parsed as markup, so event data such
as ``[link=...]`` would become a link. Everything shown in the TUI is built here
as ``Text`` objects from ``textsafe.terminal`` output, which escapes control
characters; styles are applied by span, never by markup.
"""

from __future__ import annotations

import io
import re
from datetime import datetime
from typing import Any

from rich.console import Console
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


# A line's indent: leading spaces plus a list marker ("1. ", "- ", "• ", a count "102 × ", a finding mark)
# and the spaces after it, or a label column ("Source        ", "thumbprint:  ", "KB2795828  ").
_LEAD = re.compile(r"^ *(?:(?:\d+\.|\d+ ×|[-•*×✗✓!·]) +|[A-Za-z][\w():]*(?: [\w():]+)* {2,})?")


def hang(text: Text, width: int) -> Text:
    """``text`` wrapped to ``width`` columns with hanging indents: a wrapped line continues under the
    start of its own text (after its indent and list marker), not at column 0.

    Textual wraps a Static at column 0; wrapping here first, at the width the widget shows, keeps
    evidence, fix steps and commands apart at 80 columns. Styles (spans) are kept."""
    if width < 20:
        return text
    console = Console(width=width, file=io.StringIO(), color_system=None, legacy_windows=False)
    out: list[Text] = []
    for row in text.split("\n", allow_blank=True):
        if row.cell_len <= width:
            out.append(row)
            continue
        lead = _LEAD.match(row.plain)  # every part of the pattern is optional: it matches every row
        indent = min(len(lead.group(0)) if lead else 0, width // 2)
        head, body = row[:indent], row[indent:]
        parts = body.wrap(console, width - indent, overflow="fold")
        for n, part in enumerate(parts):
            part.rstrip()
            out.append(Text.assemble(head if n == 0 else " " * indent, part))
    return Text("\n").join(out)


def text_width(scroll: Any, fallback: int) -> int:
    """Columns a Static inside the scroll container ``scroll`` gets: its width less padding and a vertical
    scrollbar (always reserved, so a scrollbar that appears later does not make Textual wrap at column 0)."""
    width = scroll.size.width or fallback
    return width - scroll.styles.padding.width - scroll.styles.scrollbar_size_vertical
