"""Small helpers the scan reports share: times, sizes, store findings as plain data."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tlsdiag.model import STORE_KINDS, iso_utc


def when(ts: datetime | None) -> str:
    return iso_utc(ts) if ts else "-"


def size(n: int) -> str:
    value = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} B"


def finding_dict(finding: Any) -> dict[str, Any]:
    """A store finding's JSON form: ``stores.checks.Finding.to_dict()``, the dict ``tlsdiag stores`` prints.

    A diagnosis holds its findings as ``match.diagnose.StoreFinding``, a protocol that leaves the JSON form
    out so that match/ needs no serialisation; every finding is a ``Finding``, so no other shape is made."""
    return dict(finding.to_dict())


def records_text(result: Any) -> str:
    """Records read; with the readers' prefilter (providers and event ids), also what it skipped unread."""
    kept = result.summary.records
    reader = result.stats.reader
    parsed = reader.get("records_parsed")
    chunks, skipped = reader.get("chunks_total"), reader.get("chunks_skipped")
    if not (isinstance(parsed, int) and parsed > kept) and not skipped:
        return f"{kept} record(s)"
    parts = []
    if skipped:
        parts.append(f"{skipped} of {chunks} EVTX chunk(s) not parsed")
    if isinstance(parsed, int) and parsed > kept:
        parts.append(f"{parsed - kept} record(s) of other providers or event ids skipped")
    return f"{kept} record(s) of events the knowledge base uses (prefilter: {', '.join(parts)})"


# The FileReport forms of certificate-store exports: the sniffed kinds, and "store" for an export that
# scan.analyse was given as a path (model.FileForm; stores.load.file_reports)
STORE_FORMS = (*STORE_KINDS, "store")


def file_gave(result: Any, report: Any) -> str:
    """What one input gave: event records, or for a store export the certificates read from it."""
    if report.form == "collection":
        return "the collector's note (names, collection time and what was collected)"
    if report.form in STORE_FORMS:
        from tlsdiag.stores.load import certificates_from

        return f"store export, {certificates_from((a.snapshot for a in result.stores), report.source)} certificate(s)"
    return f"{report.records} record(s)"


def lost_text(summary: Any) -> str:
    """'N lost', saying how many of them are store items (certificates, stores, files) when there are any."""
    store = sum(1 for f in summary.files if f.form in STORE_FORMS for _ in f.lost)
    text = f"{summary.records_lost} lost"
    return text + (f" ({store} of them in certificate-store exports)" if store else "")
