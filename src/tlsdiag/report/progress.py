"""`tlsdiag scan`'s progress on stderr: one line of bytes done, rate and ETA (a terminal view of the
readers' progress callback; it was in ``cli/scan.py``)."""

from __future__ import annotations

import sys
import time


class ProgressLine:
    """Bytes done / total on one stderr line with rate and ETA, at most 10 updates a second.

    The rate is measured from the first progress report (not from start-up), and shown once
    there is a third of a second to measure it over, so the first line promises no wild ETA.
    """

    def __init__(self) -> None:
        self.start: float | None = None
        self.first = 0
        self.last = 0.0
        self.shown = False

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if self.start is None:
            self.start, self.first = now, done
        if now - self.last < 0.1 and done < total:
            return
        self.last = now
        elapsed = now - self.start
        pct = f"{100 * done / total:5.1f}%" if total else "     "
        speed = ""
        if elapsed >= 0.3 and done > self.first:
            rate = (done - self.first) / elapsed
            eta = f"ETA {max(total - done, 0) / rate:5.0f} s" if total else ""
            speed = f"{rate / 1e6:7.1f} MB/s  {eta}"
        sys.stderr.write(f"\rscanning {done / 1e6:9.1f} / {total / 1e6:.1f} MB {pct}  {speed:<22}")
        sys.stderr.flush()
        self.shown = True

    def close(self) -> None:
        if self.shown:
            sys.stderr.write("\r" + " " * 79 + "\r")
            sys.stderr.flush()
