"""The registry ``Blob`` value: a CryptoAPI serialized certificate store element.

A sequence of properties ``id (u32 LE) | reserved = 1 (u32 LE) | length (u32 LE) | data``;
property 32 is the DER certificate, 2 (key provider info) says a private key is
associated, 11 is the friendly name (UTF-16LE, NUL-terminated). Every length is
checked against what is left, because the blob comes from the evidence.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

CERT_KEY_PROV_INFO_PROP_ID = 2
CERT_SHA1_HASH_PROP_ID = 3
CERT_FRIENDLY_NAME_PROP_ID = 11
CERT_CERT_PROP_ID = 32
_HEADER = struct.Struct("<III")


@dataclass
class BlobElement:
    der: bytes | None = None
    has_private_key: bool = False
    friendly_name: str = ""
    properties: list[int] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def parse_blob(data: bytes) -> BlobElement:
    """Read the properties of a serialized element; problems are recorded, never raised."""
    out = BlobElement()
    pos = 0
    end = len(data)
    while pos < end:
        if end - pos < _HEADER.size:
            out.problems.append(f"{end - pos} stray byte(s) at blob offset {pos}")
            break
        prop_id, reserved, length = _HEADER.unpack_from(data, pos)
        pos += _HEADER.size
        if length > end - pos:
            out.problems.append(f"property {prop_id} at blob offset {pos - _HEADER.size} claims {length} bytes, "
                                f"only {end - pos} left")
            break
        if reserved != 1:
            out.problems.append(f"property {prop_id} has reserved field {reserved}, expected 1")
        value = data[pos:pos + length]
        pos += length
        out.properties.append(prop_id)
        if prop_id == CERT_CERT_PROP_ID:
            out.der = value
        elif prop_id == CERT_KEY_PROV_INFO_PROP_ID:
            out.has_private_key = True
        elif prop_id == CERT_FRIENDLY_NAME_PROP_ID:
            out.friendly_name = value.decode("utf-16-le", errors="replace").split("\x00", 1)[0]
    if out.der is None and not out.problems:
        out.problems.append("no certificate property (32) in blob")
    return out


def build_blob(der: bytes, *, private_key: bool = False, friendly_name: str = "",
               thumbprint: bytes | None = None) -> bytes:
    """Serialize an element the way CryptoAPI writes it (used to make fixtures and samples)."""
    parts = []

    def prop(prop_id: int, value: bytes) -> None:
        parts.append(_HEADER.pack(prop_id, 1, len(value)) + value)

    if private_key:
        # CRYPT_KEY_PROV_INFO in its serialized form: offsets to container and provider names,
        # provider type, flags, parameter count/offset, key spec; then the UTF-16 strings.
        container = "tlsdiag-fixture-key\x00".encode("utf-16-le")
        provider = "Microsoft RSA SChannel Cryptographic Provider\x00".encode("utf-16-le")
        head = struct.pack("<IIIIIII", 28, 28 + len(container), 12, 0x20, 0, 0, 1)
        prop(CERT_KEY_PROV_INFO_PROP_ID, head + container + provider)
    if thumbprint is not None:
        prop(CERT_SHA1_HASH_PROP_ID, thumbprint)
    if friendly_name:
        prop(CERT_FRIENDLY_NAME_PROP_ID, (friendly_name + "\x00").encode("utf-16-le"))
    prop(CERT_CERT_PROP_ID, der)
    return b"".join(parts)
