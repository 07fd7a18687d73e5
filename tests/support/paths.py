"""Where the checkout's data and the real data beside it are; tests read them in place, never copies."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "samples"
SIGNATURES = REPO / "signatures"
# The corpus of real .evtx files lives beside the checkout (../shared), in CI too.
CORPUS = REPO.parent / "shared" / "corpus" / "evtx"
