"""Event data that a pasted text states, so that ``explain`` can test an evidence's ``where`` conditions.

A scan tests a cause's conditions (``AlertDesc in [47]``, ``ErrorCode contains 800B0109``) on the event's
data. A paste has no data fields, but it often states their values: the message itself ("The TLS
protocol defined fatal alert code is 40."), read back through the catalog entry's own templates, or
``Name: value`` lines and ``<Data Name=...>`` elements of a copied details block or XML view. What the
text does not state stays *unknown* (three-valued, as in ``conditions``): unknown is neither proof nor
disproof, and ``explain`` must not choose a fix on it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from functools import lru_cache

from tlsdiag.kb.model import CatalogEvent, Condition
from tlsdiag.match.conditions import evaluate
from tlsdiag.model import EPOCH, LEVEL_NUMBERS, Event

Verdict = bool | None  # True, False, or None: the text does not state the field

MAX_VALUE = 300  # a placeholder inside a message spans at most this many characters
_XML_DATA = re.compile(r"<Data\s+Name\s*=\s*['\"]([^'\"]+)['\"]\s*>([^<]*)</Data>", re.I)
_LEVEL = re.compile(r"^[ \t]*(?:level|ebene)[ \t]*:[ \t]*(\w+)", re.I | re.M)


@lru_cache(maxsize=512)
def _search_regex(template: str) -> re.Pattern[str] | None:
    """A regex that finds a rendered message anywhere in a paste and captures its ``%N`` values.

    Unlike the scan's read-back (a whole message, ``fullmatch``), the paste goes on before and after the
    message, so a placeholder that ends the template takes the rest of its line."""
    parts = [p for p in re.split(r"(%\d+|%[nt])", template.strip()) if p]
    if not any(re.fullmatch(r"%\d+", p) for p in parts):
        return None
    out: list[str] = []
    seen: set[int] = set()
    for i, part in enumerate(parts):
        m = re.fullmatch(r"%(\d+)", part)
        if m:
            n = int(m.group(1))
            if n in seen:
                out.append(f"(?P=f{n})")
                continue
            seen.add(n)
            last = all(re.fullmatch(r"%[nt]", p) for p in parts[i + 1:])
            out.append(f"(?P<f{n}>[^\\n]*)" if last else f"(?P<f{n}>.{{0,{MAX_VALUE}}}?)")
        elif part in ("%n", "%t"):
            out.append(r"\s*")
        else:
            out.append(r"\s+".join(re.escape(w) for w in part.split()) if part.strip() else r"\s*")
    return re.compile("".join(out), re.DOTALL | re.IGNORECASE)


def stated_fields(text: str, entry: CatalogEvent) -> list[dict[str, str]]:
    """Each instance of the entry's data the text states (field name -> value); [] when it states none."""
    if not entry.fields:
        return []
    instances: list[dict[str, str]] = []
    for template in entry.templates.values():
        regex = _search_regex(template)
        if regex is None:
            continue
        for m in regex.finditer(text):
            values = {name: (m.group(f"f{i}") or "").strip() for i, name in enumerate(entry.fields, start=1)
                      if f"f{i}" in regex.groupindex}
            values = {k: v for k, v in values.items() if v}
            if values:
                instances.append(values)
    # details blocks ("AlertDesc: 40", as explain's reader writes pasted exports) and XML <Data Name=...>
    listed: dict[str, list[str]] = {}
    for name in entry.fields:
        line = re.compile(r"^[ \t]*" + re.escape(name) + r"[ \t]*[:=][ \t]*(\S[^\n]*?)[ \t]*$", re.I | re.M)
        listed[name] = [v for v in line.findall(text)]
    wanted = {name.casefold(): name for name in entry.fields}
    for key, value in _XML_DATA.findall(text):
        named = wanted.get(key.casefold())
        if named is not None and value.strip():
            listed[named].append(value.strip())
    depth = max((len(v) for v in listed.values()), default=0)
    instances += [{name: vals[i] for name, vals in listed.items() if i < len(vals)} for i in range(depth)]
    return instances


def stated_level(text: str) -> int | None:
    """The level an Event Viewer header states ("Level: Error", "Ebene: Fehler"), or None."""
    m = _LEVEL.search(text)
    return LEVEL_NUMBERS.get(m.group(1).casefold()) if m else None


def verdict(conds: Iterable[Condition], text: str, entry: CatalogEvent,
            instances: list[dict[str, str]] | None = None) -> Verdict:
    """Whether the text shows the entry with these conditions met: True when one stated instance meets them
    all, False when every stated instance fails one, None when what they test is not stated."""
    conds = tuple(conds)
    if not conds:
        return True
    if instances is None:
        instances = stated_fields(text, entry)
    level = stated_level(text) if any(c.field.casefold() == "level" for c in conds) else None
    event = Event(source="(pasted text)", locator="", record_id=None, timestamp=EPOCH, channel=entry.channel,
                  provider=entry.provider, event_id=entry.event_id, level=level, form="text")
    results = [_one(conds, event, fields) for fields in (instances or [{}])]
    if True in results:
        return True
    return None if None in results else False


def _one(conds: tuple[Condition, ...], event: Event, fields: Mapping[str, str]) -> Verdict:
    unknown = False
    names = {k.casefold() for k in fields}
    for cond in conds:
        name = cond.field.casefold()
        if name not in names and not (name == "level" and event.level is not None):
            unknown = True  # not stated (the event's computer, message or data field): cannot tell
            continue
        result = evaluate(cond, event, fields, complete=True)
        if result is False:
            return False
        if result is None:
            unknown = True
    return None if unknown else True
