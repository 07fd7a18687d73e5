"""A scan of event logs alone does not load the store package, and its collector thresholds are put back.

Importing ``tlsdiag.stores`` costs about 70 ms of every scan's start, measured with ``python -X
importtime``: on a 42 MB log where every record is relevant that is several percent of the plain
pyevtx-rs loop's whole time. The scan asks the store package about a file only when its name could be
one of the collector's notes; these tests pin both halves of that.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tlsdiag.scan import COLLECTION_NOTE_SUFFIXES, _collection_file
from tlsdiag.stores.load import METADATA_NAME, is_collection_file
from tlsdiag.stores.manifest import MANIFEST_NAME

ROOT = Path(__file__).resolve().parents[2]


def test_every_collection_note_name_passes_the_suffix_check() -> None:
    for name in (METADATA_NAME, MANIFEST_NAME):
        assert name.lower().endswith(COLLECTION_NOTE_SUFFIXES), name
        for display in (name, f"srv1/{name}", f"bundle.zip!srv1/{name.upper()}"):
            assert _collection_file(display) == is_collection_file(display) is True


def test_other_names_are_not_collection_files() -> None:
    for display in ("srv1/System.evtx", "notes.txt", "srv1/store.json", "tlsdiag-collection.txt.evtx"):
        assert _collection_file(display) is False
        assert is_collection_file(display) is False


@pytest.mark.slow
def test_scanning_an_event_log_imports_no_store_module() -> None:
    log = ROOT / "samples" / "ws2012r2-session-ticket" / "System.evtx"
    code = ("import json, sys\n"
            "from tlsdiag.report import render_scan\n"
            "from tlsdiag.scan import run_scan\n"
            f"result = run_scan([{str(log)!r}])\n"
            "render_scan(result, 'json'); render_scan(result, 'text')\n"
            "print(json.dumps([result.stats.events, sorted(m for m in sys.modules\n"
            "                  if m.startswith(('tlsdiag.stores', 'cryptography')))]))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    events, loaded = json.loads(out.stdout.strip().splitlines()[-1])
    assert events > 0  # the log was read and matched
    assert loaded == []


def test_fewer_collections_puts_the_thresholds_back() -> None:
    import gc

    from tlsdiag.scan import fewer_collections

    before = gc.get_threshold()
    with fewer_collections():
        assert gc.get_threshold()[0] > before[0]
    assert gc.get_threshold() == before
    try:
        with fewer_collections():
            raise KeyError("a reader failed")
    except KeyError:
        pass
    assert gc.get_threshold() == before
