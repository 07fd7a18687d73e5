"""Inputs: find event logs and store exports in paths, folders and zips; read events.

Public API (see docs/architecture.md):

    discover(paths) -> list[InputFile]
    read_events(paths_or_inputs, *, summary, backend="rust", progress=None,
                prefilter=None, stats=None) -> Iterator[Event]
"""

from tlsdiag.inputs.discover import InputFile, discover
from tlsdiag.inputs.read import BACKENDS, EVENT_KINDS, ReadStats, read_events, require_usable

__all__ = ["BACKENDS", "EVENT_KINDS", "InputFile", "ReadStats", "discover", "read_events", "require_usable"]
