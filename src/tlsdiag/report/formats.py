"""The output formats of every command, as Literals: one definition that the CLI's ``--format`` choices,
the report dispatchers and the writer tables are built from, so mypy sees a misspelt format.

``pick`` turns a string the argument parser accepted into the Literal it is (argparse hands back ``Any``).
"""

from __future__ import annotations

from typing import Literal, TypeVar, get_args

ReportFormat = Literal["text", "json", "markdown"]  # explain, stores
TimelineFormat = Literal["timesketch", "timeline"]  # one row per event (report/timeline.py)
ScanFormat = Literal[ReportFormat, "html", TimelineFormat]  # scan: html is built from the JSON dictionary
EventFormat = Literal["table", "jsonl", "csv", TimelineFormat]  # events

REPORT_FORMATS: tuple[ReportFormat, ...] = get_args(ReportFormat)
TIMELINE_FORMATS: tuple[TimelineFormat, ...] = get_args(TimelineFormat)
SCAN_FORMATS: tuple[ScanFormat, ...] = (*REPORT_FORMATS, "html", *TIMELINE_FORMATS)
EVENT_FORMATS: tuple[EventFormat, ...] = ("table", "jsonl", "csv", *TIMELINE_FORMATS)

F = TypeVar("F", bound=str)


def pick(value: str, allowed: tuple[F, ...]) -> F:
    """``value`` as the member of ``allowed`` it equals; ValueError naming the allowed ones otherwise."""
    for name in allowed:
        if name == value:
            return name
    raise ValueError(f"unknown format {value!r}; one of {', '.join(allowed)}")
