"""How the EVTX reader may read: what the platform offers and what the user asked, decided in one place.

The fast paths use four things that not every platform has: ``os.preadv`` (not on Windows),
``mmap.madvise`` (not on Windows), the ``hyperscan`` wheel (Linux x86_64 only) and the ``fork`` start
method for worker processes (not on Windows; on macOS Python's documentation calls it unsafe and
uses spawn by default, and so does this module). Each has a plain fallback: a buffered ``readinto``,
mapping without advice, the pure-Python byte fold, ``spawn`` or ``forkserver`` workers. They are
detected once, at the start of a read (``ReadOptions.from_environment``), and passed down; no reading
module looks at the platform or the environment itself. ``tests/equivalence/test_inputs_platform.py`` scans
with all four hidden and gets the same result.

The environment may change the choice here and only here: ``TLSDIAG_WORKERS=N`` (worker processes,
1: everything in this process), ``TLSDIAG_MMAP=0`` (read with ``preadv`` instead of mapping),
``TLSDIAG_PREFILTER=fold`` (the pure-Python name search instead of hyperscan).
"""

from __future__ import annotations

import mmap
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Literal

StartMethod = Literal["fork", "forkserver", "spawn"]


@dataclass(frozen=True)
class Platform:
    """What this operating system and Python installation offer the reader."""

    preadv: bool  # os.preadv: positioned reads into reused buffers from several threads
    mmap: bool  # whole files mapped read-only (triage scans the page cache in place)
    madvise: bool  # mmap.madvise with MADV_SEQUENTIAL and MADV_DONTNEED (read-ahead; RSS stays flat)
    hyperscan: bool  # the hyperscan wheel: the multi-pattern name search outside the GIL
    start_methods: tuple[StartMethod, ...]  # multiprocessing start methods, best first

    @classmethod
    def bare(cls) -> Platform:
        """None of the optional parts: what the slowest supported platform gives (spawned workers only)."""
        return cls(preadv=False, mmap=False, madvise=False, hyperscan=False, start_methods=("spawn",))


@lru_cache(maxsize=1)
def detect_platform() -> Platform:
    """What this process can use (asked once per process: imports and attribute checks)."""
    import multiprocessing

    try:
        import hyperscan  # noqa: F401
        has_hyperscan = True
    except ImportError:
        has_hyperscan = False
    available = multiprocessing.get_all_start_methods()
    # macOS offers fork, but Python's documentation calls it unsafe there (crashes of the child, bpo-33725;
    # the multiprocessing docs, "Changed in version 3.8"), and spawn is its default: use spawn
    order: tuple[StartMethod, ...] = ("spawn",) if sys.platform == "darwin" else ("fork", "forkserver", "spawn")
    methods = tuple(m for m in order if m in available)
    return Platform(preadv=hasattr(os, "preadv"), mmap=hasattr(mmap, "mmap"),
                    madvise=hasattr(mmap.mmap, "madvise") and hasattr(mmap, "MADV_DONTNEED"),
                    hyperscan=has_hyperscan, start_methods=methods or ("spawn",))


@dataclass(frozen=True)
class ReadOptions:
    """Everything that decides how ``read_events`` reads, besides its inputs and prefilter.

    The sizes below are the tuned defaults; tests make them small to cross many boundaries.
    """

    workers: int = 1  # worker processes for large busy EVTX files, and triage threads (1: none)
    platform: Platform = field(default_factory=detect_platform)
    block_chunks: int = 64  # chunk slots read and triaged at a time (4 MiB)
    triage_ahead: int = 3  # blocks triaged ahead of the one being parsed (bounds memory: 4 blocks of 4 MiB)
    parallel_min_bytes: int = 16 * 1024 * 1024  # smaller files are read in-process (no worker start-up cost)
    task_chunks: int = 16  # chunk slots per worker task (1 MiB): keeps memory flat when all is relevant
    probe_chunks: int = 32  # slots read in-process before deciding whether the rest is worth workers ...
    segment_chunks: int = 256  # ... and, while the file stays sparse, read here between two such decisions
    dense_records_per_chunk: int = 20  # from this many records parsed per chunk on, the rest goes to workers ...
    dense_chunk_share: float = 0.5  # ... if at least this share of the stretch's chunks had to be parsed (real
    # logs: a rare wanted record, such as 6009, makes one chunk of many dense; workers then cost more)

    @property
    def prefilter_engine(self) -> Literal["hyperscan", "fold"]:
        return "hyperscan" if self.platform.hyperscan else "fold"

    def start_method(self, threads_running: bool) -> StartMethod:
        """``fork`` starts a worker in milliseconds with everything loaded, but is safe only while this
        process runs no other thread (the CLI between files; never the TUI, which scans in a thread)."""
        methods = [m for m in self.platform.start_methods if not (m == "fork" and threads_running)]
        return methods[0] if methods else "spawn"

    @classmethod
    def from_environment(cls, env: Mapping[str, str] | None = None, platform: Platform | None = None) -> ReadOptions:
        """The platform's offer, narrowed by ``TLSDIAG_WORKERS``, ``TLSDIAG_MMAP``, ``TLSDIAG_PREFILTER``."""
        env = os.environ if env is None else env
        found = platform or detect_platform()
        if env.get("TLSDIAG_MMAP", "") == "0":
            found = replace(found, mmap=False)
        if env.get("TLSDIAG_PREFILTER", "").lower() == "fold":
            found = replace(found, hyperscan=False)
        wanted = env.get("TLSDIAG_WORKERS", "")
        workers = max(1, int(wanted)) if wanted.isdigit() else max(1, min(os.cpu_count() or 1, 8))
        return cls(workers=workers, platform=found)
