"""Read the store exports given and run every check on each computer's stores: what `tlsdiag stores`
reports. The scan pipeline attaches findings to diagnoses instead (``scan.py``)."""

from __future__ import annotations

import os
from collections.abc import Iterable
from datetime import datetime
from typing import NamedTuple

from tlsdiag.errors import InputError
from tlsdiag.stores.checks import Finding, run_checks
from tlsdiag.stores.load import StoreInput, load_stores
from tlsdiag.stores.model import StoreLoss, StoreSnapshot


class StoreReport(NamedTuple):
    """One computer's stores and every finding of the checks run on them (problems, notes, clean)."""

    snapshot: StoreSnapshot
    findings: list[Finding]


def analyse_stores(paths: Iterable[str | os.PathLike[str] | StoreInput],
                   at: datetime | None = None) -> tuple[list[StoreReport], list[StoreLoss]]:
    """Each computer's stores with their findings, and the export files that could not be read at all.

    A damaged file among good ones is reported, not fatal; only nothing usable is an InputError (exit 2)."""
    paths = list(paths)
    failed: list[StoreLoss] = []
    snapshots = load_stores(paths, failed=failed)
    if not snapshots:
        if failed:
            raise InputError(failed[0].source, failed[0].reason)
        raise InputError(", ".join(str(p) for p in paths), "no certificate-store export found (reg export, hive, "
                                                          "collector JSON, or certificate files in store-named folders)")
    return [StoreReport(snap, run_checks(snap, at)) for snap in snapshots], failed
