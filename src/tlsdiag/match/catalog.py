"""Match events to catalog entries on channel, provider and event id (+ the entry's field conditions).

Never on message text: EVTX carries none, and the text changes with the
server's language. The index is a dict by event id, so each event costs one
lookup and a comparison with the few entries that share its id.

Event Viewer text exports are the one exception to "fields are there": they
carry only the rendered message. For an event already matched on
channel/provider/id, the fields are recovered by reading the message back
through the entry's own template (``%1`` etc. become capture groups). When that
fails, field conditions stay *unknown* (see ``conditions``) and the match is
kept but flagged ``uncertain``.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import NamedTuple

from tlsdiag.kb.model import CatalogEvent, KnowledgeBase
from tlsdiag.match.conditions import compile_all
from tlsdiag.model import Event, EventForm, EventRest, event_at

_EMPTY: Mapping[str, str] = MappingProxyType({})


@dataclass(slots=True)  # not frozen: built once per matched event on the hot path; treat as read-only
class Match:
    """One event recognised as one catalog entry.

    ``fields`` is what conditions were evaluated on: the event's data, or the
    fields recovered from a text export's message. ``complete`` is False when
    the fields could not be known (text export whose message did not fit the
    template); ``uncertain`` is True when the entry's own conditions were
    unknown for that reason.
    """

    event: Event
    entry: CatalogEvent
    fields: Mapping[str, str] = field(default_factory=lambda: _EMPTY)
    complete: bool = True
    uncertain: bool = False
    recovered: bool = False


class PackedShape(NamedTuple):
    """What packed matches of equal events share: every Event field but locator, record id and time, the
    catalog entry by id (the receiver has the same knowledge base) and the match's own fields and flags."""

    source: str
    channel: str
    provider: str
    event_id: int
    level: int | None
    computer: str
    provider_guid: str | None
    qualifiers: int | None
    task: int | None
    task_name: str
    keywords: str
    data: dict[str, str]
    message: str | None
    form: EventForm
    entry_id: str
    fields: dict[str, str] | None  # None: the event's own data
    complete: bool
    uncertain: bool
    recovered: bool


class PackedRow(NamedTuple):
    """One packed match: its shape (an index into ``PackedMatches.shapes``) and where and when it is."""

    shape: int
    locator: str
    record_id: int | None
    timestamp: datetime


class PackedMatches(NamedTuple):
    """Matches for another process (``pack_matches``), in their order."""

    shapes: list[PackedShape]
    rows: list[PackedRow]


def pack_matches(matches: list[Match]) -> PackedMatches:
    """Matches for another process, compactly: what repeated events share is sent once.

    Events the reader decoded once for many records share their data mapping, and so their shape.
    """
    shapes: list[PackedShape] = []
    # id() is safe in this key: ``matches`` holds every event (and so its data and fields) until the
    # function returns, so no id in the key can be reused by another object meanwhile
    index: dict[tuple[object, ...], int] = {}
    rows: list[PackedRow] = []
    for m in matches:
        e = m.event
        fields = None if m.fields is e.data else m.fields
        # id() names a mapping only while it lives: every one is held by ``matches`` for this whole call
        key = (id(e.data), id(fields), e.source, e.channel, e.provider, e.event_id, e.level, e.computer,
               e.provider_guid, e.qualifiers, e.task, e.task_name, e.keywords, e.message, e.form, m.entry.id,
               m.complete, m.uncertain, m.recovered)
        at = index.get(key)
        if at is None:
            at = index[key] = len(shapes)
            shapes.append(PackedShape(e.source, e.channel, e.provider, e.event_id, e.level, e.computer,
                                      e.provider_guid, e.qualifiers, e.task, e.task_name, e.keywords, dict(e.data),
                                      e.message, e.form, m.entry.id, None if fields is None else dict(fields),
                                      m.complete, m.uncertain, m.recovered))
        rows.append(PackedRow(at, e.locator, e.record_id, e.timestamp))
    return PackedMatches(shapes, rows)


class _Unpacked(NamedTuple):
    """A packed shape made ready to build matches from (its data frozen once for all its rows)."""

    source: str
    rest: EventRest
    entry: CatalogEvent
    fields: Mapping[str, str]
    complete: bool
    uncertain: bool
    recovered: bool


def unpack_matches(packed: PackedMatches, kb: KnowledgeBase, limit: int | None = None) -> list[Match]:
    """The first ``limit`` (all when None) of the packed matches, as Match objects again."""
    ready: list[_Unpacked | None] = [None] * len(packed.shapes)
    out: list[Match] = []
    for at, locator, record_id, timestamp in packed.rows[:limit]:
        shape = ready[at]
        if shape is None:
            s = packed.shapes[at]
            frozen = MappingProxyType(s.data)
            shape = ready[at] = _Unpacked(
                s.source, (s.channel, s.provider, s.event_id, s.level, s.computer, s.provider_guid, s.qualifiers,
                           s.task, s.task_name, s.keywords, frozen, s.message, s.form),
                kb.events[s.entry_id], frozen if s.fields is None else MappingProxyType(s.fields), s.complete,
                s.uncertain, s.recovered)
        out.append(Match(event_at(shape.source, locator, record_id, timestamp, shape.rest), shape.entry,
                         shape.fields, shape.complete, shape.uncertain, shape.recovered))
    return out


def _template_regex(template: str, names: tuple[str, ...]) -> re.Pattern[str] | None:
    """A regex that reads a rendered message back into fields; None when the template has no placeholders."""
    parts = re.split(r"(%\d+|%[nt])", template.strip())
    out: list[str] = []
    seen: set[int] = set()
    groups = 0
    for part in parts:
        m = re.fullmatch(r"%(\d+)", part)
        if m:
            n = int(m.group(1))
            if n in seen:
                out.append(f"(?P=f{n})")
            else:
                seen.add(n)
                out.append(f"(?P<f{n}>.*?)")
                groups += 1
        elif part in ("%n", "%t"):
            out.append(r"\s*")
        elif part:
            words = part.split()
            lead = r"\s*" if part[:1].isspace() else ""
            tail = r"\s*" if part[-1:].isspace() else ""
            out.append(lead + r"\s+".join(re.escape(w) for w in words) + tail)
    if not groups:
        return None
    return re.compile(r"\s*" + "".join(out) + r"\s*", re.DOTALL | re.IGNORECASE)


class CatalogIndex:
    """The catalog indexed by event id; build once per knowledge base."""

    def __init__(self, kb: KnowledgeBase, only: Collection[str] | None = None) -> None:
        """``only``: the catalog ids to match (a scan matches only what a diagnosis can use); None: all."""
        self.kb = kb
        self._by_id: dict[int, list[tuple[CatalogEvent, str, frozenset[str]]]] = {}
        self._tests = {}
        for entry in sorted(kb.events.values(), key=lambda e: e.id):
            if only is not None and entry.id not in only:
                continue
            self._by_id.setdefault(entry.event_id, []).append(
                (entry, entry.channel.casefold(), frozenset(p.casefold() for p in entry.providers)))
            self._tests[entry.id] = compile_all(entry.match)
        self._regex: dict[tuple[str, str], re.Pattern[str] | None] = {}
        self._seen: dict[tuple[int, str, str], list[CatalogEvent]] = {}

    def candidates(self, event: Event) -> list[CatalogEvent]:
        """Entries whose channel, provider (or alias) and event id equal the event's."""
        rows = self._by_id.get(event.event_id)
        if not rows:
            return []
        key = (event.event_id, event.channel, event.provider)
        found = self._seen.get(key)
        if found is None:
            channel = event.channel.casefold()
            provider = event.provider.casefold()
            # an export without the log name (Get-WinEvent | Format-List) is matched by provider and id
            found = [entry for entry, ch, providers in rows if (ch == channel or not channel) and provider in providers]
            if len(self._seen) > 65536:  # distinct (id, channel, provider) triples are few; bound it anyway
                self._seen.clear()
            self._seen[key] = found
        return found

    def recover_fields(self, event: Event, entry: CatalogEvent) -> Mapping[str, str] | None:
        """Fields read back from a text export's message through the entry's templates, or None."""
        if not event.message or not entry.fields:
            return None
        for lang, template in entry.templates.items():
            key = (entry.id, lang)
            if key not in self._regex:
                self._regex[key] = _template_regex(template, entry.fields)
            regex = self._regex[key]
            if regex is None:
                continue
            m = regex.fullmatch(event.message)
            if m:
                values = {}
                for i, name in enumerate(entry.fields, start=1):
                    value = m.groupdict().get(f"f{i}")
                    if value is not None:
                        values[name] = value.strip()
                return MappingProxyType(values)
        return None

    def match(self, event: Event) -> list[Match]:
        """Every catalog entry this event is (definitely or, for text exports, possibly) an instance of."""
        out: list[Match] = []
        for entry in self.candidates(event):
            fields: Mapping[str, str] = event.data
            complete = True
            recovered = False
            if event.form == "text" and not event.data:
                got = self.recover_fields(event, entry)
                if got is not None:
                    fields, recovered = got, True
                else:
                    # no data and no recoverable fields: field conditions are unknown, not false
                    complete = not entry.fields and not entry.match
            verdict = self._tests[entry.id](event, fields, complete)
            if verdict is False:
                continue
            out.append(Match(event, entry, fields, complete, verdict is None, recovered))
        return out

