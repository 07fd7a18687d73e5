"""A TextArea where Enter submits (opens the best match) and pasted multi-line text stays intact.

Pasted text arrives as one Paste event, so Enter is free for "open"; a line
break can still be typed with Ctrl+J.
"""

from __future__ import annotations

from textual import events
from textual.message import Message
from textual.widgets import TextArea


class PasteArea(TextArea):
    class Submitted(Message):
        def __init__(self, area: PasteArea) -> None:
            super().__init__()
            self.area = area

    async def _on_key(self, event: events.Key) -> None:
        if event.key == "enter":
            event.stop()
            event.prevent_default()
            self.post_message(self.Submitted(self))
            return
        if event.key == "ctrl+j":
            event.stop()
            event.prevent_default()
            start, end = self.selection
            self._replace_via_keyboard("\n", start, end)
            return
        await super()._on_key(event)
