"""Certificate facts the store checks need, decided from the certificate itself.

The PowerShell one-liners compare ``Issuer`` and ``Subject`` display strings. That
misses cross-certificates whose names are equal but which another key signed, and
it trips over equal names with different encodings. Here names are compared as
encoded DER and a self-signature is verified with the certificate's own public
key, directly through the key so SHA-1 and MD5 roots (still common in real root
stores) verify too; key identifiers are the fallback when the algorithm is one
this build cannot verify.
"""

from __future__ import annotations

import hashlib
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import cached_property

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID

from tlsdiag.stores.der import CertParts, DerError, serial_problem, split, with_serial

# Signature algorithm OIDs whose hash cryptography may not map (or refuses to map) in
# ``signature_hash_algorithm``; verifying still works through the public key.
_RSA_PKCS1_HASHES: dict[str, hashes.HashAlgorithm] = {
    "1.2.840.113549.1.1.4": hashes.MD5(),  # noqa: S303 - verifying old roots, not signing
    "1.2.840.113549.1.1.5": hashes.SHA1(),  # noqa: S303 - verifying old roots, not signing
    "1.3.14.3.2.29": hashes.SHA1(),  # noqa: S303 - sha1WithRSASignature (old OIW form)
    "1.2.840.113549.1.1.14": hashes.SHA224(),
    "1.2.840.113549.1.1.11": hashes.SHA256(),
    "1.2.840.113549.1.1.12": hashes.SHA384(),
    "1.2.840.113549.1.1.13": hashes.SHA512(),
}
_ECDSA_HASHES: dict[str, hashes.HashAlgorithm] = {
    "1.2.840.10045.4.1": hashes.SHA1(),  # noqa: S303 - verifying old roots, not signing
    "1.2.840.10045.4.3.1": hashes.SHA224(),
    "1.2.840.10045.4.3.2": hashes.SHA256(),
    "1.2.840.10045.4.3.3": hashes.SHA384(),
    "1.2.840.10045.4.3.4": hashes.SHA512(),
}
_DSA_HASHES: dict[str, hashes.HashAlgorithm] = {
    "1.2.840.10040.4.3": hashes.SHA1(),  # noqa: S303 - verifying old roots, not signing
    "2.16.840.1.101.3.4.3.1": hashes.SHA224(),
    "2.16.840.1.101.3.4.3.2": hashes.SHA256(),
}
_RSA_PSS = "1.2.840.113549.1.1.10"


def thumbprint(der: bytes) -> str:
    """The Windows thumbprint: SHA-1 of the DER certificate, upper-case hex."""
    return hashlib.sha1(der, usedforsecurity=False).hexdigest().upper()


@contextmanager
def quiet() -> Iterator[None]:
    """Warnings from the X.509 parser become errors here, so none reaches a user's terminal: the
    caller turns them into a note or a loss (``warnings.catch_warnings`` is process-wide; the store
    readers run in one thread)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


def _quietly(fn: Callable[[], object]) -> object | None:
    """``fn()`` with warnings as errors; None when it raises one (or a ValueError)."""
    try:
        with quiet():
            return fn()
    except (ValueError, Warning):
        return None


def signed_by(cert: Cert, issuer_key: object) -> bool | None:
    """True if ``issuer_key`` verifies ``cert``'s signature, False if it does not,
    None if the algorithm cannot be checked here (unknown OID, key type mismatch).

    The signed bytes are the certificate's own (``Cert.tbs``), also when the tolerant reader
    parsed a repaired copy of it."""
    oid = cert.x509.signature_algorithm_oid.dotted_string
    sig = cert.signature
    tbs = cert.tbs
    return _verify(cert.x509, oid, sig, tbs, issuer_key)


def _verify(cert: x509.Certificate, oid: str, sig: bytes, tbs: bytes, issuer_key: object) -> bool | None:
    try:
        if isinstance(issuer_key, rsa.RSAPublicKey):
            if oid == _RSA_PSS:
                params = cert.signature_algorithm_parameters
                algo = cert.signature_hash_algorithm
                if not isinstance(params, padding.PSS) or algo is None:
                    return None
                issuer_key.verify(sig, tbs, params, algo)
                return True
            algo = _RSA_PKCS1_HASHES.get(oid)
            if algo is None:
                return None
            issuer_key.verify(sig, tbs, padding.PKCS1v15(), algo)
            return True
        if isinstance(issuer_key, ec.EllipticCurvePublicKey):
            algo = _ECDSA_HASHES.get(oid)
            if algo is None:
                return None
            issuer_key.verify(sig, tbs, ec.ECDSA(algo))
            return True
        if isinstance(issuer_key, dsa.DSAPublicKey):
            algo = _DSA_HASHES.get(oid)
            if algo is None:
                return None
            issuer_key.verify(sig, tbs, algo)
            return True
        if isinstance(issuer_key, (ed25519.Ed25519PublicKey, ed448.Ed448PublicKey)):
            issuer_key.verify(sig, tbs)
            return True
    except InvalidSignature:
        return False
    except (UnsupportedAlgorithm, ValueError, TypeError):
        return None
    return None


@dataclass(frozen=True)
class SelfSigned:
    """Whether a certificate is self-signed and how that was decided."""

    value: bool
    how: str  # "signature", "names differ", "signature fails with own key", "key identifiers", "names only"


def _load(der: bytes) -> x509.Certificate:
    """Strict parse; every field the checks read is touched here, so damage fails now (ValueError)."""
    try:
        with quiet():
            cert = x509.load_der_x509_certificate(der)
            (cert.version, cert.serial_number, cert.not_valid_before_utc, cert.not_valid_after_utc,
             cert.signature_algorithm_oid, cert.signature, cert.tbs_certificate_bytes, cert.subject.public_bytes(),
             cert.issuer.public_bytes())
    except x509.InvalidVersion as exc:
        raise ValueError(f"invalid certificate version: {exc}") from None
    except Warning as exc:  # the parser's deprecation warning, as an error
        raise ValueError(str(exc)) from None
    return cert


class Cert:
    """A parsed certificate with the derived facts the checks use (computed once).

    A certificate the strict parser refuses for its serial number (negative or zero, as in real
    root stores) is read from a copy with a positive serial; ``tbs``, ``signature``, ``serial`` and
    the thumbprint stay those of the certificate as stored, and ``note`` says what was tolerated.
    Anything else a strict parser refuses raises ValueError (the readers count it as lost)."""

    def __init__(self, der: bytes) -> None:
        self.der = der
        self.thumbprint = thumbprint(der)
        self.note = ""  # set when the tolerant reading was needed
        self._parts: CertParts | None = None  # the stored certificate's parts when read tolerantly
        try:
            self.x509 = _load(der)
        except ValueError as exc:
            self.x509, parts = self._tolerant(exc)
            self._parts = parts
            self.tbs, self.signature = parts.tbs, parts.signature
        else:
            self.tbs, self.signature = self.x509.tbs_certificate_bytes, self.x509.signature
        self._fields = (self.subject_der, self.issuer_der, self.subject, self.issuer)

    def _tolerant(self, refused: ValueError) -> tuple[x509.Certificate, CertParts]:
        try:
            parts = split(self.der)
        except DerError:
            raise refused from None
        problem = serial_problem(parts.serial)
        if problem is None:
            raise refused
        cert = _load(with_serial(self.der, b"\x01"))
        self.note = (f"{problem} (0x{parts.serial.hex().upper()}), which RFC 5280 forbids; strict X.509 parsers "
                     "refuse it, tlsdiag read it tolerantly (signature checked over the certificate as stored)")
        return cert, parts

    @cached_property
    def subject_der(self) -> bytes:
        return self.x509.subject.public_bytes()

    @cached_property
    def issuer_der(self) -> bytes:
        return self.x509.issuer.public_bytes()

    @cached_property
    def subject(self) -> str:
        return _name_text(self.x509.subject)

    @cached_property
    def issuer(self) -> str:
        return _name_text(self.x509.issuer)

    @property
    def not_before(self) -> datetime:
        return self.x509.not_valid_before_utc

    @property
    def not_after(self) -> datetime:
        return self.x509.not_valid_after_utc

    @cached_property
    def serial(self) -> str:
        if self._parts is not None:  # as stored (two's complement), as Windows shows it
            return self._parts.serial.hex().upper()
        return format(self.x509.serial_number, "X")

    @cached_property
    def public_key(self) -> object | None:
        try:
            return _quietly(self.x509.public_key)
        except UnsupportedAlgorithm:
            return None

    def _ext(self, cls: type) -> object | None:
        try:
            with quiet():
                return self.x509.extensions.get_extension_for_class(cls).value
        except (x509.ExtensionNotFound, ValueError, Warning):
            return None

    @cached_property
    def ski(self) -> bytes | None:
        value = self._ext(x509.SubjectKeyIdentifier)
        return value.digest if isinstance(value, x509.SubjectKeyIdentifier) else None

    @cached_property
    def aki(self) -> bytes | None:
        value = self._ext(x509.AuthorityKeyIdentifier)
        return value.key_identifier if isinstance(value, x509.AuthorityKeyIdentifier) else None

    @cached_property
    def basic_ca(self) -> bool | None:
        """basicConstraints cA, or None when the extension is absent."""
        value = self._ext(x509.BasicConstraints)
        return value.ca if isinstance(value, x509.BasicConstraints) else None

    @cached_property
    def eku(self) -> tuple[str, ...]:
        value = self._ext(x509.ExtendedKeyUsage)
        if not isinstance(value, x509.ExtendedKeyUsage):
            return ()
        return tuple(oid.dotted_string for oid in value)

    @cached_property
    def key_cert_sign(self) -> bool | None:
        value = self._ext(x509.KeyUsage)
        return value.key_cert_sign if isinstance(value, x509.KeyUsage) else None

    @cached_property
    def is_end_entity(self) -> bool:
        """An end-entity (leaf) certificate: basicConstraints says not a CA, or a v3
        certificate without basicConstraints whose key usage or EKU marks it as a leaf.
        Version 1 certificates carry no extensions; old roots are v1, so they count as CAs."""
        if self.x509.version == x509.Version.v1:
            return False
        if self.basic_ca is False:
            return True
        if self.basic_ca is None:
            leaf_eku = {ExtendedKeyUsageOID.SERVER_AUTH.dotted_string, ExtendedKeyUsageOID.CLIENT_AUTH.dotted_string}
            return bool(leaf_eku & set(self.eku)) or self.key_cert_sign is False
        return False

    @cached_property
    def server_auth(self) -> bool:
        """Usable as a TLS server certificate by EKU (no EKU means any purpose)."""
        anyeku = "2.5.29.37.0"
        return not self.eku or ExtendedKeyUsageOID.SERVER_AUTH.dotted_string in self.eku or anyeku in self.eku

    @cached_property
    def self_signed(self) -> SelfSigned:
        """Self-signed as Windows understands it: issuer and subject are the same encoded
        name and the signature verifies with the certificate's own key."""
        if self.subject_der != self.issuer_der:
            return SelfSigned(False, "names differ")
        key = self.public_key
        verdict = signed_by(self, key) if key is not None else None
        if verdict is True:
            return SelfSigned(True, "signature")
        if verdict is False:
            return SelfSigned(False, "signature fails with own key")
        if self.aki is not None and self.ski is not None:
            return SelfSigned(self.aki == self.ski, "key identifiers")
        return SelfSigned(True, "names only")

    def issued(self, child: Cert) -> bool | None:
        """Did this certificate's key sign ``child``? Names must match first."""
        if child.issuer_der != self.subject_der:
            return False
        key = self.public_key
        verdict = signed_by(child, key) if key is not None else None
        if verdict is None and child.aki is not None and self.ski is not None:
            return child.aki == self.ski
        return verdict


def _name_text(name: x509.Name) -> str:
    try:
        return name.rfc4514_string()
    except ValueError:
        return name.public_bytes().hex()


def aware(ts: datetime) -> datetime:
    return ts if ts.tzinfo else ts.replace(tzinfo=timezone.utc)
