"""Deterministic damaged variants of an EVTX file, for the mutation suite.

``variants(data, seed)`` walks every structural boundary of one well-formed (or
real-world) EVTX file and yields damaged copies: truncation at each boundary,
bit flips and overwrites in the file header, chunk headers, the string and
template offset tables, record headers and BinXML, oversized length fields,
zero-filled chunks, a chunk count that lies, chunks out of order and garbage
appended. The same (data, seed) always gives the same variants, so a failure
is reproduced from its name alone.

Each variant says where the original chunks went (``slot_of``) so that the
checker can hold the reader to account chunk by chunk, and whether the
mutation left the chunk checksums consistent (``crc_fixed``): such damage is
invisible to checksums by construction, so only structural mutations get it.
"""

from __future__ import annotations

import random
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field

FILE_HEADER_SIZE = 4096
CHUNK_SIZE = 65536
CHUNK_HEADER_SIZE = 512
CHUNK_MAGIC = b"ElfChnk\x00"
RECORD_MAGIC = b"\x2a\x2a\x00\x00"


@dataclass
class Variant:
    """One damaged copy: its reproducible name, bytes and the chunk mapping."""

    name: str
    data: bytes
    slot_of: dict[int, int] = field(default_factory=dict)  # original chunk -> slot in the variant
    crc_fixed: bool = False


@dataclass
class Layout:
    """Where things are in the original file (only chunks with a valid magic)."""

    size: int
    chunks: list[int]  # chunk indexes with the ElfChnk magic
    records: dict[int, list[tuple[int, int]]]  # chunk -> [(absolute offset, size)]


def chunk_start(index: int) -> int:
    return FILE_HEADER_SIZE + index * CHUNK_SIZE


def layout(data: bytes) -> Layout:
    """Chunks and record boundaries of a file, found by walking the record chain."""
    chunks: list[int] = []
    records: dict[int, list[tuple[int, int]]] = {}
    index = 0
    while chunk_start(index) + CHUNK_HEADER_SIZE <= len(data):
        start = chunk_start(index)
        if data[start:start + 8] == CHUNK_MAGIC:
            chunks.append(index)
            free = struct.unpack_from("<I", data, start + 48)[0]
            end = min(start + max(free, CHUNK_HEADER_SIZE), start + CHUNK_SIZE, len(data))
            pos = start + CHUNK_HEADER_SIZE
            recs: list[tuple[int, int]] = []
            while pos + 24 <= end and data[pos:pos + 4] == RECORD_MAGIC:
                size = struct.unpack_from("<I", data, pos + 4)[0]
                if size < 28 or pos + size > end:
                    break
                recs.append((pos, size))
                pos += size
            records[index] = recs
        index += 1
    return Layout(len(data), chunks, records)


def header_crc(chunk: bytes | bytearray) -> int:
    return zlib.crc32(bytes(chunk[128:512]), zlib.crc32(bytes(chunk[:120])))


def fix_chunk_crcs(buf: bytearray, index: int) -> None:
    """Recompute a chunk's data and header CRC32 after a structural change."""
    start = chunk_start(index)
    free = struct.unpack_from("<I", buf, start + 48)[0]
    if CHUNK_HEADER_SIZE <= free <= CHUNK_SIZE:
        struct.pack_into("<I", buf, start + 52, zlib.crc32(bytes(buf[start + CHUNK_HEADER_SIZE:start + free])))
    struct.pack_into("<I", buf, start + 124, header_crc(buf[start:start + CHUNK_HEADER_SIZE]))


def _flip(buf: bytearray, pos: int, rng: random.Random) -> None:
    buf[pos] ^= 1 << rng.randrange(8)


def _cuts(lay: Layout, rng: random.Random) -> list[tuple[str, int]]:
    """Truncation points at every interesting boundary (deduplicated, inside the file)."""
    cuts: list[tuple[str, int]] = [("empty", 0), ("magic", 7), ("filehdr-128", 128), ("filehdr-mid", 2000),
                                   ("filehdr-end", FILE_HEADER_SIZE - 1), ("after-filehdr", FILE_HEADER_SIZE)]
    for c in lay.chunks[:3] + lay.chunks[-1:]:
        s = chunk_start(c)
        cuts += [(f"c{c}-magic", s + 4), (f"c{c}-hdr-64", s + 64), (f"c{c}-strtab", s + 128 + rng.randrange(256)),
                 (f"c{c}-tpltab", s + 384 + rng.randrange(128)), (f"c{c}-hdr-end", s + CHUNK_HEADER_SIZE)]
        recs = lay.records.get(c, [])
        for label, rec in (("first", recs[0] if recs else None), ("mid", recs[len(recs) // 2] if recs else None),
                           ("last", recs[-1] if recs else None)):
            if rec is None:
                continue
            pos, size = rec
            cuts += [(f"c{c}-{label}-rechdr", pos + 12), (f"c{c}-{label}-binxml", pos + 24 + rng.randrange(size - 28)),
                     (f"c{c}-{label}-sizecopy", pos + size - 2), (f"c{c}-{label}-end", pos + size)]
        cuts.append((f"c{c}-end-1", s + CHUNK_SIZE - 1))
    seen: set[int] = set()
    out = []
    for name, at in cuts:
        if 0 <= at < lay.size and at not in seen:
            seen.add(at)
            out.append((name, at))
    return out


def variants(data: bytes, seed: int, flips: int = 8) -> Iterator[Variant]:
    """Damaged copies of ``data``, deterministic in ``seed``.

    ``flips`` sets how many random bit-flip/overwrite variants each region gets.
    """
    rng = random.Random(seed)
    lay = layout(data)
    ident = {c: c for c in lay.chunks}

    def v(name: str, buf: bytes | bytearray, slot_of: dict[int, int] | None = None, crc_fixed: bool = False) -> Variant:
        return Variant(f"s{seed}:{name}", bytes(buf), dict(ident if slot_of is None else slot_of), crc_fixed)

    # truncation at every boundary
    for name, at in _cuts(lay, rng):
        yield v(f"trunc:{name}@{at}", data[:at])

    # file header: bit flips anywhere in the used part, chunk count that lies
    for _ in range(flips):
        buf = bytearray(data)
        pos = rng.randrange(128)
        _flip(buf, pos, rng)
        yield v(f"filehdr-flip@{pos}", buf)
    for count in (0, 1, max(len(lay.chunks) - 1, 0), len(lay.chunks) + 5, 0xFFFF):
        buf = bytearray(data)
        struct.pack_into("<H", buf, 42, count)
        struct.pack_into("<I", buf, 124, zlib.crc32(bytes(buf[:120])))
        yield v(f"filehdr-count={count}", buf)

    if not lay.chunks:
        return
    targets = lay.chunks if len(lay.chunks) <= 3 else sorted(rng.sample(lay.chunks, 3))
    for c in targets:
        s = chunk_start(c)
        recs = lay.records.get(c, [])
        # chunk header: bit flips in the counters/offsets part (CRC then wrong)
        for _ in range(flips):
            buf = bytearray(data)
            pos = s + rng.randrange(8, 128)
            _flip(buf, pos, rng)
            yield v(f"c{c}-hdr-flip@{pos - s}", buf)
        # string and template offset tables pointing anywhere (with and without consistent CRCs)
        for table, base, count in (("str", 128, 64), ("tpl", 384, 32)):
            for fixed in (False, True):
                buf = bytearray(data)
                slot = rng.randrange(count)
                value = rng.choice([0, 1, 0x1FF, 0x200, 0xFFF0, 0xFFFF, 0x10000, 0xFFFFFFFF,
                                    rng.randrange(0x200, 0x10000)])
                struct.pack_into("<I", buf, s + base + 4 * slot, value)
                if fixed:
                    fix_chunk_crcs(buf, c)
                yield v(f"c{c}-{table}tab[{slot}]={value:#x}{'+crc' if fixed else ''}", buf, crc_fixed=fixed)
        # record counters and free-space offset that lie, with consistent CRCs
        for field_name, off, fmt, values in (
            ("last_num", 16, "<Q", (0, 1, 2**64 - 1)),
            ("last_id", 32, "<Q", (0, 2**63)),
            ("free", 48, "<I", (0, 0x200, 0x10000, 0xFFFFFFFF)),
            ("last_rec_off", 44, "<I", (0, 0xFFFFFFFF)),
        ):
            for value in values:
                buf = bytearray(data)
                struct.pack_into(fmt, buf, s + off, value)
                fix_chunk_crcs(buf, c)
                yield v(f"c{c}-{field_name}={value:#x}+crc", buf, crc_fixed=True)
        if not recs:
            continue
        picks = [recs[0], recs[len(recs) // 2], recs[-1]]
        for pos, size in picks:
            rel = pos - s
            # record header bit flips (magic, size, id, time)
            for _ in range(max(flips // 2, 1)):
                buf = bytearray(data)
                at = pos + rng.randrange(24)
                _flip(buf, at, rng)
                yield v(f"c{c}-rec@{rel}-hdr-flip@{at - pos}", buf)
            # oversized / undersized length fields, also with consistent CRCs (structure-only damage)
            for value in (0, 27, 28, size + 8, size + 0x1000, 0x10000, 0xFFFFFFFF):
                for fixed in (False, True):
                    buf = bytearray(data)
                    struct.pack_into("<I", buf, pos + 4, value)
                    if fixed:
                        fix_chunk_crcs(buf, c)
                    yield v(f"c{c}-rec@{rel}-size={value:#x}{'+crc' if fixed else ''}", buf, crc_fixed=fixed)
            buf = bytearray(data)
            struct.pack_into("<I", buf, pos + size - 4, 0xFFFFFFFF)
            yield v(f"c{c}-rec@{rel}-sizecopy", buf)
            buf = bytearray(data)
            buf[pos:pos + 4] = b"\x2b\x2a\x00\x00"
            fix_chunk_crcs(buf, c)
            yield v(f"c{c}-rec@{rel}-magic+crc", buf, crc_fixed=True)
            # BinXML: bit flips, and 16/32-bit length fields made huge at random places
            for _ in range(flips):
                buf = bytearray(data)
                at = pos + 24 + rng.randrange(max(size - 28, 1))
                _flip(buf, at, rng)
                yield v(f"c{c}-rec@{rel}-binxml-flip@{at - pos}", buf)
            for _ in range(max(flips // 2, 1)):
                buf = bytearray(data)
                at = pos + 24 + rng.randrange(max(size - 32, 1))
                width = rng.choice((2, 4))
                buf[at:at + width] = b"\xff" * width
                yield v(f"c{c}-rec@{rel}-binxml-len{width * 8}@{at - pos}", buf)
        # a run of random bytes over the middle of the records
        buf = bytearray(data)
        at = s + CHUNK_HEADER_SIZE + rng.randrange(max(CHUNK_SIZE - CHUNK_HEADER_SIZE - 256, 1))
        buf[at:at + 256] = bytes(rng.randrange(256) for _ in range(256))[: max(0, len(buf) - at)]
        yield v(f"c{c}-smear@{at - s}", buf[: len(data)])
        # zero-filled chunk
        buf = bytearray(data)
        end = min(s + CHUNK_SIZE, len(buf))
        buf[s:end] = bytes(end - s)
        yield v(f"c{c}-zeroed", buf)

    # chunks out of order: swap two full chunk slots, and reverse all of them
    n_full = max((len(data) - FILE_HEADER_SIZE) // CHUNK_SIZE, 0)
    full = [c for c in lay.chunks if c < n_full]
    if len(full) >= 2:
        a, b = sorted(rng.sample(full, 2))
        buf = bytearray(data)
        sa, sb = chunk_start(a), chunk_start(b)
        buf[sa:sa + CHUNK_SIZE], buf[sb:sb + CHUNK_SIZE] = data[sb:sb + CHUNK_SIZE], data[sa:sa + CHUNK_SIZE]
        slot_of = dict(ident)
        slot_of[a], slot_of[b] = b, a
        yield v(f"swap-c{a}-c{b}", buf, slot_of)
        rev = bytearray(data[:FILE_HEADER_SIZE])
        for i in reversed(range(n_full)):
            rev += data[chunk_start(i):chunk_start(i) + CHUNK_SIZE]
        rev += data[chunk_start(n_full):]
        yield v("reversed-chunks", rev, {c: (n_full - 1 - c if c < n_full else c) for c in lay.chunks})

    # garbage appended: short tail, a whole chunk, and a fake chunk header followed by garbage
    for label, extra in (("tail", bytes(rng.randrange(256) for _ in range(rng.randrange(1, 4000)))),
                         ("chunk", bytes(rng.randrange(256) for _ in range(CHUNK_SIZE))),
                         ("fakechunk", CHUNK_MAGIC + bytes(rng.randrange(256) for _ in range(CHUNK_SIZE - 8)))):
        pad = b""
        if label != "tail":
            used = (len(data) - FILE_HEADER_SIZE) % CHUNK_SIZE
            pad = bytes(CHUNK_SIZE - used) if used else b""
        yield v(f"append-{label}", data + pad + extra)
