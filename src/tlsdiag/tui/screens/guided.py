"""Guided diagnosis: the selected cause as five steps (what happened, why, proof, fix, verify)."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.reactive import reactive
from textual.widgets import Footer, Header, Static

from tlsdiag.tui.guide import STEPS, StepContent, build_steps
from tlsdiag.tui.render import hang, text_width
from tlsdiag.tui.screens.base import AppScreen


class GuidedScreen(AppScreen):
    HELP_TITLE = "Guided diagnosis"
    HELP_EXTRA = ("l loads a store export when the proof step asks for one; x exports this diagnosis.",)
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("right,n", "step(1)", "Next step"),
        Binding("left,b", "step(-1)", "Previous step"),
        Binding("1", "goto(0)", "What happened", show=False),
        Binding("2", "goto(1)", "Why", show=False),
        Binding("3", "goto(2)", "Proof", show=False),
        Binding("4", "goto(3)", "Fix", show=False),
        Binding("5", "goto(4)", "Verify", show=False),
        Binding("c", "copy", "Copy commands"),
    ]
    PALETTE = (
        ("screen.step(1)", "Next step", "Guided view: go to the next step"),
        ("screen.step(-1)", "Previous step", "Guided view: go back one step"),
        ("screen.copy", "Copy commands", "Copy this step's commands to the clipboard"),
    )

    step: reactive[int] = reactive(0, init=False)

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(Text(""), id="steps-bar")
        with VerticalScroll(id="step-scroll"):
            yield Static(Text(""), id="step-body")
        yield Footer()

    def on_mount(self) -> None:
        self.steps: list[StepContent] = []
        self._shown: tuple[str, str | None] | None = None
        self.watch(self.app, "revision", self.refresh_data, init=True)
        self.query_one("#step-scroll").focus()

    def refresh_data(self, _: int = 0) -> None:
        app: Any = self.app
        cause = app.current_cause()
        if cause is None:
            self.steps = []
            self.query_one("#steps-bar", Static).update(Text("No cause selected", style="bold"))
            self.query_one("#step-body", Static).update(Text(
                "Pick a diagnosis in the overview (o), paste an error (p) or open a cause from the "
                "command palette (Ctrl+P)."))
            return
        if app.current != self._shown:  # another cause: start at the first step; same cause: stay in place
            self._shown = app.current
            self.step = 0
        self.steps = build_steps(app.current_diagnosis(), cause, store_loaded=bool(app.store_paths),
                                 result=app.result)
        self._show()

    def watch_step(self, _: int) -> None:
        self._show()
        self.query_one("#step-scroll", VerticalScroll).scroll_home(animate=False)

    def _show(self) -> None:
        if not self.steps:
            return
        app: Any = self.app
        bar = Text()
        for i, (_, title) in enumerate(STEPS):
            if i == self.step:
                bar.append(f"▶{i + 1} {title}", "bold reverse")
            else:
                bar.append(f" {i + 1} {title}", "dim")
            bar.append(" ")
        if app.scanning:
            bar.append(" (re-evaluating…)", "italic")
        self.query_one("#steps-bar", Static).update(bar)
        self.query_one("#step-body", Static).update(hang(self.steps[self.step].body, self._body_width()))

    def _body_width(self) -> int:
        """Columns the step text gets (see ``render.text_width``)."""
        return text_width(self.query_one("#step-scroll", VerticalScroll), self.app.size.width)

    def on_resize(self, _: events.Resize) -> None:
        self.call_after_refresh(self._show)

    @property
    def current_step(self) -> StepContent | None:
        return self.steps[self.step] if self.steps else None

    def action_step(self, delta: int) -> None:
        if self.steps:
            self.step = max(0, min(len(STEPS) - 1, self.step + delta))

    def action_goto(self, index: int) -> None:
        if self.steps:
            self.step = index

    def action_copy(self) -> None:
        content = self.current_step
        if content is None or not content.commands:
            self.notify("Nothing to copy in this step.", severity="warning", markup=False)
            return
        self.tlsdiag_app.copy_text("\n\n".join(content.commands) + "\n")
