"""Every example in the shipped knowledge base runs through the real matcher (data-driven).

- catalog entries: positive example events match the entry, negative ones do not;
- causes: a positive example is diagnosed ("made") and ranked first on its computer; a negative example
  does not diagnose the cause above weak; ``sample:`` examples go through ``run_scan`` on the sample folder.

The list of cases comes from whatever the KB holds; an empty KB is a failure, not a pass.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from tlsdiag.kb import KnowledgeBase, load_kb
from tlsdiag.match import CatalogIndex, HostFactsCollector, diagnose, match_events
from tlsdiag.model import Event, freeze_data

REPO = Path(__file__).resolve().parent.parent
T0 = datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)
EXAMPLE_COMPUTER = "EXAMPLE01.contoso.local"


def _kb() -> tuple[KnowledgeBase | None, str]:
    try:
        return load_kb(), ""
    except Exception as exc:  # reported by the test below, never skipped
        return None, f"{type(exc).__name__}: {exc}"


KB, KB_ERROR = _kb()


def _cases(kind: str) -> list[Any]:
    if KB is None:
        return [pytest.param(None, None, None, id="kb-does-not-load")]
    items = KB.causes if kind == "causes" else KB.events
    out = []
    for item_id, item in sorted(items.items()):
        for polarity in ("positive", "negative"):
            for i, example in enumerate(item.examples.get(polarity, [])):
                out.append(pytest.param(item_id, polarity, example, id=f"{item_id}-{polarity}-{i}"))
    if not out:
        out.append(pytest.param(None, None, None, id=f"no-{kind}-examples"))
    return out


def _version_for(build: int) -> str:
    return {7600: "6.01.", 7601: "6.01.", 9200: "6.02.", 9600: "6.03."}.get(build, "10.00.")


def example_events(spec: list[dict[str, Any]] | dict[str, Any], windows_build: int | None = None) -> list[Event]:
    """Events from an example's inline spec (the fields the KB format allows)."""
    specs = spec if isinstance(spec, list) else [spec]
    events = []
    for i, s in enumerate(specs):
        ts = T0 + timedelta(seconds=i)
        if "time" in s:
            ts = datetime.fromisoformat(str(s["time"]).replace("Z", "+00:00"))
        data = {str(k): str(v) for k, v in (s.get("data") or {}).items()}
        message = s.get("message")
        events.append(Event(
            source="example", locator=f"example {i}", record_id=i + 1, timestamp=ts, channel=s["channel"],
            provider=s["provider"], event_id=int(s["event_id"]), level=s.get("level"),
            computer=s.get("computer", EXAMPLE_COMPUTER), qualifiers=s.get("qualifiers"),
            data=freeze_data(data), message=message,
            form="text" if (message and not data) else "evtx"))
    if windows_build is not None:
        computers = {e.computer for e in events}
        for computer in sorted(computers):
            events.insert(0, Event(
                source="example", locator="boot", record_id=0, timestamp=min(e.timestamp for e in events)
                - timedelta(hours=1), channel="System", provider="EventLog", event_id=6009, level=4,
                computer=computer, data=freeze_data({"1": _version_for(windows_build), "2": str(windows_build),
                                                      "3": "", "4": "Multiprocessor Free", "5": "0"})))
    return events


def _diagnose(events: list[Event]):
    facts = HostFactsCollector()
    for e in events:
        facts.observe(e)
    return diagnose(match_events(events, KB), KB, facts)


def test_knowledge_base_loads_and_has_causes() -> None:
    assert KB is not None, KB_ERROR
    assert KB.causes, "the knowledge base has no causes: nothing would ever be diagnosed"
    assert KB.events


@pytest.mark.parametrize(("entry_id", "polarity", "example"), _cases("events"))
def test_catalog_examples(entry_id: str | None, polarity: str | None, example: dict | None) -> None:
    assert KB is not None, KB_ERROR
    assert entry_id is not None, "no catalog examples in the knowledge base"
    index = CatalogIndex(KB)
    [event] = example_events(example)
    matched = {m.entry.id for m in index.match(event) if not m.uncertain}
    if polarity == "positive":
        assert entry_id in matched, f"{entry_id}: positive example {example} does not match (matched {matched})"
    else:
        assert entry_id not in matched, f"{entry_id}: negative example {example} matches"


@pytest.mark.parametrize(("cause_id", "polarity", "example"), _cases("causes"))
def test_cause_examples(cause_id: str | None, polarity: str | None, example: dict | None) -> None:
    assert KB is not None, KB_ERROR
    assert cause_id is not None, "no cause examples in the knowledge base"
    if "sample" in example:
        from tlsdiag.scan import run_scan

        result = run_scan([REPO / example["sample"]], kb=KB)
        diagnoses = result.diagnoses
        computers = sorted({d.computer for d in diagnoses})
    else:
        diagnoses = _diagnose(example_events(example["events"], example.get("windows_build")))
        first = example["events"][0] if isinstance(example["events"], list) else example["events"]
        computers = [first.get("computer", EXAMPLE_COMPUTER)]
    mine = [d for d in diagnoses if d.cause.id == cause_id]
    if polarity == "positive":
        firsts = {}
        for computer in computers:
            ranked = [d for d in diagnoses if d.computer.casefold() == computer.casefold()]
            if ranked:
                firsts[computer] = ranked[0]
        hits = [d for d in firsts.values() if d.cause.id == cause_id and d.made]
        shown = {c: (d.cause.id, d.confidence, round(d.score, 3)) for c, d in firsts.items()}
        assert hits, (f"{cause_id}: positive example {example} not diagnosed first; first per computer: {shown}; "
                      f"this cause: {[(d.computer, d.confidence, round(d.score, 3), d.excluded) for d in mine]}")
    else:
        made = [d for d in mine if d.made]
        assert not made, (f"{cause_id}: negative example {example} diagnosed it: "
                          f"{[(d.computer, d.confidence, round(d.score, 3)) for d in made]}")
