"""Deliberately damaged copies of a written .evtx, for robustness tests.

Each kind models a failure seen in real files (libyal's corruption scenarios,
python-evtx issues #45/#46/#85, pyevtx-rs #18): a reader must notice it, skip
what it cannot read, count it, and go on with the rest of the file.

``damage(data, kind, chunk=i)`` returns new bytes; the input is not changed.
Kinds that break structure but not checksums (record magic, record size)
recompute the chunk CRCs afterwards so that only a structural check finds them.
"""

from __future__ import annotations

import os
import random
import struct
import zlib
from pathlib import Path

from .writer import CHUNK_HEADER_SIZE, CHUNK_SIZE, FILE_HEADER_SIZE, chunk_header_crc

DAMAGE_KINDS: dict[str, str] = {
    "bad_file_header_crc": "file header CRC32 does not match",
    "bad_chunk_magic": "chunk signature is not 'ElfChnk'",
    "bad_chunk_header_crc": "chunk header CRC32 does not match",
    "bad_chunk_data_crc": "chunk records CRC32 does not match (one record byte changed)",
    "bad_record_magic": "a record's signature is not 2a2a0000 (CRCs recomputed)",
    "bad_record_size": "a record's size field disagrees with its trailing copy (CRCs recomputed)",
    "truncated": "file ends in the middle of a chunk",
    "zeroed_chunk": "a whole chunk is zero bytes",
    "garbage_chunk": "a whole chunk is random bytes",
    "garbage_tail": "random bytes after the last chunk (less than a chunk)",
}


def _chunk_start(data: bytes | bytearray, chunk: int) -> int:
    start = FILE_HEADER_SIZE + chunk * CHUNK_SIZE
    if chunk < 0 or start + CHUNK_HEADER_SIZE > len(data):
        raise ValueError(f"file has no chunk {chunk}")
    return start


def _record_offsets(buf: bytes | bytearray, start: int) -> list[int]:
    """Offsets (absolute) of the records in a well-formed chunk."""
    free = struct.unpack_from("<I", buf, start + 48)[0]
    pos = start + CHUNK_HEADER_SIZE
    out = []
    while pos < start + free:
        magic, size = struct.unpack_from("<II", buf, pos)
        if magic != 0x2A2A or size < 28:
            break
        out.append(pos)
        pos += size
    return out


def _fix_chunk_crcs(buf: bytearray, start: int) -> None:
    free = struct.unpack_from("<I", buf, start + 48)[0]
    struct.pack_into("<I", buf, start + 52, zlib.crc32(buf[start + CHUNK_HEADER_SIZE:start + free]))
    struct.pack_into("<I", buf, start + 124, chunk_header_crc(buf[start:start + CHUNK_HEADER_SIZE]))


def _middle_record(buf: bytearray, start: int) -> int:
    offsets = _record_offsets(buf, start)
    if not offsets:
        raise ValueError("chunk has no records")
    return offsets[len(offsets) // 2]


def damage(data: bytes, kind: str, chunk: int = 0, seed: int = 1) -> bytes:
    """A damaged copy of ``data`` (a whole .evtx file); ``chunk`` picks where."""
    if kind not in DAMAGE_KINDS:
        raise ValueError(f"unknown damage kind {kind!r}; known: {', '.join(DAMAGE_KINDS)}")
    buf = bytearray(data)
    rng = random.Random(seed)
    if kind == "bad_file_header_crc":
        buf[124] ^= 0xFF
        return bytes(buf)
    if kind == "garbage_tail":
        return bytes(buf) + bytes(rng.randrange(256) for _ in range(4000))
    start = _chunk_start(buf, chunk)
    if kind == "bad_chunk_magic":
        buf[start + 6] = ord("X")
    elif kind == "bad_chunk_header_crc":
        buf[start + 124] ^= 0xFF
    elif kind == "bad_chunk_data_crc":
        rec = _middle_record(buf, start)
        size = struct.unpack_from("<I", buf, rec + 4)[0]
        buf[rec + size - 8] ^= 0x55  # inside the record's BinXML/padding, structure intact
        # stored CRC left as it was, so it no longer matches
    elif kind == "bad_record_magic":
        rec = _middle_record(buf, start)
        buf[rec:rec + 4] = b"\x2b\x2b\x00\x00"
        _fix_chunk_crcs(buf, start)
    elif kind == "bad_record_size":
        rec = _middle_record(buf, start)
        size = struct.unpack_from("<I", buf, rec + 4)[0]
        struct.pack_into("<I", buf, rec + 4, size + 0x1000)
        _fix_chunk_crcs(buf, start)
    elif kind == "truncated":
        del buf[start + CHUNK_SIZE // 2:]
    elif kind == "zeroed_chunk":
        end = min(start + CHUNK_SIZE, len(buf))
        buf[start:end] = bytes(end - start)
    elif kind == "garbage_chunk":
        end = min(start + CHUNK_SIZE, len(buf))
        buf[start:end] = bytes(rng.randrange(256) for _ in range(end - start))
    return bytes(buf)


def damage_file(src: str | os.PathLike[str], dst: str | os.PathLike[str], kind: str, chunk: int = 0,
                seed: int = 1) -> Path:
    """Write a damaged copy of the fixture ``src`` to ``dst`` (never in place)."""
    src_p, dst_p = Path(src), Path(dst)
    if src_p.resolve() == dst_p.resolve():
        raise ValueError("damage_file never writes over its source")
    dst_p.write_bytes(damage(src_p.read_bytes(), kind, chunk, seed))
    return dst_p


def chunk_record_ids(data: bytes, chunk: int) -> tuple[int, int]:
    """First and last record id the (undamaged) chunk header names."""
    start = _chunk_start(data, chunk)
    first, last = struct.unpack_from("<QQ", data, start + 24)
    return first, last
