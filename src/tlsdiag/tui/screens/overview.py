"""Overview: per computer, the ranked diagnoses with confidence; what was read and what was lost."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import Footer, Header, OptionList, ProgressBar, Static
from textual.widgets.option_list import Option

from tlsdiag.report.common import STORE_FORMS, lost_text, size
from tlsdiag.tui.render import confidence_badge, hang, line, short_time, text_width
from tlsdiag.tui.screens.base import AppScreen

LOSSES_SHOWN = 8


def read_summary_text(summary: Any) -> Text:
    """Files, records, time span and every loss with where (capped, with a count of the rest)."""
    first, last = summary.span
    out = Text()
    out.append("What was read: ", "bold")
    out.append(f"{len(summary.files)} file(s), {size(summary.bytes)}, {summary.records} record(s), "
               f"{lost_text(summary)}\n")
    out.append("Time span: ", "bold")
    out.append(f"{short_time(first)} … {short_time(last)} UTC\n")
    losses = []
    for f in summary.files:
        if f.error:
            losses.append(Text.assemble(("  ✗ unusable: ", "bold"), line(f.source), ": ", line(f.error)))
        for loss in f.lost:
            count = f" ({loss.records} record(s))" if loss.records is not None else ""
            losses.append(Text.assemble(("  ! lost: ", "bold"), line(loss.source), ", ", line(loss.where), ": ",
                                        line(loss.reason), count))
    for item in losses[:LOSSES_SHOWN]:
        out.append_text(item)
        out.append("\n")
    if len(losses) > LOSSES_SHOWN:
        out.append(f"  … and {len(losses) - LOSSES_SHOWN} more losses (see tlsdiag scan)\n", "italic")
    return out


def files_text(summary: Any, stores: Any = ()) -> Text:
    """One line per file (cut with … rather than wrapped, so the list stays readable at 80 columns); a
    store export shows the certificates read from it (``stores``: the scan's store analyses)."""
    out = Text(no_wrap=True, overflow="ellipsis", style="dim")
    for f in summary.files:
        if f.form in STORE_FORMS:
            from tlsdiag.stores.load import certificates_from

            count = f"{certificates_from((a.snapshot for a in stores), f.source):>7} crt"
        else:
            count = f"{f.records:>7} rec"
        out.append_text(Text.assemble(f"  {count} {size(f.size):>9} {f.form:<5} ", line(f.source), "\n"))
    return out


class OverviewScreen(AppScreen):
    HELP_TITLE = "Overview"
    HELP_EXTRA = ("Enter on a diagnosis opens the guided view.",)
    BINDINGS: ClassVar[list[BindingType]] = [Binding("enter", "open", "Open guided view", show=False)]

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(Text(""), id="scan-status")
        yield ProgressBar(total=None, show_eta=False, id="scan-progress")
        yield OptionList(id="diagnoses")
        with VerticalScroll(id="read-pane"):
            yield Static(Text(""), id="read-summary")
            yield Static(Text(""), id="read-files")
        yield Footer()

    def on_mount(self) -> None:
        self._targets: dict[str, tuple[str, str]] = {}
        self.watch(self.app, "revision", self.refresh_data, init=True)
        self.watch(self.app, "tick", self.refresh_status, init=False)
        self.query_one("#diagnoses", OptionList).focus()

    def on_resize(self, _: events.Resize) -> None:
        app: Any = self.app
        if app.result is not None:  # the read summary is wrapped for the width it has
            self.call_after_refresh(self._show_summary)

    def _show_summary(self) -> None:
        app: Any = self.app
        width = text_width(self.query_one("#read-pane", VerticalScroll), self.app.size.width)
        self.query_one("#read-summary", Static).update(hang(read_summary_text(app.result.summary), width))

    def refresh_data(self, _: int = 0) -> None:
        app: Any = self.app
        self.refresh_status()
        self._fill_diagnoses(app)
        if app.result is not None:
            self._show_summary()
            self.query_one("#read-files", Static).update(files_text(app.result.summary, app.result.stores))

    def refresh_status(self, _: int = 0) -> None:
        """Progress line and bar only: cheap enough for every progress message."""
        app: Any = self.app
        status = self.query_one("#scan-status", Static)
        bar = self.query_one("#scan-progress", ProgressBar)
        done, total = app.progress
        if app.scanning:
            bar.display = True
            if total:
                bar.update(total=total, progress=done)
            status.update(Text.assemble(("Scanning ", "bold"), f"{size(done)} of {size(total)} · ",
                                        f"{app.live_matches} catalog match(es) · {len(app.events)} event(s) so far"))
        else:
            bar.display = False
            if app.error:
                status.update(Text.assemble(("✗ ", "bold red"), line(app.error, "bold")))
            elif app.result is None:
                status.update(Text("Nothing scanned yet: press f to open event logs, p to paste an error."))
            else:
                n = len([d for d in app.diagnoses if d.made])
                status.update(Text.assemble((f"{n} diagnosis(es) made", "bold"),
                                            " · Enter opens the guided view · ? lists the keys"))

    def _fill_diagnoses(self, app: Any) -> None:
        options: list[Option] = []
        self._targets = {}
        for computer in app.computers():
            facts = app.result.host(computer) if app.result is not None else None
            head = Text.assemble(("▸ ", "bold"), line(computer or "(computer not named in the logs)", "bold"))
            if facts is not None and facts.windows_name:
                head.append_text(Text.assemble("  ", line(facts.windows_name, "dim")))
            options.append(Option(head, disabled=True))
            ranked = app.diagnoses_for(computer)
            if not ranked:
                options.append(Option(Text("    no known cause found", style="italic"), disabled=True))
            for d in ranked:
                key = f"d{len(self._targets)}"
                self._targets[key] = (d.cause.id, d.computer)
                label = Text.assemble("  ", confidence_badge(d.confidence), f" {d.score:4.2f}  ",
                                      (d.cause.title, "bold" if d.made else "dim"))
                if d.store == "proven":
                    label.append("  ✓ proven", "bold")
                if app.preliminary:
                    label.append("  (preliminary)", "italic")
                options.append(Option(label, id=key))
        olist = self.query_one("#diagnoses", OptionList)
        highlighted = olist.highlighted_option.id if olist.highlighted_option is not None else None
        olist.set_options(options)
        keys = [o.id for o in options]
        if highlighted is not None and highlighted in keys:
            olist.highlighted = keys.index(highlighted)
        elif self._targets:
            olist.highlighted = keys.index(next(iter(self._targets)))

    @on(OptionList.OptionSelected, "#diagnoses")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        target = self._targets.get(event.option.id or "")
        if target is not None:
            self.tlsdiag_app.open_cause(*target)

    def action_open(self) -> None:
        olist = self.query_one("#diagnoses", OptionList)
        option = olist.highlighted_option
        if option is not None and option.id in self._targets:
            self.tlsdiag_app.open_cause(*self._targets[option.id])
