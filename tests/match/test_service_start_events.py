"""Service start-up failures as administrators paste them: the Service Control Manager's 7000/7009/7023/7024/7031/
7034 and the Lync events around a service that will not start are recognised as what they are (a service failed),
and on their own they never make a certificate-store cause. Texts are shaped like the rendered events in
Microsoft's articles cited by the catalog entries, with other service names and values.
"""

from __future__ import annotations

import pytest

from tlsdiag.kb import load_kb
from tlsdiag.match import explain

KB = load_kb()


def _viewer(source: str, event_id: int, description: str, log: str = "System") -> str:
    return (f"Log Name:      {log}\nSource:        {source}\nDate:          3/4/2026 8:12:01 AM\nEvent ID:      "
            f"{event_id}\nTask Category: None\nLevel:         Error\nKeywords:      Classic\nUser:          N/A\n"
            f"Computer:      fe01.contoso.test\nDescription:\n{description}")


@pytest.mark.parametrize(("event_id", "entry", "description"), [
    (7024, "scm-7024", "The Lync Server Front-End service terminated with the following service-specific error: \n"
                       "%%3286842415"),
    (7023, "scm-7023", "The Lync Server Access Edge service terminated with the following error: \nAccess is denied."),
    (7000, "scm-7000", "The Lync Server Front-End service failed to start due to the following error: \nThe service "
                       "did not respond to the start or control request in a timely fashion."),
    (7009, "scm-7009", "A timeout was reached (30000 milliseconds) while waiting for the Lync Server Front-End "
                       "service to connect."),
    (7031, "scm-7031", "The Lync Server Front-End service terminated unexpectedly.  It has done this 1 time(s).  The "
                       "following corrective action will be taken in 60000 milliseconds: Restart the service."),
    (7034, "scm-7034", "The Lync Server Access Edge service terminated unexpectedly.  It has done this 2 time(s)."),
])
def test_service_control_manager_pastes_name_the_event_and_no_store_cause(event_id: int, entry: str,
                                                                         description: str) -> None:
    result = explain(_viewer("Service Control Manager", event_id, description), KB)
    assert result.matches and result.matches[0].id == entry
    assert not [m for m in result.matches if m.kind == "cause" and m.store_related and m.score >= 0.5]


def test_access_edge_user_replicator_events_are_known_and_not_certificate_causes() -> None:
    text = _viewer("LS User Replicator", 30006,
                   "Failed to update the list of domains in this forest to synchronize. User replicator cannot "
                   "synchronize any objects without knowing which domains to synchronize from.\nReplicationType: "
                   "LocalRegistrarReplication", log="Lync Server")
    result = explain(text, KB)
    assert result.matches[0].id == "lync-30006"
    assert not [m for m in result.matches if m.kind == "cause" and m.score >= 0.5]


def test_data_mcu_edge_connectivity_event_is_known() -> None:
    result = explain("No connectivity with any of Web Conferencing Edge Servers. External Skype for Business "
                     "clients cannot use Web Conferencing modality.", KB)
    assert "lync-41026" in [m.id for m in result.matches[:3]]



def test_a_service_that_stopped_leads_to_no_cause_and_says_what_it_means() -> None:
    # explain's fallback leads from a matched event to the cause that counts it as evidence, whatever the
    # evidence's role and field conditions; no cause may count a bare SCM event, or every pasted 7024 (an OCS
    # front end stopped by a Windows update, a VMware service) would be answered with that cause's fix
    from tlsdiag.report.text import render_explain

    scm = {e for e in KB.events if e.startswith("scm-")}
    assert scm and not [(c.id, ev.event) for c in KB.causes.values() for ev in c.evidence if ev.event in scm]
    result = explain(_viewer("Service Control Manager", 7024, "The SQL Server (MSSQLSERVER) service terminated "
                             "with the following service-specific error: \n%%2148081668"), KB)
    assert result.matches[0].id == "scm-7024" and result.best_cause is None
    text = render_explain(result)
    assert "What event 7024 (Service Control Manager) means:" in text
    assert "the product's own events" in " ".join(text.split())
