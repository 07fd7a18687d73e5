"""Inputs: find event logs and store exports in paths, folders and zips; read events.

Public API (see docs/architecture.md):

    discover(paths) -> list[InputFile]
    read_events(paths_or_inputs, *, summary, backend="rust", progress=None,
                prefilter=None, stats=None, workers=None, digest=None, options=None) -> Iterator[Event]
    chunk_prefilter(provider_names, event_ids=None) -> ChunkPrefilter   # sound chunk and record filter
"""

from tlsdiag.inputs.discover import InputFile, discover
from tlsdiag.inputs.prefilter import ChunkPrefilter, chunk_prefilter
from tlsdiag.inputs.read import BACKENDS, EVENT_KINDS, RangeDigest, ReadStats, read_events, require_usable

__all__ = ["BACKENDS", "EVENT_KINDS", "ChunkPrefilter", "InputFile", "RangeDigest", "ReadStats", "chunk_prefilter",
           "discover", "read_events", "require_usable"]
