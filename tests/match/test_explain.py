"""`explain` over the shipped knowledge base: the message texts quoted in the research notes
(../shared/research/kb-and-events.md, verbatim excerpts) and the seed give the right catalog event first,
also cut short, with other host names and GUIDs, with the Event Viewer header, and in German where the
KB has German; codes, phrases and KB numbers declared in the KB lead to their cause; noise gives nothing.
"""

from __future__ import annotations

import re

import pytest

from tlsdiag.kb import load_kb
from tlsdiag.match import explain
from tlsdiag.match.explain import THRESHOLD

# (provider, event id, text) — verbatim from the research notes (sections 2.2, 2.3, 2.6) and the seed
RESEARCH_TEXTS = [
    ("Schannel", 36885,
     "When asking for client authentication, this server sends a list of trusted certificate authorities to the "
     "client. The client uses this list to choose a client certificate that is trusted by the server. Currently, "
     "this server trusts so many certificate authorities that the list has grown too long. This list has thus "
     "been truncated. The administrator of this machine should review the certificate authorities trusted for "
     "client authentication and remove those that do not really need to be trusted."),
    ("Schannel", 36870,
     "A fatal error occurred when attempting to access the SSL server credential private key. The error code "
     "returned from the cryptographic module is 0x8009030d."),
    ("Schannel", 36874,
     "An TLS 1.2 connection request was received from a remote client application, but none of the cipher "
     "suites supported by the client application are supported by the server. The SSL connection request has "
     "failed."),
    ("Schannel", 36886,
     "No suitable default server credential exists on this system. This will prevent server applications that "
     "expect to make use of the system default credentials from accepting SSL connections."),
    ("Schannel", 36887, "The following fatal alert was received: 47."),
    ("Schannel", 36888,
     "A fatal alert was generated and sent to the remote endpoint. This may result in termination of the "
     "connection. The TLS protocol defined fatal error code is 40. The Windows SChannel error state is 1205."),
    ("LS User Services", 32042,
     "Invalid incoming HTTPS certificate.\nSubject Name: LyncFE01.contoso.local Issuer: Contoso-CA\n\nCause: This "
     "can happen if the HTTPS certificate has expired, or is untrusted. The certificate serial number is attached "
     "for reference.\n\nResolution: Please check the remote server and ensure that the certificate is valid. Also "
     "ensure that the full certificate chain of the Issuer is present in the local machine."),
    ("LS MCU Infrastructure", 61045,
     "The DATAMCU was not able to stay connected to the Front End over the C3P channel (HTTPS Connection).\nThe "
     "Web Conferencing Server failed to send C3P notifications to the focus at "
     "https:// LyncFE01.contoso.local:444/LiveServer/Focus."),
    ("LS User Services", 32174,
     "Server startup is being delayed because fabric pool manager has not finished initial placement of users.\n"
     "Currently waiting for routing group: {63BB8586-A9D8-5AF2-83FF-B5CE680594C0}."),
    ("LS MCU Infrastructure", 61029,
     "In the past 30.0093507983333 minutes the process RtcHost(6756) received 1 invalid certificates. The last one "
     "was from server: contsfbstd01.contoso.com, IP Address: 10.198.40.152:60873, with subject: "
     "CN=contsfbstd01.contoso.com, OU=IT, O=contoso Re, L=Hamilton"),
    ("LS UserPin Service", 47067,
     "A server did not respond to HTTP request\nServer Pool1.domain.com did not respond to HTTP request "
     "GetEncryptionKeyRequest targeted at https://Pool1.contoso.com:444/LiveServer/UserPinService\nCause:\nServer "
     "might be down or the network path between servers might not be properly configured."),
    ("LS File Transfer Agent Service", 1017,
     "File transfer failed for some replica machines. Microsoft Lync Server, File Transfer Agent will continuously "
     "attempt to replicate to these machines.\nWhile this condition persists, configuration changes will not be "
     "delivered to these replica machines.\n\nReplica file transfer failures: sever05.contoso.com: Https "
     "destination unavailable."),
    ("LS File Transfer Agent Service", 1015,
     "File transfer failed. Microsoft Lync Server, File Transfer Agent will continuously attempt to transfer the "
     "files.\n\nReason: Unable to match host/cluster against certificate, host=server05.contoso.com, "
     "cluster=server05.contoso.com, CNn=server05.contoso.com, OU=Certificates, OU=Server, O=<Organization name>.\n\n"
     "Cause: Microsoft Lync Server, Replica Replicator Agent presented an invalid certificate."),
    ("LS File Transfer Agent Service", 1034,
     "Microsoft Lync Server, File Transfer Agent service encountered an error while accessing a file share and "
     "will continuously attempt to access this file share until this issue is resolved."),
    ("Schannel", 36871, "A fatal error occurred while creating an SSL client credential. The internal error state is 10013."),
    ("Schannel", 36882,
     "The certificate received from the remote server was issued by an untrusted certificate authority. Because "
     "of this, none of the data contained in the certificate can be validated. The TLS connection request has "
     "failed. The attached data contains the server certificate."),
    ("Microsoft-Windows-CAPI2", 4097,
     "Successful auto update of third-party root certificate:: Subject: <CN=Example Root CA, O=Example, C=US> "
     "Sha1 thumbprint: <3B1EFD3A66EA28B16697394703A72CA340A05BD5>."),
    ("Microsoft-Windows-CAPI2", 4105,
     "Untrusted root certificate:: Subject: <CN=Contoso Issuing CA 01, O=Contoso Ltd> Sha1 thumbprint: "
     "<D0E733D0667EF6CEB715DEED7F5B90901D759AFC>."),
    ("Microsoft-Windows-CAPI2", 4106,
     "Partial Chain:: Issuer: <CN=Contoso Issuing CA 01, O=Contoso Ltd> Subject Sha1 thumbprint: "
     "<1F58F14462F2004CEB450C0D7FC13B579295B977>."),
    ("Microsoft-Windows-CAPI2", 4111,
     "Successful auto update of third-party root list with effective date: Friday, December 14, 2012 7:18:01 PM."),
    ("LS Server", 12314,
     "Unable to create and initialize the stop event, error code is:0x80070005 (Access is denied). The service "
     "has to stop."),
    ("LS Server", 12299,
     "The service is shutting down due to an internal error.\nError Code: 80070005!_HRX! (Access is denied. !_HRM)"),
    ("LS Server", 12330,
     "Failed starting a worker process.\n\nProcess: 'C:\\Program Files\\Microsoft Lync Server 2013\\Server\\Core\\"
     "RtcHost.exe'  Exit Code: 0xC3E8302D(SIPPROXY_E_WORKER_PROCESS_SLOW_INITIALIZING)."),
    ("LS Protocol Stack", 14428,
     "TLS outgoing connection failures. Cause: Certificate root not trusted error could happen if the peer "
     "certificate was issued by remote CA that is not trusted by the local machine."),
    ("Microsoft-Windows-WindowsFabric", 53760, "EventTraceInstaller::Install failed with error E_FAIL"),
    ("Microsoft-Windows-WindowsFabric", 53761, "Method EnableTracingOnDCS failed with HRESULT: -2147024809"),
    ("Microsoft-Windows-WindowsFabric", 18465,
     "Replica on b6277d62e11a4e816f7179f3d6b8e7:129970606058458545 für FailoverUnit "
     "6aebabd3-c487-445e-8450-11c522ec93a8 service fabric:/lync/routing/0D51A9AAABD9547087FA349556503C9F [0-0] "
     "partition name build error OperationFailed"),
]

# the seed's Event Viewer block, as the page shows it: header and description on one line
SEED_18465 = (
    "Log Name: Microsoft-Windows-WindowsFabric/Admin Source: Microsoft-Windows-WindowsFabric Event ID: 18465 "
    "Task Category: FM Level: Warning Keywords: None User: NETWORK SERVICE Computer: lync2013.msxfaq.net "
    "Description: Replica on b6277d62e11a4e816f7179f3d6b8e7:129970606058458545 für FailoverUnit "
    "6aebabd3-c487-445e-8450-11c522ec93a8 service fabric:/lync/routing/0D51A9AAABD9547087FA349556503C9F [0-0] "
    "partition name build error OperationFailed")

NOISE = [
    "The quick brown fox jumps over the lazy dog while the printer spooler restarts.",
    "An account was successfully logged on. Subject: Security ID: SYSTEM Logon Type: 5",
    "hello",
]


@pytest.fixture(scope="module")
def kb():
    return load_kb()


def _entry(kb, provider: str, event_id: int):
    found = [e for e in kb.events.values() if e.event_id == event_id and provider.casefold() in e.providers]
    assert found, f"the catalog has no entry for {provider} {event_id}, which the research notes quote"
    return found


def _assert_first(kb, text: str, provider: str, event_id: int) -> None:
    entries = {e.id for e in _entry(kb, provider, event_id)}
    result = explain(text, kb)
    assert result.found, f"nothing found for {provider} {event_id}: {result.note}"
    events = [m for m in result.matches if m.kind == "event"]
    assert events and events[0].id in entries, (
        f"{provider} {event_id}: best event {[(m.id, round(m.score, 2)) for m in events[:3]]}")
    first = result.matches[0]
    if first.kind == "cause":
        cause = kb.causes[first.id]
        assert {ev.event for ev in cause.evidence} & entries, f"first match {first.id} does not involve {entries}"


def _variant_hosts(text: str) -> str:
    text = re.sub(r"contoso", "fabrikam", text, flags=re.I)
    text = re.sub(r"\{[0-9A-F-]{36}\}", "{0D51A9AA-ABD9-5470-87FA-349556503C9F}", text)
    text = re.sub(r"\b\d{1,3}(\.\d{1,3}){3}\b", "192.168.7.21", text)
    return text.replace("Pool1", "sfbpool02").replace("LyncFE01", "SFB-FE-07")


def _header(text: str, provider: str, event_id: int, german: bool = False) -> str:
    if german:
        return (f"Protokollname: System\nQuelle:        {provider}\nDatum:         05.01.2026 10:00:00\n"
                f"Ereignis-ID:   {event_id}\nAufgabenkategorie: Keine\nEbene:         Fehler\n"
                f"Benutzer:      SYSTEM\nComputer:      fe01.fabrikam.com\nBeschreibung:\n{text}")
    return (f"Log Name:      System\nSource:        {provider}\nDate:          1/5/2026 10:00:00 AM\n"
            f"Event ID:      {event_id}\nTask Category: None\nLevel:         Error\nKeywords:      Classic\n"
            f"User:          N/A\nComputer:      fe01.fabrikam.com\nDescription:\n{text}")


@pytest.mark.parametrize(("provider", "event_id", "text"), RESEARCH_TEXTS, ids=lambda v: str(v)[:20])
def test_research_text_gives_its_event_first(kb, provider: str, event_id: int, text: str) -> None:
    _assert_first(kb, text, provider, event_id)


@pytest.mark.slow
@pytest.mark.parametrize(("provider", "event_id", "text"), RESEARCH_TEXTS, ids=lambda v: str(v)[:20])
def test_cut_short_and_other_hosts(kb, provider: str, event_id: int, text: str) -> None:
    variant = _variant_hosts(text)
    _assert_first(kb, variant, provider, event_id)
    words = variant.split()
    cut = " ".join(words[: max(6, int(len(words) * 0.6))])
    _assert_first(kb, cut, provider, event_id)


@pytest.mark.slow
@pytest.mark.parametrize(("provider", "event_id", "text"), RESEARCH_TEXTS, ids=lambda v: str(v)[:20])
def test_event_viewer_header_names_the_entry(kb, provider: str, event_id: int, text: str) -> None:
    _assert_first(kb, _header(_variant_hosts(text), provider, event_id), provider, event_id)
    # header alone, without the description
    _assert_first(kb, _header("", provider, event_id), provider, event_id)


def _german_cases() -> list:
    kb = load_kb()
    out = []
    for entry in sorted(kb.events.values(), key=lambda e: e.id):
        de = entry.templates.get("de")
        if de:
            filled = re.sub(r"%(\d+)", lambda m: f"wert{m.group(1)}.fabrikam.de", de).replace("%n", "\n")
            out.append(pytest.param(entry.provider, entry.event_id, filled, id=entry.id))
    assert out, "no German templates in the knowledge base (the seed and its readers are German)"
    return out


@pytest.mark.parametrize(("provider", "event_id", "text"), _german_cases())
def test_german_text(kb, provider: str, event_id: int, text: str) -> None:
    _assert_first(kb, text, provider, event_id)
    _assert_first(kb, _header(text, provider, event_id, german=True), provider, event_id)


def test_seed_block_on_one_line(kb) -> None:
    _assert_first(kb, SEED_18465, "Microsoft-Windows-WindowsFabric", 18465)


def test_event_id_alone(kb) -> None:
    for label in ("Event ID: 36885", "Ereignis-ID: 36885", "36885"):
        _assert_first(kb, label, "Schannel", 36885)


def test_signals_declared_in_the_kb_lead_to_their_cause(kb) -> None:
    checked = 0
    for cause in kb.causes.values():
        for signal in (*cause.signals.codes, *cause.signals.phrases):
            owners = {c.id for c in kb.causes.values() if signal in (*c.signals.codes, *c.signals.phrases)}
            result = explain(signal, kb)
            causes = [m for m in result.matches if m.kind == "cause"]
            assert causes and causes[0].id in owners, f"{signal!r}: {[(m.id, m.score) for m in causes[:3]]}"
            checked += 1
    assert checked, "no cause declares explain signals (codes/phrases); error codes would go unrecognised"


def test_hresult_in_every_written_form(kb) -> None:
    owners = {c.id for c in kb.causes.values() if any(s.casefold() == "0x800b0109" for s in c.signals.codes)}
    assert owners, "no cause declares 0x800B0109 (CERT_E_UNTRUSTEDROOT, research notes 2.4)"
    for form in ("0x800B0109", "0x800b0109", "2148204809", "-2146762487", "sc-win32-status 2148204809",
                 "Certificate error: 0x800B0109"):
        causes = [m for m in explain(form, kb).matches if m.kind == "cause"]
        assert causes and causes[0].id in owners, f"{form}: {[(m.id, m.score) for m in causes[:3]]}"


def test_kb_numbers_lead_to_their_cause(kb) -> None:
    for cause in kb.causes.values():
        for article in cause.kb:
            owners = {c.id for c in kb.causes.values() if article.number in {k.number for k in c.kb}}
            for form in (f"KB{article.number}", f"KB {article.number}", str(article.number)):
                result = explain(form, kb)
                assert result.matches and result.matches[0].kind == "cause" and result.matches[0].id in owners, \
                    f"{form}: {[(m.id, round(m.score, 2)) for m in result.matches[:3]]}"
                assert result.best_cause is not None and result.fix


def test_fabric_state_output_from_the_notes_and_the_seed(kb) -> None:
    owners = {c.id for c in kb.causes.values() if any("no primar" in p for p in c.signals.phrases)}
    assert owners, "no cause declares the Get-CsPoolFabricState 'has no primaries' output"
    for text in ("Service: (P) fabric:/lync/routing/E71E41AD8A345CCCA2493484208565C7 has no primaries.",
                 "Replica Instances für Routing Service Service: (P) "
                 "fabric:/lync/routing/0D51A9AAABD9547087FA349556503C9F has no primäries."):
        causes = [m for m in explain(text, kb).matches if m.kind == "cause"]
        assert causes and causes[0].id in owners, f"{text}: {[(m.id, m.score) for m in causes[:3]]}"


@pytest.mark.parametrize("text", NOISE)
def test_noise_says_nothing_matches(kb, text: str) -> None:
    result = explain(text, kb)
    assert not result.found and result.matches == [] and result.best_cause is None
    assert "nothing in the knowledge base matches this text well" in result.note
    assert all(m.score < THRESHOLD for m in result.matches)


def test_empty_text(kb) -> None:
    result = explain("   ", kb)
    assert not result.found and "empty" in result.note


def test_event_xml_part_of_a_copied_block(kb) -> None:
    xml = ("Event Xml:\n<Event xmlns=\"http://schemas.microsoft.com/win/2004/08/events/event\">\n  <System>\n"
           "    <Provider Name=\"LS User Services\" />\n    <EventID Qualifiers=\"50161\">32042</EventID>\n"
           "    <Level>2</Level>\n    <Channel>Lync Server</Channel>\n  </System>\n  <EventData>\n"
           "    <Data>LyncFE01.contoso.local</Data>\n  </EventData>\n</Event>")
    _assert_first(kb, xml, "LS User Services", 32042)
    result = explain(xml, kb)
    event = next(m for m in result.matches if m.kind == "event")
    assert any("header" in why for why in event.why) and event.score > 0.9


def test_an_event_only_paste_leads_to_the_cause_that_counts_it_most() -> None:
    """The seed's Fabric description alone matches only the catalog event; explain still names the cause
    whose strongest evidence that event is, and says so."""
    kb = load_kb()
    text = ("Replica on b6277d62e11a4e816f7179f3d6b8e7:129970606058458545 für FailoverUnit "
            "6aebabd3-c487-445e-8450-11c522ec93a8 service fabric:/lync/routing/0D51A9AAABD9547087FA349556503C9F "
            "[0-0] partition name build error OperationFailed")
    result = explain(text, kb)
    assert result.best_cause is not None and result.best_cause.id == "root-store-non-self-signed"
    if [m.kind for m in result.matches] == ["event"]:
        assert "strongest evidence" in result.note
    # an event that no cause counts as evidence leads nowhere
    assert explain("Event ID 53760 EventTraceInstaller::Install failed with error E_FAIL", kb).best_cause is None
