"""Waiting on the real Textual pilot: tests wait for states, never assert on time."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from textual import events

WAIT = 60.0  # generous bound for a loaded CI machine


async def until(pilot: Any, condition: Callable[[], bool], what: str) -> None:
    """Let the app run until condition holds; fail naming what never came."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for: {what}")
        await pilot.pause(0.05)


async def paste_and_explain(app: Any, pilot: Any, text: str) -> None:
    """Paste text as a terminal delivers it, and wait until the app has explained exactly that text."""
    app.post_message(events.Paste(text))
    await until(pilot, lambda: app.last_explain is not None and app.last_explain.text == text,
                f"explain for the pasted text {text[:40]!r}")
    await pilot.pause()
