"""Remake the screenshots in docs/ from the bundled front-end sample, with headless Chromium.

    .venv/bin/python tools/docs_screenshots.py

- docs/report-desktop.png, docs/report-narrow.png: ``tlsdiag scan --format html`` of
  samples/lync2013-fe-root-store at 1100 and 420 pixels wide (the top of the page: header,
  timeline, first diagnosis and its grouped evidence). tests/report/test_report_html.py asserts the DOM
  of the same report.
- docs/tui-guided-80x24.png: the TUI's guided view, step 1 "What happened", at 80x24, and
  docs/tui-proof-no-store-check-80x24.png, the proof step of pool quorum loss (a cause no store
  check proves) with the sample's stores loaded: the Textual SVG screenshots that
  tests/tui/test_tui_snapshots.py compares, rendered to PNG by Chromium.
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
SNAPSHOTS = REPO / "tests" / "tui" / "__snapshots__" / "test_tui_snapshots"
TUI_SVGS = {  # docs name: the snapshot tests/tui/test_tui_snapshots.py compares
    "tui-guided-80x24.png": "test_screen_snapshot[guided-happened-keys1-80x24].svg",
    "tui-proof-no-store-check-80x24.png": "test_screen_snapshot[guided-proof-no-store-check-keys7-80x24].svg",
}


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
        shoot(chromium, report.as_uri(), DOCS / "report-desktop.png", 1100, 1000, profile)
        shoot(chromium, report.as_uri(), DOCS / "report-narrow.png", 420, 1000, profile)
        for name, snapshot in TUI_SVGS.items():
            svg = Path(tmp) / "tui.svg"
            shutil.copy(SNAPSHOTS / snapshot, svg)
            shoot(chromium, svg.as_uri(), DOCS / name, 1000, 640, profile)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
