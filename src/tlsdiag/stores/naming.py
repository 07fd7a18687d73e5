"""Join a store collection to the computer its event logs name.

The collectors record the NetBIOS name (``%COMPUTERNAME%``, at most 15 characters) and, since the
manifest change, the DNS host name and primary DNS domain beside it. Event records carry the DNS name
in their ``Computer`` field (``LyncFE01.contoso.local``; a workgroup Edge server often only its host
name). By convention Windows keeps the NetBIOS name as the DNS host name cut to 15 characters
(MAX_COMPUTERNAME_LENGTH), in upper case, so ``LYNC2013-FRONTEND01`` becomes ``LYNC2013-FRONTE``
(learn.microsoft.com, Win32 "Computer Names"). This module picks the one computer seen in the logs
that a collection names, or none when the choice would be a guess.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

NETBIOS_LENGTH = 15

JoinRule = Literal["dns-name", "host-name", "host-label", "netbios-label", "none", "ambiguous"]


@dataclass(frozen=True, slots=True)
class RecordedName:
    """The names a collection recorded about its own computer."""

    netbios: str
    dns_host: str = ""
    dns_domain: str = ""

    @property
    def fqdn(self) -> str:
        """The DNS name when both parts were recorded, else the best single name there is."""
        host = self.dns_host or self.netbios
        return f"{host}.{self.dns_domain}" if host and self.dns_domain else host


@dataclass(frozen=True, slots=True)
class Join:
    """Which computer of the logs a collection belongs to, and by which rule."""

    computer: str | None  # the name as the logs spell it; None when no computer (or several) fit
    rule: JoinRule
    candidates: tuple[str, ...] = ()  # the computers that fit equally well when the rule is "ambiguous"


def _label(name: str) -> str:
    return name.split(".", 1)[0]


def _domain(name: str) -> str:
    return name.split(".", 1)[1] if "." in name else ""


def join_computer(recorded: RecordedName, seen: Iterable[str]) -> Join:
    """The computer among ``seen`` (names from event records) that ``recorded`` names.

    Rules, strictest first; the first rule that fits exactly one computer decides, and a rule that
    fits several stops the search (a guess would put one server's store proof beside another's events):
    the full DNS name; a bare host name in the logs equal to the DNS host or NetBIOS name; the DNS host
    label (with the recorded domain, when both sides have one); the NetBIOS name against the host label
    cut to 15 characters.
    """
    names = sorted({s.strip() for s in seen if s and s.strip()}, key=str.casefold)
    fold = str.casefold
    host, netbios, domain = fold(recorded.dns_host), fold(recorded.netbios), fold(recorded.dns_domain)
    rules: list[tuple[JoinRule, list[str]]] = []
    if host and domain:
        rules.append(("dns-name", [n for n in names if fold(n) == f"{host}.{domain}"]))
    rules.append(("host-name", [n for n in names if "." not in n and fold(n) in {host, netbios} - {""}]))
    if host:
        rules.append(("host-label", [n for n in names if fold(_label(n)) == host
                                     and (not domain or not _domain(n) or fold(_domain(n)) == domain)]))
    if netbios:
        rules.append(("netbios-label", [n for n in names
                                        if fold(_label(n))[:NETBIOS_LENGTH] == netbios[:NETBIOS_LENGTH]
                                        and (not domain or not _domain(n) or fold(_domain(n)) == domain)]))
    for rule, found in rules:
        if len(found) == 1:
            return Join(found[0], rule)
        if len(found) > 1:
            return Join(None, "ambiguous", tuple(found))
    return Join(None, "none")
