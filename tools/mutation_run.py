"""The long mutation run: many seeds over written samples and the real corpus, both backends.

    .venv/bin/python tools/mutation_run.py --seeds 20 [--jobs 2] [--corpus N] [--python-every 4] [--json OUT]

Same generator, worker, hang guard and accounting rule as the CI suite
(tests/robustness/test_robust_mutation.py), with more seeds, more flips per region and
more corpus files. Prints a summary and every failure; exit 1 when any variant
failed (an exception escaped, a hang, a worker crash, or a silent loss).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests" / "robustness" / "mutation"))

import driver  # noqa: E402

CORPUS = REPO.parent / "shared" / "corpus" / "evtx"
# Real files of several shapes, smallest first: truncated, dirty, bad chunk magic, VSS-recovered, CAPI2, Security.
CORPUS_FILES = [
    "log2timeline+plaso/test_data/evtx/System2.evtx",
    "omerbenamram+evtx/samples/E_Windows_system32_winevt_logs_Microsoft-Windows-CAPI2%4Operational.evtx",
    "omerbenamram+evtx/samples/sample_with_a_bad_chunk_magic.evtx",
    "omerbenamram+evtx/samples/2-vss_7-System.evtx",
    "omerbenamram+evtx/samples/security_bad_string_cache.evtx",
    "NickSmet+ts-evtx/test/fixtures/System.evtx",
    "omerbenamram+evtx/samples/Application_no_crc32.evtx",
    "williballenthin+python-evtx/tests/data/issue_39.evtx",
]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=10, help="seeds 1..N (default 10)")
    ap.add_argument("--first-seed", type=int, default=1)
    ap.add_argument("--flips", type=int, default=8, help="random flips per region and seed (default 8)")
    ap.add_argument("--corpus", type=int, default=len(CORPUS_FILES), help="how many corpus files (default all)")
    ap.add_argument("--python-every", type=int, default=4,
                    help="python-evtx backend on every n-th variant of the small sample (0: off)")
    ap.add_argument("--parallel-every", type=int, default=2,
                    help="a 2 MB file through the reader's worker-process path, every n-th variant (0: off)")
    ap.add_argument("--no-prefilter", dest="prefilter", action="store_false",
                    help="skip the run through the scan prefilter (a file with chunks it skips)")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--json", type=Path, help="write the full result as JSON")
    args = ap.parse_args(argv)
    seeds = list(range(args.first_seed, args.first_seed + args.seeds))
    missing = [p for p in CORPUS_FILES[: args.corpus] if not (CORPUS / p).is_file()]
    if missing:
        print(f"corpus files missing under {CORPUS}: {missing}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="tlsdiag-mutation-") as tmp:
        written = driver.write_samples(Path(tmp))
        corpus = [CORPUS / p for p in CORPUS_FILES[: args.corpus]]
        total = driver.run(written + corpus, seeds, ("rust",), flips=args.flips, jobs=args.jobs)
        print("rust:   " + driver.describe(total).splitlines()[0], flush=True)
        if args.prefilter:
            mixed = driver.mixed_sample(Path(tmp))
            pre = driver.RunResult()
            for seed in seeds:
                pre.add(driver.run_sample(mixed, seed, "rust", args.flips, 1, prefilter=True))
            print("scan prefilter: " + driver.describe(pre).splitlines()[0], flush=True)
            seconds = total.seconds + pre.seconds
            total.add(pre)
            total.seconds = seconds
        if args.parallel_every:
            big = driver.large_sample(Path(tmp), megabytes=2)
            par = driver.RunResult()
            for seed in seeds:
                par.add(driver.run_sample(big, seed, "rust", args.flips, args.parallel_every, parallel_min=1 << 20))
            print("parallel path: " + driver.describe(par).splitlines()[0], flush=True)
            seconds = total.seconds + par.seconds
            total.add(par)
            total.seconds = seconds
        if args.python_every:
            py = driver.run([driver.python_sample(Path(tmp))], seeds, ("python",), flips=args.flips,
                            every={"python": args.python_every}, jobs=args.jobs)
            print("python: " + driver.describe(py).splitlines()[0], flush=True)
            seconds = total.seconds + py.seconds
            total.add(py)
            total.seconds = seconds
    print("total:  " + driver.describe(total))
    if args.json:
        args.json.write_text(json.dumps(vars(total), indent=2, default=str))
    return 1 if total.failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
