"""Several servers of one collection (audit 2026-12, issue 16's differential): the Edge a CMS replication
event names, and the other front ends, bear on a front end's diagnosis; quorum loss never leads on the
seed's single-server evidence."""

from __future__ import annotations

from tlsdiag.kb import load_kb
from tlsdiag.kbtest import example_events
from tlsdiag.match.diagnose import StoreResult
from tlsdiag.scan import diagnose_events
from tlsdiag.stores.checks import Finding

KB = load_kb()
FE = "lyncfe11.contoso.local"
EDGE = "lyncedge01.contoso.local"


def _run(events: list, stores: list[StoreResult]) -> dict[str, list]:
    out: dict[str, list] = {}
    for d in diagnose_events(events, KB, stores):
        out.setdefault(d.computer.casefold(), []).append(d)
    return out


def _cms(events_1017: int = 3) -> list:
    return example_events([
        {"channel": "Lync Server", "provider": "LS File Transfer Agent Service", "event_id": 1017, "level": 2,
         "computer": FE, "time": f"2013-07-02T1{i}:38:00Z", "data": {"1": f"{EDGE}: Https destination unavailable."}}
        for i in range(events_1017)], windows_build=9200)


def _edge_root_store() -> StoreResult:
    finding = Finding("root-not-self-signed", "problem", "error", "a sub-CA in Trusted Root", computer=EDGE,
                      cause="root-store-non-self-signed")
    return StoreResult(computer=EDGE, source="edge/stores", findings=(finding,), os_build=9200)


def test_the_edge_named_in_1017_with_a_polluted_root_store_turns_the_answer_to_certificates() -> None:
    alone = _run(_cms(), [])
    first_alone = alone[FE][0]
    assert first_alone.cause.id == "edge-cms-replication-network"
    both = _run(_cms(), [_edge_root_store()])
    fe = both[FE]
    assert fe[0].cause.id == "edge-cms-replication-certificate" and fe[0].made, [(d.cause.id, d.score) for d in fe]
    assert any(EDGE in n for n in fe[0].notes)
    net = next(d for d in fe if d.cause.id == "edge-cms-replication-network")
    assert net.score < first_alone.score and any("against" in n and EDGE in n for n in net.notes)
    assert both[EDGE][0].cause.id == "root-store-non-self-signed"


def test_an_edge_the_events_do_not_name_changes_nothing() -> None:
    other = StoreResult(computer="web07.contoso.local", source="web/stores",
                        findings=(Finding("root-not-self-signed", "problem", "error", "x",
                                          computer="web07.contoso.local", cause="root-store-non-self-signed"),),
                        os_build=9200)
    fe = _run(_cms(), [other])[FE]
    assert fe[0].cause.id == "edge-cms-replication-network"
    assert not any("web07" in n for d in fe for n in d.notes)


def test_quorum_loss_yields_when_another_front_end_has_the_root_store_problem() -> None:
    events = example_events([
        {"channel": "Lync Server", "provider": "LS User Services", "event_id": 32174, "level": 3, "computer": "FE06",
         "time": "2026-01-05T06:00:00Z"},
        {"channel": "Lync Server", "provider": "LS User Services", "event_id": 32163, "level": 2, "computer": "FE06",
         "time": "2026-01-05T06:10:00Z"},
        {"channel": "Lync Server", "provider": "LS User Services", "event_id": 32173, "level": 2, "computer": "FE06",
         "time": "2026-01-05T07:00:00Z"}], windows_build=9200)
    alone = _run(events, [])["fe06"][0]
    assert alone.cause.id == "pool-quorum-loss" and alone.confidence == "high"
    fe07 = StoreResult(computer="FE07", source="fe07/stores", os_build=9200,
                       findings=(Finding("root-not-self-signed", "problem", "error", "x", computer="FE07",
                                         cause="root-store-non-self-signed"),))
    quorum = next(d for d in _run(events, [fe07])["fe06"] if d.cause.id == "pool-quorum-loss")
    assert quorum.score < alone.score and quorum.confidence != "high"
    assert any("FE07" in n for n in quorum.notes)


def test_quorum_loss_ranks_below_the_root_store_on_one_front_end() -> None:
    events = example_events([
        {"channel": "Lync Server", "provider": "LS User Services", "event_id": 32174, "level": 3, "computer": "FE01",
         "time": "2026-01-05T06:00:00Z"},
        {"channel": "Lync Server", "provider": "LS User Services", "event_id": 32163, "level": 2, "computer": "FE01",
         "time": "2026-01-05T06:10:00Z"},
        {"channel": "Lync Server", "provider": "LS User Services", "event_id": 32173, "level": 2, "computer": "FE01",
         "time": "2026-01-05T07:00:00Z"},
        {"channel": "Microsoft-Windows-WindowsFabric/Admin", "provider": "Microsoft-Windows-WindowsFabric",
         "event_id": 18465, "level": 3, "computer": "FE01", "time": "2026-01-05T06:20:00Z"}], windows_build=9200)
    own = StoreResult(computer="FE01", source="fe01/stores", os_build=9200,
                      findings=(Finding("root-not-self-signed", "problem", "error", "x", computer="FE01",
                                        cause="root-store-non-self-signed"),))
    ranked = _run(events, [own])["fe01"]
    ids = [d.cause.id for d in ranked]
    assert ids[0] == "root-store-non-self-signed", [(d.cause.id, round(d.score, 2)) for d in ranked]
    quorum = next(d for d in ranked if d.cause.id == "pool-quorum-loss")
    assert quorum.score < ranked[0].score and any("ranked below" in n for n in quorum.notes)
