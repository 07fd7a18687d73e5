"""Repeated records are decoded once (RecordMemo), and that never changes an Event."""

from __future__ import annotations

import json
from pathlib import Path

from evtx import PyEvtxParser

from tlsdiag.inputs import discover
from tlsdiag.inputs.normalize import RecordMemo, event_from_json, fast_loads

SAMPLES = Path(__file__).resolve().parent.parent / "samples"


def _compare(paths) -> tuple[int, int]:
    memo = RecordMemo()
    total = 0
    for inp in paths:
        try:
            records = list(PyEvtxParser(str(inp.path), number_of_threads=1).records_json())
        except Exception:  # noqa: S112 - files pyevtx-rs refuses as a whole are another test's business
            continue
        for rec in records:
            if not isinstance(rec, dict):
                continue
            rid = rec.get("event_record_id")
            kw = {"source": inp.display, "record_id": rid, "fallback_time": rec.get("timestamp")}
            try:
                plain = event_from_json(json.loads(rec["data"]), locator=f"chunk 0 record {rid}", **kw)
            except ValueError:
                continue
            assert memo.event(rec["data"], where="chunk 0", **kw).to_dict() == plain.to_dict(), (inp.display, rid)
            total += 1
    return total, memo.hits


def test_memo_gives_the_plain_decoding_on_every_sample_and_corpus_record(corpus_dir: Path) -> None:
    inputs = [i for i in discover([SAMPLES, corpus_dir]) if i.kind == "evtx" and not i.is_archive_member]
    total, hits = _compare(inputs)
    assert total > 50_000
    assert hits > total // 10  # real logs repeat themselves: the memo is used, not bypassed


def _text(time: str, rid: int, thread: int, alert: int, computer: str = "fe01") -> str:
    return ('{"Event":{"#attributes":{"xmlns":"x"},"System":{"Provider":{"#attributes":{"Name":"Schannel"}},'
            '"EventID":36888,"Level":2,"TimeCreated":{"#attributes":{"SystemTime":"' + time + '"}},'
            f'"EventRecordID":{rid},"Correlation":null,"Execution":{{"#attributes":{{"ProcessID":640,'
            f'"ThreadID":{thread}}}}},"Channel":"System","Computer":"{computer}"}},'
            f'"UserData":{{"EventXML":{{"AlertDesc":{alert},"ErrorState":1205}}}}}}}}')


def test_only_time_record_id_and_execution_may_differ() -> None:
    memo = RecordMemo()
    first = memo.event(_text("2026-01-05T00:00:00.000000Z", 1, 100, 40), source="s", where="a", record_id=1)
    again = memo.event(_text("2026-01-05T00:00:07.250000Z", 2, 104, 40), source="s", where="b", record_id=2)
    assert memo.hits == 1
    assert again.record_id == 2 and again.timestamp.second == 7 and again.locator == "b record 2"
    assert again.data == first.data == {"AlertDesc": "40", "ErrorState": "1205"}
    other = memo.event(_text("2026-01-05T00:00:08.000000Z", 3, 104, 70), source="s", where="c", record_id=3)
    elsewhere = memo.event(_text("2026-01-05T00:00:09.000000Z", 4, 104, 40, "fe02"), source="s", where="d",
                           record_id=4)
    assert memo.hits == 1 and other.data["AlertDesc"] == "70" and elsewhere.computer == "fe02"
    for text in (_text("2026-01-05T00:00:00Z", 5, 1, 40), _text("not a time", 6, 1, 40)):
        event = memo.event(text, source="s", where="e", record_id=None)  # unusual shapes: decoded as always
        assert event.to_dict() == event_from_json(json.loads(text), source="s", locator="e record None",
                                                  record_id=None).to_dict()


def test_fast_loads_reads_what_json_reads() -> None:
    loads = fast_loads()
    assert loads is not json.loads  # orjson is a dependency: the fast path is the one tested
    for text in ['{"a":"\\ud800x"}', '[NaN, -Infinity]', '{"a":1,"b":0,"a":2}',
                 '{"x": -0.0, "y": 1e-7, "z": 18446744073709551615, "w": -9223372036854775808}', '"\\u0000"']:
        assert repr(loads(text)) == repr(json.loads(text)), text
