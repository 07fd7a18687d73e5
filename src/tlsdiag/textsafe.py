"""Make attacker-controlled event text inert before any view shows it.

Anyone who can make a server log something controls event data. Terminal
escape sequences, other C0/C1 controls and bidirectional overrides in that text
must never reach the administrator's terminal as controls, and the Rich/Textual
markup, HTML and spreadsheet-formula syntax in it must stay literal text.
Each view calls the one function that fits its medium.
"""

from __future__ import annotations

import html
import re

# C0 controls except TAB/LF, DEL, C1 controls, and the Unicode bidi/format characters
# that can reorder or hide text (Trojan Source class): LRE RLE PDF LRO RLO, LRI RLI FSI PDI,
# LRM RLM ALM, zero-width joiners and friends, BOM, line/paragraph separators.
_UNSAFE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]"
)


def _escape(ch: str) -> str:
    code = ord(ch)
    if code <= 0xFF:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}"


def terminal(text: object, *, keep_newlines: bool = True) -> str:
    """Plain text safe for a terminal: controls become visible ``\\xNN`` escapes."""
    value = "" if text is None else str(text)
    value = value.replace("\r\n", "\n")
    if not keep_newlines:
        value = value.replace("\n", " ").replace("\t", " ")
    return _UNSAFE.sub(lambda m: _escape(m.group()), value)


def one_line(text: object) -> str:
    """Terminal-safe and on one line (tables, CSV summaries)."""
    return terminal(text, keep_newlines=False)


def rich_markup(text: object) -> str:
    """Safe to embed in Rich/Textual markup: controls escaped, square brackets escaped."""
    from rich.markup import escape

    return escape(terminal(text))


def markdown(text: object) -> str:
    """Inline Markdown text that renders literally (no HTML, links, emphasis or code spans)."""
    value = one_line(text)
    value = html.escape(value, quote=False)
    return re.sub(r"([\\`*_{}\[\]()#+!|~>-])", r"\\\1", value)


def markdown_code(text: object) -> str:
    """Content for a fenced code block: controls escaped, fences broken up."""
    return terminal(text).replace("```", "``\\`")


def html_text(text: object) -> str:
    """Text for an HTML document: controls escaped, then HTML-escaped."""
    return html.escape(terminal(text), quote=True)


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(text: object) -> str:
    """A CSV cell that spreadsheets show as text, never evaluate (formula injection)."""
    value = one_line(text)
    if value.startswith(_FORMULA_START):
        value = "'" + value
    return value
