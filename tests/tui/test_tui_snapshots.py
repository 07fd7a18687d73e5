"""Snapshots of the main screens at 80x24 and 120x40 (pytest-textual-snapshot), also in monochrome.

Deterministic: the seed's sample through the real pipeline (its events carry fixed
times), relative paths from the repository root, no clock in the header, and
``blink=False`` so the text cursors never start blinking and no frame depends on
timing. Update with ``pytest tests/tui/test_tui_snapshots.py --snapshot-update`` and
review the SVGs before committing them.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from textual import events

from tlsdiag.kb import load_kb
from tlsdiag.tui.app import TlsdiagApp

REPO = Path(__file__).resolve().parents[2]
SAMPLE = "samples/lync2013-fe-root-store"
SIZES = [(80, 24), (120, 40)]
SEED_FABRIC = ("Replica on b6277d62e11a4e816f7179f3d6b8e7:129970606058458545 für FailoverUnit "
               "6aebabd3-c487-445e-8450-11c522ec93a8 service fabric:/lync/routing/0D51A9AAABD9547087FA349556503C9F "
               "[0-0] partition name build error OperationFailed")


def _downs_to(cause: str) -> int:
    """Down presses from the top diagnosis to ``cause`` in the overview (its rank on the sample's computer),
    so the snapshot shows that cause whatever the knowledge base ranks above it."""
    from tlsdiag.scan import run_scan

    result = run_scan([REPO / SAMPLE])
    ranked = [d.cause.id for computer in result.computers for d in result.diagnoses_for(computer)]
    return ranked.index(cause)


@pytest.fixture(scope="module")
def kb():
    return load_kb()


@pytest.fixture(autouse=True)
def _repo_cwd(monkeypatch: pytest.MonkeyPatch) -> None:
    # Paths shown on screen are relative to the repository, so the snapshots do not depend on the checkout.
    monkeypatch.chdir(REPO)
    if not (REPO / SAMPLE).is_dir():
        pytest.fail(f"sample missing: {SAMPLE}")


async def _settle(pilot: Any) -> None:
    app = pilot.app
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 60
    while (app.result is None or app.scanning) and app.paths:
        if loop.time() > deadline:
            raise AssertionError("scan did not finish")
        await pilot.pause(0.05)
    while any(w.is_running and w.group in ("scan", "explain", "filter") for w in app.workers):
        if loop.time() > deadline:
            raise AssertionError("workers did not finish")
        await pilot.pause(0.05)
    await pilot.pause()


def _before(*keys: str, paste: str | None = None) -> Any:
    async def run_before(pilot: Any) -> None:
        await _settle(pilot)
        for key in keys:
            await pilot.press(key)
            await pilot.pause()
        if paste is not None:
            pilot.app.post_message(events.Paste(paste))
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 60
            while pilot.app.last_explain is None or pilot.app.last_explain.text != paste:
                if loop.time() > deadline:
                    raise AssertionError("explain did not answer")
                await pilot.pause(0.05)
        await _settle(pilot)

    return run_before


@pytest.mark.slow
@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize(("name", "keys"), [
    ("overview", ()),
    ("guided-happened", ("enter",)),
    ("guided-proof", ("enter", "3")),
    ("guided-fix", ("enter", "4")),
    ("events", ("e", "down")),
    ("stores", ("s",)),
    ("help", ("question_mark",)),
    ("guided-proof-no-store-check", (*["down"] * _downs_to("pool-quorum-loss"), "enter", "3")),
])
def test_screen_snapshot(snap_compare: Any, kb: Any, name: str, keys: tuple[str, ...], size: tuple[int, int]) -> None:
    app = TlsdiagApp([SAMPLE], kb=kb, cwd=REPO, blink=False)
    assert snap_compare(app, terminal_size=size, run_before=_before(*keys))


@pytest.mark.slow
@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_paste_snapshot(snap_compare: Any, kb: Any, size: tuple[int, int]) -> None:
    app = TlsdiagApp([], kb=kb, cwd=REPO, blink=False)
    assert snap_compare(app, terminal_size=size, run_before=_before("escape", "p", paste=SEED_FABRIC))


@pytest.mark.slow
def test_monochrome_snapshot(snap_compare: Any, kb: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    app = TlsdiagApp([SAMPLE], kb=kb, cwd=REPO, blink=False)
    assert app.no_color
    assert snap_compare(app, terminal_size=(80, 24), run_before=_before("enter", "3"))
