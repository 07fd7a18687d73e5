"""Just enough DER to take a certificate apart where a strict X.509 parser refuses it.

Real Windows stores and Mozilla's root list hold certificates whose serial number is
negative or zero (RFC 5280 forbids both). ``cryptography`` warns about them today and
will refuse them in a future release, and either way the certificate would vanish
from the store analysis. This module splits such a certificate into its to-be-signed
part, signature algorithm and signature (kept byte for byte, so signatures still
verify) and rebuilds a copy whose only change is a positive serial, which the strict
parser then reads for names, validity, key and extensions. Every length is checked
against what is left, because the bytes come from the evidence.
"""

from __future__ import annotations

from dataclasses import dataclass


class DerError(ValueError):
    """The bytes are not the DER certificate structure this module expects."""


@dataclass(frozen=True, slots=True)
class Element:
    tag: int
    start: int  # offset of the tag byte
    body: int  # offset of the content
    end: int  # offset after the content

    def raw(self, data: bytes) -> bytes:
        return data[self.start:self.end]

    def content(self, data: bytes) -> bytes:
        return data[self.body:self.end]


def element(data: bytes, pos: int, limit: int | None = None) -> Element:
    """The DER element at ``pos`` (definite lengths only, as DER requires)."""
    limit = len(data) if limit is None else limit
    if pos + 2 > limit:
        raise DerError(f"element at offset {pos} cut short")
    tag, first = data[pos], data[pos + 1]
    if tag & 0x1F == 0x1F:
        raise DerError(f"multi-byte tag at offset {pos}")
    if first < 0x80:
        body, length = pos + 2, first
    else:
        n = first & 0x7F
        if n == 0 or n > 4 or pos + 2 + n > limit:
            raise DerError(f"bad length at offset {pos}")
        body, length = pos + 2 + n, int.from_bytes(data[pos + 2:pos + 2 + n], "big")
    if body + length > limit:
        raise DerError(f"element at offset {pos} claims {length} bytes, only {limit - body} left")
    return Element(tag, pos, body, body + length)


def encode(tag: int, content: bytes) -> bytes:
    n = len(content)
    if n < 0x80:
        return bytes([tag, n]) + content
    size = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(size)]) + size + content


@dataclass(frozen=True, slots=True)
class CertParts:
    """The parts of a certificate that signatures and thumbprints depend on, as stored."""

    tbs: bytes  # the to-be-signed certificate, whole element
    signature: bytes  # the signature bits (BIT STRING content without its unused-bits byte)
    serial: bytes  # the serial number's INTEGER content, as stored (two's complement)
    serial_element: Element  # where the serial sits in ``tbs``


def split(der: bytes) -> CertParts:
    """Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue }."""
    outer = element(der, 0)
    if outer.tag != 0x30:
        raise DerError("not a SEQUENCE")
    tbs = element(der, outer.body, outer.end)
    if tbs.tag != 0x30:
        raise DerError("to-be-signed part is not a SEQUENCE")
    algorithm = element(der, tbs.end, outer.end)
    value = element(der, algorithm.end, outer.end)
    if value.tag != 0x03 or value.end - value.body < 1:
        raise DerError("signature is not a BIT STRING")
    tbs_bytes = tbs.raw(der)
    pos = element(tbs_bytes, 0).body
    first = element(tbs_bytes, pos)
    if first.tag == 0xA0:  # [0] EXPLICIT version
        first = element(tbs_bytes, first.end)
    if first.tag != 0x02:
        raise DerError("serial number is not an INTEGER")
    return CertParts(tbs_bytes, der[value.body + 1:value.end], first.content(tbs_bytes), first)


def with_serial(der: bytes, serial: bytes) -> bytes:
    """The certificate rebuilt with ``serial`` (INTEGER content) in place of its own; signature unchanged
    (it no longer verifies over the new bytes: callers verify against ``split(der).tbs``)."""
    parts = split(der)
    outer = element(der, 0)
    tbs_el = element(der, outer.body)
    head = element(parts.tbs, 0)
    inner = parts.tbs[head.body:parts.serial_element.start] + encode(0x02, serial) \
        + parts.tbs[parts.serial_element.end:]
    tbs = encode(0x30, inner)
    return encode(0x30, tbs + der[tbs_el.end:outer.end])


def serial_problem(serial: bytes) -> str | None:
    """Why a serial's INTEGER content breaks RFC 5280 (positive, at most 20 octets), or None."""
    if not serial:
        return "serial number is empty"
    if serial[0] & 0x80:
        return "serial number is negative"
    if not any(serial):
        return "serial number is zero"
    return None
