"""Field conditions (``equals``/``in``/``contains``/``regex``/``exists``, ``not``) evaluated on one event.

Evaluation is three-valued on purpose. An Event Viewer text export carries the
rendered message but no data fields; a condition on a data field of such an
event is neither true nor false but *unknown*. Treating unknown as false would
make every text export look healthy; treating it as true would invent facts.
Callers decide what unknown means for them (the catalog matcher accepts the
event and flags it uncertain; the correlator counts the evidence at half weight
and says so in the report).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from functools import lru_cache
from typing import TypeAlias

from tlsdiag.kb.model import Condition
from tlsdiag.model import Event

UNKNOWN = None  # the third truth value


@lru_cache(maxsize=1024)
def _regex(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE)


def lookup(name: str, event: Event, fields: Mapping[str, str] | None, complete: bool) -> tuple[bool, str | None]:
    """(known, value) of a field; value None means "absent". known=False means "cannot tell".

    Data fields win over the attributes of the same name; names compare case-insensitively.
    """
    data = event.data if fields is None else fields
    if name in data:
        return True, data[name]
    low = name.lower()
    for key, value in data.items():
        if key.lower() == low:
            return True, value
    if low == "computer":
        return True, event.computer
    if low == "level":
        return (event.level is not None), (None if event.level is None else str(event.level))
    if low == "message":
        return (event.message is not None), event.message
    return complete, None


def _test(cond: Condition, value: str | None, event: Event) -> bool:
    op, want = cond.op, cond.value
    if op == "exists":
        return (value is not None) == bool(want)
    if value is None:
        return False
    candidates = [value]
    if cond.field.lower() == "level" and event.level is not None:
        candidates.append(event.level_name)  # "Error" as well as "2"
    if op == "equals":
        return any(v.casefold() == str(want).casefold() for v in candidates)
    if op == "in":
        wanted = {str(w).casefold() for w in want}
        return any(v.casefold() in wanted for v in candidates)
    if op == "contains":
        return any(str(want).casefold() in v.casefold() for v in candidates)
    if op == "regex":
        return any(_regex(str(want)).search(v) is not None for v in candidates)
    raise ValueError(f"unknown condition operator {op!r}")


def evaluate(cond: Condition, event: Event, fields: Mapping[str, str] | None = None,
             complete: bool = True) -> bool | None:
    """True, False, or None (unknown: the field cannot be known for this event)."""
    known, value = lookup(cond.field, event, fields, complete)
    if not known:
        return UNKNOWN
    result = _test(cond, value, event)
    return (not result) if cond.negate else result


def evaluate_all(conds: Iterable[Condition], event: Event, fields: Mapping[str, str] | None = None,
                 complete: bool = True) -> bool | None:
    """All conditions hold: False if any is false, else None if any is unknown, else True."""
    unknown = False
    for cond in conds:
        result = evaluate(cond, event, fields, complete)
        if result is False:
            return False
        if result is None:
            unknown = True
    return UNKNOWN if unknown else True


Compiled = Callable[[Event, "Mapping[str, str] | None", bool], "bool | None"]


def compile_condition(cond: Condition) -> Compiled:
    """The same test as ``evaluate``, with the operator and value prepared once (hot path of a scan)."""
    op, want, negate = cond.op, cond.value, cond.negate
    name = cond.field
    is_level = name.lower() == "level"
    if op == "equals":
        target = str(want).casefold()

        def test(v: str) -> bool:
            return v.casefold() == target
    elif op == "in":
        targets = frozenset(str(w).casefold() for w in want)

        def test(v: str) -> bool:
            return v.casefold() in targets
    elif op == "contains":
        needle = str(want).casefold()

        def test(v: str) -> bool:
            return needle in v.casefold()
    elif op == "regex":
        rx = _regex(str(want))

        def test(v: str) -> bool:
            return rx.search(v) is not None
    elif op == "exists":
        wanted = bool(want)

        def test(v: str) -> bool:  # pragma: no cover - exists is decided below
            return True
    else:
        raise ValueError(f"unknown condition operator {op!r}")

    def run(event: Event, fields: Mapping[str, str] | None = None, complete: bool = True) -> bool | None:
        known, value = lookup(name, event, fields, complete)
        if not known:
            return UNKNOWN
        if op == "exists":
            result = (value is not None) == wanted
        elif value is None:
            result = False
        else:
            result = test(value) or (is_level and event.level is not None and test(event.level_name))
        return (not result) if negate else result

    return run


ConditionsTest: TypeAlias = Callable[[Event, Mapping[str, str] | None, bool], bool | None]
"""A compiled set of conditions: (event, fields, complete) -> True, False or None (unknown)."""


def compile_all(conds: Iterable[Condition]) -> ConditionsTest:
    """``evaluate_all`` for a fixed tuple of conditions, prepared once."""
    tests = [compile_condition(c) for c in conds]
    if not tests:

        def always(event: Event, fields: Mapping[str, str] | None = None, complete: bool = True) -> bool | None:
            return True

        return always

    def run(event: Event, fields: Mapping[str, str] | None = None, complete: bool = True) -> bool | None:
        unknown = False
        for t in tests:
            result = t(event, fields, complete)
            if result is False:
                return False
            if result is None:
                unknown = True
        return UNKNOWN if unknown else True

    return run
