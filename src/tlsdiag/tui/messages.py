"""Messages the TUI's workers and screens post; tests record them with ``run_test(message_hook=...)``.

Workers run in threads and only talk to the interface through these messages
(``post_message`` is thread-safe), so no widget is touched off the UI thread.
"""

from __future__ import annotations

from typing import Any

from textual.message import Message


class ScanStarted(Message):
    def __init__(self, paths: list[str]) -> None:
        super().__init__()
        self.paths = paths


class ScanProgress(Message):
    """Bytes read so far of all event inputs, and what has been found so far."""

    def __init__(self, done: int, total: int, matches: int, events: int, diagnoses: list[Any] | None) -> None:
        super().__init__()
        self.done = done
        self.total = total
        self.matches = matches
        self.events = events
        self.diagnoses = diagnoses  # preliminary diagnoses (no host facts, no stores yet), or None


class ScanFinished(Message):
    def __init__(self, result: Any) -> None:
        super().__init__()
        self.result = result  # tlsdiag.scan.ScanResult


class ScanFailed(Message):
    def __init__(self, reason: str) -> None:
        super().__init__()
        self.reason = reason


class CauseOpened(Message):
    """The guided view now shows this cause (on this computer, or from a pasted text when computer is None)."""

    def __init__(self, cause_id: str, computer: str | None) -> None:
        super().__init__()
        self.cause_id = cause_id
        self.computer = computer


class StoreExportRequested(Message):
    def __init__(self, path: str) -> None:
        super().__init__()
        self.path = path


class DiagnosisReevaluated(Message):
    """A store export was loaded and the diagnoses recomputed; before/after of the selected cause."""

    def __init__(self, cause_id: str | None, before: str | None, after: str | None) -> None:
        super().__init__()
        self.cause_id = cause_id
        self.before = before
        self.after = after


class ExportWritten(Message):
    def __init__(self, path: str) -> None:
        super().__init__()
        self.path = path


class TextCopied(Message):
    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text
