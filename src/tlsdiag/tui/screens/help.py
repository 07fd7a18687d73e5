"""The keys, generated from the same binding tables the app and screens use (one source of truth)."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Label, Static

KEY_NAMES = {"question_mark": "?", "escape": "Esc", "enter": "Enter", "slash": "/", "left": "←", "right": "→",
             "ctrl+c": "Ctrl+C", "ctrl+p": "Ctrl+P", "tab": "Tab", "space": "Space"}


def key_name(key: str) -> str:
    return ", ".join(KEY_NAMES.get(k, k) for k in key.split(","))


def help_text(app: Any) -> Text:
    from tlsdiag.tui.screens.events import EventsScreen
    from tlsdiag.tui.screens.guided import GuidedScreen
    from tlsdiag.tui.screens.overview import OverviewScreen
    from tlsdiag.tui.screens.paste import PasteScreen
    from tlsdiag.tui.screens.picker import PickerScreen
    from tlsdiag.tui.screens.stores import StoresScreen

    out = Text()
    out.append("Everywhere\n", "bold underline")
    for key, _, _, title, help_text_ in app.ACTIONS:
        out.append(f"  {key_name(key):<8}", "bold")
        out.append(f"{title}: {help_text_}\n")
    out.append(f"  {'Ctrl+P':<8}", "bold")
    out.append("Command palette: every action and every cause by name\n")
    out.append(f"  {'Ctrl+C':<8}", "bold")
    out.append("Quit\n")
    for screen in (OverviewScreen, GuidedScreen, PasteScreen, EventsScreen, StoresScreen, PickerScreen):
        bindings = [b for b in screen.BINDINGS if isinstance(b, Binding) and b.description]
        if not bindings:
            continue
        out.append(f"\n{screen.HELP_TITLE}\n", "bold underline")
        for b in bindings:
            out.append(f"  {key_name(b.key):<8}", "bold")
            out.append(f"{b.description}\n")
        for line in getattr(screen, "HELP_EXTRA", ()):
            out.append(f"  {line}\n")
    return out


class HelpScreen(ModalScreen[None]):
    """All keys; Escape, q or ? closes."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,q,question_mark,f1", "close", "Close")]

    def compose(self) -> ComposeResult:
        with Vertical(id="help-dialog"):
            yield Label(Text("tlsdiag keys (Escape closes)", style="bold"), id="dialog-title")
            with VerticalScroll():
                yield Static(help_text(self.app), id="help-text")

    def action_close(self) -> None:
        self.dismiss(None)
