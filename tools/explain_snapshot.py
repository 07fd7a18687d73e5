"""Write `tlsdiag explain --format json` for every real paste, one file per case, to compare two versions.

A refactoring of the explain views must not change their bytes; run this before and after and compare
the two folders (``diff -r`` or ``--compare``)::

    python tools/explain_snapshot.py /tmp/before
    python tools/explain_snapshot.py /tmp/after --compare /tmp/before

It runs the installed ``tlsdiag`` command (the real CLI, stdin as a user pastes) over
``../shared/realworld/paste_cases.json``; the exit status is 1 when a compared file differs.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CASES = ROOT.parent / "shared" / "realworld" / "paste_cases.json"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="folder to write <case id>.json into")
    parser.add_argument("--compare", type=Path, metavar="DIR", help="a folder written earlier to compare with")
    parser.add_argument("--format", default="json", help="answer format (default: json)")
    args = parser.parse_args()
    cases = json.loads(CASES.read_text(encoding="utf-8"))
    args.out.mkdir(parents=True, exist_ok=True)
    exe = Path(sys.executable).with_name("tlsdiag")
    differ = 0
    for case in cases:
        done = subprocess.run([str(exe), "explain", "--format", args.format, "-"], input=case["text"].encode(),
                              capture_output=True, timeout=120, check=False)
        if done.returncode not in (0, 1):
            print(f"{case['id']}: exit {done.returncode}: {done.stderr.decode(errors='replace')}", file=sys.stderr)
            return 2
        target = args.out / f"{case['id']}.{args.format}"
        target.write_bytes(done.stdout)
        if args.compare is not None:
            before = (args.compare / target.name).read_bytes()
            if before != done.stdout:
                differ += 1
                print(f"{case['id']}: differs")
    print(f"{len(cases)} case(s) written to {args.out}" +
          (f"; {differ} differ from {args.compare}" if args.compare is not None else ""))
    return 1 if differ else 0


if __name__ == "__main__":
    raise SystemExit(main())
