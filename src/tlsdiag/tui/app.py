"""The tlsdiag Textual app: scan in a worker, then lead the administrator to the cause.

The app owns the data (the scan result, the diagnoses, the selected cause) and the
workers; screens only read it and redraw when ``revision`` changes. All file
reading goes through ``tlsdiag.scan.run_scan``; the TUI never parses inputs.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterable, Sequence
from pathlib import Path, PurePath
from typing import Any, ClassVar

from textual import on, work
from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.reactive import reactive
from textual.screen import Screen
from textual.worker import get_current_worker

from tlsdiag import textsafe
from tlsdiag.errors import InputError, KnowledgeBaseError
from tlsdiag.kb import KnowledgeBase, load_kb
from tlsdiag.match import Correlator, Diagnosis, Match, render_message
from tlsdiag.model import Event
from tlsdiag.tui import messages as msg
from tlsdiag.tui.commands import CauseCommands
from tlsdiag.tui.screens.dialogs import PathPrompt
from tlsdiag.tui.screens.events import EventsScreen
from tlsdiag.tui.screens.guided import GuidedScreen
from tlsdiag.tui.screens.help import HelpScreen
from tlsdiag.tui.screens.overview import OverviewScreen
from tlsdiag.tui.screens.paste import PasteScreen
from tlsdiag.tui.screens.picker import PickerScreen
from tlsdiag.tui.screens.stores import StoresScreen

# Seconds between progress messages and between preliminary diagnoses while scanning. Measured on the
# 40 MB all-Schannel benchmark file (140,581 matching events): redrawing at 10 Hz doubled the scan's CPU
# time against the plain CLI; 5 Hz progress with a diagnosis refresh once a second keeps it close.
PROGRESS_EVERY = 0.2
LIVE_DIAGNOSE_EVERY = 1.0


def _start_resource_tracker() -> None:
    """Start multiprocessing's resource tracker while ``sys.stderr`` is a real file.

    The EVTX reader reads large files in worker processes. The first pool start
    launches the resource tracker, which passes ``sys.stderr.fileno()`` to it;
    inside a running Textual app ``sys.stderr`` is Textual's print capture, whose
    ``fileno()`` is -1, and the start fails ("bad value(s) in fds_to_keep"), so
    the file was reported lost. Called on the UI thread, where nothing else
    prints meanwhile; a no-op once the tracker runs.
    """
    real = sys.__stderr__
    if real is None or sys.stderr is real:
        return
    from multiprocessing import resource_tracker

    saved = sys.stderr
    try:
        sys.stderr = real
        resource_tracker.ensure_running()
    except OSError:
        pass  # the reader falls back or reports the file; the TUI keeps going
    finally:
        sys.stderr = saved


class _Cancelled(Exception):
    """Raised inside run_scan's callbacks so a cancelled scan unwinds at once (clean quit)."""


class _LiveScan:
    """Callbacks run_scan calls in the worker thread: keep matches, post throttled progress."""

    def __init__(self, app: TlsdiagApp, kb: KnowledgeBase) -> None:
        self.app = app
        self.worker = get_current_worker()
        self.correlator = Correlator(kb)
        self.done = 0
        self.total = 0
        self.matches = 0
        self._last_event: Event | None = None
        self._last_post = 0.0
        self._last_diagnose = 0.0

    def _check(self) -> None:
        if self.worker.is_cancelled:
            raise _Cancelled

    def progress(self, done: int, total: int) -> None:
        self._check()
        self.done, self.total = done, total
        self._maybe_post()

    def on_match(self, match: Match) -> None:
        self._check()
        self.matches += 1
        self.correlator.add(match)
        if match.event is not self._last_event:  # one event can match several catalog entries in a row
            self._last_event = match.event
            self.app.add_event(match)
        self._maybe_post()

    def _maybe_post(self) -> None:
        now = time.monotonic()
        if now - self._last_post < PROGRESS_EVERY and not (self.total and self.done >= self.total):
            return
        self._last_post = now
        diagnoses = None
        if now - self._last_diagnose >= LIVE_DIAGNOSE_EVERY and self.matches:
            self._last_diagnose = now
            diagnoses = self.correlator.diagnose()
        self.app.post_message(msg.ScanProgress(self.done, self.total, self.matches, len(self.app.events), diagnoses))

    def final(self) -> None:
        """The last word on progress, whatever the throttle skipped."""
        self.app.post_message(msg.ScanProgress(self.done, self.total, self.matches, len(self.app.events), None))


class TlsdiagApp(App[int]):
    """``tlsdiag tui``: overview, guided diagnosis, paste an error, events, stores."""

    TITLE = "tlsdiag"
    SUB_TITLE = "TLS certificate-store diagnosis"
    CSS_PATH: ClassVar[list[str | PurePath]] = [Path(__file__).parent / "styles" / "app.tcss"]
    ENABLE_COMMAND_PALETTE = True
    COMMANDS = App.COMMANDS | {CauseCommands}
    MODES: ClassVar[dict[str, Any]] = {
        "overview": OverviewScreen,
        "guided": GuidedScreen,
        "paste": PasteScreen,
        "events": EventsScreen,
        "stores": StoresScreen,
    }
    DEFAULT_MODE = "overview"

    # Every app-wide action: (key, action, footer label, palette title, palette help).
    ACTIONS: tuple[tuple[str, str, str, str, str], ...] = (
        ("o", "show('overview')", "Overview", "Overview", "Diagnoses per computer and what was read"),
        ("g", "show('guided')", "Guided", "Guided diagnosis", "Walk through the selected cause step by step"),
        ("p", "show('paste')", "Paste", "Paste an error", "Find the cause of an error message"),
        ("e", "show('events')", "Events", "Events", "Table of the extracted events, with filters"),
        ("s", "show('stores')", "Stores", "Certificate stores", "Stores and certificates with their findings"),
        ("f", "pick", "Open", "Open files", "Pick event logs or store exports to scan (or a bundled sample)"),
        ("l", "load_store", "Load export", "Load store export",
         "Load a certificate-store export and re-evaluate the diagnoses"),
        ("x", "export", "Export", "Export Markdown", "Write the current diagnosis as a Markdown file"),
        ("question_mark", "help", "Help", "Help", "List all keys"),
        ("q", "quit", "Quit", "Quit", "Leave tlsdiag"),
    )
    BINDINGS: ClassVar[list[BindingType]] = [
        *(Binding(key, action, label, show=key in {"question_mark", "q"}) for key, action, label, _, _ in ACTIONS),
        Binding("f1", "help", "Help", show=False),
        Binding("ctrl+c", "quit", "Quit", show=False, priority=True),
    ]

    revision: reactive[int] = reactive(0, init=False)  # the data changed: screens rebuild
    tick: reactive[int] = reactive(0, init=False)  # only the scan progress moved: screens update counters
    scanning: reactive[bool] = reactive(False, init=False)

    def __init__(self, paths: Sequence[str | Path] = (), *, backend: str = "rust",
                 kb: KnowledgeBase | None = None, cwd: Path | None = None, blink: bool = True) -> None:
        super().__init__()
        self.blink = blink  # text cursors blink; snapshot tests turn it off so every frame is the same
        self.paths: list[str] = [str(p) for p in paths]
        self.backend = backend
        self.cwd = Path(cwd) if cwd else Path.cwd()
        self._kb = kb
        self.result: Any = None  # tlsdiag.scan.ScanResult of the last finished scan
        self.diagnoses: list[Diagnosis] = []
        self.preliminary = False
        self.events: list[Event] = []
        # by id(event), as an Event cannot be a key (its data mapping is unhashable). Safe: each entry's match
        # holds its event, so no id in the dict can pass to another object while the entry exists (entries go
        # only all at once, in _reset_live)
        self._matches_by_event: dict[int, Match] = {}
        self._event_lock = threading.Lock()
        self.progress: tuple[int, int] = (0, 0)
        self.live_matches = 0
        self.error: str | None = None
        self.store_paths: list[str] = []
        self.current: tuple[str, str | None] | None = None  # (cause id, computer)
        self.last_export: Path | None = None
        self.last_explain: Any = None  # tlsdiag.match.ExplainResult of the paste screen
        self._reevaluating = False

    # ---- data ---------------------------------------------------------------------------------------------

    @property
    def kb(self) -> KnowledgeBase:
        if self._kb is None:
            self._kb = load_kb()
        return self._kb

    def add_event(self, match: Match) -> None:
        """Called from the scan worker: keep the event and the catalog match that renders it."""
        with self._event_lock:
            self._matches_by_event[id(match.event)] = match
            self.events.append(match.event)

    def match_for(self, event: Event) -> Match | None:
        return self._matches_by_event.get(id(event))

    def message_for(self, event: Event) -> str:
        """Readable message text of an event (plain; views make it terminal-safe)."""
        match = self.match_for(event)
        if match is None:
            return event.message or ", ".join(f"{k}={v}" for k, v in event.data.items())
        return render_message(match.event, match.entry, "en", match.fields)

    def computers(self) -> list[str]:
        names: list[str] = []
        for d in self.diagnoses:
            if d.computer not in names:
                names.append(d.computer)
        if self.result is not None:
            for name in self.result.computers:
                if name not in names:
                    names.append(name)
        return names

    def diagnoses_for(self, computer: str) -> list[Diagnosis]:
        return [d for d in self.diagnoses if d.computer == computer]

    def find_diagnosis(self, cause_id: str, computer: str | None) -> Diagnosis | None:
        for d in self.diagnoses:
            if d.cause.id == cause_id and (computer is None or d.computer == computer):
                return d
        return None

    def top_diagnosis(self) -> Diagnosis | None:
        made = [d for d in self.diagnoses if d.made]
        if not made:
            return None
        return sorted(made, key=lambda d: (d.store != "proven", -d.score, d.computer))[0]

    def current_diagnosis(self) -> Diagnosis | None:
        if self.current is None:
            return None
        cause_id, computer = self.current
        if computer is None:
            return None
        return self.find_diagnosis(cause_id, computer)

    def current_cause(self) -> Any:
        if self.current is None:
            return None
        return self.kb.causes.get(self.current[0])

    def bump(self) -> None:
        self.revision += 1

    # ---- lifecycle ----------------------------------------------------------------------------------------

    def on_mount(self) -> None:
        try:
            self.kb  # noqa: B018 - load once on the UI thread so a broken KB is reported at start
        except KnowledgeBaseError as exc:
            self.error = str(exc)
            self.bump()
            return
        if self.paths:
            self.start_scan(self.paths)
        else:
            self.action_pick()

    def start_scan(self, paths: Sequence[str]) -> None:
        self.paths = [str(p) for p in paths]
        _start_resource_tracker()
        self.scan_worker(list(self.paths) + self.store_paths)

    def _reset_live(self) -> None:
        with self._event_lock:
            self.events = []
            self._matches_by_event = {}
        self.progress = (0, 0)
        self.live_matches = 0

    @work(thread=True, exclusive=True, group="scan", exit_on_error=False, description="scan")
    def scan_worker(self, paths: list[str]) -> None:
        """Run the shared pipeline in a thread; everything it learns reaches the UI as messages."""
        from tlsdiag.scan import run_scan

        self.call_from_thread(self._reset_live)
        self.post_message(msg.ScanStarted(paths))
        live = _LiveScan(self, self.kb)
        try:
            result = run_scan(paths, backend=self.backend, progress=live.progress, kb=self.kb,
                              on_match=live.on_match)
        except _Cancelled:
            return
        except InputError as exc:
            self.post_message(msg.ScanFailed(str(exc)))
            return
        except Exception as exc:  # the UI must survive any reader bug and say what happened
            self.post_message(msg.ScanFailed(f"{type(exc).__name__}: {exc}"))
            return
        live.final()
        self.post_message(msg.ScanFinished(result))

    @on(msg.ScanStarted)
    def _scan_started(self, message: msg.ScanStarted) -> None:
        self.scanning = True
        self.error = None
        self.bump()

    @on(msg.ScanProgress)
    def _scan_progress(self, message: msg.ScanProgress) -> None:
        self.progress = (message.done, message.total)
        self.live_matches = message.matches
        if message.diagnoses is not None and self.scanning:
            self.diagnoses = message.diagnoses
            self.preliminary = True
            self.bump()
        else:
            self.tick += 1

    @on(msg.ScanFinished)
    def _scan_finished(self, message: msg.ScanFinished) -> None:
        before = self._current_confidence()
        self.result = message.result
        self.diagnoses = list(message.result.diagnoses)
        self.preliminary = False
        self.scanning = False
        self.progress = (self.progress[1], self.progress[1]) if self.progress[1] else self.progress
        if self.current is None:
            top = self.top_diagnosis()
            if top is not None:
                self.current = (top.cause.id, top.computer)
        self.bump()
        if self._reevaluating:
            self._reevaluating = False
            cause = self.current[0] if self.current else None
            self.post_message(msg.DiagnosisReevaluated(cause, before, self._current_confidence()))

    @on(msg.ScanFailed)
    def _scan_failed(self, message: msg.ScanFailed) -> None:
        self.scanning = False
        self._reevaluating = False
        self.error = message.reason
        self.notify(message.reason, title="Scan failed", severity="error", markup=False)
        self.bump()

    def _current_confidence(self) -> str | None:
        d = self.current_diagnosis()
        return d.confidence if d else None

    # ---- actions ------------------------------------------------------------------------------------------

    def action_show(self, mode: str) -> None:
        if self.current_mode != mode:
            self.switch_mode(mode)

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def action_pick(self) -> None:
        if isinstance(self.screen, PickerScreen):
            return

        def picked(paths: list[str] | None) -> None:
            if paths:
                self.current = None
                self.store_paths = []
                self.start_scan(paths)

        self.push_screen(PickerScreen(self.cwd), picked)

    def open_cause(self, cause_id: str, computer: str | None) -> None:
        """Show a cause in the guided view (from the overview, the paste screen or the palette)."""
        if cause_id not in self.kb.causes:
            self.notify(f"Unknown cause {cause_id}", severity="error", markup=False)
            return
        self.current = (cause_id, computer)
        self.post_message(msg.CauseOpened(cause_id, computer))
        self.bump()
        self.action_show("guided")

    def action_load_store(self) -> None:
        def chosen(path: str | None) -> None:
            if path:
                self.load_store_export(path)

        self.push_screen(PathPrompt(
            "Load a certificate-store export",
            "A reg export, SOFTWARE hive, collector JSON or certificate folder. The diagnoses are "
            "re-evaluated with it.",
            str(self.cwd) + "/", must_exist=True), chosen)

    def load_store_export(self, path: str) -> None:
        """Add a store export to the inputs and re-run the pipeline; the guided view updates in place."""
        self.post_message(msg.StoreExportRequested(path))
        if path not in self.store_paths:
            self.store_paths.append(path)
        self._reevaluating = True
        _start_resource_tracker()
        self.scan_worker(list(self.paths) + self.store_paths)

    def action_export(self) -> None:
        from tlsdiag.tui.export import default_export_path, write_markdown

        if self.result is None and not (self.last_explain is not None and self.last_explain.found):
            self.notify("Nothing to export yet: scan event logs or paste an error first.", severity="warning",
                        markup=False)
            return

        def chosen(path: str | None) -> None:
            if not path:
                return
            try:
                written = write_markdown(self, Path(path))
            except (OSError, ValueError) as exc:
                self.notify(str(exc), title="Export failed", severity="error", markup=False)
                return
            self.last_export = written
            self.post_message(msg.ExportWritten(str(written)))
            self.notify(f"Wrote {written}", title="Exported", markup=False)

        self.push_screen(PathPrompt("Export the diagnosis as Markdown",
                                    "The file is written here (never next to the evidence).",
                                    str(default_export_path(self)), must_exist=False), chosen)

    def copy_text(self, text: str) -> None:
        """Copy to the terminal clipboard (OSC 52, where the terminal allows it) and show the text plainly."""
        from tlsdiag.tui.screens.dialogs import CopiedScreen

        text = textsafe.terminal(text)  # never put control characters from event or certificate text on a clipboard
        self.copy_to_clipboard(text)
        self.post_message(msg.TextCopied(text))
        self.push_screen(CopiedScreen(text))

    # ---- command palette ----------------------------------------------------------------------------------

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        for _, action, _, title, help_text in self.ACTIONS:
            yield SystemCommand(title, help_text, self._palette_action(action))
        screen_actions = getattr(screen, "PALETTE", ())
        for action, title, help_text in screen_actions:
            yield SystemCommand(title, help_text, self._palette_action(action, screen))
        yield from (c for c in super().get_system_commands(screen) if c.title not in {"Quit"})

    def _palette_action(self, action: str, screen: Screen | None = None) -> Any:
        async def run() -> None:
            await self.run_action(action, screen or self)

        return run
