"""The Events screen with 100,000 events, its filter language, and literal display of hostile event text.

The events here are built in the test (the brief: "build 100k Events in the test");
everything else is the real app. Timing is measured and printed, never asserted:
what is asserted is structural (rows are rendered lazily, filtering runs in a
thread worker while the interface keeps handling keys).
"""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timedelta, timezone

import pytest
from textual.widgets import Input, Static

from tlsdiag.kb import load_kb
from tlsdiag.model import Event, freeze_data
from tlsdiag.tui.app import TlsdiagApp
from tlsdiag.tui.filtering import EventFilter, FilterError, filter_rows, parse_filter
from tlsdiag.tui.screens.events import EventsScreen, detail_text
from tlsdiag.tui.widgets.event_table import EventTable

BASE = datetime(2026, 3, 1, 10, 0, tzinfo=timezone.utc)
HOSTILE = "[bold]BOLD[/bold] [link=https://evil.example/]click me[/link] \x1b[31mRED\x1b[0m \x1b]52;c;AAAA\x07"


def make_events(n: int) -> list[Event]:
    providers = ("Schannel", "LS Protocol Stack", "Microsoft-Windows-WindowsFabric")
    channels = ("System", "Lync Server", "Microsoft-Windows-WindowsFabric/Admin")
    out = []
    for i in range(n):
        k = i % 3
        out.append(Event(
            source="test.evtx", locator=f"record {i + 1}", record_id=i + 1,
            timestamp=BASE + timedelta(seconds=i), channel=channels[k], provider=providers[k],
            event_id=(36887, 32174, 18465)[k], level=(2, 2, 3)[k], computer=f"FE{i % 4:02d}.contoso.test",
            data=freeze_data({"AlertDesc": str(i % 50)}), message=f"message number {i}",
        ))
    return out


@pytest.fixture(scope="module")
def kb():
    return load_kb()


async def _events_app(pilot_app: TlsdiagApp, pilot, events: list[Event]) -> EventTable:
    await pilot.pause()
    if pilot_app.screen.__class__.__name__ == "PickerScreen":
        await pilot.press("escape")
    pilot_app.events = events
    pilot_app.bump()
    await pilot.press("e")
    await pilot.pause()
    assert isinstance(pilot_app.screen, EventsScreen)
    return pilot_app.screen.query_one(EventTable)


def test_parse_filter_keys_and_errors() -> None:
    flt = parse_filter('computer:fe01 id:36887,32174 level:error,warning provider:"LS Protocol" '
                       "since:2026-03-01T10:00 until:2026-03-01T11:00Z channel:system alert")
    assert flt.computer == ("fe01",)
    assert flt.ids == frozenset({36887, 32174})
    assert flt.levels == frozenset({2, 3})
    assert flt.provider == ("ls protocol",)
    assert flt.since == BASE and flt.until == BASE + timedelta(hours=1)
    assert flt.words == ("alert",)
    assert parse_filter("").empty
    for bad, word in (("id:abc", "id"), ("level:loud", "level"), ("since:yesterday", "since"),
                      ("since:2026-03-02 until:2026-03-01", "after"), ('provider:"open', "cannot read")):
        with pytest.raises(FilterError, match=word):
            parse_filter(bad)


def test_filter_rows_each_key() -> None:
    events = make_events(120)
    assert filter_rows(events, EventFilter()) == list(range(120))
    fabric = filter_rows(events, parse_filter("id:18465"))
    assert fabric == [i for i in range(120) if i % 3 == 2]
    fe01 = filter_rows(events, parse_filter("computer:fe01 provider:schannel"))
    assert fe01 == [i for i in range(120) if i % 4 == 1 and i % 3 == 0]
    warn = filter_rows(events, parse_filter("level:warning channel:windowsfabric"))
    assert warn == fabric
    window = filter_rows(events, parse_filter("since:2026-03-01T10:00:10 until:2026-03-01T10:00:19"))
    assert window == list(range(10, 20))
    words = filter_rows(events, parse_filter('"number 7"'))
    assert words == [7, *range(70, 80)]
    assert filter_rows(events, parse_filter("id:18465"), cancelled=lambda: True) is None


@pytest.mark.slow
def test_hundred_thousand_events_stay_virtual_and_filter_in_a_worker(kb) -> None:
    asyncio.run(_hundred_thousand(kb))


async def _hundred_thousand(kb) -> None:
    events = make_events(100_000)
    app = TlsdiagApp([], kb=kb)
    async with app.run_test(size=(100, 30)) as pilot:
        started = time.perf_counter()
        table = await _events_app(app, pilot, events)
        shown_after = time.perf_counter() - started
        assert table.row_count == 100_000
        # Virtual: only what fits on screen was turned into text.
        assert 0 < len(table._text_cache) <= table.size.height
        await pilot.press("end")
        await pilot.pause()
        assert table.cursor_row == 99_999
        assert table.current is events[-1]
        assert len(table._text_cache) <= 2 * table.size.height

        # Filtering runs in a thread worker; the table keeps handling keys meanwhile.
        screen = app.screen
        started = time.perf_counter()
        await pilot.press("slash")
        app.screen.query_one("#filter", Input).value = "id:18465 computer:fe02"
        await pilot.pause(0.3)  # debounce
        filter_workers = [w for w in screen.workers if w.group == "filter"]
        assert filter_workers and all(w._thread_worker for w in filter_workers)
        await pilot.press("escape", "home")
        await app.workers.wait_for_complete()
        await pilot.pause()
        filtered_after = time.perf_counter() - started
        expected = [i for i in range(100_000) if i % 3 == 2 and i % 4 == 2]
        assert table.row_count == len(expected)
        assert table.current is events[expected[0]]
        status = screen.query_one("#filter-status", Static).visual
        assert f"{len(expected)} of 100000" in str(status)

        # Adding rows while a scan runs (unfiltered view) is O(1) on the UI thread.
        await pilot.press("ctrl+l")
        await pilot.pause()
        assert table.row_count == 100_000
        more = make_events(1000)
        started = time.perf_counter()
        app.events.extend(more)
        app.bump()
        await pilot.pause()
        grown_after = time.perf_counter() - started
        assert table.row_count == 101_000
        # Only rows that were on screen at some point were ever rendered: a few screens, not 100,000.
        assert len(table._text_cache) <= 5 * table.size.height
    print(f"\n100k events: shown in {shown_after:.3f}s, filtered in {filtered_after:.3f}s, "
          f"1000 appended in {grown_after:.3f}s")


@pytest.mark.slow
def test_hostile_event_text_is_shown_literally(kb) -> None:
    asyncio.run(_hostile(kb))


async def _hostile(kb) -> None:
    evil = Event(source="evil.evtx", locator="record 1", record_id=1, timestamp=BASE, channel="System",
                 provider="Schannel[/]", event_id=36887, level=2, computer="FE01[b]",
                 data=freeze_data({"Field[red]": HOSTILE}), message=HOSTILE)
    app = TlsdiagApp([], kb=kb)
    async with app.run_test(size=(120, 40)) as pilot:
        table = await _events_app(app, pilot, [evil])
        await pilot.pause()
        # The table row: literal brackets, escape sequences made visible, no raw ESC/BEL.
        strip = table.render_line(1)
        row = strip.text
        assert "[bold]BOLD[/bold] [link=https://evil.example/]click me[/link]" in row
        assert "FE01[b]" in row and "Schannel[/]" in row
        assert "\x1b" not in row and "\x07" not in row
        assert not any(seg.style and seg.style.link for seg in strip)
        # The detail pane: every field literal, no link or style taken from the text.
        detail = app.screen.query_one("#detail", Static)
        visual = detail.visual
        plain = str(visual)
        for literal in ("[bold]BOLD[/bold]", "[link=https://evil.example/]click me[/link]", "\\x1b[31mRED",
                        "\\x1b]52;c;AAAA\\x07", "FE01[b]", "Schannel[/]", "Field[red]"):
            assert literal in plain, literal
        assert "\x1b" not in plain and "\x07" not in plain
        spans = getattr(visual, "spans", [])
        assert not any("link" in str(span.style) for span in spans)
        assert not any("red" in str(span.style) for span in spans)


def test_detail_text_is_a_literal_text() -> None:
    evil = make_events(1)[0]
    text = detail_text(evil, HOSTILE, None)
    assert "[link=https://evil.example/]" in text.plain
    assert "\x1b" not in text.plain
    assert all(not span.style or "link" not in str(span.style) for span in text.spans)


@pytest.mark.slow
def test_hostile_text_from_a_scanned_log_stays_literal_in_overview_and_guided_view(kb, tmp_path) -> None:
    """The same hostile text, written into a real .evtx and read by the real pipeline, in the other screens."""
    from textual.widgets import OptionList

    from tlsdiag.tui.screens.guided import GuidedScreen
    from tlsdiag_devkit.evtxwrite import write_file
    from tlsdiag_devkit.evtxwrite.writer import EventSpec

    computer = "FE01[b]\x1b[2J"
    specs = [EventSpec(channel="Microsoft-Windows-WindowsFabric/Admin", provider="Microsoft-Windows-WindowsFabric",
                       provider_guid="{3F68B79B-A1CF-4B9F-8F5A-4B2D3E1C0F01}", event_id=18465, level=3,
                       time=BASE + timedelta(minutes=i), computer=computer, data={"Message": HOSTILE})
             for i in range(3)]
    log = write_file(tmp_path / "fabric.evtx", specs)

    async def scenario() -> None:
        app = TlsdiagApp([log], kb=kb)
        async with app.run_test(size=(120, 40)) as pilot:
            while app.result is None or app.scanning:
                await pilot.pause(0.05)
            await pilot.pause()
            diagnosis = next(d for d in app.diagnoses if any(i.hit.count for i in d.evidence))
            labels = [str(o.prompt) for o in app.screen.query_one("#diagnoses", OptionList).options]
            shown = "\n".join(labels)
            assert "FE01[b]\\x1b[2J" in shown and "\x1b" not in shown
            app.open_cause(diagnosis.cause.id, diagnosis.computer)
            await pilot.pause()
            assert isinstance(app.screen, GuidedScreen)
            body = app.screen.query_one("#step-body", Static).visual
            plain = str(body)
            assert "[link=https://evil.example/]click me[/link]" in plain
            assert "\\x1b[31mRED" in plain and "\x1b" not in plain and "\x07" not in plain
            assert not any("link" in str(span.style) for span in getattr(body, "spans", []))

    asyncio.run(scenario())
