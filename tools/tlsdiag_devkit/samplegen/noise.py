"""Ordinary background events, so the events of interest are needles in a haystack.

Shapes (provider, GUID, EventSourceName, Qualifiers, Keywords, field names,
data layout) are copied from real logs in ../shared/corpus/evtx:
log2timeline+plaso test_data/evtx/System.evtx (Windows Server 2008 R2:
EventLog 6005/6006/6009/6013, Service Control Manager 7036, Kernel-General
12/13, Time-Service 35/37, GroupPolicy 1502, DNS-Client 1014),
omerbenamram+evtx samples/system.evtx (Windows 10: EventLog 6009) and
NickSmet+ts-evtx Application.evtx (Security-SPP 902/16384/16394/1034, CAPI2) and
omerbenamram+evtx samples/Application_no_crc32.evtx (User Profiles Service 1531, WMI 5615/5617).

EventLog 6009 carries five insertion strings: version ("6.01."), build
("7601"), service pack ("Service Pack 1" or ""), "Multiprocessor Free", and a
fifth one ("17514" on 7601.17514, "0" on Windows 10) [corpus]. For Windows
Server 2012 we write "6.02." "9200" "" "Multiprocessor Free" "16384" and for
2012 R2 "6.03." "9600" "" "Multiprocessor Free" "17031" (9200.16384 and
9600.17031 as the build.QFE the servers run: [I]). Kernel-General 12 repeats
the version as MajorVersion/MinorVersion/BuildVersion/QfeVersion [corpus].
"""

from __future__ import annotations

import random
import struct
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from tlsdiag_devkit.evtxwrite import EventSpec, EvtxWriter

SCM_GUID = "{555908d1-a6d7-4695-8e1e-26931d2012f4}"
KERNEL_GENERAL_GUID = "{a68ca8b7-004f-d7b6-a698-07e2de0f1f5d}"
TIME_SERVICE_GUID = "{06edcfeb-0fd0-4e53-acca-a6f8bbf81bcb}"
GROUP_POLICY_GUID = "{aea1b4fa-97d1-45f2-a64c-4d69fffd92c9}"
DNS_CLIENT_GUID = "{1c95126e-7eea-49a9-a3fe-a378b03ddb4d}"
SPP_GUID = "{e23b33b0-c8c9-472c-a5f9-f2bdfea0f156}"
PROFILES_GUID = "{89b1e9f0-5aff-44a6-9b44-0a07a7ce5845}"
WMI_GUID = "{1edeee53-0afe-4609-b846-d8c0b2075b1f}"

LOG_FILES = {
    "System": "System.evtx",
    "Application": "Application.evtx",
    "Lync Server": "Lync Server.evtx",
    "Microsoft-Windows-WindowsFabric/Admin": "Microsoft-Windows-WindowsFabric%4Admin.evtx",
    "Microsoft-Windows-CAPI2/Operational": "Microsoft-Windows-CAPI2%4Operational.evtx",
}


@dataclass(frozen=True)
class OsVersion:
    name: str
    major: int
    minor: int
    build: int
    qfe: int

    def eventlog_6009(self) -> list[str]:
        return [f"{self.major}.{self.minor:02d}.", str(self.build), "", "Multiprocessor Free", str(self.qfe)]


WS2012 = OsVersion("Windows Server 2012 Standard", 6, 2, 9200, 16384)
WS2012R2 = OsVersion("Windows Server 2012 R2 Standard", 6, 3, 9600, 17031)

# Services seen starting at boot and on demand. Windows service names are the usual ones; the Lync
# Server service names are those of a Lync Server 2013 installation [I].
BOOT_SERVICES = [
    ("Windows Event Log", "eventlog"), ("Remote Procedure Call (RPC)", "RpcSs"),
    ("DNS Client", "Dnscache"), ("Network Location Awareness", "NlaSvc"),
    ("Windows Firewall", "MpsSvc"), ("Base Filtering Engine", "BFE"), ("Windows Time", "W32Time"),
    ("Task Scheduler", "Schedule"), ("Remote Registry", "RemoteRegistry"),
    ("Windows Management Instrumentation", "Winmgmt"), ("Server", "LanmanServer"),
    ("Workstation", "LanmanWorkstation"), ("World Wide Web Publishing Service", "W3SVC"),
    ("Windows Process Activation Service", "WAS"), ("Remote Desktop Services", "TermService"),
    ("Cryptographic Services", "CryptSvc"), ("Windows Remote Management (WS-Management)", "WinRM"),
]
LYNC_FE_SERVICES = [
    ("SQL Server (RTCLOCAL)", "MSSQL$RTCLOCAL"), ("SQL Server (LYNCLOCAL)", "MSSQL$LYNCLOCAL"),
    ("Windows Fabric Host Service", "FabricHostSvc"),
    ("Lync Server Replica Replicator Agent", "REPLICA"),
    ("Lync Server Centralized Logging Service Agent", "RTCCLSAGT"),
    ("Lync Server File Transfer Agent", "FTA"), ("Lync Server Master Replicator Agent", "MASTER"),
    ("Lync Server Front-End", "RTCSRV"), ("Lync Server Web Conferencing", "RTCDATAMCU"),
]
LYNC_EDGE_SERVICES = [
    ("Lync Server Replica Replicator Agent", "REPLICA"),
    ("Lync Server Centralized Logging Service Agent", "RTCCLSAGT"),
    ("Lync Server Access Edge", "RTCSRV"), ("Lync Server Audio/Video Edge", "RTCMEDIARELAY"),
]
ON_DEMAND = [
    ("Windows Modules Installer", "TrustedInstaller"), ("Windows Update", "wuauserv"),
    ("WinHTTP Web Proxy Auto-Discovery Service", "WinHttpAutoProxySvc"),
    ("Application Experience", "AeLookupSvc"), ("Software Protection", "sppsvc"),
    ("Background Intelligent Transfer Service", "BITS"), ("Portable Device Enumerator Service", "WPDBusEnum"),
    ("Windows Error Reporting Service", "WerSvc"), ("Network Connectivity Assistant", "NcaSvc"),
]


def _systemtime(t: datetime) -> bytes:
    """SYSTEMTIME and 8 zero bytes, as EventLog 6005 carries it (corpus: 24 bytes)."""
    st = struct.pack("<8H", t.year, t.month, (t.weekday() + 1) % 7, t.day, t.hour, t.minute, t.second,
                     t.microsecond // 1000)
    return st + bytes(8)


@dataclass
class Collection:
    """The logs of one computer, collected as files named like winevt\\Logs."""

    computer: str
    os: OsVersion
    seed: int
    first_ids: dict[str, int] = field(default_factory=dict)
    logs: dict[str, list[EventSpec]] = field(default_factory=dict)
    # channels copied while the log was open: dirty flag set, header one chunk behind (python-evtx #85)
    dirty: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    def add(self, spec: EventSpec) -> EventSpec:
        self.logs.setdefault(spec.channel, []).append(spec)
        return spec

    def finish(self) -> None:
        """Sort each log by time (stable) and number its records."""
        for channel, specs in self.logs.items():
            specs.sort(key=lambda s: s.time)
            first = self.first_ids.get(channel, 1)
            for i, s in enumerate(specs):
                s.record_id = first + i

    def write(self, directory: Path) -> list[Path]:
        self.finish()
        directory.mkdir(parents=True, exist_ok=True)
        out = []
        for channel in sorted(self.logs):
            path = directory / LOG_FILES[channel]
            with EvtxWriter(path, first_record_id=self.first_ids.get(channel, 1), dirty=channel in self.dirty) as w:
                for s in self.logs[channel]:
                    w.add(s)
            out.append(path)
        return out

    # ---- building blocks --------------------------------------------------------------------

    def scm(self, t: datetime, display: str, short: str, running: bool) -> None:
        state = "running" if running else "stopped"
        binary = f"{short}/{4 if running else 1}\0".encode("utf-16-le")
        self.add(EventSpec("System", "Service Control Manager", 7036, t, self.computer, provider_guid=SCM_GUID,
                           event_source_name="Service Control Manager", qualifiers=16384,
                           keywords=0x8080000000000000, process_id=520, thread_id=self.rng.randrange(600, 4000, 4),
                           data={"param1": display, "param2": state}, binary=binary))

    def boot(self, t: datetime, services: list[tuple[str, str]]) -> datetime:
        """Events of a start-up beginning at ``t``; returns when the last service came up."""
        c, os = self.computer, self.os
        self.add(EventSpec("System", "Microsoft-Windows-Kernel-General", 12, t, c,
                           provider_guid=KERNEL_GENERAL_GUID, task=1, keywords=0x8000000000000080,
                           user_sid="S-1-5-18", process_id=4, thread_id=8,
                           data={"MajorVersion": os.major, "MinorVersion": os.minor, "BuildVersion": os.build,
                                 "QfeVersion": os.qfe, "ServiceVersion": 0, "BootMode": 0,
                                 "StartTime": t - timedelta(seconds=31)}))
        t6 = t + timedelta(seconds=19, milliseconds=self.rng.randrange(1000))
        self.add(EventSpec("System", "EventLog", 6009, t6, c, qualifiers=32768, data=os.eventlog_6009()))
        self.add(EventSpec("System", "EventLog", 6005, t6, c, qualifiers=32768, binary=_systemtime(t6)))
        tt = t6
        for display, short in services:
            tt += timedelta(milliseconds=self.rng.randrange(300, 4000))
            self.scm(tt, display, short, True)
        ts = t + timedelta(minutes=2, seconds=self.rng.randrange(60))
        self.time_source(ts)
        self.group_policy(t + timedelta(minutes=3, seconds=self.rng.randrange(60)), boot=True)
        self.add(EventSpec("Application", "Microsoft-Windows-Security-SPP", 902,
                           t + timedelta(seconds=70), c, provider_guid=SPP_GUID,
                           event_source_name="Software Protection Platform Service", qualifiers=16384, level=0,
                           keywords=0x80000000000000, process_id=1148, thread_id=0,
                           data=[f"{os.major}.{os.minor}.{os.build}.{os.qfe}"]))
        self.add(EventSpec("Application", "Microsoft-Windows-User Profiles Service", 1531,
                           t + timedelta(seconds=41), c, provider_guid=PROFILES_GUID, user_sid="S-1-5-18",
                           process_id=1232, thread_id=1288))
        for eid, secs in ((5615, 44), (5617, 120)):
            self.add(EventSpec("Application", "Microsoft-Windows-WMI", eid, t + timedelta(seconds=secs), c,
                               provider_guid=WMI_GUID, version=2, user_sid="S-1-5-18", process_id=2772,
                               thread_id=3176))
        self.add(EventSpec("Application", "Microsoft-Windows-Security-SPP", 16384,
                           t + timedelta(seconds=95), c, provider_guid=SPP_GUID,
                           event_source_name="Software Protection Platform Service", qualifiers=16384,
                           keywords=0x80000000000000, process_id=1148, thread_id=0,
                           data=[(t + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ"), "RulesEngine"]))
        return tt

    def shutdown(self, t: datetime, services: list[tuple[str, str]]) -> None:
        tt = t
        for display, short in reversed(services):
            tt += timedelta(milliseconds=self.rng.randrange(200, 2500))
            self.scm(tt, display, short, False)
        tt += timedelta(seconds=2)
        self.add(EventSpec("System", "EventLog", 6006, tt, self.computer, qualifiers=32768,
                           binary=bytes.fromhex("0100000000000000")))
        self.add(EventSpec("System", "Microsoft-Windows-Kernel-General", 13, tt + timedelta(seconds=3),
                           self.computer, provider_guid=KERNEL_GENERAL_GUID, process_id=4, thread_id=40,
                           data={"StopTime": tt + timedelta(seconds=3)}))

    def time_source(self, t: datetime) -> None:
        src = "dc01.contoso.local (ntp.d|0.0.0.0:123->10.0.0.10:123)"
        for eid, name in ((37, "TMP_EVENT_TIME_SOURCE_REACHABLE"), (35, "TMP_EVENT_TIME_SOURCE_CHOSEN")):
            self.add(EventSpec("System", "Microsoft-Windows-Time-Service", eid, t, self.computer,
                               provider_guid=TIME_SERVICE_GUID, user_sid="S-1-5-19", process_id=928,
                               thread_id=1516, eventdata_name=name, data={"TimeSource": src}))

    def group_policy(self, t: datetime, boot: bool = False) -> None:
        self.add(EventSpec("System", "Microsoft-Windows-GroupPolicy", 1502, t, self.computer,
                           provider_guid=GROUP_POLICY_GUID, opcode=1, user_sid="S-1-5-18",
                           activity_id=f"{{{self.rng.getrandbits(32):08X}-{self.rng.getrandbits(16):04X}-{self.rng.getrandbits(16):04X}-{self.rng.getrandbits(16):04X}-{self.rng.getrandbits(48):012X}}}",
                           process_id=884, thread_id=self.rng.randrange(900, 3000, 4),
                           data={"SupportInfo1": 1, "SupportInfo2": 3163 if boot else 3164,
                                 "ProcessingMode": 1 if boot else 2,
                                 "ProcessingTimeInMilliseconds": self.rng.randrange(300, 3000),
                                 "DCName": "\\\\dc01.contoso.local", "NumberOfGroupPolicyObjects": 3}))

    def spp_1034(self, t: datetime) -> None:
        """Security-SPP 1034 (Application), shape from the corpus; the same number as LS File
        Transfer Agent Service 1034, from another provider."""
        self.add(EventSpec("Application", "Microsoft-Windows-Security-SPP", 1034, t, self.computer,
                           provider_guid=SPP_GUID, event_source_name="Software Protection Platform Service",
                           qualifiers=16384, keywords=0x80000000000000, process_id=1148, thread_id=0,
                           data=["ServerRdsh-ProductPolicy", "100"]))

    def uptime(self, t: datetime, seconds: int) -> None:
        info = ["1.1", "0", self.os.name, f"{self.os.major}.{self.os.minor}.{self.os.build} Build {self.os.build}",
                "Multiprocessor Free", "Not Available", "Not Available", "Not Available", "Not Available", "9",
                "1", "512", "409", self.computer.split(".")[0].upper(), "", ""]
        self.add(EventSpec("System", "EventLog", 6013, t, self.computer, qualifiers=32768,
                           data=["", "", "", "", str(seconds), "60", "0 Coordinated Universal Time"],
                           binary="\0".join(info).encode("utf-16-le")))

    def daily_and_periodic(self, start: datetime, end: datetime, boots: list[datetime],
                           churn: tuple[int, int] = (25, 80)) -> None:
        """Ordinary days between ``start`` and ``end``: service churn (a start and a stop every
        ``churn`` minutes), GP refresh, uptime, time sync."""
        rng = self.rng
        # on-demand services
        t = start
        while t < end:
            t += timedelta(minutes=rng.randrange(*churn), seconds=rng.randrange(60))
            display, short = ON_DEMAND[rng.randrange(len(ON_DEMAND))]
            self.scm(t, display, short, True)
            self.scm(t + timedelta(minutes=rng.randrange(1, 12), seconds=rng.randrange(60)), display, short, False)
        # Group Policy background refresh, every 90 minutes plus up to 30 [I]
        t = start
        while t < end:
            t += timedelta(minutes=90 + rng.randrange(0, 30), seconds=rng.randrange(60))
            self.group_policy(t)
        # time sync now and then, a DNS client warning rarely
        t = start
        while t < end:
            t += timedelta(hours=rng.randrange(6, 20), minutes=rng.randrange(60))
            self.time_source(t)
            if rng.random() < 0.2:
                self.add(EventSpec("System", "Microsoft-Windows-DNS-Client", 1014, t + timedelta(seconds=40),
                                   self.computer, provider_guid=DNS_CLIENT_GUID, level=3,
                                   keywords=0x4000000000000000, user_sid="S-1-5-20", process_id=124, thread_id=256,
                                   data={"QueryName": "wpad.contoso.local", "AddressLength": 16,
                                         "Address": bytes.fromhex("020000350A00000A0000000000000000")}))
        # EventLog 6013 daily at 12:00, uptime since the last boot
        day = start.replace(hour=12, minute=0, second=0, microsecond=0)
        if day < start:
            day += timedelta(days=1)
        while day < end:
            last_boot = max((b for b in boots if b <= day), default=start)
            self.uptime(day, int((day - last_boot).total_seconds()))
            self.add(EventSpec("Application", "Microsoft-Windows-Security-SPP", 16394, day + timedelta(minutes=7),
                               self.computer, provider_guid=SPP_GUID,
                               event_source_name="Software Protection Platform Service", qualifiers=49152,
                               keywords=0x80000000000000, process_id=1148, thread_id=0, data=[]))
            day += timedelta(days=1)
