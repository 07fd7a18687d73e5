"""Pilot-driven tests of each TUI flow on the bundled samples, through the real pipeline.

Each test asserts on the app's state and on the messages it posted (recorded
with ``run_test(message_hook=...)``), not only on screen text: the scan posts
progress by bytes and a finish, opening a cause posts CauseOpened, loading a
store export posts DiagnosisReevaluated with the before/after confidence, an
export posts ExportWritten, the copy key posts TextCopied and fills the clipboard.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from textual import events
from textual.message import Message
from textual.widgets import Input, OptionList, Static

from support.tuipilot import paste_and_explain, until
from tlsdiag.kb import load_kb
from tlsdiag.report import markdown
from tlsdiag.tui import messages as msg
from tlsdiag.tui.app import TlsdiagApp
from tlsdiag.tui.screens.dialogs import CopiedScreen, PathPrompt
from tlsdiag.tui.screens.events import EventsScreen
from tlsdiag.tui.screens.guided import GuidedScreen
from tlsdiag.tui.screens.help import HelpScreen, key_name
from tlsdiag.tui.screens.overview import OverviewScreen
from tlsdiag.tui.screens.paste import PasteScreen
from tlsdiag.tui.screens.picker import PickerScreen
from tlsdiag.tui.screens.stores import StoresScreen
from tlsdiag.tui.widgets.event_table import EventTable
from tlsdiag.tui.widgets.paste_area import PasteArea

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "samples" / "lync2013-fe-root-store"
ROOT_CAUSE = "root-store-non-self-signed"
ROOT_CHECK = "root-not-self-signed"
# The seed's Fabric error (windows-2012-tls-msxfaq.txt, "Lync 2013 Frontend Server auf Win2012 startet nicht").
SEED_FABRIC = ("Replica on b6277d62e11a4e816f7179f3d6b8e7:129970606058458545 für FailoverUnit "
               "6aebabd3-c487-445e-8450-11c522ec93a8 service fabric:/lync/routing/0D51A9AAABD9547087FA349556503C9F "
               "[0-0] partition name build error OperationFailed")


@pytest.fixture(scope="module")
def kb():
    return load_kb()


@pytest.fixture(scope="module")
def sample() -> Path:
    if not SAMPLE.is_dir():
        pytest.fail(f"sample missing: {SAMPLE}")
    return SAMPLE


def run(scenario: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(scenario())


async def scanned(pilot: Any, app: TlsdiagApp) -> None:
    await until(pilot, lambda: app.result is not None and not app.scanning, "the scan to finish")
    await pilot.pause()


def of(messages: list[Message], kind: type) -> list[Any]:
    return [m for m in messages if isinstance(m, kind)]


def step_text(app: TlsdiagApp) -> str:
    return str(app.screen.query_one("#step-body", Static).visual)


@pytest.mark.slow
def test_scan_sample_open_top_cause_and_walk_the_steps(kb, sample: Path) -> None:
    async def scenario() -> None:
        posted: list[Message] = []
        app = TlsdiagApp([sample], kb=kb)
        async with app.run_test(size=(100, 40), message_hook=posted.append) as pilot:
            await scanned(pilot, app)
            # Progress came by bytes and the scan finished with the root-store cause on top.
            progress = of(posted, msg.ScanProgress)
            assert progress and progress[-1].total > 0
            assert all(p.done <= p.total for p in progress if p.total)
            assert len(of(posted, msg.ScanFinished)) == 1
            # Findings appeared while reading: a progress message before the finish carried diagnoses.
            finished_at = posted.index(of(posted, msg.ScanFinished)[0])
            early = [m for m in posted[:finished_at] if isinstance(m, msg.ScanProgress) and m.diagnoses]
            assert early and any(d.cause.id == ROOT_CAUSE for d in early[0].diagnoses)
            top = app.top_diagnosis()
            assert top is not None and top.cause.id == ROOT_CAUSE and top.store == "proven"
            assert isinstance(app.screen, OverviewScreen)
            olist = app.screen.query_one("#diagnoses", OptionList)
            assert olist.highlighted_option is not None

            # Enter opens the highlighted (top) cause in the guided view.
            await pilot.press("enter")
            await pilot.pause()
            assert isinstance(app.screen, GuidedScreen)
            opened = of(posted, msg.CauseOpened)
            assert opened and opened[-1].cause_id == ROOT_CAUSE and opened[-1].computer == top.computer
            screen = app.screen
            assert screen.step == 0
            happened = step_text(app)
            assert top.cause.title in happened
            first = min((m for item in top.evidence for m in item.hit.matches), key=lambda m: m.event.timestamp)
            assert first.entry.title in happened

            await pilot.press("right")
            assert screen.step == 1
            why = step_text(app)
            assert all(f"KB{k.number}" in why for k in top.cause.kb)

            await pilot.press("right")
            proof = step_text(app)
            misplaced = [f for f in top.store_findings if f.check == ROOT_CHECK and f.kind == "problem"]
            assert len(misplaced) == 3  # the seed's three misplaced certificates
            for f in misplaced:
                assert f.cert.thumbprint in proof
            assert "✗" in proof

            await pilot.press("right")
            fix = step_text(app)
            assert screen.current_step.key == "fix"
            assert "For the certificates found" in fix
            for f in misplaced:
                moves = [s.command for s in f.fix if "Move-Item" in s.command]
                assert moves and moves[0] in screen.current_step.commands
            # Copy: OSC 52 clipboard, a TextCopied message, and the plain text shown for selection.
            await pilot.press("c")
            await pilot.pause()
            copied = of(posted, msg.TextCopied)
            assert copied and app.clipboard == copied[-1].text
            assert all(f.cert.thumbprint in app.clipboard for f in misplaced)
            assert isinstance(app.screen, CopiedScreen)
            await pilot.press("escape")

            await pilot.press("right")
            assert screen.current_step.key == "verify"
            await pilot.press("right")  # the last step stays the last
            assert screen.step == 4
            await pilot.press("1")
            assert screen.step == 0

    run(scenario)


@pytest.mark.slow
def test_paste_the_seed_fabric_error_lands_on_the_root_store_cause(kb) -> None:
    async def scenario() -> None:
        posted: list[Message] = []
        app = TlsdiagApp([], kb=kb)
        async with app.run_test(size=(80, 24), message_hook=posted.append) as pilot:
            await pilot.pause()
            assert isinstance(app.screen, PickerScreen)
            await pilot.press("escape", "p")
            await pilot.pause()
            assert isinstance(app.screen, PasteScreen)
            box = app.screen.query_one(PasteArea)
            assert box.has_focus
            app.post_message(events.Paste(SEED_FABRIC))  # what a terminal paste delivers (the app forwards it)
            await until(pilot, lambda: box.text == SEED_FABRIC, "the pasted text in the box")
            await until(pilot, lambda: app.last_explain is not None, "explain results")
            screen = app.screen
            assert screen.result is not None and screen.result.found
            assert screen.best_target() == ROOT_CAUSE
            assert screen.query_one("#paste-matches", OptionList).option_count >= 1
            await pilot.press("enter")
            await pilot.pause()
            assert isinstance(app.screen, GuidedScreen)
            assert app.current == (ROOT_CAUSE, None)
            assert of(posted, msg.CauseOpened)[-1].cause_id == ROOT_CAUSE
            # Without scanned logs the proof step offers the collection command and the load key.
            await pilot.press("3")
            assert "reg export" in step_text(app)

    run(scenario)


@pytest.mark.slow
def test_paste_updates_live_and_debounces(kb) -> None:
    async def scenario() -> None:
        app = TlsdiagApp([], kb=kb)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("escape", "p")
            await pilot.pause()
            await pilot.press(*"KB2795828")
            await until(pilot, lambda: app.last_explain is not None and app.last_explain.text == "KB2795828",
                        "explain for the typed text")
            assert app.last_explain.found
            await pilot.press("ctrl+l")
            assert app.screen.query_one(PasteArea).text == ""

    run(scenario)


@pytest.mark.slow
def test_paste_of_a_bare_error_code_shows_its_meaning(kb) -> None:
    text = "curl: (60) schannel: SEC_E_UNTRUSTED_ROOT (0x80090325)"

    async def scenario() -> None:
        app = TlsdiagApp([], kb=kb)
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.press("escape", "p")
            await pilot.pause()
            await paste_and_explain(app, pilot, text)
            assert [h.entry.id for h in app.last_explain.codes] == ["sec-e-untrusted-root"]
            note = str(app.screen.query_one("#paste-note", Static).render())
            assert "SEC_E_UNTRUSTED_ROOT" in note and "First check" in note

    run(scenario)


@pytest.mark.slow
def test_filter_events_on_the_sample(kb, sample: Path) -> None:
    async def scenario() -> None:
        app = TlsdiagApp([sample], kb=kb)
        async with app.run_test(size=(100, 30)) as pilot:
            await scanned(pilot, app)
            await pilot.press("e")
            await pilot.pause()
            assert isinstance(app.screen, EventsScreen)
            table = app.screen.query_one(EventTable)
            assert table.row_count == len(app.events) > 0
            ids = sorted({e.event_id for e in app.events})
            target = ids[0]
            expected = [e for e in app.events if e.event_id == target]
            await pilot.press("slash")
            app.screen.query_one("#filter", Input).value = f"id:{target}"
            await until(pilot, lambda: table.row_count == len(expected), "the filter to apply")
            assert all(table.event_at(i).event_id == target for i in range(table.row_count))
            # The detail pane shows the highlighted event's rendered message.
            await pilot.press("escape", "home")
            await pilot.pause()
            detail = str(app.screen.query_one("#detail", Static).visual)
            assert app.message_for(table.current)[:40] in detail.replace("\n", " ") or \
                app.message_for(table.current).split("\n")[0][:30] in detail
            # A bad filter says why and keeps the last good result.
            app.screen.query_one("#filter", Input).value = "level:loud"
            await pilot.pause()
            assert "level" in str(app.screen.query_one("#filter-status", Static).visual)
            assert table.row_count == len(expected)

    run(scenario)


@pytest.mark.slow
def test_load_store_export_reevaluates_the_diagnosis_in_place(kb, sample: Path) -> None:
    logs = [p for p in sorted(sample.iterdir()) if p.name != "stores"]
    stores = sample / "stores"
    assert logs and stores.is_dir()

    async def scenario() -> None:
        posted: list[Message] = []
        app = TlsdiagApp(logs, kb=kb)
        async with app.run_test(size=(100, 40), message_hook=posted.append) as pilot:
            await scanned(pilot, app)
            before = app.find_diagnosis(ROOT_CAUSE, None)
            assert before is not None and before.store is None
            await pilot.press("enter")
            await pilot.pause()
            assert isinstance(app.screen, GuidedScreen) and app.current[0] == ROOT_CAUSE
            await pilot.press("3")
            assert "No certificate-store data" in step_text(app)
            assert "reg export" in step_text(app)
            await pilot.press("l")
            await pilot.pause()
            assert isinstance(app.screen, PathPrompt)
            app.screen.query_one(Input).value = str(stores)
            await pilot.press("enter")
            await until(pilot, lambda: bool(of(posted, msg.DiagnosisReevaluated)), "re-evaluation")
            await pilot.pause()
            change = of(posted, msg.DiagnosisReevaluated)[-1]
            assert change.cause_id == ROOT_CAUSE and change.before == before.confidence
            after = app.current_diagnosis()
            assert after is not None and after.store == "proven" and change.after == after.confidence
            # Same screen, same cause, same step: re-evaluated in place.
            assert isinstance(app.screen, GuidedScreen) and app.screen.step == 2
            assert "Proven by the certificate stores" in step_text(app)
            assert of(posted, msg.StoreExportRequested)[-1].path == str(stores)

    run(scenario)


@pytest.mark.slow
def test_export_markdown_to_chosen_file_never_next_to_evidence(kb, sample: Path, tmp_path: Path) -> None:
    async def scenario() -> None:
        posted: list[Message] = []
        app = TlsdiagApp([sample], kb=kb, cwd=tmp_path)
        async with app.run_test(size=(100, 30), message_hook=posted.append) as pilot:
            await scanned(pilot, app)
            await pilot.press("enter")
            await pilot.pause()
            # Refused inside the evidence folder: nothing written, nothing posted.
            await pilot.press("x")
            await pilot.pause()
            prompt = app.screen
            assert isinstance(prompt, PathPrompt)
            assert Path(prompt.query_one(Input).value).parent == tmp_path  # default: the current folder
            inside = sample / "report.md"
            prompt.query_one(Input).value = str(inside)
            await pilot.press("enter")
            await pilot.pause()
            assert not inside.exists() and not of(posted, msg.ExportWritten)
            # Accepted in a folder of the user's choice.
            await pilot.press("x")
            await pilot.pause()
            target = tmp_path / "out" / "diagnosis.md"
            target.parent.mkdir()
            app.screen.query_one(Input).value = str(target)
            await pilot.press("enter")
            await pilot.pause()
            written = of(posted, msg.ExportWritten)
            assert written and written[-1].path == str(target)
            text = target.read_text(encoding="utf-8")
            d = app.current_diagnosis()
            assert text.startswith("# tlsdiag report")
            assert markdown.md(d.cause.title) in text
            assert all(f.cert.thumbprint in text for f in d.store_findings if f.cert is not None)
            others = [x for x in app.diagnoses if x is not d and x.made]
            assert all(markdown.md(x.cause.title) not in text for x in others if x.cause.id != d.cause.id)

    run(scenario)


@pytest.mark.slow
def test_help_palette_stores_and_every_action_reachable(kb, sample: Path) -> None:
    async def scenario() -> None:
        app = TlsdiagApp([sample], kb=kb)
        async with app.run_test(size=(80, 24)) as pilot:
            await scanned(pilot, app)
            await pilot.press("question_mark")
            await pilot.pause()
            assert isinstance(app.screen, HelpScreen)
            help_text = str(app.screen.query_one("#help-text", Static).visual)
            for key, _, _, title, _ in app.ACTIONS:
                assert title in help_text and key_name(key) in help_text
            await pilot.press("escape")
            # Every app action is in the command palette.
            titles = {c.title for c in app.get_system_commands(app.screen)}
            assert {title for _, _, _, title, _ in app.ACTIONS} <= titles
            # Stores: the misplaced certificates carry a problem mark.
            await pilot.press("s")
            await pilot.pause()
            assert isinstance(app.screen, StoresScreen)
            tree = app.screen.query_one("#stores-tree")
            labels = []

            def walk(node: Any) -> None:
                labels.append(node.label)
                for child in node.children:
                    walk(child)

            walk(tree.root)
            top = app.top_diagnosis()
            for f in top.store_findings:
                if f.cert is not None and f.kind == "problem":
                    marked = [lb for lb in labels if lb.plain.startswith("✗") and f.cert.subject in lb.plain]
                    # symbol AND colour: the ✗ carries a red style
                    assert marked and any("red" in str(span.style) for span in marked[0].spans)
            # The palette opens a cause by name.
            await pilot.press("ctrl+p")
            await pilot.pause()
            await pilot.press(*"Open cause")
            await pilot.pause(0.5)
            await pilot.press("enter")
            await until(pilot, lambda: isinstance(app.screen, GuidedScreen), "the palette to open the cause")
            assert app.current is not None
            await pilot.press("q")
        assert app.return_code in (0, None)

    run(scenario)


@pytest.mark.slow
def test_large_file_read_by_worker_processes_inside_the_app(kb, tmp_path: Path) -> None:
    """Files over the reader's parallel threshold are read in worker processes; inside a running Textual
    app (stderr captured, fileno -1) starting them once failed and the whole file was reported lost."""
    from datetime import datetime, timedelta, timezone

    from tlsdiag.inputs.options import ReadOptions
    from tlsdiag_devkit.evtxwrite import EvtxWriter
    from tlsdiag_devkit.evtxwrite.writer import EventSpec, UserData

    PARALLEL_MIN_BYTES = ReadOptions.parallel_min_bytes

    path = tmp_path / "System.evtx"
    t = datetime(2026, 3, 1, tzinfo=timezone.utc)
    written = 0
    with EvtxWriter(path) as writer:
        while writer.chunks * 65536 < PARALLEL_MIN_BYTES + 4 * 65536:
            if written % 1000 == 0:
                spec = EventSpec(channel="System", provider="Schannel",
                                 provider_guid="{1F678132-5938-4686-9FDC-C8FF68F15C85}", event_id=36888, level=2,
                                 time=t, computer="FE01.contoso.test",
                                 userdata=UserData("EventXML", "LSA_NS", {"AlertDesc": 40, "ErrorState": 1205}))
            else:
                spec = EventSpec(channel="System", provider="Microsoft-Windows-DNS-Client",
                                 provider_guid="{1C95126E-7EEA-49A9-A3FE-A378B03DDB4D}", event_id=1014, level=3,
                                 time=t, computer="FE01.contoso.test",
                                 data={"QueryName": f"wpad{written % 7}.contoso.test", "AddressLength": 128})
            writer.add(spec)
            written += 1
            t += timedelta(seconds=1)
    assert path.stat().st_size > PARALLEL_MIN_BYTES

    async def scenario() -> None:
        app = TlsdiagApp([path], kb=kb)
        async with app.run_test(size=(80, 24)) as pilot:
            await scanned(pilot, app)
            summary = app.result.summary
            assert summary.losses == [] and not any(f.error for f in summary.files)
            assert len(app.events) == (written + 999) // 1000  # every Schannel event reached the app

    run(scenario)


@pytest.mark.slow
def test_picker_offers_bundled_samples_and_scans_the_choice(kb, sample: Path, tmp_path: Path) -> None:
    from textual.widgets import DirectoryTree

    async def scenario() -> None:
        posted: list[Message] = []
        app = TlsdiagApp([], kb=kb, cwd=tmp_path)
        async with app.run_test(size=(80, 24), message_hook=posted.append) as pilot:
            await pilot.pause()
            picker = app.screen
            assert isinstance(picker, PickerScreen)
            assert picker.query_one(DirectoryTree).path == tmp_path
            samples = picker.query_one("#samples", OptionList)
            ids = [samples.get_option_at_index(i).id for i in range(samples.option_count)]
            assert str(sample) in ids
            await pilot.press("tab")
            assert samples.has_focus
            samples.highlighted = ids.index(str(sample))
            await pilot.press("enter")
            await scanned(pilot, app)
            assert of(posted, msg.ScanStarted)[-1].paths == [str(sample)]
            assert app.top_diagnosis() is not None and app.top_diagnosis().cause.id == ROOT_CAUSE

    run(scenario)


@pytest.mark.slow
def test_quit_while_scanning_cancels_the_scan(kb, tmp_path: Path) -> None:
    """q during a scan ends the app at once: the worker's callbacks stop run_scan (no thread left reading)."""
    from datetime import datetime, timedelta, timezone

    from tlsdiag_devkit.evtxwrite import write_file
    from tlsdiag_devkit.evtxwrite.writer import EventSpec, UserData

    t = datetime(2026, 3, 1, tzinfo=timezone.utc)
    specs = [EventSpec(channel="System", provider="Schannel", provider_guid="{1F678132-5938-4686-9FDC-C8FF68F15C85}",
                       event_id=36888, level=2, time=t + timedelta(seconds=i), computer="FE01.contoso.test",
                       userdata=UserData("EventXML", "LSA_NS", {"AlertDesc": 40, "ErrorState": 1205}))
             for i in range(30_000)]
    raw = write_file(tmp_path / "written.evtx", specs).read_bytes()
    log = tmp_path / "System.evtx"  # the chunks five times over (read to the file's end): 150,000 events
    log.write_bytes(raw[:4096] + raw[4096:] * 5)
    posted: list[Message] = []
    app = TlsdiagApp([log], kb=kb)

    async def scenario() -> None:
        async with app.run_test(size=(80, 24), message_hook=posted.append) as pilot:
            await until(pilot, lambda: bool(of(posted, msg.ScanProgress)) and len(app.events) > 0,
                        "the scan to start and show its first events")
            workers = [w for w in app.workers if w.group == "scan"]
            await pilot.press("q")
        assert app.result is None  # it never finished
        assert workers and all(w.is_cancelled for w in workers)
        assert not of(posted, msg.ScanFinished)

    run(scenario)  # returns once the worker thread has ended (asyncio joins its executor)
    # The thread stopped reading when the app quit; it did not run on to the end of the file.
    assert 0 < len(app.events) < 150_000


@pytest.mark.slow
def test_overview_lists_what_was_read_and_each_loss_with_where(kb, tmp_path: Path) -> None:
    from datetime import datetime, timedelta, timezone

    from tlsdiag_devkit.evtxwrite import write_file
    from tlsdiag_devkit.evtxwrite.damage import damage_file
    from tlsdiag_devkit.evtxwrite.writer import EventSpec

    t = datetime(2026, 3, 1, tzinfo=timezone.utc)
    specs = [EventSpec(channel="Microsoft-Windows-WindowsFabric/Admin", provider="Microsoft-Windows-WindowsFabric",
                       provider_guid="{3F68B79B-A1CF-4B9F-8F5A-4B2D3E1C0F01}", event_id=18465, level=3,
                       time=t + timedelta(minutes=i), computer="FE01.contoso.test",
                       data={"Message": f"Replica {i} partition name build error OperationFailed"})
             for i in range(1500)]
    clean = write_file(tmp_path / "src" / "fabric.evtx", specs)
    damaged = tmp_path / "logs" / "fabric.evtx"
    damaged.parent.mkdir()
    damage_file(clean, damaged, "garbage_chunk", chunk=1)

    async def scenario() -> None:
        app = TlsdiagApp([damaged], kb=kb)
        async with app.run_test(size=(120, 40)) as pilot:
            await scanned(pilot, app)
            summary = app.result.summary
            assert summary.losses and 0 < summary.records < 1500
            # wrapped for the pane's width with hanging indents: compare with the line breaks taken out
            shown = " ".join(str(app.screen.query_one("#read-summary", Static).visual).split())
            assert f"{summary.records} record(s)" in shown and f"{summary.records_lost} lost" in shown
            first, last = summary.span
            assert first.strftime("%Y-%m-%d %H:%M:%S") in shown and last.strftime("%Y-%m-%d %H:%M:%S") in shown
            for loss in summary.losses:
                assert loss.where in shown and loss.reason[:30] in shown

    run(scenario)


@pytest.mark.slow
def test_export_after_a_paste_writes_the_explain_report(kb, tmp_path: Path) -> None:
    async def scenario() -> None:
        posted: list[Message] = []
        app = TlsdiagApp([], kb=kb, cwd=tmp_path)
        async with app.run_test(size=(80, 24), message_hook=posted.append) as pilot:
            await pilot.press("escape", "p")
            await pilot.pause()
            app.post_message(events.Paste(SEED_FABRIC))
            await until(pilot, lambda: app.last_explain is not None, "explain results")
            await pilot.press("enter")
            await pilot.pause()
            await pilot.press("x")
            await pilot.pause()
            assert isinstance(app.screen, PathPrompt)
            await pilot.press("enter")  # the default: a file in the current folder
            await until(pilot, lambda: bool(of(posted, msg.ExportWritten)), "the export")
            written = Path(of(posted, msg.ExportWritten)[-1].path)
            assert written.parent == tmp_path
            assert written.read_text(encoding="utf-8") == markdown.render_explain(app.last_explain)

    run(scenario)
