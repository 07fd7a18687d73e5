"""Smoke test: the installed ``tlsdiag tui`` in a real terminal (tmux), driven by keys, read back as text.

This is the path an administrator takes over SSH: a real pty, 80x24, keyboard
only. tmux is a test requirement (``python3 dev.py test`` installs it when missing);
without it this test fails rather than skips.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tlsdiag.kb import load_kb

REPO = Path(__file__).resolve().parents[2]
SAMPLE = "samples/lync2013-fe-root-store"
ROOT_CAUSE = "root-store-non-self-signed"
WAIT = 30.0  # upper bound for the app to reach a state on a loaded 2-core machine; not a timing assertion


class Tmux:
    def __init__(self, workdir: Path) -> None:
        if shutil.which("tmux") is None:
            pytest.fail("tmux is not installed (python3 dev.py test installs it; or apt-get install -y tmux)")
        self.socket = f"tlsdiag-test-{uuid.uuid4().hex[:8]}"
        # The exit status is written by a wrapping shell: tmux 3.3a sometimes never reaps the pane's process
        # (it stays <defunct> with no pane_dead_status), so tmux cannot be asked for it reliably.
        self.status_file = workdir / "exit-status"

    def tmux(self, *args: str) -> str:
        out = subprocess.run(["tmux", "-L", self.socket, *args], capture_output=True, text=True, check=True)
        return out.stdout

    def start(self, command: list[str], *, width: int = 80, height: int = 24, env: dict[str, str] | None = None) -> None:
        environment = {k: v for k, v in os.environ.items() if not k.startswith("TMUX")}
        environment.update(env or {})
        environment["TERM"] = "xterm-256color"
        wrapped = ["sh", "-c", f'"$@"; echo $? > "{self.status_file}"', "sh", *command]
        subprocess.run(["tmux", "-L", self.socket, "-f", "/dev/null", "new-session", "-d", "-s", "t",
                        "-x", str(width), "-y", str(height), "-c", str(REPO), *wrapped],
                       env=environment, check=True)
        self.tmux("set-option", "-t", "t", "remain-on-exit", "on")

    def screen(self) -> str:
        return self.tmux("capture-pane", "-t", "t", "-p")

    def keys(self, *keys: str) -> None:
        for key in keys:
            self.tmux("send-keys", "-t", "t", key)
            time.sleep(0.15)

    def exit_status(self) -> int | None:
        try:
            text = self.status_file.read_text().strip()
        except FileNotFoundError:
            return None
        return int(text) if text else None

    def wait_for(self, text: str) -> str:
        deadline = time.monotonic() + WAIT
        screen = ""
        while time.monotonic() < deadline:
            screen = self.screen()
            if text in screen:
                return screen
            if self.exit_status() is not None:
                break  # the app ended before showing it
            time.sleep(0.2)
        raise AssertionError(f"{text!r} did not appear; the screen was:\n{screen}")

    def wait_exit(self) -> int:
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            status = self.exit_status()
            if status is not None:
                return status
            time.sleep(0.2)
        raise AssertionError(f"the app did not exit; the screen was:\n{self.screen()}")

    def close(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True, check=False)


@pytest.fixture
def tmux(tmp_path: Path) -> Iterator[Tmux]:
    t = Tmux(tmp_path)
    try:
        yield t
    finally:
        t.close()


def tlsdiag_command() -> list[str]:
    exe = Path(sys.executable).parent / "tlsdiag"
    if not exe.exists():
        pytest.fail(f"installed entry point missing: {exe} (pip install -e .)")
    return [str(exe), "tui", SAMPLE]


@pytest.mark.slow
def test_tui_in_tmux_reaches_the_fix_and_quits_with_q(tmux: Tmux) -> None:
    cause = load_kb().causes[ROOT_CAUSE]
    tmux.start(tlsdiag_command())
    screen = tmux.wait_for("diagnosis(es) made")
    assert cause.title[:40] in screen
    tmux.keys("Enter")
    screen = tmux.wait_for("What happened")
    tmux.keys("3")
    screen = tmux.wait_for("Store findings")
    assert "✗" in screen
    tmux.keys("4")
    screen = tmux.wait_for("For the certificates found")
    tmux.keys("q")
    status = tmux.wait_exit()
    assert status == 0, f"exit status {status}; the screen was:\n{tmux.screen()}"


@pytest.mark.slow
def test_tui_in_tmux_quits_with_ctrl_c_and_works_without_colour(tmux: Tmux) -> None:
    tmux.start(tlsdiag_command(), env={"NO_COLOR": "1"})
    tmux.wait_for("diagnosis(es) made")
    tmux.keys("p")
    tmux.wait_for("Paste an error message")
    tmux.keys("C-c")
    status = tmux.wait_exit()
    assert status == 0, f"exit status {status}; the screen was:\n{tmux.screen()}"


def _progress_screen(tmux: Tmux) -> str:
    """Poll until the progress line shows a rate and an ETA (or the scan ends)."""
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        screen = tmux.screen()
        if "MB/s" in screen and "ETA" in screen:
            return screen
        if tmux.exit_status() is not None:
            break
        time.sleep(0.05)
    raise AssertionError(f"no progress line while scanning; the screen was:\n{tmux.screen()}")


@pytest.mark.slow
def test_scan_shows_live_progress_in_a_terminal_and_none_with_quiet(tmux: Tmux, tmp_path: Path) -> None:
    """A big busy log in a real terminal: bytes, rate and ETA on stderr while it runs; --quiet shows none."""
    from support.busylog import busy_log

    raw = busy_log(tmp_path / "one.evtx", 3000).read_bytes()
    log = tmp_path / "System.evtx"  # its chunks forty times over: a 40 MB log where every chunk is parsed
    log.write_bytes(raw[:4096] + raw[4096:] * 40)
    exe = str(Path(sys.executable).parent / "tlsdiag")
    tmux.start([exe, "scan", "--format", "json", "--output", str(tmp_path / "report.json"), str(log)], width=100)
    screen = _progress_screen(tmux)
    line = next(row for row in screen.splitlines() if "MB/s" in row)
    assert line.lstrip().startswith("scanning") and "%" in line and f"/ {log.stat().st_size / 1e6:.1f} MB" in line
    assert tmux.wait_exit() == 1  # a diagnosis was made
    assert "MB/s" not in tmux.screen().splitlines()[-1]  # the progress line is cleared at the end
    tmux.close()
    (tmp_path / "q").mkdir()
    quiet = Tmux(tmp_path / "q")
    try:
        quiet.start([exe, "scan", "--quiet", "--format", "json", "--output", str(tmp_path / "q.json"), str(log)])
        assert quiet.wait_exit() == 1 and "MB/s" not in quiet.screen()
    finally:
        quiet.close()


def _body(screen: str) -> list[str]:
    """The step text of the guided view: below the header and the step bar, above the footer, without
    the one column of padding and the scrollbar on the right."""
    return [row[1:].rstrip(" ▁▂▃▄▅▆▇█▊▉▌▍▎▏▐▕") for row in screen.split("\n")[2:23]]


@pytest.mark.slow
def test_tui_in_tmux_wrapped_fix_lines_keep_their_indent_at_80_columns(tmux: Tmux) -> None:
    """In a real 80x24 terminal every line of the fix step either starts a step, a heading or a
    certificate, or is indented: a wrapped step or command never continues at column 0."""
    tmux.start(tlsdiag_command())
    tmux.wait_for("diagnosis(es) made")
    tmux.keys("Enter")
    tmux.wait_for("What happened")
    tmux.keys("4")
    screen = tmux.wait_for("For the certificates found")
    rows = [r for r in _body(screen) if r.strip()]
    assert len(rows) > 10
    starts = ("For the certificates found", "Certificate ", "Then", "The fix", "Press c")
    for row in rows:
        assert row.startswith(" ") or row.startswith(starts) or re.match(r"\d+\. ", row), (row, screen)
    # the long PFX export step wraps: its second line sits under the step's text, its command under the command
    assert any(r.startswith("   ") and not r.startswith("    ") for r in rows), screen
    assert sum(1 for r in rows if r.startswith("    ")) >= 4, screen
    tmux.keys("q")
    assert tmux.wait_exit() == 0


@pytest.mark.slow
def test_tui_in_tmux_proof_of_a_cause_without_store_check_is_honest(tmux: Tmux) -> None:
    """Pool quorum loss has no store check: with the sample's store export loaded the proof step says so
    and shows what the stores found for the computer, instead of asking for an export again."""
    from tlsdiag.scan import run_scan

    result = run_scan([REPO / SAMPLE])
    ranked = [d.cause.id for computer in result.computers for d in result.diagnoses_for(computer)]
    tmux.start(tlsdiag_command())
    tmux.wait_for("diagnosis(es) made")
    tmux.keys(*["Down"] * ranked.index("pool-quorum-loss"), "Enter")
    screen = tmux.wait_for("What happened")
    assert "Front end pool lost quorum" in screen
    tmux.keys("3")
    screen = tmux.wait_for("no certificate-store check")
    assert "What the stores showed for" in screen and "lyncse01.contoso.local" in screen
    assert "No certificate-store data" not in screen and "reg export" not in screen
    tmux.keys("q")
    assert tmux.wait_exit() == 0
