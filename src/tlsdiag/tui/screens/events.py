"""Events: the extracted events in a virtual table, a one-line filter and a detail pane."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.timer import Timer
from textual.widgets import Footer, Header, Input, Static
from textual.worker import get_current_worker

from tlsdiag.model import Event, iso_utc
from tlsdiag.tui.filtering import EventFilter, FilterError, filter_rows, parse_filter
from tlsdiag.tui.render import hang, line, safe, text_width
from tlsdiag.tui.screens.base import AppScreen
from tlsdiag.tui.widgets.event_table import EventTable

DEBOUNCE = 0.25
FILTER_HELP = "computer: channel: provider: id: level: since: until: words"


def detail_text(event: Event, message: str, catalog: str | None) -> Text:
    """Every field of the event and its rendered message, all literal text."""
    out = Text()
    out.append("Message\n", "bold underline")
    out.append_text(safe(message or "(no message)"))
    out.append("\n\n")
    fields = [
        ("Time (UTC)", iso_utc(event.timestamp)), ("Computer", event.computer), ("Channel", event.channel),
        ("Provider", event.provider), ("Provider GUID", event.provider_guid or ""), ("Event id", event.event_id),
        ("Qualifiers", "" if event.qualifiers is None else event.qualifiers),
        ("Level", f"{event.level_name} ({event.level})" if event.level is not None else ""),
        ("Task", event.task_name or ("" if event.task is None else event.task)), ("Keywords", event.keywords),
        ("Record id", "" if event.record_id is None else event.record_id), ("Source", event.source),
        ("Where", event.locator), ("Form", event.form), ("Catalog entry", catalog or ""),
    ]
    for name, value in fields:
        out.append(f"{name:<14}", "bold")
        out.append_text(line(value))
        out.append("\n")
    if event.data:
        out.append("\nData\n", "bold underline")
        for key, value in event.data.items():
            out.append_text(Text.assemble("  ", line(key, "bold"), ": "))
            out.append_text(safe(value))
            out.append("\n")
    return out


class EventsScreen(AppScreen):
    HELP_TITLE = "Events"
    HELP_EXTRA = (f"Filter words: {FILTER_HELP}",
                  "e.g. computer:fe01 id:36887,32174 level:error since:2026-03-01T10:00 revocation",)
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "focus_filter", "Filter"),
        Binding("escape", "focus_table", "Table", show=False),
        Binding("ctrl+l", "clear_filter", "Clear filter", show=False),
    ]
    PALETTE = (("screen.focus_filter", "Filter events", "Type a filter for the events table"),
               ("screen.clear_filter", "Clear event filter", "Show all events"))

    def compose(self) -> ComposeResult:
        yield Header()
        box = Input(placeholder=f"/ filter: {FILTER_HELP}", id="filter", compact=True)
        box.cursor_blink = self.tlsdiag_app.blink
        yield box
        yield Static(Text(""), id="filter-status")
        yield EventTable(id="events", message_for=self._message_for)
        with VerticalScroll(id="detail-pane"):
            yield Static(Text(""), id="detail")
        yield Footer()

    def on_mount(self) -> None:
        self._timer: Timer | None = None
        self.filter: EventFilter = EventFilter()
        self.filter_error: str | None = None
        self._filtered_len = 0
        self.watch(self.app, "revision", self.refresh_data, init=True)
        self.watch(self.app, "tick", self.refresh_data, init=False)
        self.query_one(EventTable).focus()

    def _message_for(self, event: Event) -> str:
        return self.tlsdiag_app.message_for(event)

    @property
    def table(self) -> EventTable:
        return self.query_one(EventTable)

    def refresh_data(self, _: int = 0) -> None:
        app: Any = self.app
        table = self.table
        if table.source is not app.events:
            table.set_rows(app.events, None if self.filter.empty else [])
            if not self.filter.empty:
                self.apply_filter(self.filter)
        elif self.filter.empty:
            table.grow()
        elif len(app.events) != self._filtered_len and self._timer is None:
            self._timer = self.set_timer(DEBOUNCE, lambda: self._debounced(self.filter))
        self._status()

    def _status(self) -> None:
        app: Any = self.app
        status = self.query_one("#filter-status", Static)
        if self.filter_error:
            status.update(Text.assemble(("✗ ", "bold"), line(self.filter_error, "bold")))
            return
        total = len(app.events)
        shown = self.table.row_count
        text = f"{shown} of {total} event(s)" if not self.filter.empty else f"{total} event(s)"
        if app.scanning:
            text += " · scan running"
        status.update(Text(text + " · / filters · Enter on a row shows details"))

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        try:
            flt = parse_filter(event.value)
        except FilterError as exc:
            self.filter_error = str(exc)
            self._status()
            return
        self.filter_error = None
        if self._timer is not None:
            self._timer.stop()
        self._timer = self.set_timer(DEBOUNCE, lambda: self._debounced(flt))

    @on(Input.Submitted, "#filter")
    def _filter_submitted(self, _: Input.Submitted) -> None:
        self.table.focus()

    def _debounced(self, flt: EventFilter) -> None:
        self._timer = None
        self.apply_filter(flt)

    def apply_filter(self, flt: EventFilter) -> None:
        """Filter in a thread worker; the table keeps scrolling while it runs."""
        self.filter = flt
        app: Any = self.app
        if flt.empty:
            self.workers.cancel_group(self, "filter")
            self._filtered_len = len(app.events)
            self.table.set_rows(app.events)
            self._status()
            return
        self.filter_worker(app.events, flt)

    @work(thread=True, exclusive=True, group="filter", exit_on_error=False)
    def filter_worker(self, events: list[Event], flt: EventFilter) -> None:
        worker = get_current_worker()
        count = len(events)
        rows = filter_rows(events[:count], flt, cancelled=lambda: worker.is_cancelled)
        if rows is not None and not worker.is_cancelled:
            self.app.call_from_thread(self._filtered, events, flt, rows, count)

    def _filtered(self, events: list[Event], flt: EventFilter, rows: list[int], count: int) -> None:
        if flt != self.filter:
            return
        self._filtered_len = count
        self.table.set_rows(events, rows)
        self._status()

    @on(EventTable.Highlighted)
    def _highlighted(self, message: EventTable.Highlighted) -> None:
        detail = self.query_one("#detail", Static)
        if message.event is None:
            detail.update(Text("No event selected.", style="italic"))
            return
        app: Any = self.app
        match = app.match_for(message.event)
        self._detail = detail_text(message.event, app.message_for(message.event),
                                   match.entry.id if match is not None else None)
        self._show_detail()

    def _show_detail(self) -> None:
        """The detail text wrapped for the pane, continuation lines under their label's value."""
        source = getattr(self, "_detail", None)
        if source is not None:
            width = text_width(self.query_one("#detail-pane", VerticalScroll), self.app.size.width)
            self.query_one("#detail", Static).update(hang(source, width))

    def on_resize(self, _: events.Resize) -> None:
        self.call_after_refresh(self._show_detail)

    @on(EventTable.Selected)
    def _selected(self, _: EventTable.Selected) -> None:
        self.query_one("#detail-pane").focus()

    def action_focus_filter(self) -> None:
        self.query_one("#filter", Input).focus()

    def action_focus_table(self) -> None:
        self.table.focus()

    def action_clear_filter(self) -> None:
        self.query_one("#filter", Input).value = ""
        self.filter_error = None
        self.apply_filter(EventFilter())
