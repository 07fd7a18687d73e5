from datetime import datetime, timezone

import pytest

from tlsdiag.model import Event, FileReport, Loss, ReadSummary, freeze_data, iso_utc


def make(**kw):
    base = dict(source="x.evtx", locator="record 1", record_id=1,
                timestamp=datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc),
                channel="System", provider="Schannel", event_id=36885, level=3)
    base.update(kw)
    return Event(**base)


def test_event_is_immutable_including_data():
    ev = make(data=freeze_data({"1": "a", "2": None}))
    with pytest.raises(AttributeError):
        ev.event_id = 1  # type: ignore[misc]
    with pytest.raises(TypeError):
        ev.data["1"] = "b"  # type: ignore[index]
    assert list(ev.data.items()) == [("1", "a"), ("2", "")]


def test_to_dict_uses_utc_iso():
    ev = make()
    d = ev.to_dict()
    assert d["timestamp"] == "2026-01-02T03:04:05Z"
    assert d["level_name"] == "Warning"
    assert iso_utc(datetime(2026, 1, 2, 3, 4, 5, 120, tzinfo=timezone.utc)) == "2026-01-02T03:04:05.000120Z"


def test_summary_counts_losses():
    s = ReadSummary()
    f = s.add(FileReport(source="a.evtx", form="evtx", size=10, records=5))
    f.lost.append(Loss("a.evtx", "chunk 2", "bad chunk header checksum", records=3))
    f.lost.append(Loss("a.evtx", "chunk 4 record 9", "bad record"))
    assert s.records == 5
    assert s.records_lost == 4
    assert "5 record(s) read, 4 lost" in s.one_line()
