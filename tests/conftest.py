"""Shared test fixtures: where the real corpus and the bundled samples are."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO / "samples"
SIGNATURES = REPO / "signatures"
# The corpus of real .evtx files lives beside the checkout (../shared), in CI too.
CORPUS = REPO.parent / "shared" / "corpus" / "evtx"


@pytest.fixture(scope="session")
def corpus_dir() -> Path:
    """The real-world corpus; its absence is a failure, never a skip."""
    if not (CORPUS / "MANIFEST.json").is_file():
        pytest.fail(f"corpus missing: expected {CORPUS}/MANIFEST.json (../shared/corpus/evtx)")
    return CORPUS


@pytest.fixture(scope="session")
def corpus_manifest(corpus_dir: Path) -> list[dict]:
    return json.loads((corpus_dir / "MANIFEST.json").read_text())
