"""Platforms without os.preadv, mmap.madvise, hyperscan or fork (Windows, macOS, other CPUs) get the same scan.

The fallbacks are chosen once, in ``inputs/options.py``; here they are detected with the real parts hidden,
and a scan of real chunks (built by ../shared/bench/make_real_chunk_evtx.py) runs with worker processes
started by ``spawn``, the pure-Python prefilter and plain buffered reads, and gives exactly the report of
the scan that uses everything this machine has.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tlsdiag.inputs.options import Platform, ReadOptions, detect_platform
from tlsdiag.report import render_scan
from tlsdiag.scan import run_scan

REPO = Path(__file__).resolve().parents[2]
BUILDER = REPO.parent / "shared" / "bench" / "make_real_chunk_evtx.py"


def test_detection_sees_what_is_hidden(monkeypatch: pytest.MonkeyPatch) -> None:
    full = detect_platform()
    assert full.preadv and full.mmap and full.madvise and full.hyperscan and full.start_methods[0] == "fork"
    monkeypatch.delattr(os, "preadv")
    monkeypatch.setitem(sys.modules, "hyperscan", None)  # import hyperscan now raises ImportError
    monkeypatch.setattr(multiprocessing, "get_all_start_methods", lambda: ["spawn"])
    detect_platform.cache_clear()
    try:
        bare = detect_platform()
        assert (bare.preadv, bare.hyperscan, bare.start_methods) == (False, False, ("spawn",))
        assert ReadOptions.from_environment({}, bare).prefilter_engine == "fold"
    finally:
        detect_platform.cache_clear()


def test_macos_gets_no_fork(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "platform", "darwin")
    detect_platform.cache_clear()
    try:
        assert detect_platform().start_methods == ("spawn",)
    finally:
        detect_platform.cache_clear()


def test_environment_narrows_the_choice_in_one_place() -> None:
    full = detect_platform()
    options = ReadOptions.from_environment({"TLSDIAG_MMAP": "0", "TLSDIAG_PREFILTER": "fold", "TLSDIAG_WORKERS": "3"},
                                           full)
    assert options.workers == 3 and not options.platform.mmap and options.prefilter_engine == "fold"
    assert options.start_method(threads_running=True) != "fork"


@pytest.fixture(scope="module")
def real_chunks(tmp_path_factory: pytest.TempPathFactory, corpus_dir: Path) -> Path:
    out = tmp_path_factory.mktemp("real") / "real.evtx"
    subprocess.run([sys.executable, str(BUILDER), str(out), "24", str(REPO / "samples"), str(corpus_dir)],
                   check=True, capture_output=True)
    return out


def _report(path: Path, options: ReadOptions) -> tuple[dict, dict]:
    result = run_scan([path], options=options)
    report = json.loads(render_scan(result, "json"))
    report.pop("timing", None)
    return report, result.stats.reader


@pytest.mark.slow
def test_a_scan_without_any_platform_extra_gives_the_same_report(real_chunks: Path) -> None:
    # the 24 MB file goes to worker processes after the first stretch (as a busy large log would)
    eager = {"parallel_min_bytes": 1 << 20, "dense_records_per_chunk": 0, "dense_chunk_share": 0}
    full, full_stats = _report(real_chunks, ReadOptions(workers=2, platform=detect_platform(), **eager))
    bare, bare_stats = _report(real_chunks, ReadOptions(workers=2, platform=Platform.bare(), **eager))
    assert bare == full
    assert bare_stats == full_stats
    assert bare_stats["chunks_remote"] > 0 and bare_stats["chunks_skipped_by_records"] > 0  # workers ran, prefilter cut
    assert [f for f in bare["findings"] if f["made"]]  # the needles were found
