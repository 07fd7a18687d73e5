"""Sigma export: every rule loads and converts with pySigma, and the converted SQL selects
exactly the events the native matcher selects, on every sample collection."""

from __future__ import annotations

import re
import sqlite3
from collections import defaultdict
from pathlib import Path

import pytest
from sigma.backends.sqlite import sqliteBackend
from sigma.collection import SigmaCollection
from sigma.validation import SigmaValidator
from sigma.validators.core import validators

from tlsdiag.cli import main
from tlsdiag.inputs import read_events
from tlsdiag.kb import load_kb
from tlsdiag.kb.sigma import ExportedRule, dump_rule, export_rules, sigma_field
from tlsdiag.match.catalog import CatalogIndex
from tlsdiag.match.conditions import evaluate_all
from tlsdiag.model import Event, ReadSummary, iso_utc

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "samples"


@pytest.fixture(scope="module")
def kb():
    return load_kb()


@pytest.fixture(scope="module")
def exported(kb):
    rules, skipped = export_rules(kb)
    assert rules, "the knowledge base must export rules"
    return rules, skipped


@pytest.fixture(scope="module")
def events() -> list[Event]:
    """Every EVTX event of every sample scenario (text exports carry no fields, so they are left out)."""
    summary = ReadSummary()
    paths = sorted(p for p in SAMPLES.rglob("*.evtx"))
    assert paths, "samples are missing"
    out = list(read_events(paths, summary=summary))
    assert summary.records_lost == 0
    return out


def _collection(rules: list[ExportedRule]) -> SigmaCollection:
    return SigmaCollection.from_yaml("\n---\n".join(dump_rule(r.rule) for r in rules))


@pytest.mark.slow
def test_every_rule_loads_and_passes_the_validators(exported) -> None:
    rules, _ = exported
    collection = _collection(rules)
    assert not collection.errors, collection.errors
    assert len(list(collection)) == len(rules)
    # Validators from pySigma itself (the same checks as `sigma check`), minus the taxonomy-tag ones:
    # our tags are in the tlsdiag namespace, and those validators download ATT&CK/D3FEND data.
    skip = {"namespace_tag", "tag_format", "attacktag", "d3_fendtag", "cartag", "cvetag", "stptag", "tlptag",
            "tlpv1_tag", "tlpv2_tag"}
    validator = SigmaValidator([v for name, v in validators.items() if name not in skip])
    issues = validator.validate_rules(collection)
    assert not issues, [str(i) for i in issues][:10]


def test_rule_ids_are_stable(kb) -> None:
    first, _ = export_rules(kb)
    second, _ = export_rules(kb)
    assert [r.rule["id"] for r in first] == [r.rule["id"] for r in second]
    assert len({r.rule["id"] for r in first}) == len(first)


def _database(events: list[Event], kb) -> sqlite3.Connection:
    columns: dict[str, None] = {}
    conditions = [c for e in kb.events.values() for c in e.match]
    conditions += [c for cause in kb.causes.values() for ev in cause.evidence for c in ev.where]
    for cond in conditions:
        columns.setdefault(sigma_field(cond.field), None)
    for ev in events:
        for name in ev.data:
            columns.setdefault(sigma_field(name), None)
    base = ["Channel", "Provider_Name", "EventID", "Computer", "Level", "timestamp"]
    extra = [c for c in columns if c not in base]
    db = sqlite3.connect(":memory:")
    db.create_function("REGEXP", 2, lambda pattern, value: value is not None and re.search(pattern, value) is not None)
    cols = ", ".join(f'"{c}" TEXT COLLATE NOCASE' if c != "EventID" else '"EventID" INTEGER' for c in base + extra)
    db.execute(f"CREATE TABLE logs ({cols})")
    for i, ev in enumerate(events, 1):
        row = {"Channel": ev.channel, "Provider_Name": ev.provider, "EventID": ev.event_id, "Computer": ev.computer,
               "Level": str(ev.level), "timestamp": iso_utc(ev.timestamp)}
        row.update({sigma_field(k): v for k, v in ev.data.items()})
        names = list(row)
        db.execute(f"INSERT INTO logs (rowid, {', '.join(chr(34) + n + chr(34) for n in names)}) "
                   f"VALUES (?, {', '.join('?' for _ in names)})", [i, *row.values()])
    return db


def _native(kb, events: list[Event]) -> dict[str, set[int]]:
    """rule source id -> rowids (1-based positions) the native matcher selects."""
    index = CatalogIndex(kb)
    out: dict[str, set[int]] = defaultdict(set)
    for i, ev in enumerate(events, 1):
        for match in index.match(ev):
            out[match.entry.id].add(i)
            for cause in kb.causes.values():
                for evidence in cause.evidence:
                    if evidence.event == match.entry.id and \
                            evaluate_all(evidence.where, ev, match.fields, match.complete) is True:
                        out[f"{cause.id}/{evidence.id}"].add(i)
    return out


@pytest.mark.slow
def test_sqlite_round_trip_selects_what_the_native_matcher_selects(kb, exported, events) -> None:
    rules, _ = exported
    db = _database(events, kb)
    native = _native(kb, events)
    backend = sqliteBackend()
    checked = 0
    for rule in rules:
        if rule.kind == "correlation":
            continue
        (query,) = backend.convert(_collection([rule]))
        sql = query.replace("SELECT *", "SELECT rowid", 1)
        got = {row[0] for row in db.execute(sql)}
        assert got == native.get(rule.source_id, set()), rule.source_id
        checked += 1
    assert checked == sum(1 for r in rules if r.kind != "correlation")
    # The samples must exercise the export: most catalog entries used as evidence select something.
    assert sum(1 for r in rules if r.kind == "evidence" and native.get(r.source_id)) >= 5


@pytest.mark.slow
def test_correlation_rules_convert_and_fire_on_the_scenario(kb, exported, events) -> None:
    rules, _ = exported
    correlations = [r for r in rules if r.kind == "correlation"]
    if not correlations:
        pytest.fail("the knowledge base has combinations; they must export as correlation rules")
    by_name = {r.rule.get("name"): r for r in rules}
    db = _database(events, kb)
    backend = sqliteBackend()
    fired = 0
    for corr in correlations:
        members = [by_name[n] for n in corr.rule["correlation"]["rules"]]
        queries = backend.convert(_collection([*members, corr]))
        rows = list(db.execute(queries[-1]))
        fired += bool(rows)
    assert fired >= 1, "no combination fired on any sample"


@pytest.mark.slow
def test_cli_export_writes_files(tmp_path: Path, kb, exported) -> None:
    out = tmp_path / "sigma"
    assert main(["kb", "export", "--sigma", str(out)]) == 0
    files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.yml"))
    assert files == sorted({r.filename for r in exported[0]})
    reloaded = SigmaCollection.from_yaml((out / "causes" / "root-store-non-self-signed.yml").read_text())
    assert not reloaded.errors and len(list(reloaded)) > 1
    assert (out / "NOT-EXPORTED.md").is_file()
    assert main(["kb", "export", "--sigma", str(out)]) == 2  # refuses to write into a non-empty folder
