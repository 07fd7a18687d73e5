"""A small knowledge base written to a folder, with numbers that can be checked by hand, and Event builders.

The match, scan and report tests pin their mechanics on it; the shipped knowledge base is tested elsewhere.
"""

from __future__ import annotations

import shutil
import textwrap
from datetime import datetime, timedelta, timezone
from pathlib import Path

from support.paths import REPO
from tlsdiag.model import Event, freeze_data

T0 = datetime(2026, 1, 5, 10, 0, tzinfo=timezone.utc)

SRC = "sources: [{key: S1, title: test source, supports: test, quality: paraphrase}]\n"
EVENTS = {
    "schannel-36885": """
        id: schannel-36885
        title: Trusted issuer list truncated
        channel: System
        provider: Schannel
        provider_aliases: [Microsoft-Windows-Schannel]
        event_id: 36885
        level: warning
        meaning: The list of trusted issuers grew too long and was cut.
        templates:
          en: "When asking for client authentication, this server sends a list of trusted certificate authorities to the client."
    """,
    "schannel-36888": """
        id: schannel-36888
        title: Fatal alert generated
        channel: System
        provider: Schannel
        event_id: 36888
        level: error
        meaning: Schannel sent a fatal TLS alert to the peer.
        fields: [AlertDesc, ErrorState]
        templates:
          en: "The following fatal alert was generated: %1. The internal error state is %2."
    """,
    "schannel-36874": """
        id: schannel-36874
        title: No common cipher suite
        channel: System
        provider: Schannel
        event_id: 36874
        level: error
        meaning: A client offered no cipher suite the server supports.
        fields: [Protocol]
        templates:
          en: "An %1 connection request was received from a remote client application, but none of the cipher suites supported by the client application are supported by the server. The TLS connection request has failed."
    """,
    "lync-32042": """
        id: lync-32042
        title: Invalid incoming HTTPS certificate
        channel: Lync Server
        provider: LS User Services
        event_id: 32042
        level: error
        meaning: A front end rejected the HTTPS certificate of a peer.
        fields: ["1", "2"]
        templates:
          en: "Invalid incoming HTTPS certificate.%nSubject Name: %1 Issuer: %2"
    """,
    "lync-32174": """
        id: lync-32174
        title: Waiting for routing group placement
        channel: Lync Server
        provider: LS User Services
        event_id: 32174
        level: warning
        meaning: Front end startup waits for the fabric to place users.
        fields: ["1"]
        templates:
          en: "Server startup is being delayed because fabric pool manager has not finished initial placement of users. Currently waiting for routing group: %1."
        match:
          "1": {regex: "^\\\\{?[0-9A-F-]+\\\\}?$"}
    """,
}
CAUSES = {
    "cipher-mismatch": """
        id: cipher-mismatch
        title: Cipher suite or protocol mismatch
        summary: Client and server share no cipher suite or protocol version, so the handshake fails.
        mechanism: The server finds no common suite and sends handshake_failure (alert 40).
        applies_to: {products: [Windows]}
        kb: []
        evidence:
          - {id: no-cipher, event: schannel-36874, weight: 0.6, role: specific}
          - {id: alert-40, event: schannel-36888, weight: 0.3, role: corroborating, where: {AlertDesc: {in: ["40"]}}}
        combinations:
          - {all: [no-cipher, alert-40], within: 5m, weight: 0.5}
        fix: [{step: Align the cipher suites on both ends}]
        verify: [{step: Connect again and check the System log}]
        examples:
          positive: [{events: [{channel: System, provider: Schannel, event_id: 36874, data: {Protocol: TLS 1.2}}]}]
          negative: [{events: [{channel: System, provider: Schannel, event_id: 36885}]}]
    """,
    "root-store": """
        id: root-store
        title: Non-self-signed certificates in Trusted Root
        summary: Windows Server 2012 and later treat client certificates as untrusted when Root holds CA certificates.
        mechanism: Schannel builds the issuer list from Root and rejects the chain when a CA sits there.
        applies_to:
          products: [Lync Server 2013]
          windows: {min_build: 9200, note: "Windows Server 2012 introduced the check"}
        kb: [{number: 2795828, title: Lync Server 2013 Front-End service cannot start, url: "https://support.microsoft.com/kb/2795828"}]
        evidence:
          - {id: https-cert, event: lync-32042, weight: 0.4, role: corroborating}
          - {id: any-alert, event: schannel-36888, weight: 0.1, role: generic}
        against:
          - {event: schannel-36874, weight: 0.5, note: "a cipher mismatch explains alerts better"}
        store_checks: {proves: [root-not-self-signed], rules_out_when_clean: [root-not-self-signed]}
        fix: [{step: Move the CA certificates to the Intermediate store, command: "Get-ChildItem Cert:\\\\LocalMachine\\\\Root"}]
        verify: [{step: Check the store again}]
        examples:
          positive: [{events: [{channel: Lync Server, provider: LS User Services, event_id: 32042}]}]
          negative: [{events: [{channel: System, provider: Schannel, event_id: 36874}]}]
        signals: {codes: ["0x800B0109", "CERT_E_UNTRUSTEDROOT"], phrases: ["has no primaries"]}
    """,
    "session-tickets": """
        id: session-tickets
        title: TLS session tickets on Windows Server 2012 R2
        summary: Windows Server 2012 R2 changed how TLS sessions are cached, which breaks some Lync traffic.
        mechanism: Reused sessions on port 444 fail between front ends.
        applies_to:
          products: [Lync Server 2013]
          windows: {min_build: 9600, max_build: 9600}
        kb: [{number: 2901554, title: Event IDs 32402 and 61045 on Lync front ends, url: "https://support.microsoft.com/kb/2901554"}]
        evidence:
          - {id: https-cert, event: lync-32042, weight: 0.5, role: corroborating}
        fix: [{step: Set EnableSessionTicket to 2}]
        verify: [{step: Restart the services and watch the log}]
        examples:
          positive: [{events: [{channel: Lync Server, provider: LS User Services, event_id: 32042}]}]
          negative: [{events: [{channel: System, provider: Schannel, event_id: 36874}]}]
    """,
}


def write_kb(root: Path) -> Path:
    """Write the small knowledge base (schema copied from signatures/) under ``root``."""
    shutil.copytree(REPO / "signatures" / "schema", root / "schema")
    for kind, items in (("events", EVENTS), ("causes", CAUSES)):
        (root / kind).mkdir(parents=True)
        for name, text in items.items():
            (root / kind / f"{name}.yaml").write_text(textwrap.dedent(text).lstrip() + SRC)
    return root


def ev(event_id: int, provider: str = "Schannel", channel: str = "System", *, computer: str = "FE01",
       minutes: float = 0, data: dict | None = None, message: str | None = None, form: str = "evtx",
       level: int | None = 2) -> Event:
    return Event(source="test.evtx", locator=f"record {event_id}", record_id=1,
                 timestamp=T0 + timedelta(minutes=minutes), channel=channel, provider=provider,
                 event_id=event_id, level=level, computer=computer, data=freeze_data(data or {}),
                 message=message, form=form)


def boot(build: str, version: str = "6.03.", computer: str = "FE01") -> Event:
    return ev(6009, "EventLog", computer=computer, minutes=-60,
              data={"1": version, "2": build, "3": "", "4": "Multiprocessor Free", "5": "0"})
