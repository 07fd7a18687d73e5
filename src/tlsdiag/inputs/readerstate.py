"""What one reading keeps from chunk to chunk and file to file, owned by that reading and dropped with it.

The EVTX reader saves work by remembering: repeated records are decoded once and share one data
mapping (``normalize.RecordMemo``), template trees are read once (``recordkeys.TemplateMemo``), and
4 MiB block buffers are reused instead of faulting in fresh pages for every file. Kept per thread or
per module, that memory outlived the read, and what one read gave (which events share a mapping, and
whether the record memo was standing aside after a log of distinct records) depended on what the
process had read before. So each ``read_events`` call makes one ``ReaderState`` and passes it down;
a worker process makes one for its life, which ends with the pool of that call. The result of a read
then depends on its own inputs alone, and its memory is released when it ends
(``tests/equivalence/test_inputs_read_order.py``).

A state is used by one thread at a time: the thread that iterates the read (triage threads only read
bytes and ask the byte-level name search, which keeps its own per-thread scratch space).
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from tlsdiag.inputs.options import ReadOptions
from tlsdiag.inputs.recordkeys import TemplateMemo

if TYPE_CHECKING:
    from tlsdiag.inputs.normalize import RecordMemo


class BufferPool:
    """Block buffers kept for the next file of the same reading: fresh 4 MiB buffers cost page faults on
    every first write. Triage threads take and return buffers, hence the lock."""

    def __init__(self, keep: int) -> None:
        self._lock = threading.Lock()
        self._free: list[bytearray] = []
        self._keep = keep

    def get(self, size: int) -> bytearray:
        with self._lock:
            if self._free:
                buf = self._free.pop()
                if len(buf) == size:
                    return buf
        return bytearray(size)

    def put(self, buf: bytearray) -> None:
        with self._lock:
            if len(self._free) < self._keep:
                self._free.append(buf)


class ReaderState:
    """The memos and buffers of one reading (one ``read_events`` call, or one worker process)."""

    def __init__(self, options: ReadOptions | None = None) -> None:
        self._records: RecordMemo | None = None
        self.templates = TemplateMemo()
        self.buffers = BufferPool((options.triage_ahead if options is not None else ReadOptions.triage_ahead) + 1)

    @property
    def records(self) -> RecordMemo:
        """The record memo, made on first use (a read of text exports never needs it)."""
        if self._records is None:  # normalize (and orjson) are loaded only when EVTX records are decoded
            from tlsdiag.inputs.normalize import RecordMemo

            self._records = RecordMemo()
        return self._records
