"""Run mutation variants of one sample in this process and report each as a JSON line.

Used by ``driver.py`` (which watches for hangs and restarts the worker): for
every variant it prints ``{"start": i, "name": ...}`` before reading and a result
line after, so a hang is pinned to the variant that caused it.

    python tests/robustness/mutation/worker.py SAMPLE --seed 1 --backend rust [--start 0] [--flips 8] [--every 1]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from check import by_chunk, problems, read
from mutate import variants


def rss_peak_kb() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("sample", type=Path)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--backend", default="rust")
    ap.add_argument("--start", type=int, default=0)
    ap.add_argument("--flips", type=int, default=8)
    ap.add_argument("--every", type=int, default=1, help="run every n-th variant only")
    ap.add_argument("--parallel-min", type=int, default=None,
                    help="lower the reader's threshold for worker processes (exercise that path on small files)")
    ap.add_argument("--prefilter", action="store_true",
                    help="read as 'tlsdiag scan' does, with the chunk prefilter built from the knowledge base")
    args = ap.parse_args(argv)
    prefilter = None
    if args.prefilter:
        from tlsdiag.inputs import chunk_prefilter
        from tlsdiag.kb import load_kb
        from tlsdiag.scan import prefilter_names

        prefilter = chunk_prefilter(prefilter_names(load_kb()))
    from dataclasses import replace

    from tlsdiag.inputs.options import ReadOptions

    options = ReadOptions.from_environment()
    if args.parallel_min is not None:
        options = replace(options, parallel_min_bytes=args.parallel_min)
    data = args.sample.read_bytes()
    out = sys.stdout
    with tempfile.TemporaryDirectory(prefix="tlsdiag-mut-") as tmp:
        orig_path = Path(tmp) / "original.evtx"
        orig_path.write_bytes(data)
        events, summary = read(orig_path, args.backend, prefilter, options)
        original = by_chunk(events)
        os.unlink(orig_path)
        out.write(json.dumps({"original": len(events), "losses": len(summary.losses)}) + "\n")
        out.flush()
        path = Path(tmp) / "variant.evtx"
        for i, variant in enumerate(variants(data, args.seed, args.flips)):
            if i < args.start or i % args.every:
                continue
            out.write(json.dumps({"start": i, "name": variant.name}) + "\n")
            out.flush()
            path.write_bytes(variant.data)
            t0 = time.perf_counter()
            try:
                got, summ = read(path, args.backend, prefilter, options)
                found = problems(original, variant.slot_of, got, summ, variant.data)
                n, lost = len(got), summ.records_lost
            except BaseException as exc:  # the point of the suite: nothing may escape
                found = [f"exception escaped: {type(exc).__name__}: {exc}",
                         traceback.format_exc(limit=6)]
                n, lost = 0, 0
            secs = time.perf_counter() - t0
            out.write(json.dumps({"done": i, "name": variant.name, "size": len(variant.data), "secs": secs,
                                  "events": n, "lost": lost, "rss_kb": rss_peak_kb(), "problems": found}) + "\n")
            out.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
