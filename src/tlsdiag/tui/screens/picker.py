"""Pick what to scan: a file or folder under the current directory, or one of the bundled samples."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import DirectoryTree, Footer, Header, Label, OptionList
from textual.widgets.option_list import Option

from tlsdiag.resources import samples_dir
from tlsdiag.tui.render import line


def bundled_samples() -> list[Path]:
    root = samples_dir()
    if not root.is_dir():
        return []
    return sorted((p for p in root.iterdir() if p.is_dir() and not p.name.startswith((".", "_"))),
                  key=lambda p: p.name)


class PickerScreen(Screen[list[str] | None]):
    """DirectoryTree rooted at the current directory, and the bundled samples beside it."""

    HELP_TITLE = "Open files"
    HELP_EXTRA = ("Enter on a file scans it; Tab moves to the samples, where Enter scans one.",)
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("r", "scan_highlighted", "Scan highlighted file/folder"),
        Binding("escape", "cancel", "Close"),
    ]

    def __init__(self, cwd: Path) -> None:
        super().__init__()
        self.cwd = cwd

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="picker"):
            with Vertical(id="picker-files"):
                yield Label(Text.assemble(("Files under ", "bold"), line(str(self.cwd), "bold")), classes="pane-title")
                yield DirectoryTree(self.cwd, id="tree")
            with Vertical(id="picker-samples"):
                yield Label(Text("Bundled samples", style="bold"), classes="pane-title")
                samples = bundled_samples()
                options = [Option(line(p.name), id=str(p)) for p in samples]
                if not options:
                    options = [Option(Text("(no samples installed)"), disabled=True)]
                yield OptionList(*options, id="samples")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#tree", DirectoryTree).focus()

    @on(DirectoryTree.FileSelected)
    def _file(self, event: DirectoryTree.FileSelected) -> None:
        self.dismiss([str(event.path)])

    @on(OptionList.OptionSelected, "#samples")
    def _sample(self, event: OptionList.OptionSelected) -> None:
        if event.option.id:
            self.dismiss([event.option.id])

    def action_scan_highlighted(self) -> None:
        focused = self.focused
        if isinstance(focused, OptionList):
            option = focused.highlighted_option
            if option is not None and option.id:
                self.dismiss([option.id])
            return
        tree = self.query_one("#tree", DirectoryTree)
        node = tree.cursor_node
        if node is not None and node.data is not None:
            self.dismiss([str(node.data.path)])

    def action_cancel(self) -> None:
        self.dismiss(None)
