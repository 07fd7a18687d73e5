"""The scan's per-shape shortcuts (``scan.Analysis``) never change a result.

The reader hands out one data mapping for all repetitions of a record, and ``Analysis.feed``
matches and correlates the first of them only, then reuses what it gave; consecutive equal
events are counted together (``Analysis.flush``). These tests feed the
same events once as read (shared mappings) and once with a private copy of the mapping each
(every event taken the slow way), and compare every report format; and they share one mapping
between events that differ in what matching looks at, which must not be mistaken for repeats.
"""

from __future__ import annotations

import dataclasses
import os
import random
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from types import MappingProxyType

import pytest

from support.busylog import FORMATS, SCHANNEL_GUID, T0, busy_log
from tlsdiag import scan
from tlsdiag.inputs import read_events
from tlsdiag.kb import load_kb
from tlsdiag.match.catalog import unpack_matches
from tlsdiag.match.diagnose import HitState
from tlsdiag.model import Event, ReadSummary
from tlsdiag.report import render_scan
from tlsdiag.scan import Analysis, analyse, dedup_key
from tlsdiag_devkit.evtxwrite import EventSpec, UserData, write_file


@pytest.fixture(scope="module")
def kb():
    return load_kb()


def _private(event: Event) -> Event:
    return event._replace(data=MappingProxyType(dict(event.data)))


def _reports(events: list[Event], kb, on_match=None, shortcuts: bool = True, keep: int | None = None) -> tuple:
    """Every report format, the host facts (per-channel counts are in no report), the counters, and the
    correlator's whole state (what a worker would send: every hit's counts, first/last, kept events, spans)."""
    analysis = Analysis(kb, on_match=on_match, shortcuts=shortcuts, keep=keep)
    result = analyse(events, kb, summary=ReadSummary(), analysis=analysis)
    stats = dataclasses.replace(result.stats, seconds=0, read_seconds=0, store_seconds=0)
    return {fmt: render_scan(result, fmt) for fmt in FORMATS}, result.hosts, stats, _state(analysis.correlator, kb)


def _state(correlator, kb) -> dict:
    """The correlator's export with the kept matches unpacked (their packing depends on shared mappings)."""
    def hit(state: HitState) -> tuple:
        kept = [(m.event.to_dict(), m.entry.id, dict(m.fields), m.complete, m.uncertain, m.recovered)
                for m in unpack_matches(state.matches, kb)]
        return state.count, state.known, state.first, state.last, kept, state.bucket_seconds, state.spans

    state = correlator.export()
    return {
        "matches": state.matches,
        "names": state.names,
        "hits": {key: {cid: {i: hit(h) for i, h in per.items()} for cid, per in causes.items()}
                 for key, causes in state.hits.items()},
        "against_hits": {key: {cid: {i: hit(h) for i, h in per.items()} for cid, per in causes.items()}
                         for key, causes in state.against_hits.items()},
        "against_unknown": state.against_unknown,
    }


# keep=40: the list of kept matches fills early, so events whose every list is full wait (_Shape.pending)
_KEEP = pytest.mark.parametrize("keep", [None, 40])


@pytest.mark.slow
@_KEEP
def test_shared_mappings_give_what_private_ones_give(tmp_path: Path, kb, keep) -> None:
    path = busy_log(tmp_path / "System.evtx", 3000)
    events = list(read_events([path], summary=ReadSummary()))
    shared = {id(e.data) for e in events}
    assert len(shared) < len(events) / 10  # the reader did share: the shortcut is exercised
    # twice each (dedup drops the second copy), so duplicates take the shortcut too
    doubled = events + events
    expected = _reports(doubled, kb, shortcuts=False, keep=keep)
    assert _reports(doubled, kb, keep=keep) == expected  # shapes by shared mapping, and runs of equal events
    assert _reports([_private(e) for e in doubled], kb, keep=keep) == expected  # shapes found by content
    seen = []
    assert _reports(doubled, kb, on_match=seen.append, keep=keep) == expected  # one by one, as a TUI gets them
    assert len(seen) == expected[2].matches


@pytest.mark.slow
@_KEEP
@pytest.mark.parametrize("limit", [None, 7])  # 7: long runs and waiting times are counted in pieces
def test_runs_of_equal_events_count_as_one_by_one(tmp_path: Path, kb, keep, limit, monkeypatch) -> None:
    if limit is not None:
        monkeypatch.setattr(scan, "RUN_LIMIT", limit)
    # a failure logged again and again, in runs; times out of order (clock changes) and spread over many
    # combination buckets, so first/last, kept events and per-bucket spans all depend on every event of a run
    rng = random.Random(5)
    specs = []
    for _run in range(120):
        computer = rng.choice(["fe01.contoso.local", "fe02.contoso.local"])
        event_id, alert = rng.choice([(36888, 40), (36888, 70), (36887, 40), (36874, 40), (36885, 48)])
        for _ in range(rng.choice([1, 2, 15, 60])):
            t = T0 + timedelta(seconds=rng.randrange(3 * 86400))
            specs.append(EventSpec("System", "Schannel", event_id, t, computer, provider_guid=SCHANNEL_GUID, level=2,
                                   userdata=UserData("EventXML", "LSA_NS", {"AlertDesc": alert, "ErrorState": 1205})))
    path = write_file(tmp_path / "System.evtx", specs)
    events = list(read_events([path], summary=ReadSummary()))
    assert len(events) == len(specs) and len({id(e.data) for e in events}) <= 10
    expected = _reports(events, kb, shortcuts=False, keep=keep)
    assert _reports(events, kb, keep=keep) == expected
    assert _reports([_private(e) for e in events], kb, keep=keep) == expected
    assert _reports(events, kb, on_match=lambda m: None, keep=keep) == expected


@pytest.mark.slow
@_KEEP
def test_events_alike_in_what_conditions_read_share_a_shape(tmp_path: Path, kb, keep) -> None:
    # every record different (its error state), the alert (which conditions read) one of a few: the analysis
    # matches and correlates once per alert, not once per record, and gives what the plain way gives
    rng = random.Random(9)
    specs = [EventSpec("System", "Schannel", rng.choice([36888, 36887]), T0 + timedelta(seconds=rng.randrange(86400)),
                       rng.choice(["fe01.contoso.local", "fe02.contoso.local"]), provider_guid=SCHANNEL_GUID, level=2,
                       userdata=UserData("EventXML", "LSA_NS", {"AlertDesc": rng.choice([40, 42, 46, 70]),
                                                                "ErrorState": 100000 + i}))
             for i in range(1500)]
    # and crashes: the catalog entry itself matches only FabricHost.exe in the first data item
    specs += [EventSpec("Application", "Application Error", 1000, T0 + timedelta(seconds=rng.randrange(86400)),
                        "fe01.contoso.local", qualifiers=0, level=2,
                        data=[rng.choice(["FabricHost.exe", "w3wp.exe"]), f"6.3.{i}.0", "5215df96"])
              for i in range(300)]
    events = list(read_events([write_file(tmp_path / "Mixed.evtx", specs)], summary=ReadSummary()))
    assert len({id(e.data) for e in events}) == len(events)  # nothing for the reader's memo to share
    analysis = Analysis(kb)
    analyse(events, kb, summary=ReadSummary(), analysis=analysis)
    assert len(analysis._by_content) <= 2 * 2 * 4 + 2  # event id x computer x alert, and the two programs
    assert _reports(events, kb, keep=keep) == _reports(events, kb, shortcuts=False, keep=keep)


def test_one_mapping_shared_by_different_events_is_not_a_repeat(kb) -> None:
    data = MappingProxyType({"AlertDesc": "40", "ErrorState": "1205"})
    base = Event(source="x", locator="chunk 0 record 1", record_id=1, timestamp=T0, channel="System",
                 provider="Schannel", event_id=36888, level=2, computer="fe01.contoso.local", data=data)
    variants = [
        base,
        base._replace(computer="fe02.contoso.local"),
        base._replace(level=4),
        base._replace(event_id=36887),
        base._replace(provider="Service Control Manager"),
        base._replace(channel="Application"),
        base._replace(form="text", message="The following fatal alert was generated: 40."),
    ]
    events = [v._replace(record_id=i, locator=f"chunk 0 record {i}", timestamp=T0 + timedelta(seconds=i))
              for i, v in enumerate(variants * 3)]
    assert len({id(e.data) for e in events}) == 1
    expected = _reports(events, kb, shortcuts=False)
    assert _reports(events, kb) == expected
    assert _reports([_private(e) for e in events], kb) == expected


def test_repeated_boot_events_keep_the_latest_version(kb) -> None:
    data = MappingProxyType({"1": "6.03.", "2": "9600"})
    newer = MappingProxyType({"1": "6.03.", "2": "9601"})
    boots = [Event(source="x", locator=f"r{i}", record_id=i, timestamp=T0 + timedelta(hours=h), channel="System",
                   provider="EventLog", event_id=6009, computer="fe01", data=d)
             for i, (h, d) in enumerate([(1, data), (5, newer), (3, data)])]
    assert analyse(boots, kb, summary=ReadSummary()).hosts["fe01"].build == 9601  # the latest boot, not the last
    boots[1] = boots[1]._replace(data=data)  # all three share one mapping now
    assert analyse(boots, kb, summary=ReadSummary()).hosts["fe01"].build == 9600


@pytest.mark.slow
def test_dedup_key_is_the_same_in_another_process(kb) -> None:
    event = Event(source="x", locator="r", record_id=None, timestamp=T0, channel="System", provider="Schannel",
                  event_id=36888, computer="fe01")
    here = [dedup_key(event), dedup_key(event._replace(record_id=7))]
    code = ("import sys; sys.path[:0] = sys.argv[1:];"
            "from test_scan_shapes import _keys; print(_keys())")
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    out = subprocess.run([sys.executable, "-c", code, str(Path(__file__).parent), str(Path(__file__).parents[1])], env=env, check=True,
                         capture_output=True, text=True).stdout
    assert out.strip() == str(here)
    # and it tells records apart by time, record id and what they are
    others = {dedup_key(event._replace(**change)) for change in
              [{}, {"record_id": 7}, {"timestamp": T0 + timedelta(microseconds=1)}, {"computer": "fe02"},
               {"channel": "Application"}, {"provider": "LS"}, {"event_id": 36887}]}
    assert len(others) == 7


def _keys() -> list[int]:
    event = Event(source="x", locator="r", record_id=None, timestamp=T0, channel="System", provider="Schannel",
                  event_id=36888, computer="fe01")
    return [dedup_key(event), dedup_key(event._replace(record_id=7))]


def test_shape_fields_are_the_event_fields_a_shape_stands_for() -> None:
    # _shape_fields slices the tuple for speed: a reordered Event must not silently change what it takes
    event = Event("s", "l", 1, T0, "System", "Schannel", 36888, level=2, computer="fe01", provider_guid="{G}",
                  qualifiers=3, task=4, task_name="t", keywords="k", data=MappingProxyType({"a": "1"}),
                  message="m", form="xml")
    assert scan._shape_fields(event) == (event.channel, event.provider, event.event_id, event.level,
                                         event.computer, event.message, event.form)
