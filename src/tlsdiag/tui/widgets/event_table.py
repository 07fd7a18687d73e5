"""A virtual table of events: only the visible rows are ever turned into text.

Textual's DataTable builds every row up front; measured here with 100,000 rows it
took 3.7 s to add them and 27 s to draw the first screen. This widget keeps a
reference to the event list and a list of row indices (the filter result), and
renders a row only when it scrolls into view (the Line API, as Toolong does for
log files). Filtering and appending therefore cost one list assignment on the UI
thread; the filter itself runs in a worker.

Every cell is attacker-controlled text: it goes through ``textsafe.one_line`` and
is drawn as plain Segments, never parsed as markup.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import ClassVar

from rich.segment import Segment
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Region, Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from tlsdiag import textsafe
from tlsdiag.model import Event

# (title, width); the last column takes the remaining width.
COLUMNS: tuple[tuple[str, int], ...] = (
    ("Time (UTC)", 19),
    ("Computer", 10),
    ("Lvl", 4),
    ("Id", 5),
    ("Provider", 14),
    ("Message", 0),
)
LEVEL_SHORT = {"Critical": "Crit", "Error": "Err", "Warning": "Warn", "Information": "Info", "Verbose": "Verb"}


def _cell(text: str, width: int) -> str:
    """Pad or cut to exactly ``width`` characters (ASCII-width assumption is fixed by the Strip crop)."""
    if len(text) > width:
        return text[: max(0, width - 1)] + "…"
    return text.ljust(width)


class EventTable(ScrollView, can_focus=True):
    """Scrollable, virtual, read-only table of ``Event`` rows with a cursor."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "cursor(-1)", "Up", show=False),
        Binding("down", "cursor(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home", "jump(0)", "First", show=False),
        Binding("end", "jump(-1)", "Last", show=False),
        Binding("enter", "select", "Details", show=False),
    ]

    COMPONENT_CLASSES: ClassVar[set[str]] = {"event-table--header", "event-table--cursor"}

    DEFAULT_CSS = """
    EventTable { height: 1fr; }
    EventTable > .event-table--header { text-style: bold reverse; }
    EventTable > .event-table--cursor { text-style: reverse; }
    """

    cursor_row: reactive[int] = reactive(0)

    class Highlighted(Message):
        """The cursor moved to another event."""

        def __init__(self, table: EventTable, event: Event | None, row: int) -> None:
            super().__init__()
            self.table = table
            self.event = event
            self.row = row

    class Selected(Highlighted):
        """Enter was pressed on an event."""

    def __init__(self, *, message_for: Callable[[Event], str] | None = None,
                 name: str | None = None, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._events: Sequence[Event] = []
        self._rows: Sequence[int] = range(0)
        self._message_for = message_for
        self._text_cache: dict[int, str] = {}

    # ---- data -------------------------------------------------------------------------------------------

    @property
    def row_count(self) -> int:
        return len(self._rows)

    @property
    def source(self) -> Sequence[Event]:
        return self._events

    def set_rows(self, events: Sequence[Event], rows: Sequence[int] | None = None) -> None:
        """Show ``events[i]`` for ``i`` in ``rows`` (all of them when None). O(1): nothing is rendered."""
        if events is not self._events:
            self._text_cache.clear()
        self._events = events
        self._rows = range(len(events)) if rows is None else rows
        self._resize()
        self.cursor_row = min(self.cursor_row, max(0, len(self._rows) - 1))
        self.refresh()
        self._post_highlight()

    def grow(self) -> None:
        """The event list was appended to (scan in progress): show the new rows when unfiltered."""
        if isinstance(self._rows, range) and self._rows.stop != len(self._events):
            self._rows = range(len(self._events))
            self._resize()
            self.refresh()

    def event_at(self, row: int) -> Event | None:
        if 0 <= row < len(self._rows):
            return self._events[self._rows[row]]
        return None

    @property
    def current(self) -> Event | None:
        return self.event_at(self.cursor_row)

    def _resize(self) -> None:
        # No horizontal scrolling: the message column takes what is left and the detail pane shows it whole.
        self.virtual_size = Size(1, len(self._rows) + 1)

    # ---- rendering --------------------------------------------------------------------------------------

    def _row_text(self, index: int) -> str:
        text = self._text_cache.get(index)
        if text is not None:
            return text
        event = self._events[index]
        if self._message_for is not None:
            message = self._message_for(event)
        else:
            message = event.message or ", ".join(f"{k}={v}" for k, v in event.data.items())
        cells = (
            event.timestamp.strftime("%Y-%m-%d %H:%M:%S"),
            event.computer,
            LEVEL_SHORT.get(event.level_name, event.level_name),
            str(event.event_id),
            event.provider,
            message,
        )
        parts = []
        for (_, width), value in zip(COLUMNS, cells, strict=True):
            safe = textsafe.one_line(value)
            parts.append(_cell(safe, width) if width else safe)
        text = " ".join(parts)
        if len(self._text_cache) > 4096:
            self._text_cache.clear()
        self._text_cache[index] = text
        return text

    def _header_text(self) -> str:
        return " ".join(_cell(title, width) if width else title for title, width in COLUMNS)

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        width = self.size.width
        base = self.rich_style
        if y == 0:
            style = base + self.get_component_rich_style("event-table--header")
            return Strip([Segment(self._header_text(), style)]).crop_extend(scroll_x, scroll_x + width, style)
        row = scroll_y + y - 1
        if row >= len(self._rows):
            return Strip.blank(width, base)
        style = base
        if row == self.cursor_row:
            style = base + self.get_component_rich_style("event-table--cursor")
        text = self._row_text(self._rows[row])
        return Strip([Segment(text, style)]).crop_extend(scroll_x, scroll_x + width, style)

    # ---- cursor -----------------------------------------------------------------------------------------

    def watch_cursor_row(self, old: int, new: int) -> None:
        self._scroll_to_cursor()
        self.refresh()
        self._post_highlight()

    def _post_highlight(self) -> None:
        self.post_message(self.Highlighted(self, self.current, self.cursor_row))

    def _scroll_to_cursor(self) -> None:
        # Row r is drawn on virtual line r + 1 below the fixed header; with the window starting at
        # scroll y = s, rows s .. s+h-2 are visible, so lines r .. r+1 must both be in view.
        self.scroll_to_region(Region(0, self.cursor_row, 1, 2), animate=False, force=True, x_axis=False)

    @property
    def _page(self) -> int:
        return max(1, self.size.height - 2)

    def action_cursor(self, delta: int) -> None:
        if self._rows:
            self.cursor_row = max(0, min(len(self._rows) - 1, self.cursor_row + delta))

    def action_page(self, direction: int) -> None:
        self.action_cursor(direction * self._page)

    def action_jump(self, where: int) -> None:
        if self._rows:
            self.cursor_row = 0 if where == 0 else len(self._rows) - 1

    def action_select(self) -> None:
        self.post_message(self.Selected(self, self.current, self.cursor_row))

    def on_click(self, event: events.Click) -> None:
        if event.y >= 1:
            row = self.scroll_offset.y + event.y - 1
            if 0 <= row < len(self._rows):
                self.cursor_row = row
