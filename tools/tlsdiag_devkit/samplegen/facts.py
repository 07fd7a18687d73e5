"""The events of interest, built from ../shared/research/kb-and-events.md.

Every constant and factory names its source key ([S1], [S21], ...) from that
file, or "corpus:" for a shape measured in ../shared/corpus/evtx, or [I] when
it is an inference (for instance how a verbatim message splits into insertion
strings: the Lync message files were not available, so the %1..%n layout
chosen here is ours and is listed per event in each scenario README).
"""

from __future__ import annotations

from datetime import datetime

from tlsdiag_devkit.evtxwrite import EventSpec, UserData

# ---- providers ------------------------------------------------------------------------------
# Schannel: name, GUID, System log, manifest, UserData/EventXML xmlns='LSA_NS',
# Keywords 0x8000000000000000, Task 0, Opcode 0, Version 0, UserID S-1-5-18 [S30][S31][S33]
SCHANNEL = "Schannel"
SCHANNEL_GUID = "{1f678132-5938-4686-9fdc-c8ff68f15c85}"
# CAPI2: GUID [S38b][S34]; the Application-log shape (EventSourceName, Qualifiers 0,
# Keywords 0x8080000000000000, unnamed data) as in corpus: NickSmet+ts-evtx Application.evtx
CAPI2 = "Microsoft-Windows-CAPI2"
CAPI2_GUID = "{5bbca4a8-b209-48dc-a8c7-b23d3e5216fb}"
# WindowsFabric/Admin: log, source, User NETWORK SERVICE [S21][seed]; provider GUID not found
FABRIC = "Microsoft-Windows-WindowsFabric"
FABRIC_LOG = "Microsoft-Windows-WindowsFabric/Admin"
# Lync Server log: classic, no GUID, Keywords 0x80000000000000 (Classic), unnamed <Data> [S21]
LYNC_LOG = "Lync Server"
# Qualifiers: 33777 observed on a warning [S21]; 50161 (error) and 17393 (information) are the
# same facility with the other severity bits [I, §2.5]
Q_WARNING = 33777
Q_ERROR = 50161
Q_INFO = 17393
# Task categories per source [S1][S21]
TASK = {
    "LS User Services": 1006,
    "LS MCU Infrastructure": 1022,
    "LS File Transfer Agent Service": 1121,
    "LS User Replicator": 1009,
    "LS UserPin Service": 1044,
    "LS Server": 1000,
}

SYSTEM_SID = "S-1-5-18"
NETWORK_SERVICE_SID = "S-1-5-20"


def lync(source: str, event_id: int, level: int, t: datetime, computer: str, params: list[str],
         binary: bytes | None = None) -> EventSpec:
    """A classic Lync Server log event (level 2 error, 3 warning, 4 information)."""
    q = {2: Q_ERROR, 3: Q_WARNING}.get(level, Q_INFO)
    return EventSpec(LYNC_LOG, source, event_id, t, computer, qualifiers=q, level=level,
                     task=TASK[source], data=list(params), binary=binary)


# ---- Lync messages (verbatim texts, §2.6) --------------------------------------------------
# Message templates are given with our %n layout [I]; the fixed text is verbatim from the source.
MESSAGES: dict[tuple[str, int], str] = {
    # [S1] (KB 2901554)
    ("LS User Services", 32042): (
        "Invalid incoming HTTPS certificate.\nSubject Name: %1 Issuer: %2\n\n"
        "Cause: This can happen if the HTTPS certificate has expired, or is untrusted. The certificate serial "
        "number is attached for reference.\n\nResolution: Please check the remote server and ensure that the "
        "certificate is valid. Also ensure that the full certificate chain of the Issuer is present in the "
        "local machine."),
    # [S1] (KB 2901554); the source cut the resolution text where "…" stands
    ("LS MCU Infrastructure", 61045): (
        "The %1 was not able to stay connected to the Front End over the C3P channel (HTTPS Connection).\n"
        "The Web Conferencing Server failed to send C3P notifications to the focus at %2.\n\n"
        "Cause: The Front End may not be running correctly or may be unreachable over the network (broken "
        "HTTPS connection) from the MCU. Unavailability of The C3P channel affects conference controls, and "
        "can also prevent users from joining, starting conferences.\n\n"
        "Resolution: Verify that the Front End server is running correctly … HTTPS Connection can be "
        "established between the MCU and the Front End server."),
    # [S21] front-end-services-not-start.md (cause/resolution paragraphs cut by the source: "…")
    ("LS User Services", 32174): (
        "Server startup is being delayed because fabric pool manager has not finished initial placement of "
        "users.\nCurrently waiting for routing group: %1.\nNumber of groups potentially not yet placed: %2\n"
        "Total number of groups: %3\n\nCause: This is normal during cold-start of a Pool and during server "
        "startup. … Resolution: … run Reset-CsPoolRegistrarState -ResetType QuorumLossRecovery …"),
    # [S17] (text cut by the source after "S=Hamil…"; ours continues with our own subject)
    ("LS MCU Infrastructure", 61029): (
        "In the past %1 minutes the process %2 received %3 invalid certificates. The last one was from "
        "server: %4, IP Address: %5, with subject: %6\nCertificate error: %7"),
    # [S21] central-management-store-replication-failures.md
    ("LS File Transfer Agent Service", 1017): (
        "File transfer failed for some replica machines. Microsoft Lync Server, File Transfer Agent will "
        "continuously attempt to replicate to these machines.\nWhile this condition persists, configuration "
        "changes will not be delivered to these replica machines.\n\nReplica file transfer failures: %1\n\n"
        "Cause: Possible issues with transferring files to the replicas listed above. …"),
    ("LS File Transfer Agent Service", 1015): (
        "File transfer failed. Microsoft Lync Server, File Transfer Agent will continuously attempt to "
        "transfer the files.\n\nReason: %1\n\nCause: Microsoft Lync Server, Replica Replicator Agent "
        "presented an invalid certificate.\n\nResolution: Ensure that the certificate configured for "
        "Microsoft Lync Server, Replica Replicator Agent is valid."),
    # [S41] titles only
    ("LS User Services", 32173): "Server is being shutdown because fabric pool manager could not be initialized.",
    # [S22] milestone
    ("LS Server", 12287): "Front End Service is starting.",
}

def render(template: str, params: list[str]) -> str:
    """Fill %1..%n (highest first, so %10 is not read as %1 followed by 0)."""
    text = template
    for i in range(len(params), 0, -1):
        text = text.replace(f"%{i}", params[i - 1])
    return text


# ---- Schannel events (§2.1-2.3) -------------------------------------------------------------

def schannel(event_id: int, level: int, t: datetime, computer: str, fields: dict[str, object] | None,
             pid: int = 588, tid: int = 0) -> EventSpec:
    return EventSpec("System", SCHANNEL, event_id, t, computer, provider_guid=SCHANNEL_GUID, level=level,
                     user_sid=SYSTEM_SID, process_id=pid, thread_id=tid,
                     userdata=UserData("EventXML", "LSA_NS", fields) if fields is not None else None)


def schannel_36874(t: datetime, computer: str, protocol: str = "TLS 1.2") -> EventSpec:
    """Error (observed on WS2012/R2 [S14][S15][S33]); field Protocol [S34]."""
    return schannel(36874, 2, t, computer, {"Protocol": protocol})


def schannel_36888(t: datetime, computer: str, alert: int = 40, state: int = 1205) -> EventSpec:
    """Error as observed on WS2012/R2 [S33]; fields AlertDesc, ErrorState [S34]; 40/1205 [S14]."""
    return schannel(36888, 2, t, computer, {"AlertDesc": alert, "ErrorState": state})


def schannel_36887(t: datetime, computer: str, alert: int = 47) -> EventSpec:
    """'The following fatal alert was received: 47' [S11]; field AlertDesc [S34]; Error observed [S11]."""
    return schannel(36887, 2, t, computer, {"AlertDesc": alert})


def schannel_36885(t: datetime, computer: str) -> EventSpec:
    """Warning, no template/fields [S34][S4]; only logged when Schannel warnings are enabled [S16][S19]."""
    return schannel(36885, 3, t, computer, None)


# ---- CAPI2 (Application log) ------------------------------------------------------------------

def capi2_app(event_id: int, t: datetime, computer: str, params: list[str]) -> EventSpec:
    """4097 auto update of a third-party root, 4111 root list update [S38b]; shape from corpus."""
    return EventSpec("Application", CAPI2, event_id, t, computer, provider_guid=CAPI2_GUID,
                     event_source_name=CAPI2, qualifiers=0, level=4, keywords=0x8080000000000000,
                     process_id=1876, thread_id=3720, data=params)


CAPI2_MESSAGES = {
    4097: "Successful auto update of third-party root certificate:: Subject: <%1> Sha1 thumbprint: <%2>.",
    4111: "Successful auto update of third-party root list with effective date: %1.",
}


# ---- Windows Fabric (seed) ---------------------------------------------------------------------

def fabric_18465(t: datetime, computer: str, text: str) -> EventSpec:
    """Warning, Task Category FM, User NETWORK SERVICE [seed]; numeric task and field names unknown,
    so the description is kept as one unnamed insertion string."""
    return EventSpec(FABRIC_LOG, FABRIC, 18465, t, computer, manifest=True, level=3, task=0,
                     keywords=0x8000000000000000, user_sid=NETWORK_SERVICE_SID, process_id=2340,
                     thread_id=2712, data=[text])
