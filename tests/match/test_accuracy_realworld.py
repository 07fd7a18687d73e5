"""The accuracy floor on real material (../shared/realworld, read in place): benchmarks/accuracy.py's numbers
must not fall below what this branch measured. The targets themselves (95% top-3 and more) are the script's
to report; this only stops a regression.
"""

from __future__ import annotations

import importlib.util
import sys
import warnings
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
REALWORLD = REPO.parent / "shared" / "realworld"


@pytest.fixture(scope="module")
def measured() -> dict:
    if not (REALWORLD / "paste_cases.json").is_file():
        pytest.fail(f"real-world material missing: expected {REALWORLD}/paste_cases.json (../shared/realworld)")
    spec = importlib.util.spec_from_file_location("accuracy", REPO / "benchmarks" / "accuracy.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["accuracy"] = module  # its dataclasses look their module up by name
    spec.loader.exec_module(module)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Parsed a serial number")
        return module.measure()


@pytest.mark.slow
def test_labelled_top3_floor(measured: dict) -> None:
    assert measured["labelled"] == 16
    assert measured["top3"] >= 14, [c.id for c in measured["cases"] if c.labelled and not c.top3]


def test_labelled_top1_floor(measured: dict) -> None:
    """issue-17c measured 13/16 at top 1 (misses rw011 at rank 2, rw033 and rw059 not reached)."""
    assert measured["top1"] >= 13, [c.id for c in measured["cases"] if c.labelled and not c.top1]


def test_no_store_cause_for_expect_none(measured: dict) -> None:
    offenders = [(c.id, c.store_cause_offered) for c in measured["cases"] if c.store_cause_offered]
    assert not offenders


def test_no_store_fix_for_expect_none(measured: dict) -> None:
    """Nor a store cause chosen for the fix without being listed (6/6 since issue-16c)."""
    offenders = [(c.id, c.store_fix) for c in measured["cases"] if c.store_fix]
    assert not offenders


def test_tls_texts_answered(measured: dict) -> None:
    """The target is 90%; issue-17c measured all 26, and the floor is what was measured."""
    assert measured["tls_answered"] >= 0.9 * measured["tls_texts"], \
        [c.id for c in measured["cases"] if not c.noise and not c.answered]
    assert measured["tls_answered"] >= 26, [c.id for c in measured["cases"] if not c.noise and not c.answered]


def test_every_event_paste_and_export_read(measured: dict) -> None:
    bad = [(f.name, f.detail) for f in measured["files"] if not f.ok]
    assert not bad
