#!/usr/bin/env python3
"""Benchmark: scanning a large collection with python-evtx, with pyevtx-rs the plain way, and with tlsdiag.

The main collection is made of real logs: ``../shared/bench/make_real_chunk_evtx.py`` stitches a file
(1 GiB by default, cached) from the whole chunks of the real ``.evtx`` files under ``../shared/corpus/evtx``
with the samples' Schannel, Lync, Fabric and CAPI2 chunks spread in as needles, and writes the needle
chunks alone beside it; a scan of the big file must give the findings of a scan of the needles file.
Real chunks have what written ones lack (EventLog and Microsoft-Windows-Eventlog records in most
System and Security chunks, many templates per chunk, real record sizes).

It also generates (once, cached) a written collection with the project's EVTX writer:
a big ``System.evtx`` of ordinary background events with rare Schannel events
mixed in, a ``Lync Server.evtx`` whose background sources are not in the
catalog with rare catalog events, and a Windows Fabric Admin log; plus two worst
cases in which every record is relevant (all Schannel): one event repeated, and
every record different (``COLLECTIONS``). Then measures, on the
same files, each in its own process (wall time, and peak RSS summed over the
process and its children, sampled every 20 ms):

1. python-evtx reading a fixed slice of chunks, extrapolated to the collection,
2. pyevtx-rs ``records_json()`` with ``json.loads`` of every record,
3. ``tlsdiag scan`` end to end (as shipped), and the reader alone with the
   provider-name prefilter that the scan can pass (``chunk_prefilter``),

and prints MB/s, records/s, peak RSS and the ratios. ``--write`` records the
run in benchmarks/RESULTS.md. Run with ``python3 dev.py bench [options]``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import random
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "RESULTS.md"
GENERATOR_VERSION = "1"
NOTES_MARKER = "<!-- notes by hand: everything from here on is kept by --write -->"
COLLECTIONS = {  # label -> what it is (in the generated cache folder of the same name)
    "real": "Real chunks: whole chunks of the real logs under ../shared/corpus/evtx, with the samples' Schannel, "
            "Lync, Fabric and CAPI2 chunks spread in as needles (../shared/bench/make_real_chunk_evtx.py).",
    "sparse": "Written by the project's EVTX writer: busy logs of one server where the events the knowledge base "
              "uses are rare.",
    "worst": "Every record relevant: one Schannel event repeated (a handshake failing every few seconds).",
    "distinct": "Every record relevant and no two alike but for time and record id (alert and error state vary), "
                "so nothing decoded or matched once can be reused.",
}

# ---------------------------------------------------------------------------------------------- data

SCHANNEL_GUID = "{1F678132-5938-4686-9FDC-C8FF68F15C85}"
FABRIC_GUID = "{CBD93BC2-71E5-4566-B3A7-595D8EECA6E8}"


def _specs(kind: str, target_bytes: int, seed: int):
    """EventSpecs for one log, until about ``target_bytes`` have been produced (estimated per record)."""
    from tlsdiag_devkit.evtxwrite import EventSpec, UserData

    rng = random.Random(seed)
    t = datetime(2026, 1, 5, tzinfo=timezone.utc)
    host = "lyncfe01.contoso.local"

    def system_noise(i: int) -> EventSpec:
        r = rng.random()
        if r < 0.55:
            return EventSpec(channel="System", provider="Service Control Manager",
                             provider_guid="{555908D1-A6D7-4695-8E1E-26931D2012F4}", event_source_name=
                             "Service Control Manager", event_id=7036, qualifiers=16384, time=t, computer=host,
                             data={"param1": rng.choice(["Windows Update", "Background Intelligent Transfer Service",
                                                         "WinHTTP Web Proxy Auto-Discovery Service",
                                                         "Windows Modules Installer"]),
                                   "param2": rng.choice(["running", "stopped"])},
                             binary=b"7\x00" * 20)
        if r < 0.75:
            return EventSpec(channel="System", provider="Microsoft-Windows-Time-Service",
                             provider_guid="{06EDCFEB-0FD0-4E53-ACCA-A6F8BBF81BCB}", event_id=37, time=t,
                             computer=host, data={"TimeSource": f"dc0{i % 3}.contoso.local (ntp.d|10.0.0.{i % 250}:123)"})
        if r < 0.90:
            return EventSpec(channel="System", provider="Microsoft-Windows-DistributedCOM",
                             provider_guid="{1B562E86-B7AA-4131-BADC-B6F3A001407E}", event_id=10016,
                             qualifiers=0, level=3, time=t, computer=host,
                             data={"param1": "application-specific", "param2": "Local",
                                   "param3": "Activation", "param4": "{D63B10C5-BB46-4990-A94F-E40B9D520160}",
                                   "param5": "{9CA88EE3-ACB7-47C8-AFC4-AB702511C276}", "param6": "NT AUTHORITY",
                                   "param7": "SYSTEM", "param8": "S-1-5-18", "param9": "LocalHost (Using LRPC)"})
        return EventSpec(channel="System", provider="Microsoft-Windows-DNS-Client",
                         provider_guid="{1C95126E-7EEA-49A9-A3FE-A378B03DDB4D}", event_id=1014, level=3, time=t,
                         computer=host, data={"QueryName": f"wpad{i % 7}.contoso.local", "AddressLength": 128,
                                              "Address": "0200003500000000"})

    def schannel(i: int) -> EventSpec:
        return EventSpec(channel="System", provider="Schannel", provider_guid=SCHANNEL_GUID, event_id=36888,
                         level=2, time=t, computer=host, user_sid="S-1-5-18",
                         userdata=UserData("EventXML", "LSA_NS", {"AlertDesc": 40, "ErrorState": 1205}))

    def schannel_distinct(i: int) -> EventSpec:
        # no two records alike but for time and record id: the reader's memo and the scan's per-shape
        # shortcut find nothing to reuse (the error state is not a real sequence; it only makes records differ)
        return EventSpec(channel="System", provider="Schannel", provider_guid=SCHANNEL_GUID,
                         event_id=rng.choice([36888, 36887]), level=2, time=t, computer=host, user_sid="S-1-5-18",
                         userdata=UserData("EventXML", "LSA_NS", {"AlertDesc": rng.choice([40, 42, 46, 48, 70]),
                                                                  "ErrorState": 100000 + i}))

    lync_noise_sources = ["LS Storage Service", "LS Centralized Logging Service Agent", "LS Call Park Service",
                          "LS Response Group Service", "LS Backup Service", "LS Address Book Server"]

    def lync_noise(i: int) -> EventSpec:
        return EventSpec(channel="Lync Server", provider=rng.choice(lync_noise_sources), event_id=32000 + i % 50,
                         qualifiers=17393, level=4, task=1000 + i % 40, time=t, computer=host,
                         data=[f"Operation {i} completed for pool pool01.contoso.local.", "0", "Normal operation."])

    def lync_rare(i: int) -> EventSpec:
        return EventSpec(channel="Lync Server", provider="LS User Services", event_id=32174, qualifiers=33777,
                         level=3, task=1006, time=t, computer=host,
                         data=["{63BB8586-A9D8-5AF2-83FF-B5CE680594C0}", "1", "1"])

    def fabric(i: int) -> EventSpec:
        return EventSpec(channel="Microsoft-Windows-WindowsFabric/Admin", provider="Microsoft-Windows-WindowsFabric",
                         provider_guid=FABRIC_GUID, event_id=18465 if i % 500 == 0 else 23000 + i % 20, level=4,
                         time=t, computer=host, data={"Id": f"{i:032x}", "Message": "Replica state changed."})

    produced = 0
    i = 0
    while produced < target_bytes:
        if kind == "system":
            spec = schannel(i) if rng.random() < 1 / 20000 else system_noise(i)
        elif kind == "lync":
            spec = lync_rare(i) if rng.random() < 1 / 5000 else lync_noise(i)
        elif kind == "fabric":
            spec = fabric(i)
        elif kind == "distinct":  # worst for the memo: every record relevant and different
            spec = schannel_distinct(i)
        else:  # worst: every record relevant
            spec = schannel(i)
        yield replace(spec, time=t)
        t += timedelta(seconds=rng.randint(1, 20))
        produced += 420  # about the size of one record on disk; the file is cut at the target anyway
        i += 1


def _write(path: Path, kind: str, megabytes: float, seed: int) -> None:
    from tlsdiag_devkit.evtxwrite import EvtxWriter

    target = int(megabytes * 1024 * 1024)
    tmp = path.with_suffix(".partial")
    with EvtxWriter(tmp) as writer:
        for spec in _specs(kind, target * 4, seed):
            writer.add(spec)
            if writer.chunks * 65536 >= target:
                break
    tmp.replace(path)


def generate(cache: Path, sizes: dict[str, float]) -> tuple[Path, Path, Path]:
    writer_src = b"".join(p.read_bytes() for p in sorted((ROOT / "tools/tlsdiag_devkit/evtxwrite").glob("*.py")))
    key = hashlib.sha256(json.dumps([sizes, GENERATOR_VERSION]).encode() + writer_src).hexdigest()[:12]
    base = cache / key
    sparse, worst, distinct = base / "sparse", base / "worst", base / "distinct"
    plan = [(sparse / "System.evtx", "system", sizes["system"], 1),
            (sparse / "Lync Server.evtx", "lync", sizes["lync"], 2),
            (sparse / "Microsoft-Windows-WindowsFabric%4Admin.evtx", "fabric", sizes["fabric"], 3),
            (worst / "System.evtx", "worst", sizes["worst"], 4),
            (distinct / "System.evtx", "distinct", sizes["worst"], 5)]
    for path, kind, mb, seed in plan:
        if path.exists():
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        t0 = time.perf_counter()
        print(f"generating {path} ({mb:.0f} MB) ...", flush=True)
        _write(path, kind, mb, seed)
        print(f"  done in {time.perf_counter() - t0:.0f} s", flush=True)
    return sparse, worst, distinct


SHARED = ROOT.parent / "shared"
REAL_BUILDER = SHARED / "bench" / "make_real_chunk_evtx.py"
REAL_CORPUS = SHARED / "corpus" / "evtx"


def real_chunks(cache: Path, megabytes: int) -> Path:
    """The real-chunk file (and its ``.needles.evtx``), built once with the shared builder."""
    folder = cache / f"real-{megabytes}"
    target = folder / "real.evtx"
    if not target.exists():
        folder.mkdir(parents=True, exist_ok=True)
        print(f"building {target} ({megabytes} MiB of real chunks) ...", flush=True)
        subprocess.run([sys.executable, str(REAL_BUILDER), str(target), str(megabytes), str(ROOT / "samples"),
                        str(REAL_CORPUS)], check=True)
    return target


# ---------------------------------------------------------------------------------------------- measuring

_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _tree(pid: int, cpu: dict[int, float]) -> int:
    """RSS (KiB) summed over a process and its descendants; records each one's CPU seconds in ``cpu``."""
    total = 0
    stack = [pid]
    while stack:
        p = stack.pop()
        try:
            with open(f"/proc/{p}/status") as fh:
                for line in fh:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
                        break
            with open(f"/proc/{p}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
            cpu[p] = (int(fields[11]) + int(fields[12])) / _TICK  # utime + stime
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as fh:
                    stack.extend(int(c) for c in fh.read().split())
        except (OSError, ValueError, IndexError):
            continue
    return total


@dataclass
class Run:
    name: str
    seconds: float
    peak_rss_mb: float
    output: dict
    cpu_seconds: float = 0.0
    samples: tuple[float, ...] = ()  # wall seconds of every repetition (the Run itself is the median one)


def median_run(runs: list[Run]) -> Run:
    """The repetition with the median wall time, carrying all repetitions' times."""
    ordered = sorted(runs, key=lambda r: r.seconds)
    middle = ordered[(len(ordered) - 1) // 2]
    return replace(middle, samples=tuple(r.seconds for r in runs),
                   peak_rss_mb=max(r.peak_rss_mb for r in runs))


def paired_ratio(baseline: list[Run], ours: list[Run]) -> float:
    """Median over repetitions of baseline/ours, each pair measured back to back (the machine's speed drifts)."""
    ratios = sorted(b.seconds / o.seconds for b, o in zip(baseline, ours, strict=True))
    return ratios[(len(ratios) - 1) // 2] if len(ratios) % 2 else (ratios[len(ratios) // 2 - 1] + ratios[len(ratios) // 2]) / 2


def measure(name: str, code: str, *args: str) -> Run:
    """Run ``code`` in a fresh interpreter; wall time, peak RSS of its process tree, its JSON output."""
    import resource

    cmd = [sys.executable, "-c", code, *args]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu_seen: dict[int, float] = {}
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, _tree(proc.pid, cpu_seen))
            done.wait(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, err = proc.communicate()
    seconds = time.perf_counter() - t0
    done.set()
    sampler.join()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    waited = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    # rusage counts the process and the workers it waited for (forked ones); workers that are not its own
    # children (a fork server's) are only seen in the /proc samples, so take whichever sum is larger
    cpu = max(waited, sum(cpu_seen.values()))
    if proc.returncode not in (0, 1):
        print(f"{name} failed ({proc.returncode}):\n{err[-2000:]}", file=sys.stderr)
        return Run(name, seconds, peak / 1024, {"error": err.strip().splitlines()[-1:] or ["?"]}, cpu)
    try:
        data = json.loads(out.strip().splitlines()[-1]) if out.strip() else {}
    except ValueError:
        data = {}
    return Run(name, seconds, peak / 1024, data, cpu)


PYTHON_EVTX = r"""
import json, sys, time
from Evtx.Evtx import Evtx
path, chunks = sys.argv[1], int(sys.argv[2])
n = 0
t0 = time.perf_counter()
with Evtx(path) as log:
    for i, chunk in enumerate(log.get_file_header().chunks(include_inactive=True)):
        if i >= chunks:
            break
        for record in chunk.records():
            record.xml()
            n += 1
print(json.dumps({"records": n, "bytes": chunks * 65536, "seconds": time.perf_counter() - t0}))
"""

RUST_PLAIN = r"""
import json, os, sys
from evtx import PyEvtxParser
n = 0
for path in sys.argv[1:]:
    for record in PyEvtxParser(path).records_json():
        json.loads(record["data"])
        n += 1
print(json.dumps({"records": n}))
"""

READER = r"""
import json, sys
from tlsdiag.inputs import ReadStats, chunk_prefilter, read_events
from tlsdiag.kb import load_kb
from tlsdiag.model import ReadSummary
from tlsdiag.scan import prefilter_event_ids, prefilter_names
summary, stats = ReadSummary(), ReadStats()
kb = load_kb()
pf = chunk_prefilter(prefilter_names(kb), prefilter_event_ids(kb))
n = sum(1 for _ in read_events(sys.argv[1:], summary=summary, stats=stats, prefilter=pf))
print(json.dumps({"events": n, **{k: v for k, v in vars(stats).items() if isinstance(v, int)}}))
"""

SCAN = r"""
import hashlib, json, sys
from tlsdiag.report import render_scan
from tlsdiag.scan import run_scan
result = run_scan(sys.argv[1:])
# what was found, without where (chunk numbers differ between the big file and the needles alone)
found = [[f["computer"], f["cause"], f["confidence"], f["score"], f["made"], f["first_seen"], f["last_seen"],
          [[e["id"], e.get("count"), e.get("first_seen"), e.get("last_seen")] for e in f.get("evidence") or []]]
         for f in json.loads(render_scan(result, "json"))["findings"]]
print(json.dumps({"diagnoses": len(result.diagnoses), "made": len(result.made),
                  "findings": hashlib.sha256(json.dumps(found).encode()).hexdigest()[:16],
                  **dict(result.stats.reader or {})}))
"""


def machine() -> dict[str, str]:
    info: dict[str, str] = {}
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
        mem = next(line for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal"))
        info["memory"] = f"{int(mem.split()[1]) / 1024 / 1024:.1f} GiB"
    except (OSError, StopIteration):
        pass
    info["cores"] = str(os.cpu_count())
    info["os"] = f"{platform.system()} {platform.release()}"
    info["python"] = platform.python_version()
    from importlib.metadata import version

    for pkg in ("evtx", "python-evtx", "lxml", "hyperscan", "isal", "orjson"):
        try:
            info[pkg] = version(pkg)
        except Exception:
            info[pkg] = "?"
    info["load average at start"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return info


def warm_up() -> None:
    """Measure the tool as installed and in use: bytecode compiled (pip does that for a wheel; this
    environment sets PYTHONDONTWRITEBYTECODE) and the knowledge-base cache filled by an earlier run."""
    import compileall

    compileall.compile_dir(str(ROOT / "src" / "tlsdiag"), quiet=1)
    subprocess.run([sys.executable, "-m", "tlsdiag", "kb", "list"], cwd=ROOT, check=False, capture_output=True)
    subprocess.run([sys.executable, "-m", "tlsdiag", "scan", "--quiet", str(ROOT / "samples" / "healthy-server")],
                   cwd=ROOT, check=False, capture_output=True)


def _times(run: Run) -> str:
    return "runs: " + ", ".join(f"{t:.2f}" for t in run.samples) + " s" if run.samples else ""


def _mb(paths: list[Path]) -> float:
    return sum(p.stat().st_size for p in paths) / 1e6


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--real-mb", type=int, default=1024, help="size of the real-chunk file (MiB)")
    parser.add_argument("--system-mb", type=float, default=300)
    parser.add_argument("--lync-mb", type=float, default=40)
    parser.add_argument("--fabric-mb", type=float, default=8)
    parser.add_argument("--worst-mb", type=float, default=40, help="size of the worst and the distinct case")
    parser.add_argument("--quick", action="store_true", help="small sizes (60/10/4/10 MB) for a fast look")
    parser.add_argument("--python-chunks", type=int, default=3, help="chunks python-evtx reads (extrapolated)")
    parser.add_argument("--cache", type=Path, default=Path(os.environ.get(
        "TLSDIAG_BENCH_CACHE", Path.home() / ".cache" / "tlsdiag-bench")))
    parser.add_argument("--write", action="store_true", help="record the run in benchmarks/RESULTS.md")
    parser.add_argument("--generate-only", action="store_true", help="only build (or find) the cached data")
    parser.add_argument("--only", choices=list(COLLECTIONS), help="measure one collection only")
    parser.add_argument("--repeat", type=int, default=3,
                        help="alternating repetitions of approaches 2 and 3 (medians are reported)")
    parser.add_argument("--big-copies", type=int, default=6,
                        help="also scan a collection of this many hard-linked copies of the sparse System.evtx "
                             "(about 2 GB with the default sizes) for the memory bound; 0 to skip")
    args = parser.parse_args(argv)
    sizes = {"system": args.system_mb, "lync": args.lync_mb, "fabric": args.fabric_mb, "worst": args.worst_mb}
    if args.quick:
        sizes = {"system": 60, "lync": 10, "fabric": 4, "worst": 10}
    info = machine()
    real = real_chunks(args.cache, 64 if args.quick else args.real_mb)
    folders = generate(args.cache, sizes)
    if args.generate_only:
        return 0
    warm_up()
    written = {label: sorted(folder.glob("*.evtx")) for label, folder in zip(list(COLLECTIONS)[1:], folders,
                                                                               strict=True)}
    collections = {"real": [real], **written}
    sparse = folders[0]
    runs: dict[str, Run] = {}
    ratios: dict[str, float] = {}  # approach 2 / ours, median of back-to-back pairs
    for label, files in collections.items():
        if args.only and label != args.only:
            continue
        paths = [str(p) for p in files]
        print(f"measuring {label} ({_mb(files):.0f} MB), {args.repeat} alternating repetitions ...", flush=True)
        reps: dict[str, list[Run]] = {"rust": [], "scan": [], "reader": []}
        for _ in range(args.repeat):
            reps["rust"].append(measure("pyevtx-rs records_json + json.loads", RUST_PLAIN, *paths))
            reps["scan"].append(measure("tlsdiag scan (run_scan)", SCAN, *paths))
            reps["reader"].append(measure("tlsdiag reader + the scan's prefilter", READER, *paths))
        for key, found in reps.items():
            runs[f"{label}/{key}"] = median_run(found)
        ratios[f"{label}/scan"] = paired_ratio(reps["rust"], reps["scan"])
        ratios[f"{label}/reader"] = paired_ratio(reps["rust"], reps["reader"])
        if label in ("real", "sparse"):
            runs[f"{label}/python"] = measure("python-evtx (slice)", PYTHON_EVTX, str(files[0]),
                                              str(args.python_chunks))
        if label == "real":
            needles = real.with_name(real.stem + ".needles.evtx")
            runs["real/needles"] = measure("tlsdiag scan of the needles alone", SCAN, str(needles))
    big_files: list[Path] = []
    if args.big_copies and not args.only:
        big = sparse.parent / "big"
        for i in range(args.big_copies):
            target = big / f"srv{i + 1}" / "System.evtx"
            if not target.exists():
                target.parent.mkdir(parents=True, exist_ok=True)
                try:
                    os.link(sparse / "System.evtx", target)  # same bytes, no extra disk
                except OSError:
                    import shutil

                    shutil.copyfile(sparse / "System.evtx", target)
            big_files.append(target)
        print(f"measuring big ({_mb(big_files):.0f} MB) ...", flush=True)
        runs["big/scan"] = measure("tlsdiag scan (run_scan)", SCAN, *map(str, big_files))
    report = render(info, runs, ratios, collections, args.python_chunks, big_files)
    print(report)
    if args.write:
        kept = ""
        if RESULTS.exists():  # notes written by hand below the marker stay
            old = RESULTS.read_text()
            kept = old[old.index(NOTES_MARKER):] if NOTES_MARKER in old else ""
        RESULTS.write_text(report + ("\n" + kept if kept else ""))
        print(f"written to {RESULTS}")
    return 0


def render(info: dict[str, str], runs: dict[str, Run], ratios: dict[str, float],
           collections: dict[str, list[Path]], python_chunks: int, big_files: list[Path] | None = None) -> str:
    lines = ["# Benchmark results (`python3 dev.py bench`)", "",
             f"Run {datetime.now(timezone.utc).strftime('%Y-%m-%d %H:%M UTC')} by `benchmarks/bench_scan.py`.", "",
             "## Machine", ""]
    lines += [f"- {k}: {v}" for k, v in info.items()]
    lines += ["", "Each approach runs in a fresh interpreter. Approaches 2, 3 and 3b alternate, repeated; the",
              "table shows the repetition with the median wall time (all times in the notes), and the ratios",
              "are medians of back-to-back pairs, because this virtual machine's speed drifts by 20-40% over",
              "minutes. CPU seconds include worker processes.", ""]
    for label, files in collections.items():
        if f"{label}/rust" not in runs:
            continue
        mb = _mb(files)
        rust = runs[f"{label}/rust"]
        records = rust.output.get("records", 0)
        lines += [f"## {label} collection: {mb:.0f} MB, {records} records", "", COLLECTIONS[label], ""]
        lines += [f"Files: {', '.join(f'{p.name} ({p.stat().st_size / 1e6:.0f} MB)' for p in files)}", ""]
        lines += ["| approach | seconds | MB/s | records/s | CPU s | peak RSS (MB) | notes |",
                  "|---|---:|---:|---:|---:|---:|---|"]
        rows = []
        py = runs.get(f"{label}/python")
        if py and "records" in py.output:
            rate = py.output["records"] / max(py.output["seconds"], 1e-9)
            byte_rate = py.output["bytes"] / max(py.output["seconds"], 1e-9)
            est = records / rate if rate else float("inf")
            rows.append(("1. python-evtx (extrapolated)", est, mb / est, rate, est, py.peak_rss_mb,
                         f"{py.output['records']} records of {python_chunks} chunks in "
                         f"{py.output['seconds']:.1f} s ({byte_rate / 1e6:.2f} MB/s), scaled to {records}"))
        rows.append(("2. pyevtx-rs records_json + json.loads", rust.seconds, mb / rust.seconds,
                     records / rust.seconds, rust.cpu_seconds, rust.peak_rss_mb, _times(rust)))
        scan = runs[f"{label}/scan"]
        if "error" in scan.output:
            rows.append(("3. tlsdiag scan (as shipped)", float("nan"), float("nan"), float("nan"), scan.cpu_seconds,
                         scan.peak_rss_mb, f"failed: {scan.output['error']}"))
        else:
            o = scan.output
            rows.append(("3. tlsdiag scan (as shipped)", scan.seconds, mb / scan.seconds, records / scan.seconds,
                         scan.cpu_seconds, scan.peak_rss_mb, f"{_times(scan)}; chunks parsed {o.get('chunks_parsed')}/"
                         f"{o.get('chunks_total')} (skipped after reading their records' provider and id: "
                         f"{o.get('chunks_skipped_by_records')}), records parsed {o.get('records_parsed')}, skipped "
                         f"in parsed chunks {o.get('records_skipped')}, chunks analysed by workers "
                         f"{o.get('chunks_remote')}, shortcut failures {o.get('fast_path_failures')}; "
                         f"diagnoses made {o.get('made')}, findings {o.get('findings')}"))
        reader = runs[f"{label}/reader"]
        o = reader.output
        rows.append(("3b. reader + the scan's prefilter", reader.seconds, mb / reader.seconds,
                     records / reader.seconds, reader.cpu_seconds, reader.peak_rss_mb,
                     f"{_times(reader)}; chunks parsed {o.get('chunks_parsed')}/{o.get('chunks_total')}, "
                     f"events {o.get('events')}"))
        for name, sec, mbs, rps, cpu, rss, note in rows:
            lines.append(f"| {name} | {sec:.2f} | {mbs:.1f} | {rps:,.0f} | {cpu:.1f} | {rss:.0f} | {note} |")
        lines.append("")
        said = []
        for key, title in ((f"{label}/scan", "scan"), (f"{label}/reader", "reader")):
            run = runs[key]
            if "error" in run.output:
                continue
            said.append(f"{title} vs 2: {ratios[key]:.1f}x faster (median of paired runs)")
            if py and "records" in py.output:
                est = records / (py.output["records"] / py.output["seconds"])
                said.append(f"{title} vs 1: {est / run.seconds:,.0f}x faster")
        lines += ["Ratios: " + "; ".join(said) + ".", ""]
    big = runs.get("big/scan")
    if big and big_files:
        mb = _mb(big_files)
        o = big.output
        lines += [f"## big collection: {mb / 1000:.2f} GB ({len(big_files)} hard-linked copies of the sparse "
                  "System.evtx, so read from the page cache)", "",
                  f"`tlsdiag scan`: {big.seconds:.1f} s wall ({mb / big.seconds:.0f} MB/s), {big.cpu_seconds:.1f} CPU s "
                  f"({mb / max(big.cpu_seconds, 1e-9):.0f} MB per CPU second), peak RSS {big.peak_rss_mb:.0f} MB "
                  f"summed over all processes; chunks parsed {o.get('chunks_parsed')}/{o.get('chunks_total')}.", ""]
    lines += ["## Targets (issue 18 on the real chunks; issue 6 on the written collections)", ""]
    checks = []
    for label in ("real", "sparse"):
        if f"{label}/scan" not in runs or "error" in runs[f"{label}/scan"].output:
            continue
        scan, rust = runs[f"{label}/scan"], runs[f"{label}/rust"]
        mb = _mb(collections[label])
        ratio = ratios[f"{label}/scan"]
        checks.append((f"{label}: scan at least 10x faster than approach 2 (wall)", ratio >= 10,
                       f"{ratio:.1f}x (median of paired runs; CPU: "
                       f"{rust.cpu_seconds / max(scan.cpu_seconds, 1e-9):.1f}x)"))
        checks.append((f"{label}: scan at least 500 MB/s end to end", mb / scan.seconds >= 500,
                       f"{mb / scan.seconds:.0f} MB/s wall (median run); {mb / max(scan.cpu_seconds, 1e-9):.0f} MB "
                       "per CPU second"))
    needles = runs.get("real/needles")
    if needles and "real/scan" in runs and "error" not in runs["real/scan"].output:
        big, alone = runs["real/scan"].output, needles.output
        checks.append(("real: findings identical to a scan of the needles alone",
                       big.get("findings") == alone.get("findings") and big.get("made") == alone.get("made"),
                       f"findings {big.get('findings')} vs {alone.get('findings')}, diagnoses made "
                       f"{big.get('made')} vs {alone.get('made')}"))
    for label in ("worst", "distinct"):
        if f"{label}/scan" not in runs or "error" in runs[f"{label}/scan"].output:
            continue
        scan, rust = runs[f"{label}/scan"], runs[f"{label}/rust"]
        ratio = ratios[f"{label}/scan"]
        what = {"worst": "worst case (every record relevant, one event repeated)",
                "distinct": "worst case, strictest form (every record relevant and distinct)"}[label]
        checks.append((f"{what}: scan no slower than approach 2", ratio >= 1.0,
                       f"approach 2 / scan = {ratio:.2f} (median of paired runs); medians {scan.seconds:.2f} s vs "
                       f"{rust.seconds:.2f} s wall, {scan.cpu_seconds:.1f} vs {rust.cpu_seconds:.1f} CPU s"))
    peak = max((r.peak_rss_mb for k, r in runs.items() if k.endswith("/scan")), default=0)
    checks.append(("peak RSS of a scan under 300 MB", peak < 300, f"{peak:.0f} MB (largest scan measured)"))
    for text, ok, detail in checks:
        lines.append(f"- {'met' if ok else 'NOT met'}: {text}: {detail}")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
