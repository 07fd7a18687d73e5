"""Shared test fixtures: where the real corpus and the bundled samples are."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from support.paths import CORPUS


@pytest.fixture(scope="session")
def corpus_dir() -> Path:
    """The real-world corpus; its absence is a failure, never a skip."""
    if not (CORPUS / "MANIFEST.json").is_file():
        pytest.fail(f"corpus missing: expected {CORPUS}/MANIFEST.json (../shared/corpus/evtx)")
    return CORPUS


@pytest.fixture(scope="session")
def corpus_manifest(corpus_dir: Path) -> list[dict]:
    return json.loads((corpus_dir / "MANIFEST.json").read_text())


@pytest.fixture(scope="session", autouse=True)
def _private_kb_cache(tmp_path_factory: pytest.TempPathFactory):
    """Tests never read or write the user's knowledge-base cache (kb/cache.py); subprocesses inherit this."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TLSDIAG_CACHE_DIR", str(tmp_path_factory.mktemp("kb-cache")))
        yield
