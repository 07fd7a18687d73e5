"""A read gives the same events, sharing the same data mappings, whatever was read before in the process.

The reader remembers what it decoded (repeated records share one data mapping; template trees are read
once) and what it learned about the log (a memo that rarely hits stands aside for a while). That state
belongs to one ``read_events`` call: two reads in one process, in either order, must give the second
what it gives alone, and nothing the reader learned may stay alive once a read is over.

The logs that leave the record memo standing aside are real (``../shared/corpus/evtx``): a few hundred
mostly distinct records, such as a CAPI2 Operational log. The repetitive logs are a real SMB client log
(977 records, a handful of shapes) and the written busy log the per-shape tests use.
"""

from __future__ import annotations

import gc
import weakref
from pathlib import Path

import pytest

from support.busylog import busy_log
from tlsdiag.inputs import chunk_prefilter, read_events
from tlsdiag.inputs.normalize import RecordMemo
from tlsdiag.inputs.recordkeys import TemplateMemo
from tlsdiag.kb import load_kb
from tlsdiag.model import Event, ReadSummary
from tlsdiag.scan import prefilter_event_ids, prefilter_names

# mostly distinct records: after them a process-wide record memo would stand aside for thousands of records
DISTINCT = ["omerbenamram+evtx/samples/E_Windows_system32_winevt_logs_Microsoft-Windows-CAPI2%4Operational.evtx",
            "fukusuket+evtx-parser/samples/System.evtx"]
REPEATED = "fukusuket+evtx-parser/samples/Microsoft-Windows-SmbClient%4Connectivity.evtx"


def _read(path: Path, prefilter=None) -> tuple[list[Event], list[int]]:
    """The events of one read, and which earlier event each one shares its data mapping with (its own index
    when none): the sharing pattern, independent of object addresses."""
    events = list(read_events([path], summary=ReadSummary(), prefilter=prefilter))
    first: dict[int, int] = {}
    return events, [first.setdefault(id(e.data), i) for i, e in enumerate(events)]


def _plain(events: list[Event]) -> list[tuple]:
    return [(*e[:14], dict(e.data), *e[15:]) for e in events]


@pytest.fixture(scope="module")
def busy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return busy_log(tmp_path_factory.mktemp("busy") / "System.evtx", 3000)


@pytest.mark.parametrize("distinct", DISTINCT)
@pytest.mark.parametrize("repeated", ["written busy log", REPEATED])
def test_two_reads_in_either_order_give_what_each_gives(corpus_dir: Path, busy: Path, distinct: str,
                                                        repeated: str) -> None:
    other = corpus_dir / distinct
    log = busy if repeated == "written busy log" else corpus_dir / repeated
    log_first, other_second = _read(log), _read(other)
    other_first, log_second = _read(other), _read(log)
    for events, sharing in (log_first, log_second):
        assert len(set(sharing)) < len(events) / 10  # the memo shared mappings: the comparison is not vacuous
    assert log_second[1] == log_first[1]  # the same sharing, whatever was read before
    assert _plain(log_second[0]) == _plain(log_first[0])
    assert other_second[1] == other_first[1]
    assert _plain(other_second[0]) == _plain(other_first[0])


def test_filtered_reads_in_either_order_give_what_each_gives(corpus_dir: Path, busy: Path) -> None:
    """The same with the scan's filter, one object for every read (the record and template memos are asked)."""
    kb = load_kb()
    prefilter = chunk_prefilter(prefilter_names(kb), prefilter_event_ids(kb))
    other = corpus_dir / DISTINCT[1]
    log_first, other_second = _read(busy, prefilter), _read(other, prefilter)
    other_first, log_second = _read(other, prefilter), _read(busy, prefilter)
    assert len(set(log_first[1])) < len(log_first[0]) / 10
    assert (log_second[1], _plain(log_second[0])) == (log_first[1], _plain(log_first[0]))
    assert (other_second[1], _plain(other_second[0])) == (other_first[1], _plain(other_first[0]))


def test_nothing_the_reader_learned_outlives_the_read(corpus_dir: Path) -> None:
    """The memos are alive while a read runs and gone once it is over (memory is given back after a scan)."""
    kb = load_kb()
    prefilter = chunk_prefilter(prefilter_names(kb), prefilter_event_ids(kb))
    path = corpus_dir / DISTINCT[1]  # a System log: the template memo is asked for the EventLog chunks

    def memos() -> list:
        return [o for o in gc.get_objects() if isinstance(o, (RecordMemo, TemplateMemo))]

    before = memos()  # what another test may still hold, kept alive so no new memo can take its id
    reading = read_events([path], summary=ReadSummary(), prefilter=prefilter)
    next(reading)
    during = [weakref.ref(o) for o in memos() if not any(o is old for old in before)]
    del before
    assert {type(ref()) for ref in during} == {RecordMemo, TemplateMemo}  # the check looks for the right objects
    for _event in reading:  # read to the end: the reader drops its memos as the read ends
        pass
    del reading
    gc.collect()
    assert [ref for ref in during if ref() is not None] == []
