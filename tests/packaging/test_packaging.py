"""A plain (non-editable) install must carry the knowledge base and the samples, and nothing of the devkit."""

from __future__ import annotations

import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_wheel_ships_signatures_and_samples(tmp_path: Path) -> None:
    wheel_dir = tmp_path / "wheel"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
         "--wheel-dir", str(wheel_dir), str(REPO)],
        check=True, capture_output=True,
    )
    wheel = next(wheel_dir.glob("tlsdiag-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert "tlsdiag/_data/signatures/schema/cause.schema.json" in names
    # what users run, and only that: the test-data writers stay in tools/tlsdiag_devkit (issue 19)
    modules = [n for n in names if n.endswith(".py")]
    assert "tlsdiag/cli/__init__.py" in modules and "tlsdiag/scan.py" in modules
    assert not [n for n in names if "evtxwrite" in n or "testdata" in n or "storegen" in n
                or "samplegen" in n or "devkit" in n], "a test-data writer is in the wheel"
    tops = {n.split("/", 1)[0] for n in names}
    assert tops - {"tlsdiag"} == {next(t for t in tops if t.endswith(".dist-info"))}, sorted(tops)
    styles = sorted(str(p.relative_to(REPO / "src")) for p in (REPO / "src" / "tlsdiag").rglob("*.tcss"))
    assert styles and styles == sorted(n for n in names if n.endswith(".tcss"))
    for folder in ("events", "causes"):
        committed = sorted(p.name for p in (REPO / "signatures" / folder).glob("*.yaml"))
        shipped = sorted(Path(n).name for n in names if n.startswith(f"tlsdiag/_data/signatures/{folder}/"))
        assert shipped == committed
    committed_samples = sorted(
        str(p.relative_to(REPO / "samples")) for p in (REPO / "samples").rglob("*") if p.is_file()
    )
    shipped_samples = sorted(n.removeprefix("tlsdiag/_data/samples/") for n in names
                             if n.startswith("tlsdiag/_data/samples/"))
    assert shipped_samples == committed_samples
    committed_collector = sorted(p.name for p in (REPO / "collector").iterdir() if p.is_file())
    shipped_collector = sorted(n.removeprefix("tlsdiag/_data/collector/") for n in names
                               if n.startswith("tlsdiag/_data/collector/"))
    assert shipped_collector == committed_collector

    # Install the wheel alone into a target folder and use it from there (dependencies come from this venv).
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(target),
                    str(wheel)], check=True, capture_output=True)
    code = (
        "import tlsdiag, sys; from tlsdiag.resources import signatures_dir, samples_dir;"
        "print(tlsdiag.__file__); print(signatures_dir()); print(samples_dir());"
        "from tlsdiag.cli import main; sys.exit(main(['kb', 'check']))"
    )
    run = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env={"PYTHONPATH": str(target)},
                         capture_output=True, text=True)
    lines = run.stdout.splitlines()
    assert run.returncode == 0, run.stdout + run.stderr
    assert lines[0].startswith(str(target)), "the installed copy must be the one imported"
    assert lines[1] == str(target / "tlsdiag" / "_data" / "signatures")
    assert lines[2] == str(target / "tlsdiag" / "_data" / "samples")
    assert lines[3].startswith("ok:")
    # the collectors come out of the installed wheel, with Windows line endings
    code = "import sys; from tlsdiag.cli import main; sys.exit(main(['collector', '--write', sys.argv[1]]))"
    run = subprocess.run([sys.executable, "-c", code, str(tmp_path / "collectors")], cwd=tmp_path,
                         env={"PYTHONPATH": str(target)}, capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr
    cmd = (tmp_path / "collectors" / "collect-tlsdiag.cmd").read_bytes()
    assert cmd.startswith(b"@echo off\r\n") and cmd.count(b"\n") == cmd.count(b"\r\n")

    # the installed console script: its help, and a scan of the bundled samples (no path = samples/)
    script = target / "bin" / "tlsdiag"
    env = {"PYTHONPATH": str(target), "TLSDIAG_CACHE_DIR": "off"}
    run = subprocess.run([str(script), "--help"], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert run.returncode == 0 and "scan" in run.stdout, run.stdout + run.stderr
    run = subprocess.run([str(script), "scan", "--quiet"], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert run.returncode == 1, run.stdout + run.stderr  # 1: a diagnosis was made
    shipped = str(target / "tlsdiag" / "_data" / "samples" / "lync2013-fe-root-store")
    assert shipped in run.stdout and str(REPO / "samples") not in run.stdout, run.stdout[-2000:]
    # the devkit is not reachable from the installed copy
    run = subprocess.run([sys.executable, "-c", "import tlsdiag.evtxwrite"], cwd=tmp_path, env=env,
                         capture_output=True, text=True)
    assert run.returncode != 0 and "No module named 'tlsdiag.evtxwrite'" in run.stderr


@pytest.mark.slow
def test_sdist_ships_the_collectors(tmp_path: Path) -> None:
    """tests/stores/test_collector.py reads collector/: it must run from an unpacked sdist too (review L7)."""
    subprocess.run([sys.executable, "-m", "hatchling", "build", "-t", "sdist", "-d", str(tmp_path)],
                   cwd=REPO, check=True, capture_output=True)
    sdist = next(tmp_path.glob("tlsdiag-*.tar.gz"))
    with tarfile.open(sdist) as tar:
        names = {n.split("/", 1)[1] for n in tar.getnames() if "/" in n}
    committed = {f"collector/{p.name}" for p in (REPO / "collector").iterdir() if p.is_file()}
    assert committed and committed <= names, sorted(committed - names)


def test_no_package_source_names_the_devkit() -> None:
    """The wheel holds no tlsdiag_devkit, so no module of src/tlsdiag may import it, not even by a string
    (in this venv the devkit is installed, so the wheel's own scan above could not notice such an import)."""
    sources = sorted((REPO / "src" / "tlsdiag").rglob("*.py"))
    assert len(sources) > 50
    named = [str(p.relative_to(REPO)) for p in sources if "tlsdiag_devkit" in p.read_text("utf-8")]
    assert not named, named
