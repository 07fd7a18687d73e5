"""Supervise mutation workers: hang guard, memory bound, restart after a hang or crash.

Each sample/seed/backend runs in its own worker subprocess (``worker.py``),
under an address-space limit so a runaway allocation fails inside the worker
instead of taking the machine down. The driver reads the worker's JSON lines;
when a variant does not finish within the hang guard (generous: it catches
hangs and quadratic blowups, not slowness), the worker is killed, the variant
recorded as a hang, and a new worker resumes after it. A worker that dies
(segfault, abort) is recorded the same way.
"""

from __future__ import annotations

import json
import os
import resource
import selectors
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

WORKER = Path(__file__).resolve().parent / "worker.py"
ADDRESS_SPACE_LIMIT = 4 * 1024**3  # per worker; pyevtx-rs and lxml reserve some virtual memory


def hang_guard(size: int, backend: str) -> float:
    """Seconds a variant may take before it counts as a hang: 30 s + 30 s/MB (python: 120 s + 120 s/MB)."""
    mb = size / 1e6
    return 30 + 30 * mb if backend == "rust" else 120 + 120 * mb


@dataclass
class RunResult:
    variants: int = 0
    failures: list[dict] = field(default_factory=list)  # problems, hangs, crashes
    seconds: float = 0.0
    max_secs_per_mb: float = 0.0
    slowest: dict = field(default_factory=dict)
    peak_rss_kb: int = 0
    originals: dict[str, int] = field(default_factory=dict)
    events: int = 0
    lost: int = 0

    def add(self, other: RunResult) -> None:
        self.variants += other.variants
        self.failures += other.failures
        self.seconds += other.seconds
        if other.max_secs_per_mb > self.max_secs_per_mb:
            self.max_secs_per_mb, self.slowest = other.max_secs_per_mb, other.slowest
        self.peak_rss_kb = max(self.peak_rss_kb, other.peak_rss_kb)
        self.originals.update(other.originals)
        self.events += other.events
        self.lost += other.lost


def _limit() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE_LIMIT, ADDRESS_SPACE_LIMIT))


def run_sample(sample: Path, seed: int, backend: str = "rust", flips: int = 8, every: int = 1,
               parallel_min: int | None = None, prefilter: bool = False) -> RunResult:
    """All variants of one sample for one seed and backend, each under the hang guard."""
    result = RunResult()
    start = 0
    guard = hang_guard(sample.stat().st_size + 2 * 65536, backend)
    t_begin = time.perf_counter()
    while True:
        cmd = [sys.executable, str(WORKER), str(sample), "--seed", str(seed), "--backend", backend,
               "--start", str(start), "--flips", str(flips), "--every", str(every)]
        if parallel_min is not None:
            cmd += ["--parallel-min", str(parallel_min)]
        if prefilter:
            cmd.append("--prefilter")
        errfile = tempfile.TemporaryFile()  # not a pipe: a chatty worker must not block on a full pipe
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=errfile, text=True,
                                preexec_fn=_limit, env={**os.environ, "PYTHONHASHSEED": "0"})
        sel = selectors.DefaultSelector()
        assert proc.stdout is not None
        sel.register(proc.stdout, selectors.EVENT_READ)
        current: dict | None = None
        after: dict | None = None
        resume: int | None = None
        deadline = time.monotonic() + guard + 60  # the first line includes reading the original
        while True:
            remaining = deadline - time.monotonic()
            ready = sel.select(timeout=max(remaining, 0)) if remaining > 0 else []
            if not ready:
                what = current or after or {"start": start - 1, "name": f"{sample.name}: original"}
                result.failures.append({"sample": str(sample), "seed": seed, "backend": backend,
                                        "variant": what["name"], "problems": [f"hang: no result in {guard:.0f} s"]})
                proc.kill()
                proc.wait()
                resume = what["start"] + 1 if (current or after) else None  # the original itself: give up
                break
            line = proc.stdout.readline()
            if not line:
                proc.wait()
                if proc.returncode != 0 or current is not None:
                    errfile.seek(0)
                    err = errfile.read().decode("utf-8", "replace")[-2000:]
                    what = current or {"start": start, "name": f"{sample.name}: original"}
                    result.failures.append({"sample": str(sample), "seed": seed, "backend": backend,
                                            "variant": what["name"],
                                            "problems": [f"worker died (exit {proc.returncode}): {err}"]})
                    resume = what["start"] + 1 if current is not None else None
                break
            msg = json.loads(line)
            if "original" in msg:
                result.originals[str(sample)] = msg["original"]
            elif "start" in msg:
                current = msg
                deadline = time.monotonic() + guard
            else:
                current = None
                deadline = time.monotonic() + guard  # until the next variant starts
                after = {"start": msg["done"], "name": f"after {msg['name']}"}
                result.variants += 1
                result.events += msg["events"]
                result.lost += msg["lost"]
                result.peak_rss_kb = max(result.peak_rss_kb, msg["rss_kb"])
                per_mb = msg["secs"] / max(msg["size"] / 1e6, 0.05)
                if per_mb > result.max_secs_per_mb:
                    result.max_secs_per_mb = per_mb
                    result.slowest = {"variant": msg["name"], "secs": msg["secs"], "size": msg["size"],
                                      "sample": str(sample), "backend": backend}
                if msg["problems"]:
                    result.failures.append({"sample": str(sample), "seed": seed, "backend": backend,
                                            "variant": msg["name"], "problems": msg["problems"]})
        sel.close()
        if proc.stdout:
            proc.stdout.close()
        errfile.close()
        if resume is None:
            break
        start = resume
    result.seconds = time.perf_counter() - t_begin
    return result


def run(samples: list[Path], seeds: list[int], backends: tuple[str, ...] = ("rust",), flips: int = 8,
        every: dict[str, int] | None = None, jobs: int = 1) -> RunResult:
    """Every sample x seed x backend; ``every[backend]`` thins the variants (python-evtx is slow).

    ``jobs`` workers run side by side (each is its own process).
    """
    from concurrent.futures import ThreadPoolExecutor

    tasks = [(sample, seed, backend, flips, (every or {}).get(backend, 1))
             for backend in backends for sample in samples for seed in seeds]
    total = RunResult()
    t0 = time.perf_counter()
    with ThreadPoolExecutor(max_workers=max(jobs, 1)) as pool:
        for part in pool.map(lambda t: run_sample(*t), tasks):
            total.add(part)
    total.seconds = time.perf_counter() - t0  # wall clock, not the sum of the workers
    return total


def mixed_sample(directory: Path) -> Path:
    """Whole chunks of providers the knowledge base does not want around chunks it does: the prefilter skips some."""
    from datetime import datetime, timedelta, timezone

    from tlsdiag_devkit.evtxwrite import EventSpec, UserData, write_file

    t0 = datetime(2026, 11, 27, 11, 0, tzinfo=timezone.utc)

    def other(i: int) -> EventSpec:
        return EventSpec(channel="System", provider="Service Control Manager", event_id=7036, level=4,
                         time=t0 + timedelta(seconds=i), computer="fe04.contoso.local",
                         provider_guid="{555908D1-A6D7-4695-8E1E-26931D2012F4}",
                         data={"param1": f"Service {i}", "param2": "running"})

    def schannel(i: int) -> EventSpec:
        return EventSpec(channel="System", provider="Schannel", event_id=36888, level=2, time=t0 + timedelta(seconds=i),
                         provider_guid="{1F678132-5938-4686-9FDC-C8FF68F15C85}", computer="fe04.contoso.local",
                         userdata=UserData("EventXML", "LSA_NS", {"AlertDesc": 40, "ErrorState": i}))

    specs = [other(i) for i in range(500)] + [schannel(i) for i in range(500, 800)] + \
        [other(i) for i in range(800, 1300)]
    directory.mkdir(parents=True, exist_ok=True)
    return write_file(directory / "System-mixed.evtx", specs)


def large_sample(directory: Path, megabytes: int = 17) -> Path:
    """A file above the reader's parallel threshold (16 MiB), so chunk ranges go to worker processes."""
    from datetime import datetime, timedelta, timezone

    from tlsdiag_devkit.evtxwrite import EventSpec, UserData, write_file

    t0 = datetime(2026, 11, 27, 10, 0, tzinfo=timezone.utc)
    per_event = 290  # bytes of file per record of this shape, measured
    count = megabytes * 1024 * 1024 // per_event
    specs = (EventSpec(channel="System", provider="Schannel", event_id=36888, level=2, time=t0 + timedelta(seconds=i),
                       provider_guid="{1F678132-5938-4686-9FDC-C8FF68F15C85}", computer="fe03.contoso.local",
                       user_sid="S-1-5-18", userdata=UserData("EventXML", "LSA_NS", {"AlertDesc": 40,
                                                                                      "ErrorState": i}))
             for i in range(count))
    directory.mkdir(parents=True, exist_ok=True)
    return write_file(directory / "System-large.evtx", specs)


def python_sample(directory: Path) -> Path:
    """A one-chunk, template-form file for the slow python-evtx backend."""
    from datetime import datetime, timedelta, timezone

    from tlsdiag_devkit.evtxwrite import EventSpec, UserData, write_file

    t0 = datetime(2026, 11, 27, 9, 0, tzinfo=timezone.utc)
    specs = [EventSpec(channel="System", provider="Schannel", event_id=36887, level=2, time=t0 + timedelta(seconds=i),
                       provider_guid="{1F678132-5938-4686-9FDC-C8FF68F15C85}", computer="fe02.contoso.local",
                       user_sid="S-1-5-18", userdata=UserData("EventXML", "LSA_NS", {"AlertDesc": 48 + i % 3}))
             for i in range(40)]
    directory.mkdir(parents=True, exist_ok=True)
    return write_file(directory / "System-python.evtx", specs)


def describe(result: RunResult) -> str:
    """A short human summary (the CLI prints it; tests show it on failure)."""
    lines = [f"{result.variants} variants in {result.seconds:.1f} s wall; peak worker RSS "
             f"{result.peak_rss_kb / 1024:.1f} MiB; slowest {result.max_secs_per_mb:.2f} s/MB "
             f"({result.slowest.get('variant', '-')}, {result.slowest.get('backend', '-')}); "
             f"{result.events} events read, {result.lost} records counted lost; {len(result.failures)} failure(s)"]
    for f in result.failures[:40]:
        lines.append(f"  FAIL {Path(f['sample']).name} {f['backend']} {f['variant']}: {f['problems'][0][:300]}")
    return "\n".join(lines)


def write_samples(directory: Path) -> list[Path]:
    """EVTX files written with tlsdiag_devkit.evtxwrite: every BinXML form, several chunks, a dirty file."""
    from datetime import datetime, timedelta, timezone

    from tlsdiag_devkit.evtxwrite import EventSpec, EvtxWriter, UserData, write_file

    t0 = datetime(2026, 11, 27, 8, 0, 0, 123456, tzinfo=timezone.utc)

    def spec(i: int, form: str = "template") -> EventSpec:
        ts = t0 + timedelta(seconds=i)
        kind = i % 3
        if kind == 0:
            return EventSpec(channel="System", provider="Schannel", event_id=36888, level=2, time=ts,
                             provider_guid="{1F678132-5938-4686-9FDC-C8FF68F15C85}", computer="fe01.contoso.local",
                             user_sid="S-1-5-18", form=form,
                             userdata=UserData("EventXML", "LSA_NS", {"AlertDesc": 40, "ErrorState": 1205 + i}))
        if kind == 1:
            return EventSpec(channel="Application", provider="Microsoft-Windows-CAPI2", event_id=4097, time=ts,
                             provider_guid="{5bbca4a8-b209-48dc-a8c7-b23d3e5216fb}", computer="fe01.contoso.local",
                             form=form, data={"Subject": f"CN=Root {i} \u00e4\u00f6\u00fc",
                                              "Thumbprint": "A8985D3A65E5E5C4B2D7D66D40C6DD2FB19C5436"})
        return EventSpec(channel="Lync Server", provider="LS User Services", event_id=32174, qualifiers=33777,
                         level=3, task=1006, time=ts, computer="fe01.contoso.local", form=form,
                         data=[f"pool{i}.contoso.local", "", str(i)], binary=bytes([i % 256, 0xAB]))

    directory.mkdir(parents=True, exist_ok=True)
    multi = write_file(directory / "System-multi.evtx", [spec(i) for i in range(700)])
    forms = write_file(directory / "forms.evtx",
                       [spec(i, ("template", "mixed", "inline")[i % 3]) for i in range(60)])
    dirty = directory / "Lync-dirty.evtx"
    with EvtxWriter(dirty, dirty=True) as w:
        for i in range(400):
            w.add(spec(3 * i + 2))
    return [multi, forms, dirty]
