"""Read certificate files (.cer/.crt/.pem/.der) sorted into folders named after stores.

An administrator who exports with certmgr or ``Export-Certificate`` gets one file per
certificate; the folder name (``Root``, ``CA``, ``My``...) says the store. Files carry
no private-key flag, so those checks stay silent for this form.
"""

from __future__ import annotations

import base64
import binascii
import re

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.serialization import Encoding, pkcs7

from tlsdiag.stores.certs import Cert
from tlsdiag.stores.model import MACHINE, StoreCert, StoreSnapshot, canonical_store

CERT_SUFFIXES = (".cer", ".crt", ".pem", ".der", ".p7b")
_PEM = re.compile(rb"-----BEGIN (?:X509 |TRUSTED )?CERTIFICATE-----(.+?)-----END (?:X509 |TRUSTED )?CERTIFICATE-----",
                  re.DOTALL)


def looks_like_cert(head: bytes) -> bool:
    """DER SEQUENCE with a long length, or PEM/base64 text as certmgr's 'Base-64 encoded' export."""
    if head[:2] in (b"\x30\x82", b"\x30\x81", b"\x30\x83"):
        return True
    return any(marker in head[:4096] for marker in (b"-----BEGIN CERTIFICATE-----",
                                                    b"-----BEGIN X509 CERTIFICATE-----", b"-----BEGIN PKCS7-----"))


def _is_pkcs7(data: bytes) -> bool:
    """A DER PKCS#7 SignedData (certmgr's .p7b) rather than a bare certificate."""
    try:
        pkcs7.load_der_pkcs7_certificates(data)
    except ValueError:
        return False
    return True


def certificates_in(data: bytes) -> list[bytes]:
    """DER certificates in a file: every PEM block, or the file itself as DER."""
    if b"-----BEGIN PKCS7-----" in data:
        try:
            return [c.public_bytes(Encoding.DER) for c in pkcs7.load_pem_pkcs7_certificates(data)]
        except ValueError:
            return []
    if data[:1] == b"\x30" and _is_pkcs7(data):
        return [c.public_bytes(Encoding.DER) for c in pkcs7.load_der_pkcs7_certificates(data)]
    blocks = _PEM.findall(data)
    if blocks:
        out = []
        for block in blocks:
            try:
                out.append(base64.b64decode(b"".join(block.split()), validate=True))
            except binascii.Error:
                continue
        return out
    return [data]


def read_certfile(data: bytes, display: str, store_folder: str, snapshot: StoreSnapshot) -> None:
    store = canonical_store(store_folder)
    snapshot.covered.add((MACHINE, store))
    for n, der in enumerate(certificates_in(data)):
        where = display if n == 0 else f"{display} #{n + 1}"
        try:
            cert = Cert(der)
        except (ValueError, UnsupportedAlgorithm) as exc:
            snapshot.lose(display, where[len(display):].strip(), f"not a certificate: {exc}")
            continue
        snapshot.add(StoreCert(cert=cert, location=MACHINE, store=store, has_private_key=None, source=where))
    if display not in snapshot.sources:
        snapshot.sources.append(display)
