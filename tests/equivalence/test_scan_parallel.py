"""Worker processes analysing ranges of a busy log give exactly what one process gives.

The scan hands the rest of a large, dense EVTX file to worker processes after a
short probe (``inputs.read._Pool``); each sends back its ``Analysis`` export and
``Analysis.absorb`` merges them in order. These tests shrink the thresholds so
small files take that path, and compare every report format byte for byte with
a scan in one process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from support.busylog import FORMATS, busy_log
from tlsdiag import scan as scan_module
from tlsdiag.inputs.options import ReadOptions
from tlsdiag.kb import load_kb
from tlsdiag.report import render_scan
from tlsdiag.scan import run_scan
from tlsdiag_devkit.evtxwrite import damage


@pytest.fixture()
def small_thresholds() -> dict[str, int]:
    """Reading options that send even small files to workers, in many ranges with odd boundaries."""
    return {"parallel_min_bytes": 1, "probe_chunks": 2, "segment_chunks": 3, "task_chunks": 3}


def _reports(paths: list[Path], workers: int, tuning: dict[str, int], kb) -> tuple[dict[str, str], object]:
    result = run_scan(paths, kb=kb, options=ReadOptions(workers=workers, **tuning))
    return {fmt: render_scan(result, fmt) for fmt in FORMATS}, result


@pytest.fixture(scope="module")
def kb():
    return load_kb()


def test_read_events_yields_only_events_while_workers_analyse_ranges(tmp_path: Path, kb,
                                                                      small_thresholds: dict[str, int]) -> None:
    """Worker results go to the digest's absorb() inside the reader; the consumer sees Events only."""
    from tlsdiag.inputs import ReadStats, read_events
    from tlsdiag.model import Event, ReadSummary
    from tlsdiag.scan import Analysis, AnalysisPart, RangeDigest

    log = busy_log(tmp_path / "busy.evtx", 6000)
    analysis = Analysis(kb, dedup=False)
    absorbed = []

    class Counting(RangeDigest):
        def absorb(self, payload: AnalysisPart) -> bool:
            absorbed.append(payload.events)
            return super().absorb(payload)

    stats = ReadStats()
    items = list(read_events([log], summary=ReadSummary(), stats=stats, digest=Counting(kb, False, analysis),
                             options=ReadOptions(workers=2, **small_thresholds)))
    assert items and all(type(item) is Event for item in items)
    assert stats.chunks_remote > 0 and sum(absorbed) > 0
    assert len(items) + sum(absorbed) == 6000  # every record either came here or was analysed in a worker


@pytest.mark.slow
@pytest.mark.parametrize("damage_kind", [None, "bad_record_size", "zeroed_chunk", "bad_chunk_magic"])
def test_workers_give_the_same_reports_as_one_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kb,
                                                       small_thresholds: dict[str, int], damage_kind: str | None) -> None:
    log = busy_log(tmp_path / "busy.evtx", 6000)
    if damage_kind:
        path = tmp_path / "System.evtx"
        path.write_bytes(damage(log.read_bytes(), damage_kind, chunk=9))
        log = path
    one, single = _reports([log], 1, small_thresholds, kb)
    many, parallel = _reports([log], 2, small_thresholds, kb)
    assert single.stats.reader["chunks_remote"] == 0
    assert parallel.stats.reader["chunks_remote"] > 10, "the worker path was not taken"
    for fmt in FORMATS:
        assert many[fmt] == one[fmt], fmt
    assert {k: (dict(h.channels), h.products, h.build, h.seen_at) for k, h in parallel.hosts.items()} == \
        {k: (dict(h.channels), h.products, h.build, h.seen_at) for k, h in single.hosts.items()}
    assert parallel.made and len(parallel.hosts) == 3 and parallel.stats.matches > 4000
    if damage_kind:
        assert parallel.summary.losses


def test_kept_matches_stop_at_the_limit_in_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kb,
                                                 small_thresholds: dict[str, int]) -> None:
    monkeypatch.setattr(scan_module, "MAX_KEPT_MATCHES", 700)
    log = busy_log(tmp_path / "System.evtx", 4000)
    one, single = _reports([log], 1, small_thresholds, kb)
    many, parallel = _reports([log], 2, small_thresholds, kb)
    assert len(parallel.matches) == len(single.matches) == 700
    assert [m.event.locator for m in parallel.matches] == [m.event.locator for m in single.matches]
    assert many["timeline"] == one["timeline"]


@pytest.mark.slow
def test_records_seen_in_another_input_are_counted_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kb,
                                                        small_thresholds: dict[str, int]) -> None:
    """The same log twice (a copy in another folder): the second copy's ranges collide and are replayed."""
    (tmp_path / "a").mkdir()
    log = busy_log(tmp_path / "a" / "System.evtx", 3000)
    copy = tmp_path / "b" / "System.evtx"
    copy.parent.mkdir()
    copy.write_bytes(log.read_bytes())
    _alone, single_alone = _reports([log], 1, small_thresholds, kb)
    one, single = _reports([log, copy], 1, small_thresholds, kb)
    many, parallel = _reports([log, copy], 2, small_thresholds, kb)
    _, parallel_alone = _reports([log], 2, small_thresholds, kb)
    # the copy's worker results could not be used (every record seen before): the copy was read here
    assert parallel.stats.reader["chunks_remote"] == parallel_alone.stats.reader["chunks_remote"] > 0
    for fmt in ("json", "text", "timeline"):
        assert many[fmt] == one[fmt], fmt
    assert parallel.stats.duplicates == single.stats.duplicates == single_alone.stats.matches_kept > 0
    counts = {(d.cause.id, i.evidence.id): i.hit.count for d in single_alone.diagnoses for i in d.evidence}
    assert counts == {(d.cause.id, i.evidence.id): i.hit.count for d in parallel.diagnoses for i in d.evidence}


_DYING_WORKER = """
import json, os, sys
from dataclasses import replace
from tlsdiag.inputs import read as read_module
from tlsdiag.inputs.options import ReadOptions
from tlsdiag.report import render_scan
from tlsdiag.scan import run_scan

real_digest_range = read_module.digest_range


def dying(path, source, start, *args):
    if start == 8:  # this worker process dies in the middle of its range
        os._exit(3)
    return real_digest_range(path, source, start, *args)


if __name__ == "__main__":
    read_module.digest_range = dying  # a forked worker runs this module's copy
    small = dict(parallel_min_bytes=1, probe_chunks=2, task_chunks=3)
    result = run_scan([sys.argv[1]], options=replace(ReadOptions.from_environment(), **small))
    print(json.dumps({"report": render_scan(result, "json"), "remote": result.stats.reader["chunks_remote"],
                      "lost": result.summary.records_lost, "failures": result.stats.reader["fast_path_failures"]}))
"""


def _scan_in_a_script(tmp_path: Path, script_text: str, log: Path, *args: str) -> dict:
    """Run ``script_text`` (which scans ``log`` and prints a JSON line) in a fresh interpreter, 2 workers."""
    script = tmp_path / "scan_script.py"
    script.write_text(script_text)
    run = subprocess.run([sys.executable, str(script), str(log), *args], capture_output=True, text=True, check=False,
                         timeout=300, env={**os.environ, "TLSDIAG_WORKERS": "2"})
    assert run.returncode == 0, run.stderr[-2000:]
    return json.loads(run.stdout.strip().splitlines()[-1])


def test_a_worker_that_dies_costs_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kb) -> None:
    """A worker killed mid-range (out of memory, say): that range and the rest are read in this process."""
    log = busy_log(tmp_path / "System.evtx", 3000)
    monkeypatch.setenv("TLSDIAG_WORKERS", "1")
    want = render_scan(run_scan([log], kb=kb), "json")
    got = _scan_in_a_script(tmp_path, _DYING_WORKER, log)
    assert got["report"] == want and got["lost"] == 0
    # Workers analysed the ranges before chunk 8 (6 chunks) and at most the ranges already in flight beside the
    # dying one (2 x 2 workers in flight, 3 chunks each: up to 3 more ranges finish before the broken pool is
    # noticed on a busy machine); every range after those is read here.
    assert got["remote"] <= 6 + 3 * 3
    assert got["failures"] >= 1  # and the failure was counted (and logged), not swallowed


_NO_STDERR_FD = """
import io, json, sys
from dataclasses import replace
from tlsdiag.inputs.options import ReadOptions
from tlsdiag.scan import run_scan
from tlsdiag.report import render_scan

class NoFd(io.StringIO):  # what Textual puts in sys.stderr: fileno() is -1
    def fileno(self):
        return -1

if __name__ == "__main__":
    small = dict(parallel_min_bytes=1, probe_chunks=2)
    real = sys.stderr
    if sys.argv[2] == "no-fd":
        sys.stderr = NoFd()
    import threading
    stop = threading.Event()
    threading.Thread(target=stop.wait, daemon=True).start()  # another thread runs: no fork, a fork server
    result = run_scan([sys.argv[1]], options=replace(ReadOptions.from_environment(), **small))
    stop.set()
    sys.stderr = real
    print(json.dumps({"report": render_scan(result, "json"), "remote": result.stats.reader["chunks_remote"],
                      "lost": result.summary.records_lost}))
"""


@pytest.mark.slow
@pytest.mark.parametrize("stderr", ["no-fd", "normal"])
def test_a_threaded_process_uses_a_fork_server_or_reads_here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kb,
                                                            stderr: str) -> None:
    """Other threads run, so workers come from a fork server; with no stderr file descriptor (what Textual
    leaves) that cannot start, and the file is read in this process instead. Either way, the same report."""
    log = busy_log(tmp_path / "System.evtx", 3000)
    monkeypatch.setenv("TLSDIAG_WORKERS", "1")
    want = render_scan(run_scan([log], kb=kb), "json")
    got = _scan_in_a_script(tmp_path, _NO_STDERR_FD, log, stderr)
    assert got["report"] == want and got["lost"] == 0
    assert (got["remote"] > 0) is (stderr == "normal")
