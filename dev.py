#!/usr/bin/env python3
"""Project tasks that work on a machine with nothing but python3.

    python3 dev.py demo    set up .venv, then scan the bundled samples
    python3 dev.py test    set up .venv, then lint, type-check src/ and run the whole test suite
    python3 dev.py bench   set up .venv, then run the performance benchmark

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
    """Install missing browser/terminal tools with apt-get when we may (root on Debian)."""
    import shutil

    missing = sorted({pkg for cmd, pkg in SYSTEM_TOOLS.items() if shutil.which(cmd) is None})
    if not missing:
        return
    if shutil.which("apt-get") is None or os.geteuid() != 0:
        print(f"note: {', '.join(missing)} missing and cannot be installed here; the tests that need them will fail")
        return
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(["apt-get", "update", "-qq"], check=False, env=env)
    subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing], check=True, env=env)


def demo(args: list[str]) -> int:
    ensure_venv()
    return _run(BIN / "tlsdiag", "scan", *args, check=False)


def ensure_tmux() -> None:
    """The TUI smoke test drives the installed app in a real tmux; install it on a fresh Debian/Ubuntu machine."""
    if os.name == "nt":
        return
    _run("sh", "-c", "command -v tmux >/dev/null 2>&1 || { S=$(command -v sudo || true); "
         "$S apt-get install -y tmux || { $S apt-get update && $S apt-get install -y tmux; }; }", check=False)


def test(args: list[str]) -> int:
    ensure_venv()
    ensure_tmux()
    ensure_system_tools()
    _run(PY, "-m", "ruff", "check", "src", "tests", "tools", "benchmarks", "dev.py")
    # type check of src/ (settings in pyproject's [tool.mypy]; .mypy_cache keeps reruns to about a second)
    _run(PY, "-m", "mypy")
    workers = os.environ.get("TLSDIAG_TEST_WORKERS", "2")
    # the slowest tests are printed so that CI shows where the suite's time goes
    return _run(PY, "-m", "pytest", "-n", workers, "-q", "--durations=15", *args, check=False)


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
