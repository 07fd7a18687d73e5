"""One model of a computer's certificate stores, whatever export it came from.

Windows keeps each logical store (what certmgr and PowerShell show) as a union of
physical stores: the machine's own registry key, the group-policy key and the
enterprise (Active Directory) key. A fix depends on the physical store: a local
move of a certificate that group policy delivers comes back at the next refresh.
So every certificate here keeps its physical location and store name.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Final, Literal, TypeAlias

from tlsdiag.stores.certs import Cert

if TYPE_CHECKING:
    from tlsdiag.stores.manifest import Manifest

StoreLocation: TypeAlias = Literal["machine", "group-policy", "enterprise"]
"""Where a physical store lives: the machine's own, the one group policy fills, the enterprise (AD) one."""
MACHINE: Final = "machine"
GROUP_POLICY: Final = "group-policy"
ENTERPRISE: Final = "enterprise"
LOCATIONS: tuple[StoreLocation, ...] = (MACHINE, GROUP_POLICY, ENTERPRISE)
LOCATION_TEXT: dict[str, str] = {
    MACHINE: "local machine",
    GROUP_POLICY: "group policy",
    ENTERPRISE: "enterprise (Active Directory)",
}
# Registry key (under HKLM) of each physical location.
LOCATION_KEYS: dict[StoreLocation, str] = {
    MACHINE: r"SOFTWARE\Microsoft\SystemCertificates",
    GROUP_POLICY: r"SOFTWARE\Policies\Microsoft\SystemCertificates",
    ENTERPRISE: r"SOFTWARE\Microsoft\EnterpriseCertificates",
}
SCHANNEL_KEY = r"SYSTEM\CurrentControlSet\Control\SecurityProviders\SCHANNEL"
SCHANNEL_VALUES = ("ClientAuthTrustMode", "SendTrustedIssuerList", "EnableSessionTicket", "EventLogging")

# Canonical spelling of the store names Windows uses in the registry.
_CANONICAL = {
    "root": "ROOT", "authroot": "AuthRoot", "ca": "CA", "my": "MY", "clientauthissuer": "ClientAuthIssuer",
    "trustedpublisher": "TrustedPublisher", "disallowed": "Disallowed", "trustedpeople": "TrustedPeople",
    "trust": "trust", "remote desktop": "Remote Desktop", "smartcardroot": "SmartCardRoot",
    "trusteddevices": "TrustedDevices", "webhosting": "WebHosting", "adfstrusteddevices": "AdfsTrustedDevices",
    "requests": "REQUEST", "request": "REQUEST", "homegroup machine certificates": "Homegroup Machine Certificates",
    # Folder names an administrator may choose for a certificate-file collection
    "personal": "MY", "intermediate": "CA", "trusted root": "ROOT", "trustedroot": "ROOT",
    "thirdpartyroot": "AuthRoot", "third-party root": "AuthRoot",
}

# Logical stores the checks reason about: name -> physical store names it unites.
TRUSTED_ROOT = ("ROOT", "AuthRoot")
INTERMEDIATE = ("CA",)
PERSONAL = ("MY",)
CLIENT_AUTH_ISSUER = ("ClientAuthIssuer",)

# The PowerShell certificate-provider path of a physical store name.
PS_STORE = {"ROOT": "Root", "AuthRoot": "AuthRoot", "CA": "CA", "MY": "My", "ClientAuthIssuer": "ClientAuthIssuer",
            "TrustedPublisher": "TrustedPublisher", "Disallowed": "Disallowed", "TrustedPeople": "TrustedPeople"}


def canonical_store(name: str) -> str:
    return _CANONICAL.get(name.strip().lower(), name.strip())


@dataclass
class StoreCert:
    """One certificate in one physical store."""

    cert: Cert
    location: StoreLocation
    store: str  # canonical physical store name (ROOT, AuthRoot, CA, MY, ...)
    has_private_key: bool | None  # None: the input cannot tell (certificate files)
    friendly_name: str = ""
    source: str = ""  # file and where in it ("line 120", "key ...", "Stores[2].Certificates[5]")
    recorded_thumbprint: str = ""  # the thumbprint the export named (registry key, JSON field), if any
    # last write time of the certificate's registry key (offline hives record it, reg exports do not):
    # when the certificate was added to this store, or last changed there
    written: datetime | None = None

    @property
    def thumbprint(self) -> str:
        return self.cert.thumbprint

    @property
    def where(self) -> str:
        return f"{LOCATION_TEXT.get(self.location, self.location)} {self.store}"


LostItem = Literal["certificate", "store", "file"]


@dataclass(frozen=True, slots=True)
class StoreLoss:
    """Something in a store export that could not be read, and where: counted as lost like event records."""

    source: str  # the export file
    where: str  # "line 120", "key ...\\Certificates\\<thumbprint>", "Stores[2].Certificates[5]", "" (whole file)
    reason: str
    item: LostItem  # what was lost: one certificate, a whole store, or the whole file

    def text(self) -> str:
        place = f"{self.source} {self.where}".strip()
        return f"{place}: {self.item} lost: {self.reason}"


@dataclass
class StoreSnapshot:
    """All stores of one computer (or one collection folder), plus the SCHANNEL values."""

    computer: str
    sources: list[str] = field(default_factory=list)
    # The name was read from the export's content (collector JSON, collection note, SYSTEM hive), never
    # from its folder: only such a name can be joined to the computer names the event logs carry.
    named: bool = False
    dns_host: str = ""  # DNS host name the collector recorded beside the NetBIOS name (may exceed 15 characters)
    dns_domain: str = ""  # primary DNS domain the collector recorded ("" in a workgroup or when not recorded)
    collected: datetime | None = None  # collection time, when the export records it
    os_build: int | None = None
    certs: list[StoreCert] = field(default_factory=list)
    # Physical stores the inputs covered, present even when empty: {(location, store)}
    covered: set[tuple[str, str]] = field(default_factory=set)
    # Locations whose whole store tree was exported (every store there is known, absent ones are empty)
    complete_locations: set[str] = field(default_factory=set)
    schannel: dict[str, int | str] = field(default_factory=dict)
    schannel_collected: bool = False
    warnings: list[str] = field(default_factory=list)  # worth knowing; nothing was lost
    lost: list[StoreLoss] = field(default_factory=list)
    manifest: Manifest | None = None  # the collector's tlsdiag-manifest.json, when the collection has one
    _index: dict[tuple[str, str, str], StoreCert] = field(default_factory=dict, repr=False, compare=False)

    def add(self, item: StoreCert) -> None:
        """Add a certificate unless the same one is already in that physical store."""
        key = (item.location, item.store, item.thumbprint)
        existing = self._index.get(key)
        if existing is not None:
            if existing.has_private_key is None:
                existing.has_private_key = item.has_private_key
            return
        self._index[key] = item
        self.certs.append(item)
        self.covered.add((item.location, item.store))

    def lose(self, source: str, where: str, reason: str, item: LostItem = "certificate") -> None:
        self.lost.append(StoreLoss(source, where, reason, item))

    def physical(self, location: str, store: str) -> list[StoreCert]:
        return [c for c in self.certs if c.location == location and c.store == store]

    def logical(self, stores: Iterable[str]) -> list[StoreCert]:
        """Certificates of a logical store: every physical store with one of these names."""
        names = set(stores)
        return [c for c in self.certs if c.store in names]

    def has_store(self, stores: Iterable[str]) -> bool:
        """Whether the inputs tell us what this logical store holds (even if it is empty)."""
        names = set(stores)
        if any(store in names for _, store in self.covered):
            return True
        return MACHINE in self.complete_locations

    def physical_stores(self) -> list[tuple[str, str, list[StoreCert]]]:
        keys = sorted(self.covered, key=lambda k: (LOCATIONS.index(k[0]) if k[0] in LOCATIONS else 9, k[1].lower()))
        return [(loc, name, self.physical(loc, name)) for loc, name in keys]

    def merge(self, other: StoreSnapshot) -> None:
        for item in other.certs:
            self.add(item)
        self.covered |= other.covered
        self.complete_locations |= other.complete_locations
        self.sources.extend(s for s in other.sources if s not in self.sources)
        if other.schannel_collected:
            self.schannel_collected = True
            self.schannel.update(other.schannel)
        self.collected = self.collected or other.collected
        self.os_build = self.os_build or other.os_build
        self.warnings.extend(other.warnings)
        self.lost.extend(other.lost)
        if not self.computer or (other.named and not self.named):
            self.computer = other.computer
        self.named = self.named or other.named
        self.manifest = self.manifest or other.manifest
        self.dns_host = self.dns_host or other.dns_host
        self.dns_domain = self.dns_domain or other.dns_domain


def is_store_name(name: str) -> bool:
    """A folder name that names a certificate store (for certificate-file collections)."""
    key = name.strip().lower()
    return key in _CANONICAL or key in {v.lower() for v in _CANONICAL.values()}
