"""The one matching path (docs/architecture.md): scan.Analysis diagnoses the knowledge base's own cause
examples the same way with its per-shape shortcuts as event by event (the examples are what
``tlsdiag kb test`` proves the knowledge base with, through the same ``scan.diagnose_events``)."""

from __future__ import annotations

import pytest

from tlsdiag.kb import load_kb
from tlsdiag.kbtest import example_events
from tlsdiag.match.diagnose import Diagnosis
from tlsdiag.scan import diagnose_events

KB = load_kb()
EXAMPLES = [(cause.id, polarity, i, example)
            for cause in sorted(KB.causes.values(), key=lambda c: c.id)
            for polarity in ("positive", "negative")
            for i, example in enumerate((cause.examples or {}).get(polarity, []))
            if "events" in example]


def _picture(diagnoses: list[Diagnosis]) -> list[tuple[object, ...]]:
    """All a report shows of a diagnosis: rank, cause, score, confidence, notes and per evidence its counts."""
    return [(d.computer, d.cause.id, round(d.score, 9), d.confidence, d.store, d.excluded, tuple(d.notes),
             tuple((i.evidence.id, i.hit.count, i.hit.known, i.hit.first, i.hit.last, round(i.weight_used, 9),
                    tuple(m.event.locator for m in i.hit.matches)) for i in d.evidence),
             tuple((c.all, first, last) for c, first, last in d.combinations))
            for d in diagnoses]


def test_there_are_event_examples_to_compare() -> None:
    assert len(EXAMPLES) >= 40  # the comparison below is not vacuous
    assert sum(1 for _c, p, _i, _e in EXAMPLES if p == "positive") > 20


@pytest.mark.parametrize(("cause_id", "polarity", "index", "example"), EXAMPLES,
                         ids=[f"{c}-{p}-{i}" for c, p, i, _e in EXAMPLES])
def test_shapes_and_event_by_event_diagnose_every_example_alike(cause_id: str, polarity: str, index: int,
                                                                example: dict) -> None:
    events = example_events(example["events"], example.get("windows_build"))
    # repeated twice, so that the shortcuts (shape memo, runs of equal events) have repeats to work on
    doubled = events + [e._replace(record_id=(e.record_id or 0) + 100_000) for e in events]
    for stream in (events, doubled):
        fast = diagnose_events(stream, KB)
        plain = diagnose_events(stream, KB, shortcuts=False)
        assert _picture(fast) == _picture(plain)
    if polarity == "positive":
        assert any(d.cause.id == cause_id for d in diagnose_events(events, KB))

