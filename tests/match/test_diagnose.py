"""Ranking between look-alike causes with the shipped knowledge base.

The point of the knowledge base is to tell the store problems apart from the problems that merely look
like them: a cipher/protocol mismatch, TLS session tickets on 2012 R2, an expired front-end certificate,
and a pool quorum loss. Each test builds the events a server of that kind logs (ids and fields as the
research notes give them) and checks which cause comes first on that computer.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from tlsdiag.kb import load_kb
from tlsdiag.model import Event, freeze_data
from tlsdiag.scan import diagnose_events

T0 = datetime(2026, 2, 3, 8, 0, tzinfo=timezone.utc)
FE = "lyncfe01.contoso.local"
LYNC = "Lync Server"


@pytest.fixture(scope="module")
def kb():
    return load_kb()


def ev(event_id: int, provider: str = "Schannel", channel: str = "System", *, minutes: float = 0,
       data: dict | None = None, computer: str = FE) -> Event:
    return Event(source="t.evtx", locator=f"record {event_id}", record_id=event_id,
                 timestamp=T0 + timedelta(minutes=minutes), channel=channel, provider=provider, event_id=event_id,
                 level=2, computer=computer, data=freeze_data(data or {}))


def boot(build: int, computer: str = FE) -> Event:
    version = {9200: "6.02.", 9600: "6.03."}.get(build, "10.00.")
    return ev(6009, "EventLog", minutes=-120, computer=computer,
              data={"1": version, "2": str(build), "3": "", "4": "Multiprocessor Free", "5": "0"})


def ranked(kb, events: list[Event], computer: str = FE):
    out = [d for d in diagnose_events(events, kb) if d.computer == computer]
    return out, {d.cause.id: d for d in out}


def first_made(diagnoses):
    made = [d for d in diagnoses if d.made]
    assert made, f"nothing diagnosed: {[(d.cause.id, d.confidence, round(d.score, 3)) for d in diagnoses]}"
    return made[0].cause.id


def show(diagnoses) -> list[tuple[str, str, float]]:
    return [(d.cause.id, d.confidence, round(d.score, 3)) for d in diagnoses]


CIPHER = [ev(36874, data={"Protocol": "TLS 1.2"}), ev(36888, minutes=0.5, data={"AlertDesc": "40", "ErrorState": "1205"})]
ROOT_STORE = [
    ev(32174, "LS User Services", LYNC, minutes=1, data={"1": "{63BB8586-A9D8-5AF2-83FF-B5CE680594C0}", "2": "1", "3": "1"}),
    ev(61029, "LS MCU Infrastructure", LYNC, minutes=5,
       data={"1": "30.0093507983333", "2": "RtcHost(6756)", "3": "1", "4": "contsfbstd01.contoso.com"}),
]


@pytest.mark.parametrize("build", [9200, 9600])
def test_cipher_mismatch_beats_root_store(kb, build: int) -> None:
    diagnoses, by = ranked(kb, [boot(build), *CIPHER])
    assert first_made(diagnoses) == "cipher-protocol-mismatch", show(diagnoses)
    assert not by.get("root-store-non-self-signed") or not by["root-store-non-self-signed"].made, show(diagnoses)


def test_alerts_with_mcu_certificate_errors_point_to_the_root_store(kb) -> None:
    diagnoses, by = ranked(kb, [boot(9200), *CIPHER, *ROOT_STORE])
    assert first_made(diagnoses) == "root-store-non-self-signed", show(diagnoses)
    assert by["cipher-protocol-mismatch"].score < by["root-store-non-self-signed"].score


def test_alert_other_than_handshake_failure_is_no_cipher_mismatch(kb) -> None:
    diagnoses, by = ranked(kb, [boot(9600), ev(36888, data={"AlertDesc": "48", "ErrorState": "552"})])
    assert "cipher-protocol-mismatch" not in by or not by["cipher-protocol-mismatch"].made, show(diagnoses)


SESSION = [
    ev(32042, "LS User Services", LYNC, data={"1": "LyncFE01.contoso.local", "2": "Contoso-CA"}),
    ev(61045, "LS MCU Infrastructure", LYNC, minutes=3, data={"1": "https://LyncFE01.contoso.local:444/LiveServer/Focus"}),
]


def test_session_tickets_on_2012_r2_beat_an_invalid_front_end_certificate(kb) -> None:
    diagnoses, by = ranked(kb, [boot(9600), *SESSION])
    assert first_made(diagnoses) == "ws2012r2-session-tickets", show(diagnoses)
    fe = by.get("frontend-certificate-invalid")
    assert fe is None or fe.score < by["ws2012r2-session-tickets"].score
    assert not by.get("root-store-non-self-signed") or not by["root-store-non-self-signed"].made, show(diagnoses)


def test_same_events_on_2012_are_not_session_tickets(kb) -> None:
    diagnoses, by = ranked(kb, [boot(9200), SESSION[0], ev(36882, minutes=1, data={"certificateContext": "3082"})])
    tickets = by["ws2012r2-session-tickets"]
    assert tickets.excluded and not tickets.made and "9600" in tickets.excluded
    assert first_made(diagnoses) == "frontend-certificate-invalid", show(diagnoses)


def test_quorum_loss_without_certificate_errors_is_not_the_root_store(kb) -> None:
    events = [boot(9200), ROOT_STORE[0],
              ev(32163, "LS User Services", LYNC, minutes=10),
              ev(32173, "LS User Services", LYNC, minutes=40)]
    diagnoses, by = ranked(kb, events)
    assert first_made(diagnoses) == "pool-quorum-loss", show(diagnoses)
    root = by.get("root-store-non-self-signed")
    assert root is None or not root.made, show(diagnoses)


def test_quorum_symptoms_with_mcu_certificate_errors_are_the_root_store(kb) -> None:
    diagnoses, by = ranked(kb, [boot(9200), *ROOT_STORE, ev(32163, "LS User Services", LYNC, minutes=10)])
    assert first_made(diagnoses) == "root-store-non-self-signed", show(diagnoses)
    assert by["pool-quorum-loss"].score < by["root-store-non-self-signed"].score


def test_root_store_cause_is_dropped_before_windows_server_2012(kb) -> None:
    _, by = ranked(kb, [boot(7601), *ROOT_STORE])
    root = by["root-store-non-self-signed"]
    assert root.excluded and not root.made
    assert "7601" in root.excluded or "2008" in root.excluded


def test_unknown_build_keeps_the_cause_and_says_so(kb) -> None:
    _, by = ranked(kb, SESSION)
    tickets = by["ws2012r2-session-tickets"]
    assert tickets.made and any("Windows build unknown" in n for n in tickets.notes)


def test_computers_are_diagnosed_separately(kb) -> None:
    other = "lyncfe02.contoso.local"
    events = [boot(9600), boot(9600, other), SESSION[0], ev(61045, "LS MCU Infrastructure", LYNC, computer=other)]
    _, fe1 = ranked(kb, events)
    _, fe2 = ranked(kb, events, other)
    assert not fe1["ws2012r2-session-tickets"].combinations and not fe2["ws2012r2-session-tickets"].combinations
