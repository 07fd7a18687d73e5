#!/usr/bin/env python3
"""Regenerate samples/ deterministically: ``python tools/make_samples.py [--out DIR] [SCENARIO...]``.

Every scenario is one function in tools/tlsdiag_devkit/samplegen/scenarios.py (fixed seed, fixed times, fixed record
ids), so running this twice gives byte-identical files; tests/devkit/test_samples.py checks the committed
files against a fresh run. After each scenario, an optional ``tlsdiag_devkit.samplegen.extra.extra_files(scenario,
scenario_dir)`` adds further files (for example certificate-store exports); see samplegen/__init__.py.
"""

from __future__ import annotations

import argparse
import importlib
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

TOOLS = Path(__file__).resolve().parent
REPO = TOOLS.parent
# run from a checkout without `python3 dev.py` having installed the devkit: use the files beside this one
for path in (TOOLS, REPO / "src"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from tlsdiag_devkit.samplegen.scenarios import SCENARIOS, write_index  # noqa: E402


def _extra_hook() -> Callable[[str, Path], None] | None:
    try:
        module = importlib.import_module("tlsdiag_devkit.samplegen.extra")
    except ModuleNotFoundError as exc:
        if exc.name != "tlsdiag_devkit.samplegen.extra":
            raise
        return None
    return getattr(module, "extra_files", None)


def build(out: Path, names: list[str] | None = None) -> list[Path]:
    """Write the chosen scenarios (all by default) under ``out``; returns their directories."""
    names = names or list(SCENARIOS)
    unknown = [n for n in names if n not in SCENARIOS]
    if unknown:
        raise SystemExit(f"unknown scenario(s): {', '.join(unknown)}; known: {', '.join(SCENARIOS)}")
    extra = _extra_hook()
    out.mkdir(parents=True, exist_ok=True)
    made = []
    for name in SCENARIOS:  # fixed order: other-forms reads ws2012r2-session-ticket
        if name not in names:
            continue
        target = out / name
        if target.exists():
            shutil.rmtree(target)
        made.append(SCENARIOS[name](out))
        if extra is not None:
            extra(name, target)
    write_index(out)
    return made


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "samples", help="output folder (default: samples/)")
    parser.add_argument("scenarios", nargs="*", help=f"scenarios to build (default: all): {', '.join(SCENARIOS)}")
    args = parser.parse_args(argv)
    for d in build(args.out, args.scenarios or None):
        size = sum(p.stat().st_size for p in d.rglob("*") if p.is_file())
        print(f"{d}: {size / 1e6:.2f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
