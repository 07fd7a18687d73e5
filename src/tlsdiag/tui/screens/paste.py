"""Paste an error: live best matches from ``explain`` as the text changes; Enter opens the cause."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.timer import Timer
from textual.widgets import Footer, Header, Label, OptionList, Static
from textual.widgets.option_list import Option

from tlsdiag.match import ExplainResult, explain
from tlsdiag.match.explain import cause_for_event
from tlsdiag.tui.render import line, safe
from tlsdiag.tui.screens.base import AppScreen
from tlsdiag.tui.widgets.paste_area import PasteArea

DEBOUNCE = 0.3  # seconds of quiet typing before explain runs


class PasteScreen(AppScreen):
    HELP_TITLE = "Paste an error"
    HELP_EXTRA = ("Type or paste into the box; the matches update as you type.",
                  "Enter in the box opens the best cause; Tab moves to the matches, Enter opens one.",
                  "Ctrl+J types a line break; Escape leaves the box (then o, e, s … switch screens); Ctrl+L clears.")
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "toggle_focus", "Box/matches", show=False),
        Binding("ctrl+l", "clear", "Clear", show=False),
    ]
    PALETTE = (("screen.clear", "Clear pasted text", "Empty the paste box"),)

    def compose(self) -> ComposeResult:
        yield Header()
        yield Label(Text("Paste an error message, event text, error code or KB number:", style="bold"))
        box = PasteArea(id="paste-box", soft_wrap=True, tab_behavior="focus",
                        placeholder="e.g. Replica on … partition name build error OperationFailed")
        box.cursor_blink = self.tlsdiag_app.blink
        yield box
        yield Static(Text(""), id="paste-note")
        yield OptionList(id="paste-matches")
        yield Footer()

    def on_mount(self) -> None:
        self._timer: Timer | None = None
        self._targets: dict[str, str] = {}
        self.result: ExplainResult | None = None
        self.query_one(PasteArea).focus()

    @on(PasteArea.Changed)
    def _changed(self, _: PasteArea.Changed) -> None:
        if self._timer is not None:
            self._timer.stop()
        self._timer = self.set_timer(DEBOUNCE, self._start_explain)

    def _start_explain(self) -> None:
        self._timer = None
        self.run_explain(self.query_one(PasteArea).text)

    @work(thread=True, exclusive=True, group="explain", exit_on_error=False)
    def run_explain(self, text: str) -> None:
        app: Any = self.app
        result = explain(text, app.kb) if text.strip() else None
        self.app.call_from_thread(self._show, text, result)

    def _show(self, text: str, result: ExplainResult | None) -> None:
        if text != self.query_one(PasteArea).text:
            return  # outdated: newer text is on its way
        app: Any = self.app
        self.result = result
        app.last_explain = result
        olist = self.query_one("#paste-matches", OptionList)
        note = self.query_one("#paste-note", Static)
        self._targets = {}
        if result is None or not result.found:
            olist.clear_options()
            note.update(safe(result.note if result is not None and result.note else "No match yet.", "italic"))
            return
        options = []
        for i, m in enumerate(result.matches):
            target = self._cause_for(m, result)
            key = f"m{i}"
            if target:
                self._targets[key] = target
            kind = "cause" if m.kind == "cause" else f"event {m.event_id}"
            label = Text.assemble((f"{m.score:4.2f} ", "bold"), (f"{kind:<12}", "dim"), line(m.title))
            if m.kb:
                label.append("  " + ", ".join(f"KB{n}" for n in m.kb), "dim")
            options.append(Option(label, id=key, disabled=target is None))
        olist.set_options(options)
        target = self.best_target()
        if target is not None:
            title = app.kb.causes[target].title
            direct = any(m.kind == "cause" and m.id == target for m in result.matches)
            how = "the best cause" if direct else "the cause this points to"
            note.update(Text.assemble(f"Enter opens {how}: ", (title, "bold")))
        elif result.candidates:  # explain chose no fix: say which causes fit and what tells them apart
            names = "; ".join(c.title for c in result.candidates[:3])
            note.update(Text.assemble(("No cause chosen", "bold"), f": the text fits {names}. Check first: ",
                                      result.candidates[0].check))
        elif result.codes:  # only an error code or message: its meaning and the first thing to check
            entry = result.codes[0].entry
            note.update(Text.assemble((entry.name, "bold"), f": {entry.meaning}  First check: {entry.check[0].step}"))
        else:
            note.update(Text("Events match, but no cause in the knowledge base lists them.", style="italic"))

    def _cause_for(self, match: Any, result: ExplainResult) -> str | None:
        """The cause an explain match leads to: itself, or the cause that weighs this event most as evidence."""
        if match.kind == "cause":
            return match.id
        best = result.best_cause
        if best is not None and any(e.event == match.id for e in best.evidence):
            return best.id
        return cause_for_event(self.tlsdiag_app.kb, match.id)

    def best_target(self) -> str | None:
        """What Enter opens: explain's best cause, else the cause the best-scoring match leads to; nothing when
        explain listed candidates instead of a fix (the text fits several causes: the user picks one)."""
        if self.result is None or not self.result.found:
            return None
        if self.result.best_cause is not None:
            return self.result.best_cause.id
        if self.result.candidates:
            return None
        for i, _ in enumerate(self.result.matches):
            target = self._targets.get(f"m{i}")
            if target:
                return target
        return None

    @on(PasteArea.Submitted)
    def _submitted(self, _: PasteArea.Submitted) -> None:
        if self._timer is not None:  # typed and hit Enter at once: explain now, then open
            self._timer.stop()
            self._timer = None
            text = self.query_one(PasteArea).text
            result = explain(text, self.tlsdiag_app.kb) if text.strip() else None
            self._show(text, result)
        target = self.best_target()
        if target is not None:
            self._open(target)
        else:
            self.notify("No cause matches this text yet.", severity="warning", markup=False)

    @on(OptionList.OptionSelected, "#paste-matches")
    def _picked(self, event: OptionList.OptionSelected) -> None:
        target = self._targets.get(event.option.id or "")
        if target:
            self._open(target)

    def _open(self, cause_id: str) -> None:
        app: Any = self.app
        d = next((d for d in app.diagnoses if d.cause.id == cause_id and d.made), None)
        app.open_cause(cause_id, d.computer if d is not None else None)

    def action_toggle_focus(self) -> None:
        box = self.query_one(PasteArea)
        if box.has_focus:
            self.query_one("#paste-matches", OptionList).focus()
        else:
            box.focus()

    def action_clear(self) -> None:
        self.query_one(PasteArea).clear()
        self.query_one(PasteArea).focus()
