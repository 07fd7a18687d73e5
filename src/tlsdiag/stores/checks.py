"""The store checks: each finds one kind of certificate-store mistake and says how to fix it.

Every check has a stable id, defined once in ``signatures/checks/<id>.yaml`` with its title, usual
severity, explanation, KB articles, the cause it supports and its static fix steps (the knowledge
base's ``store_checks`` refer to those ids; the loader checks both ends). This module holds only the
logic, and the certificate-specific commands (export, move, remove with the thumbprint).
A check that ran and found nothing yields a ``clean`` finding, so that a scan can
rule a cause out; a check whose stores were not collected yields nothing at all.

Facts behind the checks (sources in docs and ``/work/shared/research``):
- WS2012+ treats non-self-signed certificates in Trusted Root as a misconfiguration
  that breaks client authentication (KB 2795828, KB 2802568, KB 942061).
- The trusted-issuer list of a CertificateRequest is a vector of DER distinguished
  names, each with a 2-byte length (RFC 5246 7.4.4); Schannel's limit is 16 KB
  (KB 933430, 2801679, 2880390). On WS2012+ the list comes from the Client
  Authentication Issuers store when that holds certificates, else from Trusted Root
  ("What's New in TLS/SSL (Schannel SSP)").
- More than 100 Trusted Root certificates: Microsoft OnPremDiag's threshold
  (``MaxNumberOfRootCertificates=100``) and UC Lobby's Test-CertificateStore check #3.
- Duplicate roots with the same subject break Lync PIN sign-in (event 47067,
  OfficeDocs-Support authentication-fails-pin-sign-in).
- SCHANNEL values: ClientAuthTrustMode and SendTrustedIssuerList are the published
  workarounds (KB 2464556, What's New in TLS/SSL); EventLogging default 1 logs
  errors only (KB 260729, KB 933430); EnableSessionTicket=2 is KB 2901554's fix.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from tlsdiag.kb.model import FindingKind, Severity, Step, StoreCheck
from tlsdiag.model import iso_utc
from tlsdiag.stores.certs import Cert
from tlsdiag.stores.model import (
    CLIENT_AUTH_ISSUER,
    ENTERPRISE,
    GROUP_POLICY,
    INTERMEDIATE,
    LOCATION_KEYS,
    LOCATION_TEXT,
    MACHINE,
    PERSONAL,
    PS_STORE,
    TRUSTED_ROOT,
    StoreCert,
    StoreSnapshot,
)

ISSUER_LIST_LIMIT = 16384
ROOT_COUNT_LIMIT = 100
BACKUP = r"C:\tlsdiag-backup"
SCHANNEL_HKLM = r"HKLM\SYSTEM\CurrentControlSet\Control\SecurityProviders\SCHANNEL"

FixStep = Step  # a store finding's fix step is a knowledge-base step: one type, one rendering per medium


def check_metadata() -> Mapping[str, StoreCheck]:
    """The checks' metadata from the knowledge base (signatures/checks/), loaded once per process."""
    global _METADATA
    if _METADATA is None:
        from tlsdiag.kb import load_kb

        _METADATA = load_kb().checks
    return _METADATA


_METADATA: Mapping[str, StoreCheck] | None = None


class _CheckTable(Mapping[str, tuple[str, "str | None"]]):
    """check id -> (title, knowledge-base cause id it supports), read from signatures/checks/."""

    def __getitem__(self, key: str) -> tuple[str, str | None]:
        meta = check_metadata()[key]
        return meta.title, meta.cause

    def __iter__(self) -> Iterator[str]:
        return iter(check_metadata())

    def __len__(self) -> int:
        return len(check_metadata())


CHECKS: Mapping[str, tuple[str, str | None]] = _CheckTable()


def _steps(check: str, variant: str = "") -> list[FixStep]:
    """The static fix steps of a check (or of one variant of its findings), from its YAML file."""
    return [FixStep(s.step, s.command, s.shell) for s in check_metadata()[check].steps(variant)]


@dataclass(frozen=True)
class CertRef:
    """The certificate a finding is about, as an administrator needs to find it."""

    subject: str
    issuer: str
    thumbprint: str
    location: str
    store: str
    not_before: datetime
    not_after: datetime
    serial: str
    friendly_name: str
    has_private_key: bool | None
    source: str
    note: str = ""  # how the certificate had to be read (a strict parser refuses it), when it had to
    written: datetime | None = None  # its registry key's last write time (hives only): added or changed then

    @classmethod
    def of(cls, sc: StoreCert) -> CertRef:
        c = sc.cert
        return cls(c.subject, c.issuer, c.thumbprint, sc.location, sc.store, c.not_before, c.not_after, c.serial,
                   sc.friendly_name, sc.has_private_key, sc.source, c.note, sc.written)

    @property
    def where(self) -> str:
        return f"{LOCATION_TEXT.get(self.location, self.location)} {self.store}"

    def to_dict(self) -> dict[str, Any]:
        return {"subject": self.subject, "issuer": self.issuer, "thumbprint": self.thumbprint,
                "location": self.location, "store": self.store, "not_before": iso_utc(self.not_before),
                "not_after": iso_utc(self.not_after), "serial": self.serial, "friendly_name": self.friendly_name,
                "has_private_key": self.has_private_key, "source": self.source, "note": self.note or None,
                "key_written": iso_utc(self.written) if self.written else None}


@dataclass
class Finding:
    """One result of a check: a problem (with the certificate and its fix), a note, or a clean bill.

    Problems of severity "info" are facts tied to a cause (a setting that hides its evidence);
    notes are context that supports no cause (an expired root); neither changes the exit status."""

    check: str
    kind: FindingKind  # "note": worth knowing, proves nothing; "clean": the check ran and found nothing
    severity: Severity
    why: str
    computer: str = ""
    cause: str | None = None
    cert: CertRef | None = None
    fix: list[FixStep] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def title(self) -> str:
        return CHECKS[self.check][0]

    @property
    def explanation(self) -> str:
        """What this kind of finding means (signatures/checks/<check>.yaml)."""
        return check_metadata()[self.check].explanation

    @property
    def kb(self) -> tuple[int, ...]:
        return check_metadata()[self.check].kb

    @property
    def is_problem(self) -> bool:
        """Problems that make ``tlsdiag stores`` exit 1 (info notes do not)."""
        return self.kind == "problem" and self.severity in ("error", "warning")

    def to_dict(self) -> dict[str, Any]:
        return {"check": self.check, "kind": self.kind, "severity": self.severity, "title": self.title,
                "why": self.why, "computer": self.computer, "cause": self.cause,
                "certificate": self.cert.to_dict() if self.cert else None,
                "fix": [s.to_dict() for s in self.fix], "details": self.details}


# ---------------------------------------------------------------- fix commands

def _ps_path(sc: StoreCert | CertRef, store: str | None = None) -> str:
    name = store or sc.store
    return rf"Cert:\LocalMachine\{PS_STORE.get(name, name)}\{sc.thumbprint}"


def _export_lines(sc: StoreCert, *, with_key: bool = False) -> list[str]:
    """PowerShell lines that create the backup folder and export the certificate, stopping on any error."""
    lines = ["$ErrorActionPreference = 'Stop'", rf"New-Item -ItemType Directory -Force -Path {BACKUP} | Out-Null"]
    if with_key:
        lines.append(rf"Export-PfxCertificate -Cert {_ps_path(sc)} -FilePath {BACKUP}\{sc.thumbprint}.pfx "
                     "-Password (Read-Host -AsSecureString -Prompt 'PFX password') | Out-Null")
    lines.append(rf"Export-Certificate -Cert {_ps_path(sc)} -FilePath {BACKUP}\{sc.thumbprint}.cer | Out-Null")
    return lines


def _export(sc: StoreCert, *, with_key: bool = False) -> list[FixStep]:
    what = "with its private key (PFX, password-protected) and as .cer" if with_key else "as .cer"
    return [FixStep(f"Export the certificate first, {what} (the block stops if the backup fails)",
                    "\n".join(_export_lines(sc, with_key=with_key)))]


_AD_CONTAINERS = {"ROOT": "Certification Authorities", "CA": "AIA"}  # enterprise store -> AD container
_DSPUBLISH = {"CA": "SubCA", "ROOT": "RootCA"}  # destination store -> certutil -dspublish type


def _policy_steps(sc: StoreCert, action: str, dest: str | None = None) -> list[FixStep]:
    """A certificate delivered by group policy or Active Directory comes back after a local change."""
    if sc.location == GROUP_POLICY:
        return [
            FixStep(f"This certificate is delivered by group policy ({LOCATION_KEYS[GROUP_POLICY]}\\{sc.store}); "
                    "a local move or delete comes back at the next policy refresh. Find the GPO that sets it",
                    rf"gpresult /scope computer /h {BACKUP}\gpresult.html", "cmd"),
            FixStep(f"In that GPO (Computer Configuration > Policies > Windows Settings > Security Settings > "
                    f"Public Key Policies) {action}, then refresh policy", "gpupdate /target:computer /force", "cmd"),
            FixStep("Verify the certificate is gone from this store", f"Test-Path {_ps_path(sc)}"),
        ]
    steps = [FixStep("This certificate comes from Active Directory (enterprise store, "
                     f"{LOCATION_KEYS[ENTERPRISE]}\\{sc.store}); a local change comes back at the next refresh. "
                     f"Fix it in Active Directory: {action}")]
    if dest in _DSPUBLISH:
        steps.append(FixStep(f"Publish it where it belongs ({_DSPUBLISH[dest]} container)",
                             rf"certutil -dspublish -f {BACKUP}\{sc.thumbprint}.cer {_DSPUBLISH[dest]}", "cmd"))
    container = _AD_CONTAINERS.get(sc.store)
    if container:
        steps.append(FixStep(f"Remove it from the {container} container (certutil lists the certificates there and "
                             "asks which one to delete)",
                             f'certutil -viewdelstore "ldap:///CN={container},CN=Public Key Services,CN=Services,'
                             'CN=Configuration,<forest root DN>?cACertificate?one?objectClass=certificationAuthority"',
                             "cmd"))
    steps.append(FixStep("Refresh the enterprise stores on this server, then verify", "certutil -pulse", "cmd"))
    return steps


def _move(sc: StoreCert, dest: str, *, with_key: bool = False, why_dest: str = "") -> list[FixStep]:
    steps = _export(sc, with_key=with_key)
    if sc.location != MACHINE:
        label = {"CA": "Intermediate Certification Authorities", "MY": "Personal",
                 "ROOT": "Trusted Root Certification Authorities"}.get(dest, dest)
        return steps + _policy_steps(sc, f"remove it from this store and add it under {label}", dest)
    move = rf"Move-Item -Path {_ps_path(sc)} -Destination Cert:\LocalMachine\{PS_STORE.get(dest, dest)}"
    steps = [FixStep(f"Export it, then move it to {dest}{why_dest}; the move runs only after the export succeeded "
                     "(works in Windows Server 2012 PowerShell)",
                     "\n".join([*_export_lines(sc, with_key=with_key), move]))]
    steps.append(FixStep("Verify", f"Test-Path {_ps_path(sc)}; Test-Path {_ps_path(sc, dest)}"))
    return steps


def _remove(sc: StoreCert, *, with_key: bool = False) -> list[FixStep]:
    steps = _export(sc, with_key=with_key)
    if sc.location != MACHINE:
        return steps + _policy_steps(sc, "remove it from this store")
    steps = [FixStep("Export it, then remove it; the removal runs only after the export succeeded",
                     "\n".join([*_export_lines(sc, with_key=with_key), f"Remove-Item -Path {_ps_path(sc)}"]))]
    steps.append(FixStep("Verify it is gone", f"Test-Path {_ps_path(sc)}"))
    return steps


# ---------------------------------------------------------------- helpers


def _problem(check: str, severity: Severity, why: str, sc: StoreCert | None = None, fix: list[FixStep] | None = None,
             cause: str | bool | None = True, **details: Any) -> Finding:
    cause_id = CHECKS[check][1] if cause is True else (cause or None)
    return Finding(check, "problem", severity, why, cause=cause_id, cert=CertRef.of(sc) if sc else None,
                   fix=fix or [], details=details)


def _note(check: str, why: str, sc: StoreCert | None = None, fix: list[FixStep] | None = None,
          **details: Any) -> Finding:
    return Finding(check, "note", "info", why, cert=CertRef.of(sc) if sc else None, fix=fix or [], details=details)


def _clean(check: str, why: str, **details: Any) -> Finding:
    return Finding(check, "clean", "info", why, cause=CHECKS[check][1], details=details)


def _unique(certs: list[StoreCert]) -> list[StoreCert]:
    seen: set[str] = set()
    out = []
    for sc in certs:
        if sc.thumbprint not in seen:
            seen.add(sc.thumbprint)
            out.append(sc)
    return out


@dataclass
class IssuerList:
    """The trusted-issuer list Schannel would build, and its encoded size."""

    source: str  # "ClientAuthIssuer" | "Trusted Root"
    certs: list[StoreCert]
    size: int  # sum over entries of 2 + len(DER subject)
    count: int
    non_self_signed: int  # in Trusted Root: how many are CA issuers rather than roots
    mixed_size: int | None  # size of the CA-issuer-only list WS2012+ sends when Root is mixed

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "size": self.size, "count": self.count, "limit": ISSUER_LIST_LIMIT,
                "non_self_signed_in_root": self.non_self_signed, "mixed_root_list_size": self.mixed_size}


def encoded_size(certs: list[StoreCert]) -> int:
    """Bytes of the DistinguishedName vector entries: 2-byte length + DER subject each."""
    return sum(2 + len(sc.cert.subject_der) for sc in certs)


def issuer_list(snapshot: StoreSnapshot) -> IssuerList | None:
    """Client Authentication Issuers when it holds certificates, else Trusted Root (WS2012+).

    Identical certificates in several physical stores count once. When Trusted Root mixes
    roots and CA issuers, WS2012+ sends only the CA issuers by default; that smaller list is
    reported as ``mixed_size``, but the limit is checked against the whole store, because
    KB 2880390 describes the failure from the Trusted Root store's size whatever
    SendTrustedIssuerList says, and the mix itself is the root-not-self-signed finding."""
    cai = _unique(snapshot.logical(CLIENT_AUTH_ISSUER))
    roots = _unique(snapshot.logical(TRUSTED_ROOT))
    if cai:
        return IssuerList("ClientAuthIssuer", cai, encoded_size(cai), len(cai), 0, None)
    if not snapshot.has_store(TRUSTED_ROOT):
        return None
    issuers = [sc for sc in roots if not sc.cert.self_signed.value]
    mixed = encoded_size(issuers) if issuers and len(issuers) < len(roots) else None
    return IssuerList("Trusted Root", roots, encoded_size(roots), len(roots), len(issuers), mixed)


# ---------------------------------------------------------------- chain building


@dataclass
class Chain:
    path: list[StoreCert]
    complete: bool
    reason: str = ""


def build_chain(leaf: StoreCert, pool: list[StoreCert], trusted: set[str], at: datetime) -> Chain:
    """Walk issuer links (encoded names, then the issuer's key verifies the signature) up to a
    self-signed certificate in Trusted Root, preferring trusted and time-valid issuers."""
    path = [leaf]
    seen = {leaf.thumbprint}
    current = leaf
    for _ in range(12):
        if current is not leaf and not (current.cert.not_before <= at <= current.cert.not_after):
            return Chain(path, False, f"the chain passes through {current.cert.subject} ({current.thumbprint}), "
                                      f"valid only {iso_utc(current.cert.not_before)} to "
                                      f"{iso_utc(current.cert.not_after)}")
        if current.cert.self_signed.value:
            if current.thumbprint in trusted:
                return Chain(path, True)
            return Chain(path, False, f"the chain ends at the self-signed certificate {current.cert.subject} "
                                      f"({current.thumbprint}), which is not in Trusted Root")
        candidates = [sc for sc in pool if sc.thumbprint not in seen and current.cert.issuer_der == sc.cert.subject_der
                      and sc.cert.issued(current.cert) is not False]
        if not candidates:
            return Chain(path, False, f"no certificate of the issuer {current.cert.issuer} is in the "
                                      "Intermediate or Trusted Root stores")
        candidates.sort(key=lambda sc: (sc.thumbprint not in trusted,
                                        not (sc.cert.not_before <= at <= sc.cert.not_after), sc.thumbprint))
        current = candidates[0]
        path.append(current)
        seen.add(current.thumbprint)
    return Chain(path, False, "chain longer than 12 certificates")


# ---------------------------------------------------------------- the checks


def run_checks(snapshot: StoreSnapshot, reference_time: datetime | None = None) -> list[Finding]:
    """All checks on one snapshot; ``reference_time`` defaults to the collection time, else now."""
    at = reference_time or snapshot.collected or datetime.now(timezone.utc)
    if at.tzinfo is None:
        at = at.replace(tzinfo=timezone.utc)
    findings: list[Finding] = []
    for check in _CHECK_FUNCS:
        findings.extend(check(snapshot, at))
    for finding in findings:
        finding.computer = snapshot.computer
    return findings


def _root_not_self_signed(s: StoreSnapshot, at: datetime) -> list[Finding]:
    if not s.has_store(TRUSTED_ROOT):
        return []
    roots = s.logical(TRUSTED_ROOT)
    out = []
    for sc in roots:
        verdict = sc.cert.self_signed
        if verdict.value:
            continue
        if verdict.how == "names differ":
            reason = "its issuer differs from its subject"
        else:
            reason = ("its issuer name equals its subject, but its own key does not verify its signature "
                      "(a cross-certificate signed by another key); string comparison would miss it")
        if not sc.cert.is_end_entity:
            belongs = "so it belongs in Intermediate Certification Authorities"
            fix = _move(sc, "CA", with_key=bool(sc.has_private_key))
        elif sc.has_private_key:
            belongs = "and as an end-entity certificate with a private key it belongs in Personal"
            fix = _move(sc, "MY", with_key=True, why_dest=" (Personal: an end-entity certificate with its key)")
        else:
            belongs = "and as an end-entity certificate it belongs in no trust store"
            fix = _remove(sc)
        why = (f"{sc.cert.subject} in {sc.where} is not self-signed: {reason}; on Windows Server 2012 and later a "
               "non-self-signed certificate in Trusted Root breaks TLS client authentication (KB 2795828, "
               f"KB 2802568), {belongs}.")
        if sc.store == "AuthRoot" and sc.location == MACHINE:
            fix.insert(0, FixStep("AuthRoot (third-party roots) is filled by automatic root update; a CA "
                                  "certificate there was put there by hand or a tool. KB 2801679's way of clearing "
                                  "AuthRoot (deleting HKLM\\SOFTWARE\\Microsoft\\SystemCertificates\\AuthRoot\\"
                                  "Certificates, which automatic root update refills with genuine roots) removes it too"))
        out.append(_problem("root-not-self-signed", "error", why, sc, fix, decided_by=verdict.how))
    if not out:
        out.append(_clean("root-not-self-signed", f"all {len(_unique(roots))} Trusted Root certificates are "
                                                  "self-signed (signature verified with their own key)",
                          checked=len(_unique(roots))))
    return out


ADFS_TRUSTED_DEVICES = "AdfsTrustedDevices"


def _adfs_trusted_devices(s: StoreSnapshot, at: datetime) -> list[Finding]:
    """AD FS's HTTPS binding sends the CTL of this store (proxy trust, device certificates); it may hold only
    self-signed certificates (Microsoft's AD FS troubleshooting, research notes S26)."""
    if (MACHINE, ADFS_TRUSTED_DEVICES) not in s.covered:
        return []
    certs = s.physical(MACHINE, ADFS_TRUSTED_DEVICES)
    out = []
    for sc in certs:
        if sc.cert.self_signed.value:
            continue
        why = (f"{sc.cert.subject} in {sc.where} is not self-signed; a CA-issued certificate in the AD FS "
               "AdfsTrustedDevices store makes the CTL built from it contain only that certificate, and the Web "
               "Application Proxies' client-certificate trust to AD FS fails.")
        out.append(_problem("adfs-trusted-devices-not-self-signed", "error", why, sc, _remove(sc)))
    if not out:
        out.append(_clean("adfs-trusted-devices-not-self-signed", f"all {len(certs)} AdfsTrustedDevices "
                                                                  "certificates are self-signed", checked=len(certs)))
    return out


def _unknown_keys(every: list[StoreCert], known: list[StoreCert]) -> str:
    """The part of a clean line that says how many certificates it could not check (the export does not
    record whether they have a key, as with certificate files), so the line claims no more than it counted."""
    unknown = len(every) - len(known)
    return f"; {unknown} more whose export does not say whether they have a key" if unknown else ""


def _root_has_private_key(s: StoreSnapshot, at: datetime) -> list[Finding]:
    roots = s.logical(TRUSTED_ROOT)
    known = [sc for sc in roots if sc.has_private_key is not None]
    if not s.has_store(TRUSTED_ROOT) or (roots and not known):
        return []
    out = []
    for sc in known:
        if sc.has_private_key:
            why = (f"{sc.cert.subject} in {sc.where} has a private key: a trusted root store holds only "
                   "certificates this computer trusts, never its own keys (typically a server or personal "
                   "certificate imported into the wrong store).")
            out.append(_problem("root-has-private-key", "warning", why, sc,
                                _move(sc, "MY", with_key=True, why_dest=" (Personal, where certificates with keys "
                                                                         "belong)")))
    if not out:
        out.append(_clean("root-has-private-key", f"no Trusted Root certificate has a private key ({len(known)} "
                                                  f"checked{_unknown_keys(roots, known)})", checked=len(known)))
    return out


def _root_end_entity(s: StoreSnapshot, at: datetime) -> list[Finding]:
    if not s.has_store(TRUSTED_ROOT):
        return []
    roots = s.logical(TRUSTED_ROOT)
    out = []
    for sc in roots:
        if sc.cert.is_end_entity:
            why = (f"{sc.cert.subject} in {sc.where} is an end-entity certificate (basicConstraints does not "
                   "make it a CA), so it cannot anchor a chain and does not belong in Trusted Root.")
            fix = (_move(sc, "MY", with_key=True, why_dest=" (it has a private key: it is this server's own)")
                   if sc.has_private_key else _remove(sc))
            out.append(_problem("root-end-entity", "warning", why, sc, fix,
                                cause=None if sc.cert.self_signed.value else "root-store-non-self-signed"))
    if not out:
        out.append(_clean("root-end-entity", f"every Trusted Root certificate is a CA certificate "
                                             f"({len(_unique(roots))} checked)", checked=len(_unique(roots))))
    return out


def _ca_self_signed(s: StoreSnapshot, at: datetime) -> list[Finding]:
    if not s.has_store(INTERMEDIATE):
        return []
    cas = s.logical(INTERMEDIATE)
    out = []
    for sc in cas:
        if sc.cert.self_signed.value:
            why = (f"{sc.cert.subject} in {sc.where} is a self-signed root in the Intermediate store: it is not "
                   "trusted from there, and a chain that needs it as its root stays untrusted.")
            fix = []
            if sc.location == MACHINE:
                export = "\n".join(_export_lines(sc))
                fix += [FixStep("If this root is one the server should trust, export it and move it to Trusted Root",
                                export + rf"\nMove-Item -Path {_ps_path(sc)} -Destination Cert:\LocalMachine\Root"),
                        FixStep("Otherwise export it and remove it", export + f"\nRemove-Item -Path {_ps_path(sc)}")]
            else:
                fix = _export(sc)
                fix += _policy_steps(sc, "remove it from Intermediate Certification Authorities (and add it under "
                                         "Trusted Root Certification Authorities if it should be trusted)")
            out.append(_problem("ca-self-signed", "warning", why, sc, fix))
    if not out:
        out.append(_clean("ca-self-signed", f"no self-signed certificate in the Intermediate store ({len(cas)} "
                                            "checked)", checked=len(_unique(cas))))
    return out


def _ca_has_private_key(s: StoreSnapshot, at: datetime) -> list[Finding]:
    cas = s.logical(INTERMEDIATE)
    known = [sc for sc in cas if sc.has_private_key is not None]
    if not s.has_store(INTERMEDIATE) or (cas and not known):
        return []
    out = []
    for sc in known:
        if sc.has_private_key:
            why = (f"{sc.cert.subject} in {sc.where} has a private key: the Intermediate store holds other CAs' "
                   "certificates; a certificate with this computer's key belongs in Personal.")
            out.append(_problem("ca-has-private-key", "warning", why, sc,
                                _move(sc, "MY", with_key=True, why_dest=" (Personal)")))
    if not out:
        out.append(_clean("ca-has-private-key", f"no Intermediate certificate has a private key ({len(known)} "
                                                f"checked{_unknown_keys(cas, known)})", checked=len(known)))
    return out


def _my_without_private_key(s: StoreSnapshot, at: datetime) -> list[Finding]:
    mine = s.logical(PERSONAL)
    known = [sc for sc in mine if sc.has_private_key is not None]
    if not s.has_store(PERSONAL) or (mine and not known):
        return []
    out = []
    for sc in known:
        if sc.has_private_key:
            continue
        why = (f"{sc.cert.subject} in {sc.where} has no private key associated, so no service can use it as its "
               "certificate; if it is the one a service is configured with, TLS fails.")
        fix = [
            FixStep("If the key still exists on this server, back up the Personal store and restore the "
                    "association (the repair runs only if the backup was written)",
                    rf"if not exist {BACKUP} mkdir {BACKUP}" + "\n"
                    + rf"reg export HKLM\SOFTWARE\Microsoft\SystemCertificates\MY {BACKUP}\machine-my-store.reg /y"
                    + f" && certutil -repairstore my {sc.thumbprint}", "cmd"),
            FixStep("Otherwise re-import the certificate with its key (PFX), or export and remove this copy if no "
                    "service uses it", "\n".join([*_export_lines(sc), f"Remove-Item -Path {_ps_path(sc)}"])),
        ]
        out.append(_problem("my-without-private-key", "warning", why, sc, fix))
    if not out:
        out.append(_clean("my-without-private-key", f"every Personal certificate has a private key ({len(known)} "
                                                    f"checked{_unknown_keys(mine, known)})", checked=len(known)))
    return out


def _issuer_list_too_large(s: StoreSnapshot, at: datetime) -> list[Finding]:
    lst = issuer_list(s)
    if lst is None:
        return []
    details = lst.to_dict()
    if lst.size <= ISSUER_LIST_LIMIT:
        return [_clean("issuer-list-too-large", f"the trusted-issuer list from {lst.source} is {lst.size} bytes "
                                                f"for {lst.count} issuers, within the {ISSUER_LIST_LIMIT}-byte "
                                                "limit", **details)]
    why = (f"The trusted-issuer list Schannel builds from {lst.source} is {lst.size} bytes for {lst.count} issuers, "
           f"over the {ISSUER_LIST_LIMIT}-byte limit; Schannel truncates it (event 36885, a warning that is not "
           "logged by default) and client-certificate authentication fails (KB 2801679, KB 2880390).")
    if lst.source == "ClientAuthIssuer":
        fix = _steps("issuer-list-too-large", "ClientAuthIssuer")
    else:
        auth = [sc for sc in lst.certs if sc.store == "AuthRoot"]
        fix = (_steps("issuer-list-too-large", "AuthRoot") if auth else []) + _steps("issuer-list-too-large",
                                                                                     "Trusted Root")
    return [_problem("issuer-list-too-large", "error", why, None, fix, **details)]


def _root_count_high(s: StoreSnapshot, at: datetime) -> list[Finding]:
    if not s.has_store(TRUSTED_ROOT):
        return []
    roots = _unique(s.logical(TRUSTED_ROOT))
    by_store: dict[str, int] = defaultdict(int)
    for sc in roots:
        by_store[f"{sc.location} {sc.store}"] += 1
    if len(roots) <= ROOT_COUNT_LIMIT:
        return [_clean("root-count-high", f"{len(roots)} certificates in Trusted Root (threshold "
                                          f"{ROOT_COUNT_LIMIT})", count=len(roots), by_store=dict(by_store))]
    why = (f"Trusted Root holds {len(roots)} certificates, more than {ROOT_COUNT_LIMIT} (Microsoft's OnPremDiag "
           "threshold for Skype for Business servers); a long root list feeds an oversized trusted-issuer list.")
    fix = _steps("root-count-high")
    return [_problem("root-count-high", "warning", why, None, fix, count=len(roots), by_store=dict(by_store))]


def _anchors(s: StoreSnapshot, at: datetime) -> dict[str, StoreCert]:
    """Trusted Root certificates that anchor the chain of a Personal certificate."""
    pool = s.logical(PERSONAL + INTERMEDIATE + TRUSTED_ROOT)
    trusted = {sc.thumbprint for sc in s.logical(TRUSTED_ROOT)}
    anchors = {}
    for leaf in s.logical(PERSONAL):
        if leaf.cert.self_signed.value:
            continue
        chain = build_chain(leaf, pool, trusted, at)
        if chain.complete:
            anchors[chain.path[-1].thumbprint] = chain.path[-1]
    return anchors


def _root_duplicate_subject(s: StoreSnapshot, at: datetime) -> list[Finding]:
    if not s.has_store(TRUSTED_ROOT):
        return []
    groups: dict[bytes, list[StoreCert]] = defaultdict(list)
    for sc in _unique(s.logical(TRUSTED_ROOT)):
        groups[sc.cert.subject_der].append(sc)
    dups = {k: v for k, v in groups.items() if len(v) > 1}
    if not dups:
        return [_clean("root-duplicate-subject", f"no two Trusted Root certificates share a subject "
                                                 f"({len(groups)} subjects)", subjects=len(groups))]
    anchors = _anchors(s, at)
    out = []
    for members in dups.values():
        used = [sc for sc in members if sc.thumbprint in anchors]
        others = [sc.thumbprint for sc in members]
        for sc in members:
            if used and sc in used:
                continue
            keep = (f" The one that anchors this server's Personal certificate chain is {used[0].thumbprint}; "
                    "keep that one." if used else
                    " Keep the one that issued the server certificate (check with certutil -verify on it).")
            why = (f"{len(members)} different certificates in Trusted Root have the subject {sc.cert.subject}; "
                   "duplicate roots that do not match the server certificate's chain break Lync PIN sign-in "
                   f"(event 47067).{keep}")
            out.append(_problem("root-duplicate-subject", "warning", why, sc, _remove(sc), same_subject=others,
                                anchor=used[0].thumbprint if used else None))
    return out


def _validity(s: StoreSnapshot, at: datetime) -> list[Finding]:
    """Expired / not yet valid. In Personal these break the service (problems); elsewhere they are
    notes: an expired CA or root matters only inside a chain, which server-chain-incomplete checks."""
    if not s.certs and not s.covered:
        return []
    out = []
    for sc in s.certs:
        c = sc.cert
        personal = sc.store == "MY"
        if c.not_after < at:
            if personal:
                why = (f"{c.subject} in {sc.where} expired on {iso_utc(c.not_after)}; a service configured with it "
                       "fails TLS.")
                out.append(_problem("cert-expired", "error", why, sc,
                                    [FixStep("Renew the certificate and assign the new one to the service; then "
                                             "export and remove the expired one (the removal runs only after the "
                                             "export succeeded)",
                                             "\n".join([*_export_lines(sc, with_key=bool(sc.has_private_key)),
                                                        f"Remove-Item -Path {_ps_path(sc)}"]))],
                                    cause="frontend-certificate-invalid"))
            else:
                why = (f"{c.subject} in {sc.where} expired on {iso_utc(c.not_after)}; it anchors or completes no new "
                       "chain and only clutters the store.")
                out.append(_note("cert-expired", why, sc, _remove(sc, with_key=bool(sc.has_private_key))))
        elif c.not_before > at:
            why = (f"{c.subject} in {sc.where} is not valid until {iso_utc(c.not_before)} (reference time "
                   f"{iso_utc(at)}); check the server clock, or wait before relying on it.")
            fix = [FixStep("Check the server's clock and time source", "w32tm /query /status", "cmd")]
            if personal:
                out.append(_problem("cert-not-yet-valid", "error", why, sc, fix, cause="frontend-certificate-invalid"))
            else:
                out.append(_note("cert-not-yet-valid", why, sc, fix))
    n = len(_unique(s.certs))
    in_personal = len(_unique([sc for sc in s.certs if sc.store == "MY"]))
    for check, text, other in (("cert-expired", "no expired certificate in Personal", "expired"),
                               ("cert-not-yet-valid", "no Personal certificate that is not yet valid",
                                "not yet valid")):
        if not any(f.check == check and f.kind == "problem" for f in out):
            notes = sum(1 for f in out if f.check == check)
            extra = f", {notes} {other} one(s) there noted" if notes else ""
            out.append(_clean(check, f"{text} ({in_personal} Personal certificate(s) checked at {iso_utc(at)}; "
                                     f"{n} in all stores{extra})",
                              checked=in_personal, all_stores=n, reference_time=iso_utc(at)))
    return out


def _server_chain_incomplete(s: StoreSnapshot, at: datetime) -> list[Finding]:
    if not s.has_store(PERSONAL) or not s.has_store(TRUSTED_ROOT):
        return []
    pool = s.logical(PERSONAL + INTERMEDIATE + TRUSTED_ROOT)
    trusted = {sc.thumbprint for sc in s.logical(TRUSTED_ROOT)}
    out = []
    checked = 0
    for leaf in s.logical(PERSONAL):
        if leaf.cert.self_signed.value or not leaf.cert.server_auth or leaf.cert.basic_ca:
            continue
        checked += 1
        chain = build_chain(leaf, pool, trusted, at)
        if chain.complete:
            continue
        last = chain.path[-1]
        why = (f"The chain of {leaf.cert.subject} ({leaf.where}) cannot be built from the stores present: "
               f"{chain.reason}. A server sends its intermediates in the handshake only when they are in the "
               "Intermediate store, and the root must be in Trusted Root.")
        if last.cert.self_signed.value:
            fix = ([FixStep("Move the root to Trusted Root if it is one you trust (exported first)",
                            "\n".join([*_export_lines(last),
                                       rf"Move-Item -Path {_ps_path(last)} -Destination Cert:\LocalMachine\Root"]))]
                   if last.location == MACHINE and last.store == "CA" else
                   [FixStep("Import the issuing root into Trusted Root",
                            r"Import-Certificate -FilePath <root>.cer -CertStoreLocation Cert:\LocalMachine\Root")])
        else:
            fix = [FixStep(f"Get the certificate of the issuer {last.cert.issuer} from its CA and import it into "
                           "the Intermediate store",
                           r"Import-Certificate -FilePath <intermediate>.cer -CertStoreLocation Cert:\LocalMachine\CA"),
                   FixStep("Verify the chain", f"certutil -verifystore my {leaf.thumbprint}", "cmd")]
        out.append(_problem("server-chain-incomplete", "error" if leaf.has_private_key else "warning", why, leaf,
                            fix, chain=[sc.thumbprint for sc in chain.path]))
    if not out:
        out.append(_clean("server-chain-incomplete", f"every Personal server certificate chains to Trusted Root "
                                                     f"({checked} checked)", checked=checked))
    return out


def _schannel_workaround(s: StoreSnapshot, at: datetime) -> list[Finding]:
    """ClientAuthTrustMode and SendTrustedIssuerList. Microsoft's OnPremDiag recommends ClientAuthTrustMode=2
    and SendTrustedIssuerList=0 is the 2012 default, so those are facts (info), not problems."""
    if not s.schannel_collected:
        return []
    out = []
    trust = s.schannel.get("ClientAuthTrustMode")
    if trust is not None:
        modes: dict[int | None, str] = {0: "Machine Trust (the default)", 1: "Exclusive Root Trust",
                                        2: "Exclusive CA Trust"}
        meaning = modes.get(_int(trust), "an unknown mode")
        why = (f"SCHANNEL ClientAuthTrustMode is set to {trust} ({meaning}). Microsoft's OnPremDiag for Skype for "
               "Business Server recommends 2; the seed write-up calls it a crutch that hides non-self-signed "
               "certificates in Trusted Root. Either way the stores still need fixing, and the value must not be "
               "removed without a test window.")
        out.append(_problem("schannel-workaround-in-place", "info", why, None,
                            _steps("schannel-workaround-in-place", "ClientAuthTrustMode"),
                            cause="root-store-non-self-signed", value="ClientAuthTrustMode", setting=trust))
    send = s.schannel.get("SendTrustedIssuerList")
    if send is not None:
        if _int(send) == 0:
            why = ("SCHANNEL SendTrustedIssuerList is set to 0: the trusted-issuer list is not sent, which is "
                   "already the Windows Server 2012 default (and the KB 2464556 workaround for older Windows); "
                   "clients must pick a certificate without a hint.")
            out.append(_problem("schannel-workaround-in-place", "info", why, None, [],
                                cause="trusted-issuer-list-too-large", value="SendTrustedIssuerList", setting=send))
        else:
            why = (f"SCHANNEL SendTrustedIssuerList is set to {send}: the server sends its trusted-issuer list, which "
                   "makes the list's size and content matter (IIS answers 403.7 when the list lacks the client's "
                   "root, KB 2802568).")
            out.append(_problem("schannel-workaround-in-place", "warning", why, None,
                                _steps("schannel-workaround-in-place", "SendTrustedIssuerList"),
                                cause="trusted-issuer-list-too-large", value="SendTrustedIssuerList", setting=send))
    if not out:
        out.append(_clean("schannel-workaround-in-place", "neither ClientAuthTrustMode nor SendTrustedIssuerList "
                                                          "is set"))
    return out


def _schannel_logging(s: StoreSnapshot, at: datetime) -> list[Finding]:
    if not s.schannel_collected:
        return []
    raw = s.schannel.get("EventLogging")
    value = 1 if raw is None else _int(raw)
    if value is not None and value & 0x2:
        return [_clean("schannel-warnings-not-logged", f"SCHANNEL EventLogging is {value}: warnings are logged, so "
                                                       "a missing 36885 is meaningful", value=value)]
    shown = "absent (default 1, errors only)" if raw is None else f"{raw}"
    why = (f"SCHANNEL EventLogging is {shown}: Schannel warnings such as 36885 (issuer list truncated) are not "
           "logged, so their absence from the System log proves nothing (KB 260729, KB 933430).")
    return [_problem("schannel-warnings-not-logged", "info", why, None, _steps("schannel-warnings-not-logged"),
                     value=raw)]


def _session_ticket(s: StoreSnapshot, at: datetime) -> list[Finding]:
    if not s.schannel_collected:
        return []
    raw = s.schannel.get("EnableSessionTicket")
    if raw is not None and _int(raw) == 2:
        return [_clean("session-ticket-enabled", "SCHANNEL EnableSessionTicket is 2 (session tickets disabled, "
                                                 "KB 2901554's setting)", value=raw)]
    shown = "absent (tickets enabled)" if raw is None else f"{raw}"
    build = s.os_build
    why = (f"SCHANNEL EnableSessionTicket is {shown}; on Windows Server 2012 R2 Lync Server 2013 front ends fail "
           "on port 444 (events 32042, 61045) until it is 2 (KB 2901554)"
           + ("; this server is Windows Server 2012 R2 (build 9600)." if build == 9600 else
              "; the export does not say the Windows build, and this matters only on 2012 R2." if build is None
              else f"; this server is build {build}, not Windows Server 2012 R2, so it does not apply."))
    fix = _steps("session-ticket-enabled")
    if build is not None and build != 9600:
        return [_note("session-ticket-enabled", why, None, [], value=raw, os_build=build)]
    return [_problem("session-ticket-enabled", "warning" if build == 9600 else "info", why, None, fix, value=raw,
                     os_build=build)]


MD5_RSA = "1.2.840.113549.1.1.4"
SHA512_SIGNATURES = {"1.2.840.113549.1.1.13": "sha512RSA", "1.2.840.10045.4.3.4": "sha512ECDSA"}
SHA512_AFFECTED_BUILDS = (7600, 7601, 9200, 9600)  # 2008 R2, 2012, 2012 R2 (Microsoft PFE article)


def _chain_signature_algorithm(s: StoreSnapshot, at: datetime) -> list[Finding]:
    """Personal server certificates whose chain is signed with MD5 (or SHA512 on 2008 R2 / 2012 / 2012 R2)."""
    if not s.has_store(PERSONAL) or not s.has_store(TRUSTED_ROOT):
        return []
    pool = s.logical(PERSONAL + INTERMEDIATE + TRUSTED_ROOT)
    trusted = {sc.thumbprint for sc in s.logical(TRUSTED_ROOT)}
    build = s.os_build
    sha512_matters = build is None or build in SHA512_AFFECTED_BUILDS
    out = []
    checked = 0
    for leaf in _unique(s.logical(PERSONAL)):
        if not leaf.cert.server_auth or leaf.cert.basic_ca:
            continue
        checked += 1
        path = build_chain(leaf, pool, trusted, at).path
        bad = []
        for sc in path:
            oid = sc.cert.x509.signature_algorithm_oid.dotted_string
            if oid == MD5_RSA:
                bad.append((sc, "md5RSA"))
            elif oid in SHA512_SIGNATURES and sha512_matters:
                bad.append((sc, SHA512_SIGNATURES[oid]))
        if not bad:
            continue
        listed = "; ".join(f"{sc.cert.subject} ({sc.thumbprint}) is signed with {name}" for sc, name in bad)
        where = ("" if build in SHA512_AFFECTED_BUILDS or all(n == "md5RSA" for _, n in bad) else
                 " (the export does not say the Windows build; SHA512 matters on 2008 R2, 2012 and 2012 R2)")
        why = (f"The chain of {leaf.cert.subject} ({leaf.where}): {listed}{where}. Schannel could not use such "
               "chains under TLS 1.2 on the Lync / Skype for Business servers on record (36874, 36888 alert 40).")
        out.append(_problem("chain-signature-algorithm", "warning", why, leaf, _steps("chain-signature-algorithm"),
                            chain=[sc.thumbprint for sc in path], algorithms=sorted({n for _, n in bad})))
    if not out:
        out.append(_clean("chain-signature-algorithm", f"no MD5{' or SHA512' if sha512_matters else ''} signature in "
                                                       f"the chains of the Personal server certificates ({checked} "
                                                       "checked)", checked=checked))
    return out


def _int(value: object) -> int | None:
    if isinstance(value, int):
        return value
    try:
        return int(str(value), 0)
    except ValueError:
        return None


_CHECK_FUNCS: list[Callable[[StoreSnapshot, datetime], list[Finding]]] = [
    _root_not_self_signed, _adfs_trusted_devices, _root_has_private_key, _root_end_entity, _ca_self_signed, _ca_has_private_key,
    _my_without_private_key, _issuer_list_too_large, _root_count_high, _root_duplicate_subject, _validity,
    _server_chain_incomplete, _chain_signature_algorithm, _schannel_workaround, _schannel_logging, _session_ticket,
]


def certificate_summary(sc: StoreCert) -> dict[str, Any]:
    c: Cert = sc.cert
    return {"subject": c.subject, "issuer": c.issuer, "thumbprint": c.thumbprint, "self_signed": c.self_signed.value,
            "has_private_key": sc.has_private_key, "not_before": iso_utc(c.not_before),
            "not_after": iso_utc(c.not_after), "friendly_name": sc.friendly_name, "note": c.note or None}
