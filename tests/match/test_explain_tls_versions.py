"""A client that offers no TLS version the server accepts, and generic chain events that name no cause (issue 17c).

- ``client-tls-version-not-offered``: Schannel 36871 with internal error state 10013 (Microsoft's mark of a
  program asking only for disabled protocol versions) leads to it when the text states that state, never when
  it states another or none; .NET's "underlying connection was closed" message points its first check at it.
- A header-only Schannel 36882 or CAPI2 4106 (logged for any chain on any Windows computer) leads to no
  front-end certificate fix; with Lync's 32042 in the same collection the combination still makes that cause.

Texts are built from the catalog's own templates and the Event Viewer layout, not taken from ../shared.
"""

from __future__ import annotations

import pytest

from tlsdiag.kb import load_kb
from tlsdiag.kbtest import run_cause_example
from tlsdiag.match import explain
from tlsdiag.match.explain import THRESHOLD

CAUSE = "client-tls-version-not-offered"


@pytest.fixture(scope="module")
def kb():
    return load_kb()


def _xml_36871(state: str, kind: str = "client") -> str:
    return ("Log Name: System\nSource: Schannel\nEvent ID: 36871\nLevel: Error\nDescription:\n"
            "Unable to resolve description, see XML for more details.\nEvent Xml:\n"
            "<Event xmlns=\"http://schemas.microsoft.com/win/2004/08/events/event\">\n  <System>\n"
            "    <Provider Name=\"Schannel\" />\n    <EventID>36871</EventID>\n    <Level>2</Level>\n"
            "    <Channel>System</Channel>\n  </System>\n  <EventData>\n"
            f"    <Data Name=\"Type\">{kind}</Data>\n    <Data Name=\"ErrorState\">{state}</Data>\n"
            "  </EventData>\n</Event>\n")


def _header(provider: str, event_id: int, log: str = "System") -> str:
    return (f"Log Name:      {log}\nSource:        {provider}\nDate:          1/5/2026 10:00:00 AM\n"
            f"Event ID:      {event_id}\nTask Category: None\nLevel:         Error\nKeywords:      Classic\n"
            "User:          N/A\nComputer:      app01.fabrikam.com\nDescription:\n"
            "Unable to resolve description, see XML for more details.")


def test_state_10013_leads_to_the_client_protocol_cause_and_its_fix(kb) -> None:
    result = explain(_xml_36871("10013"), kb)
    assert result.best_cause is not None and result.best_cause.id == CAUSE
    assert result.best_cause.store_related is False
    commands = " ".join(step.command for step in result.fix)
    assert "SchUseStrongCrypto" in commands and "SystemDefaultTlsVersions" in commands
    assert "WOW6432Node" in commands and "reg export" in commands


def test_the_rendered_message_states_the_error_state_too(kb) -> None:
    template = kb.events["schannel-36871"].templates["en"]
    text = template.replace("%1", "client").replace("%2", "10013")
    result = explain(text, kb)
    assert CAUSE in {m.id for m in result.matches if m.kind == "cause"}


@pytest.mark.parametrize(("state", "kind"), [("10001", "client"), ("10010", "client"), ("10013", "server")])
def test_another_error_state_or_the_server_credential_does_not_make_it(kb, state: str, kind: str) -> None:
    result = explain(_xml_36871(state, kind), kb)
    assert CAUSE not in {m.id for m in result.matches if m.kind == "cause"}
    assert result.best_cause is None or result.best_cause.id != CAUSE


def test_a_header_without_the_state_lists_it_without_a_fix(kb) -> None:
    result = explain(_header("Schannel", 36871), kb)
    assert result.best_cause is None and result.fix == ()
    assert CAUSE in {c.id for c in result.candidates}


def test_the_net_receive_message_points_its_first_check_at_the_client_cause(kb) -> None:
    result = explain("Invoke-WebRequest : The underlying connection was closed: An unexpected error occurred on a "
                     "receive.", kb)
    assert [c.entry.id for c in result.codes] == ["net-connection-closed-receive"]
    assert result.codes[0].entry.check[0].cause == CAUSE
    assert not any(m.kind == "cause" and m.score >= 0.5 and kb.causes[m.id].store_related for m in result.matches)


@pytest.mark.parametrize(("provider", "event_id", "log"), [("Schannel", 36882, "System"),
                                                          ("Microsoft-Windows-CAPI2", 4106, "Application")])
def test_a_generic_chain_event_alone_leads_to_no_front_end_fix(kb, provider: str, event_id: int, log: str) -> None:
    result = explain(_header(provider, event_id, log), kb)
    assert result.matches and result.matches[0].kind == "event" and result.matches[0].event_id == event_id
    assert result.best_cause is None and result.fix == ()
    assert all(m.score < THRESHOLD for m in result.matches if m.id == "frontend-certificate-invalid")


def test_36882_beside_32042_still_makes_the_front_end_cause(kb) -> None:
    example = {"events": [
        {"channel": "Lync Server", "provider": "LS User Services", "event_id": 32042, "level": 2,
         "computer": "FE01", "time": "2026-01-05T08:00:00Z", "data": {"1": "fe02.contoso.com", "2": "Contoso CA"}},
        {"channel": "System", "provider": "Schannel", "event_id": 36882, "level": 2, "computer": "FE01",
         "time": "2026-01-05T08:05:00Z", "data": {}}], "windows_build": 9200}
    ok, why = run_cause_example(kb, "frontend-certificate-invalid", "positive", example)
    assert ok, why


# --------------------------------------------------------------------------- Windows Server 2008 R2 wording

R2_EXPORT = ("Log Name:      System\r\nSource:        Schannel\r\nDate:          8/5/2013 5:16:37 AM\r\n"
             "Event ID:      36888\r\nTask Category: None\r\nLevel:         Error\r\nKeywords:      \r\n"
             "User:          SYSTEM\r\nComputer:      lync2010.contoso.local\r\nDescription:\r\n"
             "The following fatal alert was generated: 40. The internal error state is 1205.\r\n")


def test_a_2008_r2_text_export_of_36888_gives_its_alert_and_state(kb, tmp_path) -> None:
    """Event Viewer text carries no data fields; on 2008 R2 they are read back through the 6.1 wording."""
    from tlsdiag.inputs import read_events
    from tlsdiag.match.catalog import CatalogIndex
    from tlsdiag.model import ReadSummary

    path = tmp_path / "system.txt"
    path.write_bytes(R2_EXPORT.encode("utf-8"))
    events = list(read_events([path], summary=ReadSummary()))
    assert [e.event_id for e in events] == [36888]
    fields = CatalogIndex(kb).recover_fields(events[0], kb.events["schannel-36888"])
    assert fields is not None and dict(fields) == {"AlertDesc": "40", "ErrorState": "1205"}


@pytest.mark.parametrize(("alert", "offered"), [("47", True), ("40", False)])
def test_the_2008_r2_wording_of_36887_states_its_alert(kb, alert: str, offered: bool) -> None:
    """The issuer-list cause counts 36887 only with alert 47, in the 6.1 wording as in the 2012 one (the alert
    number after "alert" was read before the 6.1 template existed; this guards it with the template in place)."""
    result = explain(f"Source: Schannel\nEvent ID: 36887\nDescription:\nThe following fatal alert was received: {alert}.",
                     kb)
    assert result.matches[0].id == "schannel-36887"
    assert ("trusted-issuer-list-too-large" in {m.id for m in result.matches if m.kind == "cause"}) == offered


def test_tui_paste_of_a_header_only_36871_names_the_candidate_and_opens_nothing(kb) -> None:
    """The real Textual pilot: explain lists the client-protocol cause as a candidate (the header states no error
    state), so Enter opens no cause and the note says which cause fits and what to check."""
    import asyncio

    from textual.widgets import Static

    from support.tuipilot import paste_and_explain
    from tlsdiag.tui.app import TlsdiagApp

    text = _header("Schannel", 36871)

    async def scenario() -> None:
        app = TlsdiagApp([], kb=kb)
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.press("escape", "p")
            await pilot.pause()
            await paste_and_explain(app, pilot, text)
            assert app.screen.best_target() is None
            note = str(app.screen.query_one("#paste-note", Static).render())
            assert "No cause chosen" in note and kb.causes[CAUSE].title in note, note

    asyncio.run(scenario())
