"""The one parser of times a user types: ``stores --at``, ``events --since/--until``, the TUI filter.

Three commands used to parse these with three slightly different rules (one took a space for the ``T``,
one took seven fractional digits, one neither). A user writes the same time the same way everywhere, so
they share this parser. It is for typed arguments only; times inside evidence are read by the readers.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from tlsdiag.errors import InputError

EXAMPLE = "2026-11-27, 2026-11-27T08:00, 2026-11-27 08:00:00Z or 2026-11-27T09:00+01:00"

_TIME = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})"                          # date
    r"(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?)?"  # time: minutes required, seconds and fraction optional
    r"\s*(Z|[+-]\d{2}:?\d{2})?",                        # zone; none means UTC
    re.IGNORECASE)


def parse_user_time(text: str) -> datetime:
    """An ISO-8601 date or time as typed, in UTC; no zone means UTC, a date alone means its midnight.

    Fractions beyond microseconds (Windows writes seven digits) are cut, not rounded. Raises ValueError
    naming the text and the accepted forms."""
    m = _TIME.fullmatch(text.strip())
    if m is None:
        raise ValueError(f"{text!r} is not an ISO-8601 date or time (e.g. {EXAMPLE})")
    year, month, day = int(m[1]), int(m[2]), int(m[3])
    hour, minute, second = int(m[4] or 0), int(m[5] or 0), int(m[6] or 0)
    micro = int((m[7] or "").ljust(6, "0")[:6] or 0)
    try:
        ts = datetime(year, month, day, hour, minute, second, micro, tzinfo=timezone.utc)
    except ValueError as exc:
        raise ValueError(f"{text!r} is not a valid date or time ({exc})") from None
    zone = m[8]
    if zone and zone.upper() != "Z":
        sign = 1 if zone[0] == "+" else -1
        digits = zone[1:].replace(":", "")
        hours, minutes = int(digits[:2]), int(digits[2:])
        if minutes > 59:  # +01:99 is no offset (it was read as 2 h 39 min)
            raise ValueError(f"{text!r} has a zone offset with {minutes} minutes")
        offset = timedelta(hours=hours, minutes=minutes)
        if offset >= timedelta(hours=24):
            raise ValueError(f"{text!r} has a zone offset of a day or more")
        try:
            ts -= sign * offset
        except OverflowError:
            raise ValueError(f"{text!r} is outside the range of dates") from None
    return ts


def time_option(value: str | None, option: str) -> datetime | None:
    """A command-line time option (``--at``, ``--since``, ...): None when not given, else the parsed time;
    a text that does not parse is an InputError naming the option, as every unusable argument is."""
    if value is None:
        return None
    try:
        return parse_user_time(value)
    except ValueError as exc:
        raise InputError(f"--{option} {value}", str(exc)) from None
