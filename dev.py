#!/usr/bin/env python3
"""Project tasks that work on a machine with nothing but python3.

    python3 dev.py demo          set up .venv, then scan the bundled samples
    python3 dev.py test          set up .venv, then lint, type-check src/ and the devkit, and run the whole test suite
    python3 dev.py test --quick  the same without the tests marked slow (the inner loop)
    python3 dev.py bench         set up .venv, then run the performance benchmark

Further arguments of `test` go to pytest, e.g. `python3 dev.py test --quick tests/match`.

The virtual environment is created on first use and reinstalled only when
pyproject.toml changes, so repeated runs start at once.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / ("python.exe" if os.name == "nt" else "python")
STAMP = VENV / ".tlsdiag-installed"


def _run(*cmd: str | os.PathLike[str], check: bool = True) -> int:
    print("+", " ".join(str(c) for c in cmd), flush=True)
    return subprocess.run([str(c) for c in cmd], cwd=ROOT, check=check).returncode


def ensure_venv() -> None:
    """Create .venv and install the project with its dev extras and the devkit (tools/) when needed."""
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes())
    digest.update((ROOT / "tools" / "pyproject.toml").read_bytes())
    want = digest.hexdigest()
    if STAMP.exists() and STAMP.read_text().strip() == want and PY.exists():
        return
    if not PY.exists():
        _run(sys.executable, "-m", "venv", VENV)
    _run(PY, "-m", "pip", "install", "--quiet", "--upgrade", "pip")
    _run(PY, "-m", "pip", "install", "--quiet", "-e", ".[dev]")
    # the test-data writers live outside the wheel; hatchling came with the dev extras, so no build isolation
    _run(PY, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation", "-e", "tools")
    STAMP.write_text(want)


# System programs that some tests drive for real: a headless browser renders the HTML report.
SYSTEM_TOOLS = {"chromium": "chromium", "tmux": "tmux"}  # command -> Debian package


def ensure_system_tools() -> None:
    """Install a missing browser or tmux with apt-get when we may (root, or sudo, on Debian/Ubuntu)."""
    import shutil

    missing = sorted({pkg for cmd, pkg in SYSTEM_TOOLS.items() if shutil.which(cmd) is None})
    if not missing:
        return
    sudo = [] if os.name != "nt" and os.geteuid() == 0 else ["sudo"] if shutil.which("sudo") else None
    if shutil.which("apt-get") is None or sudo is None:
        print(f"note: {', '.join(missing)} missing and cannot be installed here; the tests that need them will fail")
        return
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run([*sudo, "apt-get", "update", "-qq"], check=False, env=env)
    subprocess.run([*sudo, "apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing], check=True,
                   env=env)


def demo(args: list[str]) -> int:
    ensure_venv()
    return _run(BIN / "tlsdiag", "scan", *args, check=False)


def test(args: list[str]) -> int:
    quick = "--quick" in args
    args = [a for a in args if a != "--quick"]
    ensure_venv()
    if os.name != "nt":
        ensure_system_tools()  # chromium and tmux, for the tests that drive them
    _run(PY, "-m", "ruff", "check", "src", "tests", "tools", "benchmarks", "dev.py")
    # type check of src/ and the devkit (settings in pyproject's [tool.mypy]; .mypy_cache keeps reruns short)
    _run(PY, "-m", "mypy")
    workers = os.environ.get("TLSDIAG_TEST_WORKERS", "2")
    if quick:  # the inner loop: every test not marked slow (the rule: the marker in pyproject.toml)
        return _run(PY, "-m", "pytest", "-n", workers, "-q", "-m", "not slow", *args, check=False)
    # CI: everything, and the slowest tests printed so that its log shows where the suite's time goes
    return _run(PY, "-m", "pytest", "-n", workers, "-q", "--durations=25", *args, check=False)


def bench(args: list[str]) -> int:
    ensure_venv()
    return _run(PY, "benchmarks/bench_scan.py", *args, check=False)


TASKS = {"demo": demo, "test": test, "bench": bench}


def main() -> int:
    if len(sys.argv) < 2 or sys.argv[1] not in TASKS:
        print(__doc__)
        return 2
    rc = TASKS[sys.argv[1]](sys.argv[2:])
    # The demo's exit status says whether a diagnosis was made (1); that is success here.
    if sys.argv[1] == "demo" and rc == 1:
        return 0
    return rc


if __name__ == "__main__":
    sys.exit(main())
