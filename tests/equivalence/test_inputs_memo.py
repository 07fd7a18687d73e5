"""Repeated records are decoded once (RecordMemo), and that never changes an Event."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from evtx import PyEvtxParser

from tlsdiag.inputs import discover
from tlsdiag.inputs.normalize import RecordMemo, _json_data, _json_data_by_rules, event_from_json, fast_loads
from tlsdiag.inputs.prefilter import chunk_prefilter
from tlsdiag.kb import load_kb
from tlsdiag.scan import prefilter_event_ids, prefilter_names

SAMPLES = Path(__file__).resolve().parents[2] / "samples"


def _records(paths) -> list[tuple[str, dict]]:
    out = []
    for inp in paths:
        try:
            records = list(PyEvtxParser(str(inp.path), number_of_threads=1).records_json())
        except Exception:  # noqa: S112 - files pyevtx-rs refuses as a whole are another test's business
            continue
        out.extend((inp.display, rec) for rec in records if isinstance(rec, dict))
    return out


def _compare(records, wanted=None) -> tuple[int, RecordMemo]:
    """Every record through one memo against the plain decoding (and the filter's own answer)."""
    memo = RecordMemo()
    total = 0
    for display, rec in records:
        rid = rec.get("event_record_id")
        kw = {"source": display, "record_id": rid, "fallback_time": rec.get("timestamp")}
        try:
            plain = event_from_json(json.loads(rec["data"]), locator=f"chunk 0 record {rid}", **kw)
        except ValueError:
            continue
        event = memo.event(rec["data"], where="chunk 0", wanted=wanted, **kw)
        if wanted is not None and not wanted.record_wanted(rec["data"]):
            assert event is None, (display, rid)
        else:
            assert event.to_dict() == plain.to_dict(), (display, rid)
        total += 1
    return total, memo


def _same_data(parts: dict) -> None:
    """The shortcuts for plain data parts give what the general rules give: on decoded parts, and on the
    text of the data parts as the System memo cuts it (after the opening brace, System left out)."""
    fast, rules = _json_data(parts), _json_data_by_rules(parts)
    assert list(fast.items()) == list(rules.items()), parts
    data_parts = {k: v for k, v in parts.items() if k not in ("#attributes", "System")}
    for ascii_only in (True, False):  # non-ASCII escaped (left to the decoder) and as pyevtx-rs writes it
        text = json.dumps(data_parts, separators=(",", ":"), ensure_ascii=ascii_only)
        cut = RecordMemo()._data(text[1:])
        assert cut is not None and list(cut.items()) == list(rules.items()), (parts, ascii_only)


@pytest.mark.slow
def test_memo_gives_the_plain_decoding_on_every_sample_and_corpus_record(corpus_dir: Path) -> None:
    inputs = [i for i in discover([SAMPLES, corpus_dir]) if i.kind == "evtx" and not i.is_archive_member]
    records = _records(inputs)
    for _display, rec in records:  # the shortcut for plain data parts gives what the general rules give
        _same_data(json.loads(rec["data"])["Event"])
    total, memo = _compare(records)
    assert total > 50_000
    # real logs repeat themselves: both memos are used, not bypassed
    assert memo.hits > total // 10 and memo.system_hits > total // 10
    # with the scan's filter, each record is skipped exactly when the filter, asked alone, skips it
    kb = load_kb()
    total, memo = _compare(records, chunk_prefilter(prefilter_names(kb), prefilter_event_ids(kb)))
    assert memo.hits and memo.system_hits


def _text(time: str, rid: int, thread: int, alert: int, computer: str = "fe01", state: int = 1205,
          between: str = "") -> str:
    return ('{"Event":{"#attributes":{"xmlns":"x"},"System":{"Provider":{"#attributes":{"Name":"Schannel"}},'
            '"EventID":36888,"Level":2,"TimeCreated":{"#attributes":{"SystemTime":"' + time + '"}},'
            f'"EventRecordID":{rid},"Correlation":null,"Execution":{{"#attributes":{{"ProcessID":640,'
            f'"ThreadID":{thread}}}}},"Channel":"System","Computer":"{computer}"}},{between}'
            f'"UserData":{{"EventXML":{{"AlertDesc":{alert},"ErrorState":{state}}}}}}}}}')


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


_HEAD = '{"Event":{"#attributes":{"xmlns":"http://schemas.microsoft.com/win/2004/08/events/event"},'


def test_records_that_differ_in_data_decode_only_their_data() -> None:
    memo = RecordMemo()
    texts = [_HEAD + _text(f"2026-01-05T00:00:0{i}.000000Z", i, 100 + i, 40, state=i)[len('{"Event":{"#attributes":{"xmlns":"x"},'):]
             for i in range(1, 5)]
    events = [memo.event(t, source="s", where="a", record_id=i) for i, t in enumerate(texts, 1)]
    assert memo.system_hits == 3 and memo.hits == 0
    for i, (text, event) in enumerate(zip(texts, events, strict=True), 1):
        assert event.to_dict() == event_from_json(json.loads(text), source="s", locator=f"a record {i}",
                                                  record_id=i).to_dict()
        assert event.data["ErrorState"] == str(i)
    # another computer is another System: decoded whole
    other = memo.event(texts[0].replace('"fe01"', '"fe02"'), source="s", where="a", record_id=9)
    assert memo.system_hits == 3 and other.computer == "fe02"


def test_a_part_between_system_and_the_data_is_not_lost() -> None:
    # pyevtx-rs writes the data parts right after System; where another part comes first, the split at
    # the data part would leave it out, so such a System is never used for data-only decoding
    memo = RecordMemo()
    between = '"ProcessingErrorData":{"ErrorCode":"15005","DataItemName":"x"},'
    for i in range(1, 4):
        text = _HEAD + _text(f"2026-01-05T00:00:0{i}.000000Z", i, 100, 40, state=i, between=between)[
            len('{"Event":{"#attributes":{"xmlns":"x"},'):]
        event = memo.event(text, source="s", where="a", record_id=i)
        assert event.data["ErrorCode"] == "15005" and event.data["ErrorState"] == str(i)
        assert event.to_dict() == event_from_json(json.loads(text), source="s", locator=f"a record {i}",
                                                  record_id=i).to_dict()
    assert memo.system_hits == 0


def test_the_filter_answer_is_remembered_only_where_the_system_decides_it() -> None:
    f = chunk_prefilter(["Schannel"], {"Schannel": [36888]})
    memo = RecordMemo()
    wanted = _HEAD + _text("2026-01-05T00:00:01.000000Z", 1, 100, 40)[len('{"Event":{"#attributes":{"xmlns":"x"},'):]
    unwanted = wanted.replace('"EventID":36888', '"EventID":36887')
    for i in range(3):
        assert memo.event(unwanted.replace("ErrorState\":1205", f"ErrorState\":{i}"), source="s", where="a",
                          record_id=i, wanted=f) is None
        assert memo.event(wanted, source="s", where="a", record_id=i, wanted=f) is not None
    # a System without an EventID: the filter finds one further on, in the data, so its answer is not
    # the System's and is asked for each record
    odd = wanted.replace('"EventID":36888,', "")
    assert f.record_decision(odd)[1] == len(odd)
    for i in range(3):
        for event_id, keep in ((36888, True), (36887, False)):
            text = odd.replace('"AlertDesc":40', f'"EventID":{event_id},"AlertDesc":40')
            assert f.record_wanted(text) is keep
            assert (memo.event(text, source="s", where="a", record_id=i, wanted=f) is not None) is keep


def test_plain_data_shortcut_leaves_every_other_layout_to_the_rules() -> None:
    for parts in [
        {"EventData": {"Binary": "00ab", "a": "1"}},  # binary: upper case
        {"EventData": {"Binary_1": "", "a": 2}},  # empty binary: left out
        {"EventData": {"a": "x\r\ny"}},  # CRLF: LF
        {"EventData": {"Data": {"#text": ["1", "2"]}}},  # unnamed items
        {"EventData": {"a": True, "b": None, "c": 1.5, "d": [1, 2]}},
        {"EventData": {"#attributes": {"Name": "x"}, "a": "1"}},
        {"EventData": {"a": "1"}, "UserData": {"W": {"a": "2"}}},  # both: a and a_1
        {"UserData": {"W": {"a": "1"}, "V": {"a": "2"}}},  # two wrappers
        {"UserData": {"W": {"#text": "t", "a": 1}}},
        {"UserData": {"W": {"#text": 5, "a": {"#text": "x", "#attributes": {"k": "v"}}}}},
        {"UserData": {"W": "text"}},
        {"UserData": {"#attributes": {"xmlns": "x"}, "W": {"#attributes": {"xmlns": "y"}, "a": 7}}},
        {"System": {}, "EventData": {"a": "1"}, "ProcessingErrorData": {"ErrorCode": 15005}},
        {"EventData": None},
        {},
        {"EventData": {"a": "Binary", "b": "x\\ry"}},  # the text checks refuse these: the rules decide
        {"UserData": {"#attributes": {"xmlns": "x"}}},
        {"UserData": {"W": [1, 2]}},
        {"Other": {"a": "1"}},
        # plain and not quite plain: attributes, numbers, escapes, empty elements
        {"UserData": {"W": {"#attributes": {"xmlns": "LSA_NS", "n": 2}, "a": 0, "b": -17, "c": "", "d": "ä €"}}},
        {"EventData": {"#attributes": {}, "a": "1"}},
        {"EventData": {"a": 1, "#attributes": {"x": "y"}}},  # attributes after a field
        {"EventData": {"a": "1", "#attributes": "text"}},
        {"EventData": {"a": 123456789012345678, "b": 1234567890123456789, "c": -9223372036854775808}},
        {"EventData": {"a": -0.0, "b": 1.5, "c": 1e20}},
        {"EventData": {"a": "say \"hi\"", "b": "C:\\Windows", "c": "tab\there", "d": "x{y}z"}},
        {"EventData": {"#attributes": {"a": "x{"}, "b": "1"}},
        {"EventData": {"#attributes": {"a": None}, "b": "1"}},
        {"UserData": {"#attributes": {"xmlns": "x"}, "W": {"a": "1"}}},
        {"UserData": {"W": {}}},
        {"EventData": {}},
        {"EventData": {"Binary_x": "ab", "a": "1"}},
        {"EventData": {"a": "1"}, "RenderingInfo": {"Message": "m"}},
    ]:
        _same_data(parts)


def test_a_part_other_than_eventdata_and_userdata_gives_its_fields_even_without_xmlns() -> None:
    # the Event element of a record may carry no attributes; its other parts were then overlooked
    doc = {"Event": {"System": {"Provider": {"#attributes": {"Name": "P"}}, "EventID": 1},
                     "EventData": {"a": "1"}, "ProcessingErrorData": {"ErrorCode": 15005}}}
    event = event_from_json(doc, source="s", locator="l", record_id=1)
    assert dict(event.data) == {"a": "1", "ErrorCode": "15005"}
