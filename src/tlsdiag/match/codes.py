"""Error codes, TLS alerts, HTTP statuses and product messages in pasted text: what they mean, what to check.

A code names a condition, not its cause: SEC_E_UNTRUSTED_ROOT comes from a missing root, an
intercepting proxy or a misplaced intermediate alike, and 0x800B0109 is logged harmlessly by driver
installers every day. So this module only *recognises* the entries of ``signatures/codes/`` in the
forms people paste them (``0x80090325``, bare hex, unsigned decimal as Lync and IIS logs write it,
negative decimal as .NET writes it, the symbolic name, an alert number after the word "alert", an
IIS status such as 403.16, the message text in each language a source gives) and hands back the
entry's meaning and ranked checks. ``code_only`` lets ``explain`` tell a match that rests on nothing
but such a code from one with real evidence, so that a lone code never becomes a confident cause.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, replace
from typing import Literal

from tlsdiag.kb.model import CodeEntry, KnowledgeBase
from tlsdiag.match.perkb import PerKb

MESSAGE_RATIO = 90  # a message matches with about one typo per ten characters, like explain's phrases
MIN_MESSAGE_CHARS = 12  # shorter message texts ("Access denied") match too much unrelated text
FUZZY_MIN_CHARS = 30  # below this (and for non-Latin text) a message must appear exactly
EVENT_CAP = 0.40  # an event matched only by a generic code: below explain's threshold, the code answer stands
CAUSE_CAP = 0.45  # a cause matched only by a generic code: offered as possible, never at 0.5 or above
LEAD_FLOOR = 0.6  # beside a code, an event must match at least this well to lead explain to its cause

How = Literal["name", "alias", "value", "message"]

_SPACE = re.compile(r"\s+")
# The first number after the word for alert (English, German, Spanish/Portuguese/Italian, French) or AlertDesc;
# German alert events say "schwerwiegende Warnung ... Fehlercode ist 40", so "schwerwiegende" opens a window too.
_ALERT_NUMBER = re.compile(r"(?:\balert|warnung|schwerwiegende|\balerta|\balerte|alertdesc)\b[^\n\d]{0,140}?"
                           r"(?<![\d.])(\d{1,3})(?![\d.]\d)", re.I)


@dataclass(frozen=True, slots=True)
class RelatedEvent:
    """A catalog event a code entry names under ``related_events``: where an admin looks next, and whether
    Windows writes it at all without extra logging (Schannel warnings, CAPI2 Operational need it)."""

    id: str
    channel: str
    provider: str
    event_id: int
    title: str
    logged_by_default: bool

    def label(self) -> str:
        """'Schannel 36871 (System log)': what to filter Event Viewer on."""
        return f"{self.provider} {self.event_id} ({self.channel} log)"


@dataclass(frozen=True, slots=True)
class CodeHit:
    """One knowledge-base code found in the text, and how."""

    entry: CodeEntry
    found: str
    how: How
    related: tuple[RelatedEvent, ...] = ()


def value_forms(value: str) -> list[str]:
    """The spellings of one 32-bit code: 0x80090325, 80090325, 2148074277, -2146893019."""
    m = re.fullmatch(r"0x([0-9a-f]{8})", value, re.I)
    if not m:
        return [value]
    number = int(m.group(1), 16)
    forms = [value, m.group(1), str(number)]
    if number >= 1 << 31:
        forms.append(str(number - (1 << 32)))
    return forms


def _word(text: str) -> re.Pattern[str]:
    return re.compile(r"(?<![\w-])" + re.escape(text) + r"(?![\w])", re.I)


class _Index:
    def __init__(self, kb: KnowledgeBase) -> None:
        self.kb = kb
        self.words: list[tuple[CodeEntry, How, re.Pattern[str]]] = []
        self.alerts: dict[int, CodeEntry] = {}
        self.messages: list[tuple[CodeEntry, str]] = []
        for entry in kb.codes.values():
            self.words.append((entry, "name", _word(entry.name)))
            self.words += [(entry, "alias", _word(a)) for a in entry.aliases]
            if entry.kind == "hresult" and entry.value:
                for form in value_forms(entry.value):
                    self.words.append((entry, "value", re.compile(r"(?<![\w.-])" + re.escape(form) + r"(?!\w|\.\w)",
                                                                  re.I)))
            elif entry.kind == "http-status" and entry.value:
                self.words.append((entry, "value", re.compile(r"(?<![\w.])" + re.escape(entry.value) + r"(?!\d|\.\d)")))
            elif entry.kind == "tls-alert" and entry.value is not None:
                self.alerts[int(entry.value)] = entry
            self.messages += [(entry, _flat(m.text)) for m in entry.messages if len(_flat(m.text)) >= MIN_MESSAGE_CHARS]
        # code strings (as explain's signals write them) that one of these entries explains
        self.generic: set[str] = set()
        for entry in kb.codes.values():
            if entry.kind in ("hresult", "http-status") and entry.value:
                self.generic.update(f.casefold() for f in value_forms(entry.value))
            self.generic.add(entry.name.casefold())
            self.generic.update(a.casefold() for a in entry.aliases)


_index = PerKb(_Index)


def _flat(text: str) -> str:
    """Casefolded, whitespace collapsed, typographic apostrophes and quotes made plain (pastes mix them)."""
    return _SPACE.sub(" ", text.translate(_PLAIN)).casefold().strip()


_PLAIN = str.maketrans({"\u2019": "'", "\u2018": "'", "\u201c": '"', "\u201d": '"', "\u00a0": " "})


def lookup(text: str, kb: KnowledgeBase) -> list[CodeHit]:
    """The code entries the text names, each once, in the order they appear in the text."""
    if not kb.codes or not text.strip():
        return []
    idx = _index(kb)
    found: dict[str, tuple[int, CodeHit]] = {}

    def add(pos: int, hit: CodeHit) -> None:
        if hit.entry.id not in found or pos < found[hit.entry.id][0]:
            found[hit.entry.id] = (pos, hit)

    for entry, how, pattern in idx.words:
        m = pattern.search(text)
        if m:
            add(m.start(), CodeHit(entry, m.group(0), how))
    for m in _ALERT_NUMBER.finditer(text):
        alert = idx.alerts.get(int(m.group(1)))
        if alert is not None:
            add(m.start(1), CodeHit(alert, m.group(0).strip(), "value"))
    flat = _flat(text)
    if idx.messages:
        from rapidfuzz import fuzz

        for entry, message in idx.messages:
            if entry.id in found or len(flat) < 0.7 * len(message):
                continue
            if message in flat:
                add(flat.index(message), CodeHit(entry, message, "message"))
                continue
            if len(message) < FUZZY_MIN_CHARS or not message.isascii():
                continue  # short and CJK texts: a few characters decide the meaning, so only exact text counts
            align = fuzz.partial_ratio_alignment(message, flat, score_cutoff=MESSAGE_RATIO)
            if align is not None:
                add(align.dest_start, CodeHit(entry, flat[align.dest_start:align.dest_end], "message"))
    hits = [hit for _, hit in sorted(found.values(), key=lambda t: (t[0], t[1].entry.id))]
    return [replace(hit, related=related_events(hit.entry, kb)) for hit in hits]


def related_events(entry: CodeEntry, kb: KnowledgeBase) -> tuple[RelatedEvent, ...]:
    """The catalog events an entry names, in its order (the loader has checked that each exists)."""
    out: list[RelatedEvent] = []
    for event_id in entry.related_events:
        event = kb.events.get(event_id)
        if event is not None:
            out.append(RelatedEvent(event.id, event.channel, event.provider, event.event_id, event.title,
                                    event.logged_by_default))
    return tuple(out)


def messages_of(hits: Iterable[CodeHit]) -> list[str]:
    """The message texts of the code entries found: a phrase from one of them is the code again."""
    return [message.text for hit in hits for message in hit.entry.messages]


def generic_codes(kb: KnowledgeBase) -> set[str]:
    """Casefolded code strings that an entry of signatures/codes/ explains (a code alone proves no cause)."""
    return _index(kb).generic if kb.codes else set()


def code_only(why: Iterable[str], generic: set[str], tempered_events: AbstractSet[str] = frozenset(),
              messages: Iterable[str] = ()) -> bool:
    """True when every reason of an explain match is a generic code, an event matched only by one, or a
    phrase that is part of a found code's own message (the message says no more than its code)."""
    reasons = list(why)
    if not reasons or not generic:
        return False
    said = [_flat(m) for m in messages]
    for reason in reasons:
        # the ranking may qualify a reason after its code: "code 0x800B0109 (several causes)"
        if reason.startswith("code ") and reason[5:].split(" (", 1)[0].casefold() in generic:
            continue
        m = re.match(r"event (\S+) \(", reason)
        if m and m.group(1) in tempered_events:
            continue
        p = re.match(r"phrase '(.+?)'", reason)
        if p and any(_flat(p.group(1)) in text for text in said):
            continue
        return False
    return True
