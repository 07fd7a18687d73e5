"""Small modal screens: ask for a path, show copied text for selection."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static, TextArea

from tlsdiag.tui.render import safe


class PathPrompt(ModalScreen[str | None]):
    """Ask for a file or folder path; Enter accepts, Escape cancels."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, title: str, explanation: str, default: str, *, must_exist: bool) -> None:
        super().__init__()
        self.title_text = title
        self.explanation = explanation
        self.default = default
        self.must_exist = must_exist

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label(Text(self.title_text, style="bold"), id="dialog-title")
            yield Static(Text(self.explanation), id="dialog-help")
            box = Input(value=self.default, id="path-input")
            box.cursor_blink = getattr(self.app, "blink", True)
            yield box
            yield Static(Text(""), id="dialog-error")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        value = event.value.strip()
        if not value:
            return
        path = Path(value).expanduser()
        if self.must_exist and not path.exists():
            self.query_one("#dialog-error", Static).update(safe(f"{value}: no such file or folder", "bold"))
            return
        self.dismiss(str(path))

    def action_cancel(self) -> None:
        self.dismiss(None)


class CopiedScreen(ModalScreen[None]):
    """After a copy: the same text, plain and selectable, for terminals without OSC 52 clipboard access."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "close", "Close"), Binding("q", "close", "Close", show=False)]

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label(Text("Copied to the clipboard (if your terminal allows OSC 52)", style="bold"),
                        id="dialog-title")
            yield Static(Text("Otherwise select the text below with the mouse (Shift+drag in most terminals). "
                              "Escape closes."), id="dialog-help")
            yield TextArea(self.text, read_only=True, soft_wrap=False, id="copied-text")

    def on_mount(self) -> None:
        self.query_one(TextArea).focus()

    def action_close(self) -> None:
        self.dismiss(None)
