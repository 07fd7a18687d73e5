"""Deterministic certificate stores for tests and the bundled samples, in every input form.

Used by the tests and by ``tools/make_samples.py``; never on evidence. Output is
byte-identical across runs: RSA keys come from a seeded prime search, EC keys from
``ec.derive_private_key`` on a hashed seed, ECDSA signatures are deterministic
(RFC 6979), serials and dates are fixed. A SHA-1-signed root is built by re-signing
the TBS with the key directly, since ``cryptography`` no longer signs SHA-1.

Forms written: ``reg export`` files (UTF-16LE, BOM, CRLF, wrapped ``hex:`` like reg.exe),
the PowerShell collector's JSON, certificate files in store-named folders, and
offline ``SOFTWARE``/``SYSTEM`` hives (a minimal ``regf`` writer, read back by regipy).
"""

from __future__ import annotations

import base64
import hashlib
import json
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.types import CertificateIssuerPrivateKeyTypes
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tlsdiag.stores.blob import build_blob
from tlsdiag.stores.certs import thumbprint
from tlsdiag.stores.model import ENTERPRISE, GROUP_POLICY, LOCATION_KEYS, MACHINE, SCHANNEL_KEY, StoreLocation

UTC = timezone.utc
DEFAULT_COLLECTED = datetime(2026, 11, 20, 9, 30, 0, tzinfo=UTC)
STORE_FOLDERS = {"ROOT": "Root", "AuthRoot": "AuthRoot", "CA": "CA", "MY": "My",
                 "ClientAuthIssuer": "ClientAuthIssuer"}

# ---------------------------------------------------------------- deterministic keys

_SMALL_PRIMES = [p for p in range(3, 2000) if all(p % q for q in range(2, int(p ** 0.5) + 1))]
_MR_BASES = (2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73, 79, 83, 89, 97)


def _stream(seed: str) -> Iterator[bytes]:
    counter = 0
    while True:
        yield hashlib.sha256(f"tlsdiag-testdata:{seed}:{counter}".encode()).digest()
        counter += 1


def _probable_prime(n: int) -> bool:
    if any(n % p == 0 for p in _SMALL_PRIMES):
        return n in _SMALL_PRIMES
    d, r = n - 1, 0
    while d % 2 == 0:
        d //= 2
        r += 1
    for a in _MR_BASES:
        x = pow(a, d, n)
        if x in (1, n - 1):
            continue
        for _ in range(r - 1):
            x = pow(x, 2, n)
            if x == n - 1:
                break
        else:
            return False
    return True


def _prime(bits: int, source: Iterator[bytes], e: int) -> int:
    while True:
        raw = b"".join(next(source) for _ in range(bits // 256 + 1))
        n = int.from_bytes(raw, "big") >> (len(raw) * 8 - bits)
        n |= (3 << (bits - 2)) | 1
        if (n - 1) % e and _probable_prime(n):
            return n


@cache
def rsa_key(seed: str, bits: int = 2048) -> rsa.RSAPrivateKey:
    """An RSA key derived from ``seed`` (test data only: the seed is public)."""
    e = 65537
    source = _stream(f"rsa{bits}:{seed}")
    p = _prime(bits // 2, source, e)
    q = _prime(bits // 2, source, e)
    while q == p:
        q = _prime(bits // 2, source, e)
    if p < q:
        p, q = q, p
    d = pow(e, -1, (p - 1) * (q - 1))
    numbers = rsa.RSAPrivateNumbers(p, q, d, d % (p - 1), d % (q - 1), pow(q, -1, p),
                                    rsa.RSAPublicNumbers(e, p * q))
    return numbers.private_key()


@cache
def ec_key(seed: str) -> ec.EllipticCurvePrivateKey:
    order = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
    value = int.from_bytes(hashlib.sha256(f"tlsdiag-testdata:ec:{seed}".encode()).digest(), "big") % (order - 1) + 1
    return ec.derive_private_key(value, ec.SECP256R1())


# ---------------------------------------------------------------- certificates


def name(cn: str, *, o: str | None = None, ou: str | None = None, c: str | None = None) -> x509.Name:
    attrs = []
    if c:
        attrs.append(x509.NameAttribute(NameOID.COUNTRY_NAME, c))
    if o:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, o))
    if ou:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, ou))
    attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, cn))
    return x509.Name(attrs)


def _len(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(raw)]) + raw


def _tlv(tag: int, body: bytes) -> bytes:
    return bytes([tag]) + _len(len(body)) + body


_SHA256_RSA = bytes.fromhex("300d06092a864886f70d01010b0500")
_SHA1_RSA = bytes.fromhex("300d06092a864886f70d0101050500")


def make_cert(subject: x509.Name, key: CertificateIssuerPrivateKeyTypes, *, issuer: x509.Name | None = None,
              issuer_key: CertificateIssuerPrivateKeyTypes | None = None,
              serial: int, not_before: datetime, not_after: datetime, ca: bool | None = True,
              eku: tuple[x509.ObjectIdentifier, ...] = (), sha1: bool = False, key_ids: bool = True) -> bytes:
    """A DER certificate; ``sha1`` re-signs an RSA certificate with SHA-1 (old roots)."""
    issuer = issuer or subject
    issuer_key = issuer_key or key
    pub = key.public_key()
    ipub = issuer_key.public_key()
    b = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(pub)
         .serial_number(serial).not_valid_before(not_before).not_valid_after(not_after))
    if ca is not None:
        b = b.add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        b = b.add_extension(x509.KeyUsage(digital_signature=not ca, content_commitment=False,
                                          key_encipherment=not ca and isinstance(pub, rsa.RSAPublicKey),
                                          data_encipherment=False, key_agreement=False, key_cert_sign=ca,
                                          crl_sign=ca, encipher_only=False, decipher_only=False), critical=True)
    if eku:
        b = b.add_extension(x509.ExtendedKeyUsage(list(eku)), critical=False)
    if key_ids:
        b = b.add_extension(x509.SubjectKeyIdentifier.from_public_key(pub), critical=False)
        b = b.add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ipub), critical=False)
    if isinstance(issuer_key, ec.EllipticCurvePrivateKey):
        cert = b.sign(issuer_key, hashes.SHA256(), ecdsa_deterministic=True)
    else:
        cert = b.sign(issuer_key, hashes.SHA256())
    der = cert.public_bytes(serialization.Encoding.DER)
    if not sha1:
        return der
    if not isinstance(issuer_key, rsa.RSAPrivateKey):
        raise ValueError("SHA-1 re-signing is implemented for RSA issuers")
    tbs = cert.tbs_certificate_bytes
    if tbs.count(_SHA256_RSA) != 1:
        raise ValueError("unexpected TBS layout")
    tbs = tbs.replace(_SHA256_RSA, _SHA1_RSA)
    signature = issuer_key.sign(tbs, padding.PKCS1v15(), hashes.SHA1())  # noqa: S303 - old-root fixture
    return _tlv(0x30, tbs + _SHA1_RSA + _tlv(0x03, b"\x00" + signature))


# ---------------------------------------------------------------- store sets


@dataclass
class Entry:
    location: StoreLocation
    store: str
    der: bytes
    has_private_key: bool = False
    friendly_name: str = ""
    label: str = ""  # what the test planted ("misplaced-intermediate", ...)
    written: datetime | None = None  # the certificate key's last write time, in hives (when it was added)

    @property
    def thumbprint(self) -> str:
        return thumbprint(self.der)


@dataclass
class StoreSet:
    """What one computer's stores hold; written into any input form."""

    computer: str
    collected: datetime
    entries: list[Entry] = field(default_factory=list)
    schannel: dict[str, int] = field(default_factory=dict)
    os_build: int = 9200

    def add(self, location: StoreLocation, store: str, der: bytes, *, key: bool = False, friendly: str = "",
            label: str = "") -> Entry:
        entry = Entry(location, store, der, key, friendly, label)
        self.entries.append(entry)
        return entry

    def labelled(self, label: str) -> list[Entry]:
        return [e for e in self.entries if e.label == label]


Y = timedelta(days=365)


def _y(year: int, month: int = 1, day: int = 1) -> datetime:
    return datetime(year, month, day, tzinfo=UTC)


# Validity periods are placed relative to the collection year, so that a sample whose logs are
# from 2013 holds certificates that were valid in 2013 (and the planted ones expired then).
T0 = _y(DEFAULT_COLLECTED.year - 14, 6)
SERVER_AUTH = (ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH)


class _PKI:
    """The fixed certificates the scenarios share."""

    def __init__(self, year: int) -> None:
        self.year = year
        self.t0 = t0 = _y(year - 14, 6)
        self.root_key = rsa_key("contoso-root")
        self.root_name = name("Contoso Root CA", o="Contoso Ltd", c="US")
        self.root = make_cert(self.root_name, self.root_key, serial=0x1001, not_before=t0, not_after=t0 + 25 * Y)
        self.issuing_key = ec_key("contoso-issuing-2")
        self.issuing_name = name("Contoso Issuing CA 02", o="Contoso Ltd", c="US")
        self.issuing = make_cert(self.issuing_name, self.issuing_key, issuer=self.root_name,
                                 issuer_key=self.root_key, serial=0x2002, not_before=t0, not_after=t0 + 20 * Y)

    def server(self, cn: str, serial: int, *, issuer: str = "issuing", nb: datetime | None = None,
               na: datetime | None = None) -> bytes:
        key = ec_key(f"server:{cn}:{serial}")
        iname, ikey = (self.issuing_name, self.issuing_key) if issuer == "issuing" else (self.root_name, self.root_key)
        return make_cert(name(cn, o="Contoso Ltd"), key, issuer=iname, issuer_key=ikey, serial=serial,
                         not_before=nb or _y(self.year - 1), not_after=na or _y(self.year + 2), ca=False,
                         eku=SERVER_AUTH)


@lru_cache(maxsize=8)
def _pki(year: int = DEFAULT_COLLECTED.year) -> _PKI:
    return _PKI(year)


def _clean_base(computer: str, collected: datetime, server_cn: str) -> StoreSet:
    pki = _pki(collected.year)
    s = StoreSet(computer, collected)
    s.add(MACHINE, "ROOT", pki.root, friendly="Contoso Root CA")
    s.add(MACHINE, "CA", pki.issuing)
    s.add(MACHINE, "MY", pki.server(server_cn, 0x3001), key=True, friendly="Lync server certificate")
    s.schannel = {"EventLogging": 3, "EnableSessionTicket": 2}
    return s


def clean(computer: str = "FE01", collected: datetime = DEFAULT_COLLECTED) -> StoreSet:
    """Healthy stores: one root, its issuing CA in Intermediate, the server certificate with its key."""
    s = _clean_base(computer, collected, f"{computer.lower()}.contoso.local")
    yr = collected.year
    legacy_key = rsa_key("legacy-root", 1024)
    legacy = name("Legacy Root Authority", o="Old Trust Inc", c="US")
    s.add(MACHINE, "ROOT", make_cert(legacy, legacy_key, serial=0x99, not_before=_y(yr - 20), not_after=_y(yr + 10),
                                     sha1=True), label="sha1-root")
    return s


def planted(computer: str = "FE01", collected: datetime = DEFAULT_COLLECTED) -> StoreSet:
    """Every problem the checks look for, each labelled with the check that must find it."""
    pki = _pki(collected.year)
    yr, t0 = collected.year, pki.t0
    s = clean(computer, collected)
    s.schannel = {"ClientAuthTrustMode": 2, "SendTrustedIssuerList": 0}
    # Intermediate CA misplaced in the machine Root store (the seed's case).
    ica1_key = ec_key("contoso-issuing-1")
    ica1 = make_cert(name("Contoso Issuing CA 01", o="Contoso Ltd", c="US"), ica1_key, issuer=pki.root_name,
                     issuer_key=pki.root_key, serial=0x2001, not_before=t0, not_after=t0 + 20 * Y)
    s.add(MACHINE, "ROOT", ica1, label="root-not-self-signed")
    # An intermediate delivered into Root by group policy.
    gp = make_cert(name("Contoso Policy CA", o="Contoso Ltd", c="US"), ec_key("gp-ca"), issuer=pki.root_name,
                   issuer_key=pki.root_key, serial=0x2003, not_before=t0, not_after=t0 + 20 * Y)
    s.add(GROUP_POLICY, "ROOT", gp, label="root-not-self-signed")
    s.add(ENTERPRISE, "ROOT", pki.root)  # the same root via AD: counted once
    # Cross-certificate: subject and issuer names are equal, but another key signed it.
    fab_name = name("Fabrikam Root CA", o="Fabrikam", c="US")
    old_key, new_key = ec_key("fabrikam-old"), ec_key("fabrikam-new")
    s.add(MACHINE, "ROOT", make_cert(fab_name, old_key, serial=0x501, not_before=t0, not_after=t0 + 20 * Y))
    s.add(MACHINE, "ROOT", make_cert(fab_name, new_key, issuer=fab_name, issuer_key=old_key, serial=0x502,
                                     not_before=t0 + Y, not_after=t0 + 20 * Y),
          label="cross-certificate")
    # Two different self-signed roots with one subject (PIN sign-in 47067).
    dup = name("Northwind Root", o="Northwind Traders", c="US")
    s.add(MACHINE, "ROOT", make_cert(dup, ec_key("northwind-1"), serial=0x601, not_before=t0,
                                     not_after=t0 + 20 * Y), label="root-duplicate-subject")
    s.add(MACHINE, "ROOT", make_cert(dup, ec_key("northwind-2"), serial=0x602, not_before=t0 + 2 * Y,
                                     not_after=t0 + 22 * Y), label="root-duplicate-subject")
    # A server's own self-signed certificate, with its key, in Root.
    own = name("selfsigned.contoso.local", o="Contoso Ltd")
    s.add(MACHINE, "ROOT", make_cert(own, ec_key("own"), serial=0x701, not_before=t0, not_after=t0 + 20 * Y,
                                     ca=False, eku=SERVER_AUTH), key=True, label="root-has-private-key")
    # Expired and not-yet-valid roots.
    s.add(MACHINE, "ROOT", make_cert(name("Expired Root CA", o="Old Trust Inc"), ec_key("expired-root"),
                                     serial=0x801, not_before=_y(yr - 26), not_after=_y(yr - 16)),
          label="cert-expired")
    s.add(MACHINE, "ROOT", make_cert(name("Future Root CA", o="Tomorrow Trust"), ec_key("future-root"),
                                     serial=0x802, not_before=_y(yr + 4), not_after=_y(yr + 14)),
          label="cert-not-yet-valid")
    # Intermediate store: a stray root, and a CA certificate with a private key.
    s.add(MACHINE, "CA", make_cert(name("Stray Root CA", o="Somewhere"), ec_key("stray-root"), serial=0x901,
                                   not_before=t0, not_after=t0 + 20 * Y), label="ca-self-signed")
    keyed = make_cert(name("Contoso Sub CA 03", o="Contoso Ltd", c="US"), ec_key("sub3"), issuer=pki.root_name,
                      issuer_key=pki.root_key, serial=0x2004, not_before=t0, not_after=t0 + 20 * Y)
    s.add(MACHINE, "CA", keyed, key=True, label="ca-has-private-key")
    # Personal store: no key; an orphan whose issuer is nowhere; an expired server certificate.
    s.add(MACHINE, "MY", pki.server("nokey.contoso.local", 0x3002), label="my-without-private-key")
    orphan_issuer = name("Missing Issuing CA", o="Contoso Ltd")
    s.add(MACHINE, "MY", make_cert(name("orphan.contoso.local", o="Contoso Ltd"), ec_key("orphan"),
                                   issuer=orphan_issuer, issuer_key=ec_key("missing-ca"), serial=0x3003,
                                   not_before=_y(yr - 1), not_after=_y(yr + 2), ca=False, eku=SERVER_AUTH),
          key=True, label="server-chain-incomplete")
    s.add(MACHINE, "MY", pki.server("old.contoso.local", 0x3004, nb=_y(yr - 6), na=_y(yr - 4)), key=True,
          label="cert-expired")
    return s


def many_roots(computer: str = "FE01", collected: datetime = DEFAULT_COLLECTED, count: int = 340) -> StoreSet:
    """Healthy stores plus ``count`` third-party roots in AuthRoot (KB 931125 installed >330)."""
    s = _clean_base(computer, collected, f"{computer.lower()}.contoso.local")
    # Fixed dates (not relative to the collection year): samplegen's CAPI2 4097 events name these
    # roots by thumbprint, so they must be the same certificates whatever the collection time.
    for i in range(count):
        subject = name(f"Example Trust Services Root Certification Authority {i:03d}",
                       o=f"Example Trust Services {i:03d}", ou="Certification Services Division", c="US")
        der = make_cert(subject, ec_key(f"authroot-{i}"), serial=0x10000 + i, not_before=T0 - Y,
                        not_after=T0 + 25 * Y)
        s.add(MACHINE, "AuthRoot", der, label="authroot")
    return s


def lync_root_store(computer: str = "lync2013.contoso.local", collected: datetime = DEFAULT_COLLECTED) -> StoreSet:
    """The seed's case: a Lync 2013 front end on WS2012 with three misplaced certificates in Root."""
    pki = _pki(collected.year)
    yr = collected.year
    short = computer.split(".")[0]
    s = _clean_base(computer, collected, computer)
    s.schannel = {"EventLogging": 1}
    pub_root_key = rsa_key("example-public-root")
    pub_root = name("Example Root Certificate Authority - G2", o="Example Trust, Inc.", c="US")
    s.add(MACHINE, "ROOT", make_cert(pub_root, pub_root_key, serial=0x4001, not_before=_y(yr - 17, 9),
                                     not_after=_y(yr + 11, 12, 31)))
    s.add(MACHINE, "ROOT", make_cert(name("Example Secure Certificate Authority - G2", o="Example Trust, Inc.",
                                          ou="http://certs.example.com/repository/", c="US"),
                                     ec_key("example-secure-g2"), issuer=pub_root, issuer_key=pub_root_key,
                                     serial=0x4002, not_before=_y(yr - 15, 5, 3), not_after=_y(yr + 5, 5, 3)),
          label="root-not-self-signed")
    s.add(MACHINE, "ROOT", make_cert(name("Contoso Issuing CA 01", o="Contoso Ltd", c="US"),
                                     ec_key("contoso-issuing-1"), issuer=pki.root_name, issuer_key=pki.root_key,
                                     serial=0x2001, not_before=pki.t0, not_after=pki.t0 + 20 * Y),
          label="root-not-self-signed")
    s.add(MACHINE, "ROOT", pki.server(f"{short}-admin.contoso.local", 0x3010), key=True, label="root-not-self-signed")
    return s


SCENARIOS = {
    "planted": planted,
    "clean": clean,
    "many-roots": many_roots,
    "lync2013-fe-root-store": lync_root_store,
    "trusted-issuer-list-16kb": many_roots,
    "healthy-server": clean,
}


# ---------------------------------------------------------------- reg export writer


def _reg_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _reg_hex(label: str, data: bytes, kind: str = "hex") -> list[str]:
    """Wrap like reg.exe: lines end in ',\\' at most 80 columns, continuations indented by two spaces."""
    head = f"{label}={kind}:"
    items = [f"{b:02x}" for b in data]
    lines: list[str] = []
    current = head
    for i, item in enumerate(items):
        piece = item + ("," if i < len(items) - 1 else "")
        if len(current) + len(piece) > 78 and current.strip():
            lines.append(current + "\\")
            current = "  "
        current += piece
    lines.append(current)
    return lines


def reg_text(sections: list[tuple[str, list[tuple[str, str, object]]]]) -> str:
    """``sections``: [(full key path, [(value name, 'sz'|'dword'|'hex', data)])]."""
    out = ["Windows Registry Editor Version 5.00", ""]
    for path, values in sections:
        out.append(f"[{path}]")
        for vname, kind, data in values:
            label = "@" if vname == "" else _reg_string(vname)
            if kind == "dword":
                out.append(f"{label}=dword:{int(data):08x}")  # type: ignore[call-overload]
            elif kind == "sz":
                out.append(f"{label}={_reg_string(str(data))}")
            else:
                out.extend(_reg_hex(label, data))  # type: ignore[arg-type]
        out.append("")
    return "\r\n".join(out) + "\r\n"


def encode_reg(text: str) -> bytes:
    """Bytes as ``reg export`` writes them: UTF-16LE with a BOM."""
    return b"\xff\xfe" + text.encode("utf-16-le")


def _store_sections(s: StoreSet, location: StoreLocation) -> list[tuple[str, list[tuple[str, str, object]]]]:
    base = "HKEY_LOCAL_MACHINE\\" + LOCATION_KEYS[location]
    entries = [e for e in s.entries if e.location == location]
    stores = sorted({e.store for e in entries} | ({"ROOT", "CA", "MY", "AuthRoot", "Disallowed", "TrustedPublisher"}
                                                 if location == MACHINE else set()), key=str.lower)
    sections: list[tuple[str, list[tuple[str, str, object]]]] = [(base, [])]
    for store in stores:
        sections.append((f"{base}\\{store}", []))
        sections.append((f"{base}\\{store}\\Certificates", []))
        seen = set()
        for e in sorted((e for e in entries if e.store == store), key=lambda e: e.thumbprint):
            if e.thumbprint in seen:
                continue
            seen.add(e.thumbprint)
            blob = build_blob(e.der, private_key=e.has_private_key, friendly_name=e.friendly_name,
                              thumbprint=bytes.fromhex(e.thumbprint))
            sections.append((f"{base}\\{store}\\Certificates\\{e.thumbprint}", [("Blob", "hex", blob)]))
        sections.append((f"{base}\\{store}\\CRLs", []))
        sections.append((f"{base}\\{store}\\CTLs", []))
    return sections


def _schannel_sections(s: StoreSet) -> list[tuple[str, list[tuple[str, str, object]]]]:
    base = "HKEY_LOCAL_MACHINE\\" + SCHANNEL_KEY
    values: list[tuple[str, str, object]] = [(k, "dword", v) for k, v in sorted(s.schannel.items())]
    return [(base, values), (base + "\\Ciphers", []), (base + "\\CipherSuites", []), (base + "\\Hashes", []),
            (base + "\\KeyExchangeAlgorithms", []), (base + "\\Protocols", []),
            (base + "\\Protocols\\SSL 2.0", []),
            (base + "\\Protocols\\SSL 2.0\\Client", [("DisabledByDefault", "dword", 1)])]


REG_FILES = {
    MACHINE: "SystemCertificates.reg",
    GROUP_POLICY: "Policies-SystemCertificates.reg",
    ENTERPRISE: "EnterpriseCertificates.reg",
    "schannel": "SCHANNEL.reg",
}


def netbios(computer: str) -> str:
    """The NetBIOS name Windows keeps for a DNS host name: its first label, cut to 15 characters, upper case."""
    return computer.split(".")[0][:15].upper()


def dns_parts(computer: str) -> tuple[str, str]:
    """(DNS host name, primary DNS domain) of a full computer name."""
    host, _, domain = computer.partition(".")
    return host, domain


def collection_text(s: StoreSet, *, dns: bool = False) -> str:
    """``tlsdiag-collection.txt`` as collect-tlsdiag.cmd writes it (WMI local time, here UTC+000);
    ``dns``: with the DNS host name and domain lines the current collector adds."""
    stamp = s.collected.astimezone(UTC).strftime("%Y%m%d%H%M%S") + ".000000+000"
    host, domain = dns_parts(s.computer)
    extra = f"DnsHostName={host}\r\nDnsDomain={domain}\r\n" if dns else ""
    return (f"ComputerName={netbios(s.computer)}\r\n{extra}LocalDateTime={stamp}\r\n"
            f"OSVersion={_version(s.os_build)}.{s.os_build}\r\n")


def _version(build: int) -> str:
    """Major.minor of a Windows build, as ``wmic os get Version`` prints it."""
    if build >= 10000:
        return "10.0"
    return {7600: "6.1", 7601: "6.1", 9200: "6.2", 9600: "6.3"}.get(build, "6.0")


def write_reg_exports(s: StoreSet, folder: Path, *, dns: bool = False) -> list[Path]:
    """The four exports collect-tlsdiag.cmd makes, plus its collection note."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for location in (MACHINE, GROUP_POLICY, ENTERPRISE):
        path = folder / REG_FILES[location]
        path.write_bytes(encode_reg(reg_text(_store_sections(s, location))))
        written.append(path)
    path = folder / REG_FILES["schannel"]
    path.write_bytes(encode_reg(reg_text(_schannel_sections(s))))
    written.append(path)
    note = folder / "tlsdiag-collection.txt"
    note.write_bytes(collection_text(s, dns=dns).encode("ascii"))
    written.append(note)
    return written


# ---------------------------------------------------------------- collector JSON


def storejson(s: StoreSet, *, dns: bool = False) -> dict[str, Any]:
    """The document Collect-TlsDiag.ps1 writes (schema: collector/README.md); ``dns`` adds
    DnsHostName and DnsDomain, as the current collector records them."""
    stores: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for e in s.entries:
        bucket = stores.setdefault((e.location, e.store), [])
        if any(c["Thumbprint"] == e.thumbprint for c in bucket):
            continue
        bucket.append({"Thumbprint": e.thumbprint, "Subject": "", "Issuer": "", "HasPrivateKey": e.has_private_key,
                       "FriendlyName": e.friendly_name, "RawData": base64.b64encode(e.der).decode("ascii")})
    for store in ("ROOT", "AuthRoot", "CA", "MY", "ClientAuthIssuer"):
        stores.setdefault((MACHINE, store), [])
    host, domain = dns_parts(s.computer)
    names = {"DnsHostName": host, "DnsDomain": domain} if dns else {}
    return {
        "Format": "tlsdiag-stores",
        "Version": 1,
        "ComputerName": netbios(s.computer),
        **names,
        "CollectedUtc": s.collected.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.0000000Z"),
        "OSBuild": str(s.os_build),
        "Stores": [{"Location": loc, "Name": name_, "Certificates": certs}
                   for (loc, name_), certs in sorted(stores.items(), key=lambda kv: (kv[0][0], kv[0][1].lower()))],
        "Schannel": dict(sorted(s.schannel.items())),
        "Errors": [],
    }


def write_storejson(s: StoreSet, path: Path, *, bom: bool = True, dns: bool = False) -> Path:
    """UTF-8 with a BOM, as PowerShell 3-5's ``Out-File -Encoding UTF8`` writes it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(storejson(s, dns=dns), indent=2)
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.replace("\n", "\r\n").encode("utf-8"))
    return path


# ---------------------------------------------------------------- certificate folders


def write_cert_folder(s: StoreSet, folder: Path, *, pem_every: int = 3) -> list[Path]:
    """One file per certificate in ``<folder>/<Store>/``; every ``pem_every``-th as PEM (.crt)."""
    written = []
    seen: set[tuple[str, str]] = set()
    for i, e in enumerate(s.entries):
        sub = STORE_FOLDERS.get(e.store, e.store)
        if (sub, e.thumbprint) in seen:
            continue
        seen.add((sub, e.thumbprint))
        target = folder / sub
        target.mkdir(parents=True, exist_ok=True)
        if pem_every and i % pem_every == 0:
            body = base64.encodebytes(e.der).decode("ascii")
            path = target / f"{e.thumbprint}.crt"
            path.write_text(f"-----BEGIN CERTIFICATE-----\n{body}-----END CERTIFICATE-----\n")
        else:
            path = target / f"{e.thumbprint}.cer"
            path.write_bytes(e.der)
        written.append(path)
    return written


# ---------------------------------------------------------------- regf hive writer


@dataclass
class _Key:
    name: str
    values: list[tuple[str, int, bytes]] = field(default_factory=list)  # (name, type, data)
    children: dict[str, _Key] = field(default_factory=dict)
    written: int = 0  # last write time of the key (FILETIME); 0 when the fixture does not care

    def child(self, part: str) -> _Key:
        key = self.children.get(part.lower())
        if key is None:
            key = self.children[part.lower()] = _Key(part)
        return key


REG_SZ, REG_BINARY, REG_DWORD = 1, 3, 4


def filetime(ts: datetime) -> int:
    """A Windows FILETIME (100 ns ticks since 1601-01-01 UTC)."""
    return int((ts - datetime(1601, 1, 1, tzinfo=UTC)).total_seconds() * 10_000_000)


class HiveWriter:
    """A minimal, valid ``regf`` file: base block, one hive bin, nk/lf/vk/value-list/data cells.

    Enough for regipy (and Windows' own format rules: checksum, 8-byte cell alignment,
    sorted ``lf`` lists with name hints, inline data for values up to 4 bytes)."""

    def __init__(self, root_name: str) -> None:
        self.root = _Key(root_name)

    def key(self, path: str) -> _Key:
        node = self.root
        for part in [p for p in path.split("\\") if p]:
            node = node.child(part)
        return node

    def set(self, path: str, name_: str, vtype: int, data: bytes) -> None:
        self.key(path).values.append((name_, vtype, data))

    def build(self, file_name: str = "") -> bytes:
        cells = bytearray()

        def alloc(payload: bytes) -> int:
            """Append a cell; return its offset relative to the first hive bin (header included)."""
            size = (len(payload) + 4 + 7) & ~7
            offset = 32 + len(cells)
            cells.extend(struct.pack("<i", -size) + payload + b"\0" * (size - 4 - len(payload)))
            return offset

        def patch(cell: int, at: int, value: int) -> None:
            """Set a u32 at byte ``at`` of a cell's payload (after the 4-byte size)."""
            struct.pack_into("<I", cells, cell - 32 + 4 + at, value)

        def write(node: _Key, parent: int) -> int:
            raw_name = node.name.encode("ascii")
            nk = bytearray(b"nk" + struct.pack("<HQ", 0x2C if parent < 0 else 0x20, node.written) + b"\0" * 4)
            nk += struct.pack("<IIIIIIIIIIIIII", max(parent, 0), len(node.children), 0, 0xFFFFFFFF, 0xFFFFFFFF,
                              len(node.values), 0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0, 0, 0, 0, 0)
            nk += struct.pack("<HH", len(raw_name), 0) + raw_name
            me = alloc(bytes(nk))
            if node.values:
                offsets = []
                for vname, vtype, data in node.values:
                    rname = vname.encode("ascii")
                    if len(data) <= 4:
                        size_field, data_off = len(data) | 0x80000000, int.from_bytes(data.ljust(4, b"\0"), "little")
                    else:
                        if len(data) > 16344:
                            raise ValueError("values over 16344 bytes need big-data cells (not needed here)")
                        size_field, data_off = len(data), alloc(data)
                    vk = b"vk" + struct.pack("<HIIIHH", len(rname), size_field, data_off, vtype, 1, 0) + rname
                    offsets.append(alloc(vk))
                patch(me, 40, alloc(struct.pack(f"<{len(offsets)}I", *offsets)))  # values_list_offset
            if node.children:
                kids = sorted(node.children.values(), key=lambda k: k.name.upper())
                child_offsets = [write(k, me) for k in kids]
                lf = b"lf" + struct.pack("<H", len(kids)) + b"".join(
                    struct.pack("<I", off) + k.name.encode("ascii")[:4].ljust(4, b"\0")
                    for off, k in zip(child_offsets, kids, strict=True))
                patch(me, 28, alloc(lf))  # subkeys_list_offset
            return me

        write(self.root, -1)
        hbin_size = (len(cells) + 32 + 4095) & ~4095
        free = hbin_size - 32 - len(cells)
        if free:
            cells.extend(struct.pack("<i", free) + b"\0" * (free - 4))
        stamp = 133000000000000000
        hbin = b"hbin" + struct.pack("<IIIIQI", 0, hbin_size, 0, 0, stamp, 0) + bytes(cells)
        header = bytearray(4096)
        struct.pack_into("<4sIIQIIIIIII", header, 0, b"regf", 1, 1, stamp, 1, 5, 0, 1, 32, hbin_size, 1)
        header[48:48 + 64] = file_name.encode("utf-16-le")[:64].ljust(64, b"\0")
        checksum = 0
        for (word,) in struct.iter_unpack("<I", bytes(header[:508])):
            checksum ^= word
        struct.pack_into("<I", header, 508, checksum)
        return bytes(header) + hbin


def write_hives(s: StoreSet, folder: Path, *, dns: bool = False) -> list[Path]:
    """``SOFTWARE`` (the three store trees, CurrentVersion) and ``SYSTEM`` (Select, ControlSet001);
    ``dns`` adds Tcpip\\Parameters Hostname and Domain."""
    folder.mkdir(parents=True, exist_ok=True)
    software = HiveWriter("CMI-CreateHive{199DAFC2-6F16-4946-BF90-5A3FC3A60902}")
    for location in (MACHINE, GROUP_POLICY, ENTERPRISE):
        rel = LOCATION_KEYS[location].split("\\", 1)[1]
        software.key(rel)
        for e in s.entries:
            if e.location != location:
                continue
            blob = build_blob(e.der, private_key=e.has_private_key, friendly_name=e.friendly_name,
                              thumbprint=bytes.fromhex(e.thumbprint))
            path = f"{rel}\\{e.store}\\Certificates\\{e.thumbprint}"
            if not software.key(path).values:
                software.set(path, "Blob", REG_BINARY, blob)
                if e.written is not None:
                    software.key(path).written = filetime(e.written)
    software.set(r"Microsoft\Windows NT\CurrentVersion", "CurrentBuildNumber", REG_SZ,
                 f"{s.os_build}\0".encode("utf-16-le"))
    system = HiveWriter("CMI-CreateHive{2A7FB991-7BBE-4F9D-B91E-7CB51D4737F5}")
    system.set("Select", "Current", REG_DWORD, struct.pack("<I", 1))
    schannel = r"ControlSet001\Control\SecurityProviders\SCHANNEL"
    system.key(schannel + r"\Protocols")
    for k, v in sorted(s.schannel.items()):
        system.set(schannel, k, REG_DWORD, struct.pack("<I", v))
    system.set(r"ControlSet001\Control\ComputerName\ComputerName", "ComputerName", REG_SZ,
               (netbios(s.computer) + "\0").encode("utf-16-le"))
    if dns:
        host, domain = dns_parts(s.computer)
        for value, text in (("Hostname", host), ("Domain", domain)):
            system.set(r"ControlSet001\Services\Tcpip\Parameters", value, REG_SZ, (text + "\0").encode("utf-16-le"))
    paths = [folder / "SOFTWARE", folder / "SYSTEM"]
    paths[0].write_bytes(software.build("\\SystemRoot\\System32\\Config\\SOFTWARE"))
    paths[1].write_bytes(system.build("\\SystemRoot\\System32\\Config\\SYSTEM"))
    return paths


# ---------------------------------------------------------------- samples hook


def write_sample_stores(scenario: str, folder: Path, *, computer: str | None = None,
                        collected: datetime | None = None, os_build: int | None = None,
                        forms: tuple[str, ...] = ("reg",)) -> list[Path]:
    """Write the store exports of a sample scenario into ``folder`` (for tools/make_samples.py).

    ``forms``: any of "reg" (the .cmd collector's files), "json" (the .ps1 collector's file),
    "certs" (a certificate folder), "hive" (offline SOFTWARE/SYSTEM)."""
    make = SCENARIOS[scenario]
    kwargs: dict[str, Any] = {}
    if computer:
        kwargs["computer"] = computer
    if collected:
        kwargs["collected"] = collected
    s = make(**kwargs)
    if os_build:
        s.os_build = os_build
    written: list[Path] = []
    if "reg" in forms:
        written += write_reg_exports(s, folder)
    if "json" in forms:
        written.append(write_storejson(s, folder / "tlsdiag-stores.json"))
    if "certs" in forms:
        written += write_cert_folder(s, folder / "certs")
    if "hive" in forms:
        written += write_hives(s, folder / "hives")
    return written


# ---------------------------------------------------------------- collection manifest


def manifest(s: StoreSet, *, collector: str = "Collect-TlsDiag.ps1", days: int = 30,
             folder: str = r"C:\Users\admin\AppData\Local\Temp\tlsdiag-FE01-20261120-093000",
             logs: list[dict[str, Any]] | None = None, keys: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """``tlsdiag-manifest.json`` as the collectors write it (schema: collector/tlsdiag-manifest.schema.json)."""
    host, domain = dns_parts(s.computer)
    return {
        "Format": "tlsdiag-manifest",
        "Version": 1,
        "Collector": collector,
        "ComputerName": netbios(s.computer),
        "DnsHostName": host,
        "DnsDomain": domain,
        "Started": s.collected.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.0000000Z"),
        "OutputFolder": folder,
        "Days": days,
        "FreeBytes": 40 * 1024**3,
        "NeededBytes": 90 * 1024**2,
        "Logs": logs if logs is not None else [
            {"Name": "System", "File": "System.evtx", "Status": "exported", "ExitCode": 0, "Enabled": True,
             "SizeBytes": 20 * 1024**2, "Records": 41000, "OldestRecordUtc": "2026-11-02T07:12:00.0000000Z"},
            {"Name": "Microsoft-Windows-CAPI2/Operational", "File": "CAPI2-Operational.evtx",
             "Status": "exported", "ExitCode": 0, "Enabled": False, "SizeBytes": 69632, "Records": 0,
             "Reason": "log disabled (its default): no records"},
            {"Name": "Microsoft-Windows-WindowsFabric/Admin", "File": "", "Status": "not-present",
             "ExitCode": 15007, "Reason": "no such log on this server"},
        ],
        "Keys": keys if keys is not None else [],
        "Archives": [],
        "Errors": [],
    }


def write_manifest(s: StoreSet, path: Path, **options: object) -> Path:
    """The manifest as PowerShell 3-5 writes it: UTF-8 with a BOM, compressed JSON (``-Compress``)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(manifest(s, **options), separators=(",", ":")).encode("utf-8"))  # type: ignore[arg-type]
    return path
