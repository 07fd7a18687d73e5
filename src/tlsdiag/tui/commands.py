"""Command-palette provider: open any diagnosed cause, or any cause in the knowledge base.

App-wide and screen actions come from ``TlsdiagApp.get_system_commands``; this
provider adds one command per diagnosis, so a cause is two keystrokes away from
anywhere (Ctrl+P, type part of its title).
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from typing import Any

from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.content import Content
from textual.fuzzy import Matcher

from tlsdiag import textsafe


def _highlight(matcher: Matcher, title: str) -> Content:
    """Like Matcher.highlight, but the title is literal text (computer names come from event logs)."""
    content = Content(title)
    _, offsets = matcher.fuzzy_search.match(matcher.query, title)
    for offset in offsets:
        if not title[offset].isspace():
            content = content.stylize("bold underline", offset, offset + 1)
    return content


class CauseCommands(Provider):
    """"Open cause ..." for each diagnosis (per computer), then every cause the knowledge base knows."""

    def _commands(self) -> Iterator[tuple[str, str, Any]]:
        app: Any = self.app
        seen: set[str] = set()
        for d in getattr(app, "diagnoses", []):
            computer = textsafe.one_line(d.computer) or "unknown computer"
            title = f"Open cause: {d.cause.title} on {computer} ({d.confidence})"
            seen.add(d.cause.id)
            yield title, d.cause.summary, partial(app.open_cause, d.cause.id, d.computer)
        kb = getattr(app, "_kb", None)
        if kb is None:
            return
        for cause in kb.causes.values():
            if cause.id not in seen:
                yield (f"Read about cause: {cause.title}", cause.summary, partial(app.open_cause, cause.id, None))

    async def discover(self) -> Hits:
        for title, help_text, callback in self._commands():
            yield DiscoveryHit(Content(title), callback, text=title, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, help_text, callback in self._commands():
            score = matcher.match(title)
            if score > 0:
                yield Hit(score, _highlight(matcher, title), callback, text=title, help=help_text)
