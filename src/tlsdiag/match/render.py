"""Readable message text for catalog events: the tool's answer to "EVTX has no messages".

An ``.evtx`` file stores only the event's fields; Event Viewer builds the text
from message DLLs on the machine that reads it, which a jump host does not
have. For the events the catalog knows, the template in the knowledge base is
filled with the fields instead. Placeholders that have no value stay visible
(``%2``) rather than silently disappearing, so a reader sees that something is
missing. The result is plain text; views pass it through ``tlsdiag.textsafe``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from tlsdiag.kb.model import CatalogEvent
from tlsdiag.model import Event

_PLACEHOLDER = re.compile(r"%(\d+)|%([nt])")


def template_for(entry: CatalogEvent, lang: str = "en") -> str | None:
    """The template in ``lang``, else English, else any; None when the entry has none."""
    templates = entry.templates
    return templates.get(lang) or templates.get("en") or next(iter(templates.values()), None)


def fill(template: str, entry: CatalogEvent, fields: Mapping[str, str]) -> str:
    """Replace ``%N`` with the N-th field (by the entry's field names, else by position)."""
    values = list(fields.values())

    def sub(m: re.Match[str]) -> str:
        if m.group(2):
            return "\n" if m.group(2) == "n" else "\t"
        n = int(m.group(1))
        if 1 <= n <= len(entry.fields) and entry.fields[n - 1] in fields:
            return fields[entry.fields[n - 1]]
        if str(n) in fields:
            return fields[str(n)]
        if 1 <= n <= len(values) and not entry.fields:
            return values[n - 1]
        return m.group(0)

    return _PLACEHOLDER.sub(sub, template)


def render_message(event: Event, entry: CatalogEvent, lang: str = "en",
                   fields: Mapping[str, str] | None = None) -> str:
    """The event's message: the one the input carried if any, else the filled template.

    Without a template the entry's title and the raw fields are shown, so the
    reader still sees the facts.
    """
    if event.message:
        return event.message.strip()
    data = event.data if fields is None else fields
    template = template_for(entry, lang)
    if template is None:
        shown = ", ".join(f"{k}={v}" for k, v in data.items())
        return f"{entry.title}" + (f" ({shown})" if shown else "")
    return fill(template, entry, data).strip()
