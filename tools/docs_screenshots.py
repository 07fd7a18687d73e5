"""Remake the screenshots in docs/ from the bundled front-end sample, with headless Chromium.

    .venv/bin/python tools/docs_screenshots.py

- docs/report-desktop.png, docs/report-narrow.png: ``tlsdiag scan --format html`` of
  samples/lync2013-fe-root-store at 1100 and 420 pixels wide (the top of the page: header,
  timeline, first diagnosis and its grouped evidence). tests/test_report_html.py asserts the DOM
  of the same report.
- docs/tui-guided-80x24.png: the TUI's guided view, step 1 "What happened", at 80x24, from the
  Textual SVG screenshot that tests/test_tui_snapshots.py compares (guided-happened, 80x24),
  rendered to PNG by Chromium.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DOCS = REPO / "docs"
SAMPLE = REPO / "samples" / "lync2013-fe-root-store"
TUI_SVG = REPO / "tests" / "__snapshots__" / "test_tui_snapshots" / "test_screen_snapshot[guided-happened-keys1-80x24].svg"


def shoot(chromium: str, url: str, out: Path, width: int, height: int, profile: Path) -> None:
    subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--hide-scrollbars",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    f"--user-data-dir={profile}", f"--screenshot={out}", f"--window-size={width},{height}", url],
                   check=True, capture_output=True, timeout=120)
    print(f"{out.relative_to(REPO)}: {width}x{height}, {out.stat().st_size} bytes")


def main() -> int:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        print("chromium not found", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.html"
        subprocess.run([sys.executable, "-m", "tlsdiag", "scan", "--quiet", "--format", "html", "-o", str(report),
                        "samples/lync2013-fe-root-store"], cwd=REPO, check=False, timeout=300)
        profile = Path(tmp) / "profile"
        shoot(chromium, report.as_uri(), DOCS / "report-desktop.png", 1100, 1300, profile)
        shoot(chromium, report.as_uri(), DOCS / "report-narrow.png", 420, 1300, profile)
        svg = Path(tmp) / "tui.svg"
        shutil.copy(TUI_SVG, svg)
        shoot(chromium, svg.as_uri(), DOCS / "tui-guided-80x24.png", 1000, 640, profile)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
