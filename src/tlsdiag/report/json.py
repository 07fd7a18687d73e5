"""``--format json``: the stable, documented schema (docs/json-output.md, schemas/*.schema.json).

Output is deterministic for the same input (no wall-clock times unless
``--stats`` asks for them) and ASCII-escaped, so no control or bidi character in
event text survives into a terminal that happens to show the JSON.
"""

from __future__ import annotations

import json
from typing import Any

from tlsdiag import __version__
from tlsdiag.kb.model import KbArticle, Step, Workaround
from tlsdiag.match.catalog import Match
from tlsdiag.match.codes import CodeHit
from tlsdiag.match.diagnose import EvidenceItem
from tlsdiag.match.explain import Candidate, ExplainMatch, ExplainResult
from tlsdiag.match.hostfacts import HostFacts
from tlsdiag.match.render import render_message
from tlsdiag.model import iso_utc
from tlsdiag.report import SCHEMA_VERSION
from tlsdiag.report.common import finding_dict
from tlsdiag.report.view import DiagnosisView, ScanView, scan_view


def _steps(steps: tuple[Step, ...]) -> list[dict[str, Any]]:
    return [s.to_dict() for s in steps]


def _kb_articles(articles: tuple[KbArticle, ...]) -> list[dict[str, Any]]:
    """A cause's KB articles, one shape in scan and explain; the note says what the article is for here."""
    return [{"number": k.number, "title": k.title, "url": k.url, "note": k.note or None} for k in articles]


def _workarounds(workarounds: tuple[Workaround, ...]) -> list[dict[str, Any]]:
    """A cause's workarounds, one shape in scan and explain; the shell says where the command runs."""
    return [{"title": w.title, "command": w.command or None, "shell": w.shell, "caveat": w.caveat}
            for w in workarounds]


def event_dict(match: Match, lang: str = "en") -> dict[str, Any]:
    """One kept evidence event, its message rendered from the catalog when the input had none."""
    e = match.event
    return {
        "timestamp": iso_utc(e.timestamp),
        "catalog": match.entry.id,
        "event_id": e.event_id,
        "provider": e.provider,
        "channel": e.channel,
        "computer": e.computer,
        "source": e.source,
        "locator": e.locator,
        "record_id": e.record_id,
        "form": e.form,
        "message": render_message(e, match.entry, lang, match.fields),
    }


def evidence_dict(item: EvidenceItem, lang: str = "en") -> dict[str, Any]:
    """One piece of a diagnosis's evidence: exact count, first and last time, the first kept events."""
    return {
        "id": item.evidence.id,
        "event": item.evidence.event,
        "role": item.evidence.role,
        "weight": item.evidence.weight,
        "weight_used": round(item.weight_used, 4),
        "fields_unknown": item.hit.unknown_only,
        "count": item.hit.count,
        "first_seen": iso_utc(item.hit.first) if item.hit.first else None,
        "last_seen": iso_utc(item.hit.last) if item.hit.last else None,
        "note": item.evidence.note or None,
        "events": [event_dict(m, lang) for m in item.hit.matches],
    }


def diagnosis_dict(v: DiagnosisView) -> dict[str, Any]:
    d, cause = v.diagnosis, v.diagnosis.cause
    return {
        "computer": d.computer,
        "rank": v.rank,
        "cause": cause.id,
        "title": cause.title,
        "confidence": d.confidence,
        "score": round(d.score, 4),
        "made": d.made,
        "weak": d.weak,
        "store": d.store,
        "excluded": d.excluded,
        "summary": cause.summary,
        "kb": _kb_articles(cause.kb),
        "first_seen": iso_utc(d.first_seen) if d.first_seen else None,
        "last_seen": iso_utc(d.last_seen) if d.last_seen else None,
        "evidence": [evidence_dict(item) for item in d.evidence],
        "combinations": [{"all": list(c.all), "within_seconds": int(c.within.total_seconds()), "weight": c.weight,
                          "from": iso_utc(a), "to": iso_utc(b), "note": c.note or None}
                         for c, a, b in d.combinations],
        "against": [{"event": a.event, "windows": None if a.windows is None else
                     {"min_build": a.windows.min_build, "max_build": a.windows.max_build},
                     "weight": a.weight, "note": a.note, "count": hit.count if hit else None}
                    for a, hit in d.against],
        "store_findings": [finding_dict(f) for f in d.store_findings],
        "fix": _steps(cause.fix),
        "verify": _steps(cause.verify),
        "workarounds": _workarounds(cause.workarounds),
        "notes": list(d.notes),
        "reason": v.reason or None,
    }


def scan_dict(result: Any, *, stats: bool = False, view: ScanView | None = None) -> dict[str, Any]:
    """The whole scan as JSON-ready data (``result`` is a tlsdiag.scan.ScanResult; ``view`` its
    ``scan_view``, when the caller has built it already)."""
    view = view or scan_view(result)
    findings = [diagnosis_dict(v) for c in view.computers for v in c.diagnoses]
    summary = result.summary
    first, last = summary.span
    out: dict[str, Any] = {
        "tool": "tlsdiag",
        "version": __version__,
        "schema_version": SCHEMA_VERSION,
        "knowledge_base": {"events": len(result.kb.events), "causes": len(result.kb.causes)},
        "computers": [_host(result, c) for c in result.computers],
        "findings": findings,
        "stores": [{
            "computer": a.snapshot.computer or None,
            "sources": list(a.snapshot.sources),
            "findings": [finding_dict(f) for f in a.findings],
            "clean_checks": sorted(a.clean_checks),
        } for a in result.stores],
        "notes": list(result.notes),
        "stats": {
            "files": len(summary.files),
            "bytes": summary.bytes,
            "records": summary.records,
            "records_parsed": result.stats.reader.get("records_parsed"),
            "records_lost": summary.records_lost,
            "files_unusable": sum(1 for f in summary.files if f.error),
            "first_event": iso_utc(first) if first else None,
            "last_event": iso_utc(last) if last else None,
            "matches": result.stats.matches,
            "diagnoses_made": len(result.made),
            "inputs": [{
                "source": f.source, "form": f.form, "size": f.size, "records": f.records, "error": f.error,
                "first_event": iso_utc(f.first) if f.first else None,
                "last_event": iso_utc(f.last) if f.last else None,
                "lost": [{"where": x.where, "reason": x.reason, "records": x.records} for x in f.lost],
            } for f in summary.files],
        },
    }
    if stats:
        s = result.stats
        out["timing"] = {"seconds": round(s.seconds, 3), "read_seconds": round(s.read_seconds, 3),
                         "store_seconds": round(s.store_seconds, 3), "events_matched_against": s.events,
                         "reader": dict(s.reader)}
    return out


def _host(result: Any, computer: str) -> dict[str, Any]:
    facts = result.host(computer)
    if facts is None:
        return {"computer": computer, "windows_version": None, "windows_build": None, "windows_name": None,
                "service_pack": None, "windows_seen_at": None, "products": []}
    data = host_facts_dict(facts)
    data["computer"] = computer
    return data


def host_facts_dict(facts: HostFacts) -> dict[str, Any]:
    """What a computer's logs tell of it: Windows version and build, products (schemas/scan)."""
    return {
        "computer": facts.computer,
        "windows_version": facts.version,
        "windows_build": facts.build,
        "windows_name": facts.windows_name if facts.build is not None else None,
        "service_pack": facts.service_pack or None,
        "windows_seen_at": iso_utc(facts.seen_at) if facts.seen_at else None,
        "products": sorted(facts.products),
    }


def render_scan(result: Any, *, stats: bool = False) -> str:
    return json.dumps(scan_dict(result, stats=stats), indent=2, ensure_ascii=True) + "\n"


def explain_match_dict(m: ExplainMatch) -> dict[str, Any]:
    """One catalog event or cause the pasted text points to, with why (schemas/explain)."""
    return {"kind": m.kind, "id": m.id, "title": m.title, "event_id": m.event_id, "provider": m.provider,
            "kb": m.kb, "score": round(m.score, 3), "why": m.why, "generic": m.generic,
            "store_related": m.store_related, "meaning": m.meaning or None}


def candidate_dict(c: Candidate) -> dict[str, Any]:
    """A cause that fits generic evidence, with what to check."""
    return {"cause": c.id, "title": c.title, "score": round(c.score, 3), "check": c.check}


def code_hit_dict(hit: CodeHit) -> dict[str, Any]:
    """An error code or message of signatures/codes/ found in the text, with its meaning and checks."""
    e = hit.entry
    return {"id": e.id, "name": e.name, "kind": e.kind, "value": e.value, "found": hit.found, "how": hit.how,
            "meaning": e.meaning, "related_events": list(e.related_events),
            "check": [{"step": c.step, "cause": c.cause, "command": c.command or None} for c in e.check]}


def explain_dict(result: ExplainResult) -> dict[str, Any]:
    """The whole explain answer as JSON-ready data (docs/json-output.md, schemas/explain.schema.json)."""
    cause = result.best_cause
    return {
        "tool": "tlsdiag", "version": __version__, "schema_version": SCHEMA_VERSION,
        "found": result.found,
        "note": result.note or None,
        "matches": [explain_match_dict(m) for m in result.matches],
        "generic": result.generic,
        "candidates": [candidate_dict(c) for c in result.candidates],
        "codes": [code_hit_dict(c) for c in result.codes],
        "fix": None if cause is None else {
            "cause": cause.id,
            "title": cause.title,
            "store_related": cause.store_related,
            "kb": _kb_articles(cause.kb),
            "steps": _steps(cause.fix),
            "verify": _steps(cause.verify),
            "workarounds": _workarounds(cause.workarounds),
        },
    }


def render_explain(result: ExplainResult) -> str:
    return json.dumps(explain_dict(result), indent=2, ensure_ascii=True) + "\n"
