"""The Events screen's filter: a one-line query parsed into a predicate over Events.

One line fits an 80x24 terminal better than six input boxes, and it can be typed
without the mouse: ``computer:fe01 id:36887,36888 level:error since:2026-03-01T10:00
provider:schannel channel:system words``. Keys match case-insensitively by
substring (computer, channel, provider), by value (id, level) or by range (time);
remaining words must all occur in the event's fields or message.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from tlsdiag.model import LEVEL_NUMBERS, Event
from tlsdiag.usertime import parse_user_time

KEYS = ("computer", "channel", "provider", "id", "level", "since", "until")
_ALIASES = {"from": "since", "to": "until", "host": "computer", "eventid": "id", "source": "provider"}


class FilterError(ValueError):
    """The query cannot be understood; the message says which part and why."""


@dataclass(frozen=True, slots=True)
class EventFilter:
    computer: tuple[str, ...] = ()
    channel: tuple[str, ...] = ()
    provider: tuple[str, ...] = ()
    ids: frozenset[int] = frozenset()
    levels: frozenset[int] = frozenset()
    since: datetime | None = None
    until: datetime | None = None
    words: tuple[str, ...] = field(default=())

    @property
    def empty(self) -> bool:
        return self == EventFilter()

    def matches(self, event: Event) -> bool:
        if self.computer and not _any_in(self.computer, event.computer):
            return False
        if self.channel and not _any_in(self.channel, event.channel):
            return False
        if self.provider and not _any_in(self.provider, event.provider):
            return False
        if self.ids and event.event_id not in self.ids:
            return False
        if self.levels and _level(event) not in self.levels:
            return False
        if self.since is not None and event.timestamp < self.since:
            return False
        if self.until is not None and event.timestamp > self.until:
            return False
        if self.words:
            hay = " ".join((event.message or "", *event.data.values(), event.task_name)).casefold()
            if not all(w in hay for w in self.words):
                return False
        return True


def _level(event: Event) -> int:
    # Level 0 is "Information" for classic providers (LogAlways); treat it as 4 for filtering.
    return 4 if event.level in (0, None) else event.level


def _any_in(needles: tuple[str, ...], value: str) -> bool:
    folded = value.casefold()
    return any(n in folded for n in needles)


def _time(key: str, text: str) -> datetime:
    try:
        return parse_user_time(text)
    except ValueError as exc:
        raise FilterError(f"{key}: {exc}") from None


def parse_filter(query: str) -> EventFilter:
    """Parse the filter line; raise FilterError naming the bad part."""
    try:
        tokens = shlex.split(query)
    except ValueError as exc:
        raise FilterError(f"cannot read the filter: {exc}") from None
    parts: dict[str, list[str]] = {k: [] for k in KEYS}
    words: list[str] = []
    for token in tokens:
        key, sep, value = token.partition(":")
        key = _ALIASES.get(key.lower(), key.lower())
        if sep and key in parts:
            if not value:
                raise FilterError(f"{key}: needs a value")
            parts[key].extend(v for v in value.split(",") if v)
        else:
            words.append(token.casefold())
    ids: set[int] = set()
    for value in parts["id"]:
        if not value.isdigit():
            raise FilterError(f"id: {value!r} is not a number")
        ids.add(int(value))
    levels: set[int] = set()
    for value in parts["level"]:
        if value.isdigit():
            levels.add(int(value))
        elif value.lower() in LEVEL_NUMBERS:
            levels.add(LEVEL_NUMBERS[value.lower()])
        else:
            raise FilterError(f"level: {value!r} is not one of critical, error, warning, information, verbose")
    since = _time("since", parts["since"][-1]) if parts["since"] else None
    until = _time("until", parts["until"][-1]) if parts["until"] else None
    if since and until and since > until:
        raise FilterError("since: is after until:")
    return EventFilter(
        computer=tuple(v.casefold() for v in parts["computer"]),
        channel=tuple(v.casefold() for v in parts["channel"]),
        provider=tuple(v.casefold() for v in parts["provider"]),
        ids=frozenset(ids), levels=frozenset(levels), since=since, until=until, words=tuple(words),
    )


def filter_rows(events: Sequence[Event], flt: EventFilter,
                cancelled: Callable[[], bool] | None = None) -> list[int] | None:
    """Indices of the events that pass; None when cancelled (a newer filter replaced this one)."""
    out: list[int] = []
    test = flt.matches
    for i, event in enumerate(events):
        if cancelled is not None and not i & 0x3FFF and cancelled():
            return None
        if test(event):
            out.append(i)
    return out
