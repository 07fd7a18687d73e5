"""`tlsdiag kb test`: run the positive and negative examples of the knowledge base and say, per file,
which passed, so whoever edits a signature sees its proof (the test suite runs the same code).

- Catalog events: a positive example event must match the entry, a negative one must not.
- Causes: a positive example (inline events, or a sample folder scanned like ``tlsdiag scan``) must be
  diagnosed ("made") and ranked first on its computer; a negative example must not make the cause.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from tlsdiag.kb.model import KnowledgeBase
from tlsdiag.model import Event, freeze_data

if TYPE_CHECKING:
    from tlsdiag.match import Diagnosis

Kind = Literal["event", "cause"]
Polarity = Literal["positive", "negative"]
T0 = datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)
EXAMPLE_COMPUTER = "EXAMPLE01.contoso.local"
_VERSIONS = {7600: "6.01.", 7601: "6.01.", 9200: "6.02.", 9600: "6.03."}


@dataclass(frozen=True, slots=True)
class ExampleResult:
    """One example of one entry, run through the real matcher."""

    path: Path
    entry: str
    kind: Kind
    polarity: Polarity
    index: int
    passed: bool
    detail: str

    @property
    def label(self) -> str:
        return f"{self.polarity} {self.index + 1}"


def example_events(spec: list[dict[str, Any]] | dict[str, Any], windows_build: int | None = None) -> list[Event]:
    """Events from an example's inline spec; ``windows_build`` adds an EventLog 6009 boot event per computer."""
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
        for computer in sorted({e.computer for e in events}):
            events.insert(0, Event(
                source="example", locator="boot", record_id=0,
                timestamp=min(e.timestamp for e in events) - timedelta(hours=1), channel="System",
                provider="EventLog", event_id=6009, level=4, computer=computer,
                data=freeze_data({"1": _VERSIONS.get(windows_build, "10.00."), "2": str(windows_build), "3": "",
                                  "4": "Multiprocessor Free", "5": "0"})))
    return events


def _diagnose_events(events: list[Event], kb: KnowledgeBase) -> list[Diagnosis]:
    from tlsdiag.scan import diagnose_events

    return diagnose_events(events, kb)


def run_event_example(kb: KnowledgeBase, entry_id: str, polarity: Polarity, example: dict[str, Any]) -> tuple[bool, str]:
    from tlsdiag.match import CatalogIndex

    [event] = example_events(example)
    matched = {m.entry.id for m in CatalogIndex(kb).match(event) if not m.uncertain}
    if polarity == "positive":
        return entry_id in matched, "matches" if entry_id in matched else f"does not match (matched: {sorted(matched)})"
    return entry_id not in matched, "does not match" if entry_id not in matched else "matches, but must not"


def run_cause_example(kb: KnowledgeBase, cause_id: str, polarity: Polarity, example: dict[str, Any]) -> tuple[bool, str]:
    if "sample" in example:
        from tlsdiag.scan import run_scan

        folder = kb.directory.parent / example["sample"]
        if not folder.is_dir():
            return False, f"sample folder {example['sample']} not found"
        diagnoses = run_scan([folder], kb=kb).diagnoses
        computers = sorted({d.computer for d in diagnoses})
    else:
        diagnoses = _diagnose_events(example_events(example["events"], example.get("windows_build")), kb)
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
        if hits:
            return True, f"diagnosed first ({hits[0].confidence} {hits[0].score:.2f})"
        shown = ", ".join(f"{c}: {d.cause.id} {d.confidence} {d.score:.2f}" for c, d in firsts.items()) or "nothing"
        return False, f"not diagnosed first (first: {shown})"
    made = [d for d in mine if d.made]
    if made:
        return False, "diagnosed, but must not be: " + ", ".join(f"{d.computer} {d.confidence} {d.score:.2f}"
                                                               for d in made)
    return True, "not diagnosed" + (f" (weak or ruled out on {len(mine)} computer(s))" if mine else "")


def select(kb: KnowledgeBase, names: Iterable[str] = ()) -> list[tuple[Kind, str, Path]]:
    """The entries to test: all, or those named by file path, file name or id. Unknown names raise
    ValueError naming them, so a typo never reads as 'all passed'."""
    entries: list[tuple[Kind, str, Path]] = [("event", e.id, e.path) for e in kb.events.values()]
    entries += [("cause", c.id, c.path) for c in kb.causes.values()]
    entries.sort(key=lambda t: (t[0] != "cause", t[1]))
    wanted = list(names)
    if not wanted:
        return entries
    out: list[tuple[Kind, str, Path]] = []
    unknown = []
    for name in wanted:
        p = Path(name)
        found = [t for t in entries if (t[1] == p.stem and (p.suffix in ("", ".yaml") or t[2] == p.resolve()))
                 or (p.exists() and t[2].resolve() == p.resolve())]
        if not found:
            unknown.append(name)
        out.extend(t for t in found if t not in out)
    if unknown:
        raise ValueError("not a signature file or id in the knowledge base: " + ", ".join(unknown))
    return out


def run(kb: KnowledgeBase, names: Iterable[str] = ()) -> list[ExampleResult]:
    """Every example of the selected entries, in file order; an entry without examples is a failure."""
    results: list[ExampleResult] = []
    for kind, entry_id, path in select(kb, names):
        item = kb.causes[entry_id] if kind == "cause" else kb.events[entry_id]
        examples = item.examples or {}
        count = 0
        for polarity in ("positive", "negative"):
            for i, example in enumerate(examples.get(polarity, [])):
                count += 1
                try:
                    if kind == "cause":
                        ok, detail = run_cause_example(kb, entry_id, polarity, example)
                    else:
                        ok, detail = run_event_example(kb, entry_id, polarity, example)
                except Exception as exc:  # a broken example is a failed proof, reported with its file
                    ok, detail = False, f"error: {type(exc).__name__}: {exc}"
                results.append(ExampleResult(path, entry_id, kind, polarity, i, ok, detail))
        if not count:
            results.append(ExampleResult(path, entry_id, kind, "positive", 0, False, "no examples"))
    return results
