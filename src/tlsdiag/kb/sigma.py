"""Export the knowledge base as Sigma rules, so SIEMs can run it natively.

Organisations that already ship event logs to Splunk, Elastic or Sentinel should
not need a second engine. Every catalog event and every piece of cause evidence
becomes a Sigma detection rule; a cause's combinations ("these events together
on one computer within an hour") become Sigma temporal correlation rules. Rule
ids are UUIDv5 of the signature id, so re-exports are stable and SIEM alert
history survives a knowledge-base update.

Field names follow the Windows event XML: ``Channel``, ``Provider_Name``,
``EventID``, ``Computer`` and the ``EventData``/``UserData`` field names.
Classic events with unnamed ``<Data>`` items (the "Lync Server" log) number
their fields; those are exported as ``param1``, ``param2``... (the names
Winlogbeat gives them).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tlsdiag.kb.model import Against, CatalogEvent, Cause, Condition, KnowledgeBase

NAMESPACE = uuid.UUID("6f1d6f3e-9c3b-5d1e-9a57-7d1c2b8e4f10")  # tlsdiag's own namespace for rule ids

_SERVICES = {"system": "system", "application": "application", "security": "security"}
_LEVELS = {"critical": "high", "error": "medium", "warning": "low", "information": "informational",
           "verbose": "informational"}
_ROLE_LEVELS = {"specific": "high", "corroborating": "medium", "generic": "low"}


def rule_uuid(name: str) -> str:
    return str(uuid.uuid5(NAMESPACE, f"tlsdiag:{name}"))


def sigma_field(name: str) -> str:
    """Event field name as exported: numbered classic items become paramN."""
    if name.isdigit():
        return f"param{name}"
    return {"computer": "Computer", "level": "Level"}.get(name, name)


@dataclass(frozen=True, slots=True)
class ExportedRule:
    filename: str
    rule: dict[str, Any]
    kind: str  # event | evidence | correlation
    source_id: str  # catalog id, "cause-id/evidence-id" or "cause-id/combination-N"


@dataclass(frozen=True, slots=True)
class NotExported:
    source_id: str
    reason: str


def _logsource(channel: str) -> dict[str, str]:
    service = _SERVICES.get(channel.lower())
    return {"product": "windows", "service": service} if service else {"product": "windows"}


def _value(value: object) -> str | int:
    """Whole numbers as numbers (Sigma's convention; a SIEM compares them either way), the rest as text."""
    text = str(value)
    return int(text) if text.isdigit() and (text == "0" or not text.startswith("0")) else text


def _condition_items(conditions: tuple[Condition, ...]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Sigma selection items for positive conditions, and one filter per negated condition."""
    positive: dict[str, Any] = {}
    filters: list[dict[str, Any]] = []
    for cond in conditions:
        field = sigma_field(cond.field)
        value: str | int | bool | list[str | int]
        if cond.op == "equals":
            key, value = field, _value(cond.value)
        elif cond.op == "in":
            key, value = field, [_value(v) for v in cond.value]
        elif cond.op == "contains":
            key, value = f"{field}|contains", str(cond.value)
        elif cond.op == "regex":
            key, value = f"{field}|re|i", str(cond.value)
        elif cond.op == "exists":
            key, value = f"{field}|exists", bool(cond.value)
        else:  # pragma: no cover - the schema allows no other operator
            raise ValueError(f"unknown condition operator {cond.op!r}")
        if cond.negate:
            filters.append({key: value})
        else:
            positive[key] = value
    return positive, filters


def _detection(entry: CatalogEvent, extra: tuple[Condition, ...]) -> dict[str, Any]:
    providers = [entry.provider, *entry.provider_aliases]
    selection: dict[str, Any] = {
        "Channel": entry.channel,
        "Provider_Name": providers if len(providers) > 1 else providers[0],
        "EventID": entry.event_id,
    }
    positive, filters = _condition_items(entry.match + extra)
    selection.update(positive)
    detection: dict[str, Any] = {"selection": selection}
    condition = "selection"
    for i, item in enumerate(filters, 1):
        detection[f"filter_{i}"] = item
        condition += f" and not filter_{i}"
    detection["condition"] = condition
    return detection


def _references(sources: Any, kb_urls: list[str] | None = None) -> list[str]:
    urls = list(kb_urls or [])
    urls += [s.url for s in sources if s.url]
    return list(dict.fromkeys(urls))


def _event_rule(entry: CatalogEvent) -> dict[str, Any]:
    return {
        "title": f"{entry.title} ({entry.provider} {entry.event_id})",
        "id": rule_uuid(f"event:{entry.id}"),
        "name": f"tlsdiag_event_{entry.id.replace('-', '_')}",
        "status": "experimental",
        "description": " ".join(entry.meaning.split()),
        "references": _references(entry.sources),
        "author": "tlsdiag knowledge base",
        "logsource": _logsource(entry.channel),
        "detection": _detection(entry, ()),
        "fields": ["Computer", *[sigma_field(f) for f in entry.fields]],
        "falsepositives": ["See the tlsdiag cause files: this event alone rarely proves a cause"],
        "level": _LEVELS.get(entry.level, "informational"),
        "tags": [f"tlsdiag.{entry.id}"],
    }


def _evidence_rule(cause: Cause, entry: CatalogEvent, evidence: Any) -> dict[str, Any]:
    note = f" {evidence.note}" if evidence.note else ""
    return {
        "title": f"{cause.title}: {entry.title} ({evidence.id})",
        "id": rule_uuid(f"evidence:{cause.id}/{evidence.id}"),
        "name": f"tlsdiag_{cause.id.replace('-', '_')}__{evidence.id.replace('-', '_')}",
        "status": "experimental",
        "description": f"Evidence ({evidence.role}, weight {evidence.weight}) for: {cause.title}.{note}",
        "references": _references(cause.sources, [k.url for k in cause.kb]),
        "author": "tlsdiag knowledge base",
        "logsource": _logsource(entry.channel),
        "detection": _detection(entry, evidence.where),
        "falsepositives": [a.note for a in cause.against if isinstance(a, Against)] or ["Unknown"],
        "level": _ROLE_LEVELS[evidence.role],
        "tags": [f"tlsdiag.{cause.id}", *[f"tlsdiag.kb{k.number}" for k in cause.kb]],
    }


def _timespan(seconds: int) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def export_rules(kb: KnowledgeBase) -> tuple[list[ExportedRule], list[NotExported]]:
    """All rules in a stable order, and what could not be expressed, with why."""
    rules: list[ExportedRule] = []
    skipped: list[NotExported] = []
    for entry in sorted(kb.events.values(), key=lambda e: e.id):
        rules.append(ExportedRule(f"events/{entry.id}.yml", _event_rule(entry), "event", entry.id))
    for cause in sorted(kb.causes.values(), key=lambda c: c.id):
        names: dict[str, str] = {}
        for evidence in cause.evidence:
            entry = kb.events[evidence.event]
            rule = _evidence_rule(cause, entry, evidence)
            names[evidence.id] = rule["name"]
            rules.append(ExportedRule(f"causes/{cause.id}.yml", rule, "evidence",
                                      f"{cause.id}/{evidence.id}"))
        for i, combo in enumerate(cause.combinations, 1):
            rule = {
                "title": f"{cause.title}: {' + '.join(combo.all)} within {_timespan(int(combo.within.total_seconds()))}",
                "id": rule_uuid(f"correlation:{cause.id}/{i}"),
                "name": f"tlsdiag_{cause.id.replace('-', '_')}__combination_{i}",
                "status": "experimental",
                "description": combo.note or f"Combined evidence for: {cause.title}",
                "references": _references(cause.sources, [k.url for k in cause.kb]),
                "author": "tlsdiag knowledge base",
                "correlation": {
                    "type": "temporal",
                    "rules": [names[e] for e in combo.all],
                    "group-by": ["Computer"],
                    "timespan": _timespan(int(combo.within.total_seconds())),
                },
                "level": "high",
            }
            rules.append(ExportedRule(f"causes/{cause.id}.yml", rule, "correlation",
                                      f"{cause.id}/combination-{i}"))
        for item in cause.against:
            what = f"against: {item.note}"
            skipped.append(NotExported(f"{cause.id}", f"{what} (counter-evidence lowers a score; Sigma has no scores)"))
        if cause.windows and (cause.windows.min_build or cause.windows.max_build):
            skipped.append(NotExported(cause.id, "the Windows build range comes from EventLog 6009 of the same "
                                       "computer; Sigma rules cannot join on another event's data"))
    return rules, skipped


def dump_rule(rule: dict[str, Any]) -> str:
    return yaml.safe_dump(rule, sort_keys=False, allow_unicode=True, width=120)


def write_rules(kb: KnowledgeBase, out_dir: Path) -> tuple[list[ExportedRule], list[NotExported]]:
    """Write the rules under out_dir, plus NOT-EXPORTED.md listing what Sigma cannot say.

    Catalog events get one file each; each cause gets one multi-document file
    holding its evidence rules and the correlations over them, because Sigma
    tools resolve a correlation's rule references within one file.
    """
    rules, skipped = export_rules(kb)
    files: dict[str, list[str]] = {}
    for item in rules:
        files.setdefault(item.filename, []).append(dump_rule(item.rule))
    for name, documents in files.items():
        path = out_dir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("---\n".join(documents), encoding="utf-8")
    lines = ["# Not exported to Sigma", "", "What the native matcher uses but Sigma rules cannot express:", ""]
    lines += [f"- `{s.source_id}`: {s.reason}" for s in skipped] or ["- nothing"]
    (out_dir / "NOT-EXPORTED.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return rules, skipped
