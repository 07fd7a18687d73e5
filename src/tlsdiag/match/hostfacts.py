"""What the logs reveal about each server: Windows version and build, products present.

Windows logs its version at every boot as EventLog event 6009 in the System log
("Microsoft (R) Windows (R) 6.03. 9600  Multiprocessor Free."). Its classic,
unnamed data items are, in order: version ("6.03."), build ("9600"), service
pack ("Service Pack 1" or empty), kernel type ("Multiprocessor Free") and a
number; this layout was verified on the System.evtx files of the test corpus
(builds 7601, 15063, 17134, 22000, 26100). A text export carries only the
message, so the version is read from that instead. Several causes apply only to
some builds (KB 2901554 concerns Windows Server 2012 R2 only), so the matcher
needs the build per computer.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from tlsdiag.model import Event

BOOT_PROVIDER = "EventLog"
BOOT_EVENT_ID = 6009
# Provider names the reader must keep even when a prefilter drops everything the catalog does not list.
HOST_FACT_PROVIDERS = (BOOT_PROVIDER,)
# ... and of those, the event ids the facts are read from (the rest of their records tell nothing)
HOST_FACT_EVENT_IDS = {BOOT_PROVIDER: frozenset({BOOT_EVENT_ID})}

# Build numbers named in docs/kb-format.md (2012 = 6.2.9200, 2012 R2 = 6.3.9600, 2016 = 10.0.14393).
# 6009 does not say server or client, so both names are given.
_BUILD_NAMES = {
    7600: "Windows Server 2008 R2 / Windows 7",
    7601: "Windows Server 2008 R2 SP1 / Windows 7 SP1",
    9200: "Windows Server 2012 / Windows 8",
    9600: "Windows Server 2012 R2 / Windows 8.1",
    14393: "Windows Server 2016 / Windows 10 1607",
}

# Products recognised by the logs they write (channel or provider prefix, case-insensitive).
_PRODUCT_CHANNELS = {
    "lync server": "Lync Server / Skype for Business Server",
    "microsoft-windows-windowsfabric/admin": "Windows Fabric (Lync / Skype for Business pool)",
}
_PRODUCT_PROVIDER_PREFIXES = {
    "ls ": "Lync Server / Skype for Business Server",
    "microsoft-windows-iis": "IIS",
    "ad fs": "AD FS",
    "microsoft-windows-windowsfabric": "Windows Fabric (Lync / Skype for Business pool)",
}

_MESSAGE_VERSION = re.compile(r"(\d+)\.(\d+)\.?\s+(\d{4,5})\b")


def computer_key(name: str) -> str:
    """Group key for a computer name: Windows host names compare case-insensitively."""
    return (name or "").strip().casefold()


@dataclass(slots=True)
class HostFacts:
    """Facts about one computer, as far as its logs tell."""

    computer: str
    version: str | None = None  # "6.3"
    build: int | None = None
    service_pack: str = ""
    seen_at: datetime | None = None  # time of the 6009 the facts come from
    products: set[str] = field(default_factory=set)
    channels: Counter[str] = field(default_factory=Counter)

    @property
    def windows_name(self) -> str:
        if self.build is None:
            return "unknown (no EventLog 6009 boot event in the logs)"
        name = _BUILD_NAMES.get(self.build)
        text = f"Windows {self.version} build {self.build}" if self.version else f"Windows build {self.build}"
        if self.service_pack:
            text += f" {self.service_pack}"
        return f"{text} ({name})" if name else text


def _version_from(event: Event) -> tuple[str, int, str] | None:
    data = event.data
    if data.get("1") and data.get("2", "").strip().isdigit():
        major_minor = data["1"].strip().rstrip(".")
        parts = major_minor.split(".")
        if len(parts) >= 2 and parts[0].isdigit() and parts[1].isdigit():
            return f"{int(parts[0])}.{int(parts[1])}", int(data["2"]), data.get("3", "").strip()
    if event.message:
        m = _MESSAGE_VERSION.search(event.message)
        if m:
            return f"{int(m.group(1))}.{int(m.group(2))}", int(m.group(3)), ""
    return None


def _is_boot(event: Event) -> bool:
    """An EventLog 6009: the event whose data gives the Windows version (read per event, not per shape)."""
    return event.event_id == BOOT_EVENT_ID and event.provider.casefold() == BOOT_PROVIDER.casefold()


class HostFactsCollector:
    """Watches every event of a scan (matched or not) and keeps per-computer facts."""

    def __init__(self) -> None:
        self.hosts: dict[str, HostFacts] = {}
        self._last: tuple[str, HostFacts] | None = None
        self._products: dict[tuple[str, str], frozenset[str]] = {}

    def facts(self, computer: str) -> HostFacts:
        key = computer_key(computer)
        if key not in self.hosts:
            self.hosts[key] = HostFacts(computer=computer)
        return self.hosts[key]

    def _products_of(self, channel: str, provider: str) -> frozenset[str]:
        key = (channel, provider)
        found = self._products.get(key)
        if found is None:
            ch, pr = channel.casefold(), provider.casefold()
            names = {product for prefix, product in _PRODUCT_PROVIDER_PREFIXES.items() if pr.startswith(prefix)}
            if ch in _PRODUCT_CHANNELS:
                names.add(_PRODUCT_CHANNELS[ch])
            found = self._products[key] = frozenset(names)
        return found

    def observe(self, event: Event) -> None:
        if self._last is not None and self._last[0] == event.computer:
            facts = self._last[1]
        else:
            facts = self.facts(event.computer)
            self._last = (event.computer, facts)
        facts.channels[event.channel] += 1
        products = self._products_of(event.channel, event.provider)
        if products:
            facts.products.update(products)
        if _is_boot(event):
            got = _version_from(event)
            if got and (facts.seen_at is None or event.timestamp >= facts.seen_at):
                facts.version, facts.build, facts.service_pack = got
                facts.seen_at = event.timestamp

    def repeat_safe(self, event: Event) -> bool:
        """Whether observing an equal event again (but for its time) only counts its channel."""
        return not _is_boot(event)

    def absorb(self, hosts: dict[str, HostFacts]) -> None:
        """Add facts gathered from events that came after all observed so far (a later range of a log)."""
        for key, other in hosts.items():
            facts = self.hosts.get(key)
            if facts is None:
                self.hosts[key] = other
                continue
            facts.channels.update(other.channels)
            facts.products.update(other.products)
            # observe() keeps the latest-dated 6009, the later one on a tie: so does this
            if other.seen_at is not None and (facts.seen_at is None or other.seen_at >= facts.seen_at):
                facts.version, facts.build, facts.service_pack = other.version, other.build, other.service_pack
                facts.seen_at = other.seen_at
        self._last = None

    def get(self, computer: str) -> HostFacts | None:
        return self.hosts.get(computer_key(computer))
