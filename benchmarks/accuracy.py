#!/usr/bin/env python3
"""Accuracy on real material: what administrators pasted and exported, judged against what their threads established.

Reads ``../shared/realworld/`` (beside the checkout; nothing of it is copied here):

- ``paste_cases.json``: each text goes through ``explain``; per family it prints the labelled
  top-1 and top-3 (a match names an expected KB article or event id), expect_none precision (no
  certificate-store cause offered at 0.5 or more), the share of texts that get any answer (a match
  or a known error code), and every miss with what was offered instead;
- ``events/``: each paste is read (records, losses) and scanned; the event id in the file name
  (``__schannel_36887``) must be among the events read;
- ``reg/``: each store export is loaded and checked; the problems found are listed.

``--write`` puts the run, with its date, between the markers in ``benchmarks/ACCURACY.md``;
``--json`` prints the numbers as JSON (the regression test reads ``measure()`` directly).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import warnings
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
REALWORLD = ROOT.parent / "shared" / "realworld"
ACCURACY = ROOT / "benchmarks" / "ACCURACY.md"
BEGIN, END = "<!-- accuracy:begin -->", "<!-- accuracy:end -->"
STORE_CAUSE_FLOOR = 0.5  # an expect_none text must get no certificate-store cause at or above this score
TOP = 3


@dataclass
class CaseResult:
    """One paste case: its labels and what explain offered."""

    id: str
    family: str
    labelled: bool
    expect_none: bool
    noise: bool
    top1: bool
    top3: bool
    store_cause_offered: str | None  # the store cause at >= STORE_CAUSE_FLOOR on an expect_none text
    answered: bool
    offered: list[str] = field(default_factory=list)


@dataclass
class FileResult:
    """One file of events/ or reg/: what was read, lost and found."""

    name: str
    kind: str
    ok: bool
    detail: str


def _hit(match: Any, kbs: set[int], ids: set[int]) -> bool:
    if match.kind == "cause" and kbs & set(match.kb):
        return True
    return match.kind == "event" and match.event_id in ids


def _offered(result: Any) -> list[str]:
    out = [f"{m.kind} {m.id} {m.score:.2f}" for m in result.matches[:TOP]]
    out += [f"code {c.entry.id}" for c in getattr(result, "codes", ())[:TOP]]
    return out


def run_cases(kb: Any) -> list[CaseResult]:
    from tlsdiag.match import explain

    cases = json.loads((REALWORLD / "paste_cases.json").read_text(encoding="utf-8"))
    results = []
    for case in cases:
        result = explain(case["text"], kb)
        kbs, ids = set(case["expected_kb"]), set(case["expected_event_ids"])
        labelled = bool(kbs or ids)
        store = next((m.id for m in result.matches if m.kind == "cause" and m.score >= STORE_CAUSE_FLOOR
                      and kb.causes[m.id].store_related), None)
        answered = bool(result.matches) or bool(getattr(result, "codes", ()))
        results.append(CaseResult(
            id=case["id"], family=case["family"], labelled=labelled, expect_none=bool(case["expect_none"]),
            noise=case["family"].startswith("noise_"),
            top1=labelled and bool(result.matches) and _hit(result.matches[0], kbs, ids),
            top3=labelled and any(_hit(m, kbs, ids) for m in result.matches[:TOP]),
            store_cause_offered=store if case["expect_none"] else None,
            answered=answered, offered=_offered(result)))
    return results


_NAMED_ID = re.compile(r"__[a-z]+_(\d{3,5})")


def run_events(kb: Any) -> list[FileResult]:
    from tlsdiag.errors import InputError
    from tlsdiag.inputs import discover, read_events
    from tlsdiag.model import ReadSummary
    from tlsdiag.scan import run_scan

    out = []
    for path in sorted((REALWORLD / "events").iterdir()):
        summary = ReadSummary()
        events = [e for e in read_events([path], summary=summary) if hasattr(e, "event_id")]
        report = summary.files[0] if summary.files else None
        want = {int(m) for m in _NAMED_ID.findall(path.name)}
        ids = sorted({e.event_id for e in events})
        lost = [f"{loss.where}: {loss.reason}" for f in summary.files for loss in f.lost]
        error = report.error if report else "not found"
        kind = discover([path])[0].kind
        try:
            scan = run_scan([path], kb=kb)
            offered = [f"{d.cause.id} {d.score:.2f}" for d in scan.diagnoses[:2]] or ["no diagnosis"]
        except InputError as exc:  # refused input is a result to show, not a crash of the benchmark
            offered = [f"refused: {exc}"]
        ok = not error and want <= set(ids)
        detail = (f"kind {kind}; {len(events)} event(s) {ids}" + (f"; error: {error}" if error else "")
                  + (f"; lost: {'; '.join(lost)}" if lost else "") + f"; scan: {', '.join(offered)}")
        out.append(FileResult(path.name, "events", ok, detail))
    return out


def run_reg() -> list[FileResult]:
    from tlsdiag.inputs import discover
    from tlsdiag.stores import load_stores, run_checks

    out = []
    for path in sorted((REALWORLD / "reg").iterdir()):
        try:
            snapshots = load_stores(discover([path]))
        except Exception as exc:  # a store reader that fails on real data is the finding
            out.append(FileResult(path.name, "reg", False, f"error: {type(exc).__name__}: {exc}"))
            continue
        certs = sum(len(s.certs) for s in snapshots) if snapshots and hasattr(snapshots[0], "certs") else None
        problems = [f"{f.check}" for s in snapshots for f in run_checks(s) if f.is_problem]
        counts = defaultdict(int)
        for p in problems:
            counts[p] += 1
        found = ", ".join(f"{k} x{v}" for k, v in sorted(counts.items())) or "no problems"
        out.append(FileResult(path.name, "reg", bool(snapshots),
                              f"{len(snapshots)} snapshot(s)" + (f", {certs} cert(s)" if certs is not None else "")
                              + f"; {found}"))
    return out


def _pct(n: int, d: int) -> str:
    return f"{n}/{d} ({100 * n / d:.0f}%)" if d else "-"


def measure() -> dict[str, Any]:
    """Every number the report prints, as data."""
    from tlsdiag.kb import load_kb

    kb = load_kb()
    cases = run_cases(kb)
    labelled = [c for c in cases if c.labelled]
    none_cases = [c for c in cases if c.expect_none]
    tls = [c for c in cases if not c.noise]
    return {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "causes": len(kb.causes),
        "cases": cases,
        "labelled": len(labelled),
        "top1": sum(c.top1 for c in labelled),
        "top3": sum(c.top3 for c in labelled),
        "expect_none": len(none_cases),
        "expect_none_clean": sum(c.store_cause_offered is None for c in none_cases),
        "tls_texts": len(tls),
        "tls_answered": sum(c.answered for c in tls),
        "all_answered": sum(c.answered for c in cases),
        "files": run_events(kb) + run_reg(),
    }


def render(r: dict[str, Any]) -> str:
    lines = [f"Run {r['date']} on ../shared/realworld ({len(r['cases'])} paste cases, "
             f"{sum(f.kind == 'events' for f in r['files'])} event pastes, "
             f"{sum(f.kind == 'reg' for f in r['files'])} reg exports); knowledge base: {r['causes']} causes", "",
             f"- labelled texts right at top 1: {_pct(r['top1'], r['labelled'])}, in the top {TOP}: "
             f"{_pct(r['top3'], r['labelled'])}  (target: 95% in the top 3)",
             f"- expect_none texts with no certificate-store cause at >= {STORE_CAUSE_FLOOR}: "
             f"{_pct(r['expect_none_clean'], r['expect_none'])}  (target: all)",
             f"- TLS and certificate texts (families other than noise_*) answered: "
             f"{_pct(r['tls_answered'], r['tls_texts'])}  (target: 90%); all texts answered: "
             f"{_pct(r['all_answered'], len(r['cases']))}",
             f"- event pastes read with their named event: "
             f"{sum(f.ok for f in r['files'] if f.kind == 'events')}/{sum(f.kind == 'events' for f in r['files'])}",
             "", "Per family (n; labelled top-1, top-3; expect_none clean; answered):", "",
             "| family | n | top-1 | top-3 | expect_none clean | answered |", "|---|---|---|---|---|---|"]
    fams: dict[str, list[CaseResult]] = defaultdict(list)
    for c in r["cases"]:
        fams[c.family].append(c)
    for fam in sorted(fams):
        cs = fams[fam]
        lab = [c for c in cs if c.labelled]
        nn = [c for c in cs if c.expect_none]
        lines.append(f"| {fam} | {len(cs)} | {_pct(sum(c.top1 for c in lab), len(lab))} | "
                     f"{_pct(sum(c.top3 for c in lab), len(lab))} | "
                     f"{_pct(sum(c.store_cause_offered is None for c in nn), len(nn))} | "
                     f"{_pct(sum(c.answered for c in cs), len(cs))} |")
    lines += ["", "Misses (labelled not in the top 3, store cause on an expect_none text, TLS text unanswered):", ""]
    missed = False
    for c in r["cases"]:
        why = []
        if c.labelled and not c.top3:
            why.append("label not in top 3")
        if c.store_cause_offered:
            why.append(f"store cause {c.store_cause_offered} offered")
        if not c.noise and not c.answered:
            why.append("no answer")
        if why:
            missed = True
            lines.append(f"- {c.id} [{c.family}] {'; '.join(why)}; offered: {', '.join(c.offered) or 'nothing'}")
    if not missed:
        lines.append("- none")
    lines += ["", "Files:", ""]
    lines += [f"- {f.kind}/{f.name}: {'ok' if f.ok else 'NOT OK'}: {f.detail}" for f in r["files"]]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--write", action="store_true", help="record the run in benchmarks/ACCURACY.md")
    parser.add_argument("--json", action="store_true", help="print the numbers as JSON")
    args = parser.parse_args(argv)
    if not (REALWORLD / "paste_cases.json").is_file():
        print(f"accuracy: {REALWORLD}/paste_cases.json is missing (../shared/realworld)", file=sys.stderr)
        return 2
    # real exports hold certificates with negative serial numbers; the store reader copes, the warning is noise here
    warnings.filterwarnings("ignore", message="Parsed a serial number")
    result = measure()
    if args.json:
        plain = {k: v for k, v in result.items() if k not in ("cases", "files")}
        plain["cases"] = [c.__dict__ for c in result["cases"]]
        plain["files"] = [f.__dict__ for f in result["files"]]
        print(json.dumps(plain, indent=1))
    else:
        sys.stdout.write(render(result))
    if args.write:
        text = ACCURACY.read_text(encoding="utf-8") if ACCURACY.exists() else f"# Accuracy\n\n{BEGIN}\n{END}\n"
        head, _, rest = text.partition(BEGIN)
        _, _, tail = rest.partition(END)
        ACCURACY.write_text(f"{head}{BEGIN}\n\n{render(result)}\n{END}{tail}", encoding="utf-8")
        print(f"written to {ACCURACY.relative_to(ROOT)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
