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

Two engines answer the same question. Where the ``hyperscan`` package is
installed (a wheel for Linux x86_64), one multi-pattern scan looks for every
name, ASCII-case-insensitively, as UTF-16LE (without its final NUL byte, which
is implied, and which makes the search several times slower) and as single-byte
text, over many chunks at once and without holding the GIL: about 1.5 GB/s per
core here against 0.4 GB/s for the fold below. Both are sound; they differ only
in false positives (the fold also passes names interrupted by NUL bytes). The
fold is used when hyperscan is missing or ``TLSDIAG_PREFILTER=fold`` is set (``inputs/options.py``).

Records get the same treatment one level down: in a parsed chunk, a record
whose provider (and, when event ids are given, whose provider and event id) the
scan does not want is skipped before its JSON is decoded.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from tlsdiag.inputs.options import ReadOptions, detect_platform

if TYPE_CHECKING:
    from tlsdiag.inputs.recordkeys import RecordKeys, TemplateMemo

_LOWER_ASCII = bytes.maketrans(bytes(range(0x41, 0x5B)), bytes(range(0x61, 0x7B)))
_PROVIDER_KEY = '"Provider":{"#attributes":{"Name":"'
_EVENT_ID_KEY = '"EventID":'
_TEXT_KEY = '"#text":'
_DENSE_SLOT = 8  # matches in one slot after which select() stops the block scan and asks slot by slot


# Compiled hyperscan databases by their patterns: a worker process gets a fresh copy of the filter with
# every range it is sent, and compiling again for each cost about a millisecond (read-only once compiled).
_DATABASES: dict[tuple, Any] = {}


def _engine() -> Any:
    """The hyperscan module, or None where it is not installed."""
    if not detect_platform().hyperscan:
        return None
    import hyperscan

    return hyperscan


def _hs_expression(needle: bytes) -> bytes:
    """A hyperscan expression matching exactly these bytes (letters stay literal so CASELESS folds them)."""
    return b"".join(bytes((b,)) if 0x30 <= b <= 0x39 or 0x41 <= (b & 0xDF) <= 0x5A else b"\\x%02x" % b
                    for b in needle)


def _common_prefix(items: list[bytes]) -> bytes:
    first, last = min(items), max(items)
    n = 0
    while n < len(first) and first[n] == last[n]:
        n += 1
    return first[:n]


def fold(raw: bytes) -> bytes:
    """The transformation f: ASCII letters lower-cased, NUL bytes removed."""
    return raw.translate(_LOWER_ASCII, b"\x00")


@runtime_checkable
class RecordFilter(Protocol):
    """What the EVTX reader asks a prefilter beyond ``filter(raw_chunk) -> bool`` (any such callable is a
    chunk filter; ``ChunkPrefilter`` is also this): the readers check for it once, by this protocol,
    instead of asking for each method by name."""

    record_rules: tuple  # equal rules answer every record alike (``same_record_answers``)

    def __call__(self, raw: bytes | memoryview) -> bool: ...

    def select(self, block: bytes | bytearray | memoryview, size: int,
               ends: dict[int, list[int]] | None = None) -> set[int]: ...

    def record_wanted(self, text: str) -> bool: ...

    def record_decision(self, text: str) -> tuple[bool, int]: ...

    def wanted_records(self, raw: bytes, ends: list[int] | None = None,
                       templates: TemplateMemo | None = None) -> frozenset[int] | None: ...


class ChunkPrefilter:
    """``prefilter(raw_chunk) -> bool``: may this 64 KiB chunk hold a wanted event?

    ``select(block, size)`` answers it for every ``size``-byte slot of a larger
    block in one pass. Picklable (it travels to worker processes; the hyperscan
    database is compiled again where it is used). ``record_wanted(json_text)``
    is the question for one pyevtx-rs JSON record, answered from its provider
    name and, when ``event_ids`` were given, its event id; it is True whenever
    the text does not let it decide.

    ``event_ids`` maps provider names to the event ids wanted of them (``None``:
    every id); providers it does not mention have every id wanted.
    """

    def __init__(self, names: Iterable[str], event_ids: Mapping[str, Iterable[int] | None] | None = None,
                 engine: str | None = None) -> None:
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
        # provider (lower case, as JSON text) -> wanted ids; a provider missing here wants every id
        self._ids: dict[str, frozenset[int]] = {}
        for name, ids in (event_ids or {}).items():
            if ids is not None:
                key = json.dumps(name, ensure_ascii=False)[1:-1].lower()
                self._ids[key] = self._ids.get(key, frozenset()) | frozenset(ids)
        self._plain_ids = {json.loads(f'"{key}"'): ids for key, ids in self._ids.items()}  # the same, keyed by name
        # what record_decision's answers depend on: equal in a copy sent to a worker process with every range
        self.record_rules = (self._json_names, frozenset(self._ids.items()))
        # hyperscan patterns: each name as UTF-16LE (final NUL dropped) and as single-byte text
        patterns: set[bytes] = set()
        for name in cleaned:
            wide = name.encode("utf-16-le")
            patterns.add(wide[:-1] if wide.endswith(b"\x00") else wide)
            patterns.add(name.encode("latin-1", "ignore") if name.isascii() else b"")
        patterns.discard(b"")
        self._patterns: tuple[bytes, ...] = tuple(sorted(patterns))
        self._everything = not self.needles or any(not n for n in self.needles)
        self.engine = engine or ReadOptions.from_environment().prefilter_engine
        if self.engine not in ("hyperscan", "fold"):
            raise ValueError(f"unknown prefilter engine {self.engine!r}")
        self._db: Any = None
        self._local = threading.local()
        self._keys: RecordKeys | None = None  # the record-level reader, made on first use (it remembers nothing)
        self._wide: Any = None  # the fold engine's pattern for name_ends, compiled on first use

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_db"] = None
        state["_local"] = None
        state["_keys"] = None
        state["_wide"] = None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._local = threading.local()
        if self.engine == "hyperscan" and _engine() is None:
            self.engine = "fold"  # the receiving process has no hyperscan: same answers, slower

    def _hyperscan(self) -> tuple[Any, Any, Any]:
        """(module, database, this thread's scratch); compiled on first use in each process."""
        hs = _engine() if self.engine == "hyperscan" else None
        if hs is None:
            raise RuntimeError("hyperscan not available")
        if self._db is None:
            db = _DATABASES.get(self._patterns)
            if db is None:
                db = hs.Database(mode=hs.HS_MODE_BLOCK)
                exprs = [_hs_expression(p) for p in self._patterns]
                db.compile(expressions=exprs, ids=list(range(len(exprs))), flags=[hs.HS_FLAG_CASELESS] * len(exprs))
                _DATABASES[self._patterns] = db
            self._db = db
        scratch = getattr(self._local, "scratch", None)
        if scratch is None:
            scratch = self._local.scratch = hs.Scratch(self._db)
        return hs, self._db, scratch

    def _fold_test(self, raw: bytes | memoryview) -> bool:
        hay = bytes(raw).translate(_LOWER_ASCII, self._drop)
        for needle in self._singles:
            if needle in hay:
                return True
        for prefix, members in self._groups:
            if prefix in hay and any(m in hay for m in members):
                return True
        return False

    def __call__(self, raw: bytes | memoryview) -> bool:
        if not self.needles:
            return False
        if self._everything:
            return True
        if self.engine == "fold":
            return self._fold_test(raw)
        return bool(self.select(raw, max(len(raw), 1)))

    def select(self, block: bytes | bytearray | memoryview, size: int,
               ends: dict[int, list[int]] | None = None) -> set[int]:
        """Indices ``k`` of the slots ``block[k*size:(k+1)*size]`` that may hold a wanted name.

        A name that straddles two slots is in neither, so it may or may not select one (a false
        positive at worst); a name inside a slot always selects it. ``ends``, when given, receives
        what ``name_ends`` would give for each selected slot (offsets within the slot; a name that
        straddles into it adds an extra one), so the record-level test need not search the slot
        again; it is left empty where the scan did not see every match (the engine is not
        hyperscan, or the block was dense and asked slot by slot).
        """
        slots = -(-len(block) // size)
        if not self.needles:
            return set()
        if self._everything:
            return set(range(slots))
        if self.engine == "fold":
            view = memoryview(block)
            return {k for k in range(slots) if self._fold_test(view[k * size:(k + 1) * size])}
        hs, db, scratch = self._hyperscan()
        found: set[int] = set()
        add = found.add
        state = [-1, 0]  # the slot of the last match, and how many matches it had

        def on_match(_id: int, _start: int, end: int, _flags: int, _ctx: Any) -> bool:
            k = (end - 1) // size
            if k != state[0]:
                add(k)
                state[0], state[1] = k, 1
                if ends is not None:
                    ends[k] = [end - k * size]
                return False
            state[1] += 1
            if ends is not None:
                ends[k].append(end - k * size)
            return state[1] >= _DENSE_SLOT  # stop: this block is dense, go on slot by slot

        try:
            db.scan(block, match_event_handler=on_match, scratch=scratch)
            return found
        except hs.ScanTerminated:
            if ends is not None:
                ends.clear()  # not every match was seen
        # A block where every record names a wanted provider calls back once per record; one scan per
        # slot left, each stopped at its first match, asks about each slot once instead.
        view = memoryview(block)
        hit = [False]

        def first(_id: int, _start: int, _end: int, _flags: int, _ctx: Any) -> bool:
            hit[0] = True
            return True

        for k in range(slots):
            if k in found:
                continue
            hit[0] = False
            try:
                db.scan(view[k * size:(k + 1) * size], match_event_handler=first, scratch=scratch)
            except hs.ScanTerminated:
                pass
            if hit[0]:
                add(k)
        return found

    def record_wanted(self, text: str) -> bool:
        """Whether a pyevtx-rs JSON record is wanted (True when its text does not let this decide)."""
        return self.record_decision(text)[0]

    def record_decision(self, text: str) -> tuple[bool, int]:
        """``record_wanted``'s answer, and how far into the text it read to give it.

        The answer holds for every text that starts with the same ``text[:extent]``, which lets
        a caller remember it for records that share their beginning (``normalize.RecordMemo``).
        """
        start = text.find(_PROVIDER_KEY)
        if start < 0:
            return True, len(text)
        m = _HEAD.match(text, start)  # the common shape in one step: plain name, then a numeric EventID
        if m is not None:
            name = m.group(1).lower()
            if name not in self._json_names:
                return False, m.end()
            ids = self._ids.get(name)
            return ids is None or (int(m.group(2)) & 0xFFFF) in ids, m.end()
        start += len(_PROVIDER_KEY)
        end = text.find('"', start)
        while end > 0 and text[end - 1] == "\\":  # an escaped quote inside the name
            end = text.find('"', end + 1)
        if end < 0:
            return True, len(text)
        name = text[start:end].lower()
        if name not in self._json_names:
            return False, end + 1
        ids = self._ids.get(name)
        if ids is None:
            return True, end + 1
        event_id = _event_id(text, end)
        return event_id is None or event_id in ids, len(text)  # where the id was found is not tracked

    def wanted_records(self, raw: bytes, ends: list[int] | None = None,
                       templates: TemplateMemo | None = None) -> frozenset[int] | None:
        """The record numbers in such a chunk that may be a wanted (provider, event id), None when in doubt
        (``recordkeys.RecordKeys.wanted_records``): the parser skips the others without decoding them.
        ``templates`` is the reading's memo of template trees; the filter itself keeps no memo, so one
        filter object can serve any number of reads and each gives what it gives alone."""
        keys = self._keys
        if keys is None:
            from tlsdiag.inputs.recordkeys import RecordKeys

            keys = self._keys = RecordKeys(self._lower_names, self._plain_ids, self.name_ends)
        return keys.wanted_records(raw, ends, templates)

    def name_ends(self, raw: bytes) -> list[int]:
        """Sorted offsets in ``raw`` at or just before which a wanted name stored as UTF-16LE text ends
        (every such name is found; an offset may also stand for a near miss)."""
        if self.engine == "hyperscan":
            _hs, db, scratch = self._hyperscan()
            ends: list[int] = []
            add = ends.append

            def on_match(_id: int, _start: int, end: int, _flags: int, _ctx: Any) -> None:
                add(end)

            db.scan(raw, match_event_handler=on_match, scratch=scratch)
            ends.sort()
            return ends
        if self._wide is None:  # every start of a name, overlapping ones too (a lookahead matches at each)
            alternatives = b"|".join(re.escape(n.encode("utf-16-le")) for n in self.names if n)
            self._wide = re.compile(b"(?=(" + alternatives + b"))", re.IGNORECASE)
        return sorted(m.start() + len(m.group(1)) for m in self._wide.finditer(raw))

    def provider_wanted(self, provider: str, event_id: int | None = None) -> bool:
        name = provider.lower()
        if name not in self._lower_names:
            return False
        ids = self._plain_ids.get(name)
        return ids is None or event_id is None or event_id in ids

    def __repr__(self) -> str:
        return f"ChunkPrefilter({len(self.names)} names, {len(self.needles)} needles, {self.engine})"


def _event_id(text: str, after: int) -> int | None:
    """The 16-bit event id of a pyevtx-rs JSON record (``EventID`` as a number or ``{..., "#text": N}``)."""
    pos = text.find(_EVENT_ID_KEY, after)
    if pos < 0:
        return None
    pos += len(_EVENT_ID_KEY)
    if text.startswith("{", pos):
        try:
            value, _end = _DECODER.raw_decode(text, pos)
        except ValueError:
            return None
        value = value.get("#text")
        return value & 0xFFFF if type(value) is int and value >= 0 else None
    m = _NUMBER.match(text, pos)
    if m is None:
        return None
    return int(m.group(1)) & 0xFFFF  # a legacy 32-bit id carries its qualifiers in the high word


_DECODER = json.JSONDecoder()
_NUMBER = re.compile(r"(\d{1,12})[,}]")
# System/Provider with plain-text attributes directly followed by a numeric EventID (what pyevtx-rs writes)
# (a quote inside a JSON string is escaped, so '}},"EventID":' cannot come from an attribute's value)
_HEAD = re.compile(re.escape(_PROVIDER_KEY) + r'([^"\\]*)"[^{}]*\}\},"EventID":(\d{1,12})[,}]')


def chunk_prefilter(names: Iterable[str], event_ids: Mapping[str, Iterable[int] | None] | None = None,
                    engine: str | None = None) -> ChunkPrefilter:
    """A sound byte-level chunk filter for the given provider names (see module docstring)."""
    return ChunkPrefilter(names, event_ids, engine)


def same_record_answers(one: Any, other: Any) -> bool:
    """Whether two record filters (ChunkPrefilter, or None for none) answer every record alike: memos
    that remember answers keep them across the copies of one filter a worker receives."""
    if one is other:
        return True
    return one is not None and other is not None and one.record_rules == other.record_rules
