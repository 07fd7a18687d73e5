"""Skip EVTX chunks (and records) that cannot hold an event of interest, soundly.

The events the knowledge base cares about are rare needles in big logs. Every
record names its provider, and in an EVTX file that name is stored inside the
chunk that holds the record: a chunk's templates and strings are its own (a
template instance refers to a definition by a chunk-relative offset, and the
common-string and template hash tables sit in each chunk's header; see the
EVTX notes in shared/research/peer-tools.md section 7, after libyal's format
document), so nothing a record needs lives in another chunk. The tests check
this on the real corpus: full and filtered reads give the same events for the
wanted providers on every file. The name is stored as UTF-16LE text (template literal or substitution
value). So if none of the wanted provider names occurs in a chunk's raw bytes,
no event of that chunk can match, and the chunk need not be parsed.

The test is made cheap and still sound by one byte-wise transformation ``f``
applied to both haystack and needles: ASCII upper-case letters become lower
case (case-insensitive matching) and NUL bytes are dropped (so UTF-16LE text of
ASCII names becomes plain ASCII, whatever its alignment). ``f`` maps each byte
to zero or one bytes, so it preserves concatenation: if the UTF-16LE name ``W``
occurs in the chunk ``H``, then ``f(W)`` occurs in ``f(H)``. The converse does
not hold, which only means some chunks are parsed for nothing (false
positives), never that a wanted one is skipped. Non-ASCII letters are compared
exactly (catalog provider names are ASCII).

Pass provider names (with their aliases). Channel names are accepted, but every
record of a log carries its channel, so a channel such as ``System`` makes every
chunk of that log pass; the filter is sound either way, just less useful.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

_LOWER_ASCII = bytes.maketrans(bytes(range(0x41, 0x5B)), bytes(range(0x61, 0x7B)))
_PROVIDER_KEY = '"Provider":{"#attributes":{"Name":"'


def _common_prefix(items: list[bytes]) -> bytes:
    first, last = min(items), max(items)
    n = 0
    while n < len(first) and first[n] == last[n]:
        n += 1
    return first[:n]


def fold(raw: bytes) -> bytes:
    """The transformation f: ASCII letters lower-cased, NUL bytes removed."""
    return raw.translate(_LOWER_ASCII, b"\x00")


class ChunkPrefilter:
    """``prefilter(raw_chunk) -> bool``: may this 64 KiB chunk hold a wanted event?

    Picklable (it travels to worker processes). ``record_wanted(json_text)``
    is the same question for one pyevtx-rs JSON record, answered from its
    provider name; it is True whenever the name cannot be found in the text.
    """

    def __init__(self, names: Iterable[str]) -> None:
        cleaned = sorted(set(names), key=str.lower)  # an empty name is in every chunk: all pass (sound)
        self.names: tuple[str, ...] = tuple(cleaned)
        needles: set[bytes] = set()
        for name in cleaned:
            for variant in (name, name.lower(), name.upper()):
                needles.add(fold(variant.encode("utf-16-le")))
        # a longer needle implied by a shorter one adds nothing
        ordered = sorted(needles, key=len)
        kept: list[bytes] = []
        for needle in ordered:
            if not any(k in needle for k in kept):
                kept.append(needle)
        self.needles: tuple[bytes, ...] = tuple(kept)
        # The haystack also loses the binary bytes (not printable ASCII) that no needle contains: the
        # same kind of transformation (each byte to zero or one bytes, so concatenation is preserved,
        # and every needle stays as it is), but about a third less to search. Text stays text: a name
        # interrupted by another printable character still does not match.
        keep = set(b"".join(needles)) - {0}
        lowered = bytes(range(256)).translate(_LOWER_ASCII)
        self._drop = bytes(b for b in range(256) if lowered[b] not in keep and not 0x20 <= b < 0x7F)
        # Needles sharing a 3-byte start are checked behind their common prefix: when the prefix is
        # absent none of them can be there (one search instead of several; e.g. the "LS ..." sources).
        by_start: dict[bytes, list[bytes]] = {}
        for needle in kept:
            by_start.setdefault(needle[:3] if len(needle) >= 3 else needle, []).append(needle)
        self._groups: tuple[tuple[bytes, tuple[bytes, ...]], ...] = tuple(
            (_common_prefix(members), tuple(members)) for members in by_start.values() if len(members) > 1)
        self._singles: tuple[bytes, ...] = tuple(m[0] for m in by_start.values() if len(m) == 1)
        self._json_names = frozenset(json.dumps(n, ensure_ascii=False)[1:-1].lower() for n in cleaned)
        self._lower_names = frozenset(n.lower() for n in cleaned)

    def __call__(self, raw: bytes) -> bool:
        if not self.needles:
            return False
        hay = raw.translate(_LOWER_ASCII, self._drop)
        for needle in self._singles:
            if needle in hay:
                return True
        for prefix, members in self._groups:
            if prefix in hay and any(m in hay for m in members):
                return True
        return False

    def record_wanted(self, text: str) -> bool:
        """Whether a pyevtx-rs JSON record's provider is one of the names (True if not determinable)."""
        start = text.find(_PROVIDER_KEY)
        if start < 0:
            return True
        start += len(_PROVIDER_KEY)
        end = text.find('"', start)
        while end > 0 and text[end - 1] == "\\":  # an escaped quote inside the name
            end = text.find('"', end + 1)
        if end < 0:
            return True
        return text[start:end].lower() in self._json_names

    def provider_wanted(self, provider: str) -> bool:
        return provider.lower() in self._lower_names

    def __repr__(self) -> str:
        return f"ChunkPrefilter({len(self.names)} names, {len(self.needles)} needles)"


def chunk_prefilter(names: Iterable[str]) -> ChunkPrefilter:
    """A sound byte-level chunk filter for the given provider names (see module docstring)."""
    return ChunkPrefilter(names)
