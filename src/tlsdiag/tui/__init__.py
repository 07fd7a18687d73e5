"""The Textual TUI (``tlsdiag tui``): screens, widgets, styles; work runs in workers.

Import is lazy so the rest of the command line does not pay for Textual.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path


def run(paths: Sequence[str | Path] = (), *, backend: str = "rust") -> int:
    """Start the app; returns the exit status."""
    from tlsdiag.tui.app import TlsdiagApp

    app = TlsdiagApp(paths, backend=backend)
    app.run()
    return app.return_code or 0
