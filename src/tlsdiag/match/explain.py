"""Paste search: whatever the administrator copied (event text, a details block, a cmdlet line, an
error code, a KB number, a German quote) -> the catalog events and causes it points to, with the fix.

Two kinds of evidence, combined as a noisy-OR per entry:

- **Fuzzy text**: the pasted text and every message template (en, de) are
  normalised so that the parts that vary between servers (GUIDs, host names,
  IP addresses, numbers, paths, thumbprints, URLs, ``%1`` placeholders) become
  one token; then rapidfuzz ``partial_ratio`` (a cut-short quote is part of the
  template; a whole details block contains it) and ``token_set_ratio`` (word
  order and small edits) give a similarity.
- **Exact signals** weigh more: an event id with its label ("Event ID: 36885",
  "Ereignis-ID"), the Event Viewer header's Source/Quelle (provider) with the
  event id (which names one catalog entry), a KB number a cause lists, and the
  ``signals`` (error codes, verbatim phrases) the knowledge base files declare.
  All of that knowledge comes from ``signatures/``; nothing here knows a code.
- **Error codes and messages** (``signatures/codes/``, ``match/codes.py``) are named with their meaning and
  what to check; a match that rests only on such a generic code is capped (a code is not a cause).

Causes score from their own signals and from the events they list as evidence
(scaled by the evidence role). Below ``THRESHOLD`` nothing is returned and the
result says so, rather than offering noise.

Calibration: a cause whose only support is *generic* (an error code or phrase
that several causes declare, a ``weak_phrases`` entry, an event matched only by
a bare number or a code, or an event the cause counts as generic evidence) is
capped at ``GENERIC_CAP``, below the "high" band, and the result lists the
candidate causes with what to check to tell them apart (``tell_apart``). A bare
CERT_E_UNTRUSTEDROOT is common far outside TLS, so it must never read as proof.

What makes an event's match its own (distinctive) evidence: the Event Viewer header, a labelled event
id, a declared phrase, or a text similarity that is strong by itself (``THRESHOLD``) and shares at least
``MIN_SHARED_WORDS`` words with the template that few catalog texts use. "Certificate error" is a
little like many titles; a likeness built only of such common words is not counted at all, nor is one
far weaker (``OWN_SHARE``) than another event's likeness to the same text: Schannel's messages share
whole sentences, and 36882's text is not 36881's evidence.

A cause counts an event only as far as the text shows the evidence's field conditions (``where``) met
(``stated`` reads the values the paste gives: the message through the templates, ``Name: value``
lines, XML data): alert 40 is not the alert 47 a cause needs; a condition the text does not state
counts half and is never distinctive. When no cause matches the text itself, the best event that
causes count leads to a fix only through non-generic evidence whose conditions the text shows met;
otherwise the causes it could mean are listed as candidates and no fix is chosen.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from tlsdiag.kb.model import Cause, Evidence, KnowledgeBase, Step
from tlsdiag.match import codes as code_kb
from tlsdiag.match import stated
from tlsdiag.match.perkb import PerKb

THRESHOLD = 0.45
MAX_MATCHES = 10
PHRASE_RATIO = 90  # a declared phrase matches with about one typo per ten characters ("primäries")
MIN_FUZZY_CHARS = 20  # shorter pastes are judged by exact signals only: short strings match anything partially

W_HEADER = 0.95  # Source/Quelle + Event ID name the entry
W_EVENT_ID = 0.6  # labelled event id
W_BARE_ID = 0.5  # a bare number equal to a catalog event id
W_KB = 0.8
W_CODE = 0.75
W_PHRASE = 0.75
W_WEAK_PHRASE = 0.5  # fits the cause, does not point to it (signals.weak_phrases)
W_KB_TITLE = 0.75  # a KB article's title quoted without its number
MIN_TITLE_CHARS = 25  # shorter KB titles are not matched as text
MIN_FRAGMENT_CHARS = 30  # a text shorter than a phrase or title matches it only from this length
GENERIC_CAP = 0.6  # a cause resting on generic evidence only never scores higher (below the 0.7 "high" band)
MAX_CANDIDATES = 4  # causes listed with what to check when the evidence is generic
ROLE_FACTOR = {"specific": 1.0, "corroborating": 0.7, "generic": 0.4}
MIN_SHARED_WORDS = 2  # a text match is distinctive only with this many of the template's uncommon words
COMMON_SHARE = 0.1  # a word in the texts of more than this share of catalog events is common ("certificate")
OWN_SHARE = 0.85  # a likeness below this share of the best one in the text is the better event's wording
UNSTATED_FACTOR = 0.5  # evidence whose field conditions the text does not state counts half, as in a scan

_VAR = " # "
_NORMALISERS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"%[nt]"), " "),  # message-file newline/tab
    (re.compile(r"%\d+"), _VAR),  # template placeholders
    (re.compile(r"\b(?:https?|ldaps?|sip)://\S+", re.I), _VAR),
    # X.500 names (subjects, issuers): "CN=fe01.contoso.com, OU=IT, O=Contoso"
    (re.compile(r"\b(?:CN|OU|O|L|S|ST|C|DC|E)=[^,<>\n]*(?:,\s*(?:CN|OU|O|L|S|ST|C|DC|E)=[^,<>\n]*)*"), _VAR),
    (re.compile(r"\{?\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b\}?", re.I), _VAR),
    (re.compile(r"\{?\b[0-9a-fx]{8}-[0-9a-fx]{4}-[0-9a-fx]{4}-[0-9a-fx]{4}-[0-9a-fx]{12}\b\}?", re.I), _VAR),
    (re.compile(r"\b[0-9a-f]{16,}(?::\d+)?\b", re.I), _VAR),  # thumbprints, fabric ids, replica ids
    (re.compile(r"(?:\\\\|[a-z]:\\)[^\s'\"()]+", re.I), _VAR),  # UNC and drive paths
    (re.compile(r"\b\d{1,3}(?:\.\d{1,3}){3}(?::\d+)?\b"), _VAR),  # IPv4[:port]
    (re.compile(r"\b(?=[a-z0-9-]*[a-z])[a-z0-9-]+(?:\.[a-z0-9-]+)+\.?(?::\d+)?\b", re.I), _VAR),  # hosts, FQDNs
    (re.compile(r"\b0x[0-9a-f]+\b", re.I), _VAR),
    (re.compile(r"-?\b\d+(?:[.,]\d+)*\b"), _VAR),
    (re.compile(r"<[^<>\n]{0,200}>"), _VAR),  # <subject>, <Organization name>-style values
    (re.compile(r"<[^<>\n]*$"), _VAR),  # a value cut off at the end of a short quote
]
_SPACE = re.compile(r"\s+")
_WORD = re.compile(r"[^\W\d_]{3,}")
_DIGITS = re.compile(r"\d+")
_REPEAT = re.compile(r"(?:#\s*){2,}")


def normalise(text: str) -> str:
    """Casefolded text with every variable part replaced by '#', whitespace collapsed."""
    value = text
    for pattern, repl in _NORMALISERS:
        value = pattern.sub(repl, value)
    value = _SPACE.sub(" ", value).casefold().strip()
    return _REPEAT.sub("# ", value).strip()


_ID_LABEL = re.compile(r"(?:event[\s-]*id|ereignis[\s-]*id|eventid|id\s+des\s+ereignisses)\s*[:=#-]?\s*(\d{1,5})\b", re.I)
_XML_ID = re.compile(r"<EventID\b[^>]*>\s*(\d{1,5})\s*</EventID>", re.I)  # "Event Xml:" part of a copied block
_XML_PROVIDER = re.compile(r"<Provider\b[^>]*\bName\s*=\s*['\"]([^'\"]+)['\"]", re.I)
_KB_LABEL = re.compile(r"\bKB\s*-?\s*(\d{6,7})\b", re.I)
_NUMBER = re.compile(r"(?<![\w.])(-?\d{4,10})(?![\w.])")
_DESCRIPTION = re.compile(r"(?:^|\s)(?:description|beschreibung)\s*:\s*", re.I)


def _code_forms(code: str) -> list[re.Pattern[str]]:
    """Patterns for one code; a 32-bit hex code also matches bare hex and signed/unsigned decimal."""
    forms = [re.escape(code)]
    m = re.fullmatch(r"0x([0-9a-f]{8})", code, re.I)
    if m:
        value = int(m.group(1), 16)
        forms.append(m.group(1))
        forms.append(str(value))
        if value >= 1 << 31:
            forms.append(str(value - (1 << 32)))
    return [re.compile(r"(?<![\w.-])" + f + r"(?![\w.])", re.I) for f in forms]


@dataclass(slots=True)
class ExplainMatch:
    kind: str  # "event" | "cause"
    id: str
    title: str
    score: float
    event_id: int | None = None
    provider: str | None = None
    kb: list[int] = field(default_factory=list)
    why: list[str] = field(default_factory=list)
    generic: bool = False  # only generic evidence (see the module docstring); a cause is then capped
    store_related: bool | None = None  # causes: the fix is in the certificate stores / Schannel settings
    meaning: str = ""  # events: the catalog's explanation, shown when no cause is chosen


@dataclass(frozen=True, slots=True)
class Candidate:
    """A cause that fits generic evidence, with what to check to confirm or exclude it."""

    id: str
    title: str
    score: float
    check: str


@dataclass(slots=True)
class ExplainResult:
    text: str
    matches: list[ExplainMatch]
    best_cause: Cause | None
    note: str = ""
    candidates: list[Candidate] = field(default_factory=list)  # generic evidence, or event data the text lacks
    codes: list[code_kb.CodeHit] = field(default_factory=list)  # error codes and messages named (signatures/codes/)

    @property
    def generic(self) -> bool:
        """True when no cause has more than generic evidence: the answer is a short list to check."""
        return bool(self.candidates)

    @property
    def found(self) -> bool:
        return bool(self.matches) or bool(self.codes)

    @property
    def fix(self) -> tuple[Step, ...]:
        return self.best_cause.fix if self.best_cause else ()


class _Index:
    """Normalised templates and compiled signal patterns of one knowledge base."""

    def __init__(self, kb: KnowledgeBase) -> None:
        self.kb = kb
        self.templates: dict[str, list[tuple[str, str]]] = {}
        self.words: dict[tuple[str, str], frozenset[str]] = {}  # (entry, lang) -> the text's uncommon words
        seen: dict[str, int] = {}  # word -> number of catalog events whose texts use it
        for entry in kb.events.values():
            texts = [(lang, normalise(t)) for lang, t in entry.templates.items() if t.strip()]
            texts.append(("title", normalise(entry.title)))
            self.templates[entry.id] = texts
            for word in set().union(*(_words(t) for _, t in texts)):
                seen[word] = seen.get(word, 0) + 1
        common = {w for w, n in seen.items() if n > max(1.0, COMMON_SHARE * len(kb.events))}
        for entry_id, texts in self.templates.items():
            for lang, t in texts:
                self.words[(entry_id, lang)] = frozenset(_words(t) - common)
        self.codes: dict[tuple[str, str], list[tuple[str, list[re.Pattern[str]]]]] = {}
        self.phrases: dict[tuple[str, str], list[tuple[str, str]]] = {}
        self.weak: dict[tuple[str, str], list[tuple[str, str]]] = {}
        for kind, items in (("event", kb.events.values()), ("cause", kb.causes.values())):
            for item in items:
                codes = list({c.casefold(): c for c in item.signals.codes}.values())  # 0x8009030D = 0x8009030d
                self.codes[(kind, item.id)] = [(c, _code_forms(c)) for c in codes]
                self.phrases[(kind, item.id)] = [(p, _flat(p)) for p in item.signals.phrases if _flat(p)]
                self.weak[(kind, item.id)] = [(p, _flat(p)) for p in item.signals.weak_phrases if _flat(p)]
        # a code or phrase that more than one cause declares cannot tell them apart: generic
        owners: dict[str, set[str]] = {}
        for cause in kb.causes.values():
            for signal in (*cause.signals.codes, *cause.signals.phrases, *cause.signals.weak_phrases):
                owners.setdefault(signal.casefold(), set()).add(cause.id)
        self.shared = {signal for signal, ids in owners.items() if len(ids) > 1}
        self.kb_titles: dict[str, list[tuple[int, str]]] = {
            cause.id: [(k.number, _flat(k.title)) for k in cause.kb if len(_flat(k.title)) >= MIN_TITLE_CHARS]
            for cause in kb.causes.values()}
        self.ids = {e.event_id for e in kb.events.values()}
        self.kbs = {k.number for c in kb.causes.values() for k in c.kb}


_index = PerKb(_Index)


def _flat(text: str) -> str:
    """Casefolded, whitespace collapsed: phrases are verbatim, so their variable-looking parts stay."""
    return _SPACE.sub(" ", text).casefold().strip()


def _words(normalised: str) -> set[str]:
    """The words of a normalised text (letters only, three or more): what a template and a paste share."""
    return set(_WORD.findall(normalised))


def _noisy_or(parts: list[float]) -> float:
    keep = 1.0
    for p in parts:
        keep *= 1.0 - max(0.0, min(1.0, p))
    return 1.0 - keep


def _fuzzy(text_norm: str, template_norm: str) -> float:
    """0..1 similarity; 0 below a floor so that unrelated text adds nothing."""
    if len(text_norm) < MIN_FUZZY_CHARS or len(template_norm) < 8:
        return 0.0
    from rapidfuzz import fuzz  # loaded on first use: a scan imports this module but never searches

    partial = fuzz.partial_ratio(text_norm, template_norm)
    tokens = fuzz.token_set_ratio(text_norm, template_norm)
    ratio = max(partial, 0.5 * partial + 0.5 * tokens)
    # a very short paste can only partially match; scale down pastes much shorter than the template
    coverage = min(1.0, len(text_norm) / max(40.0, min(len(template_norm), 120.0)))
    ratio *= 0.75 + 0.25 * coverage
    return max(0.0, (ratio - 60.0) / 40.0) * 0.9


def _header_entries(text: str, kb: KnowledgeBase, ids: set[int]) -> set[str]:
    """Catalog ids named by an Event Viewer header: Source/Quelle (provider) plus Event ID/Ereignis-ID."""
    out: set[str] = set()
    if not ids:
        return out
    flat = _SPACE.sub(" ", text).casefold()
    xml_providers = {m.casefold() for m in _XML_PROVIDER.findall(text)}
    for entry in kb.events.values():
        if entry.event_id not in ids:
            continue
        for name in (entry.provider, *entry.provider_aliases):
            n = name.casefold()
            if f"source: {n}" in flat or f"quelle: {n}" in flat or f"source:{n}" in flat or f"quelle:{n}" in flat \
                    or n in xml_providers:
                out.add(entry.id)
    return out


_ROLE_RANK = {"specific": 2, "corroborating": 1, "generic": 0}


def cause_for_event(kb: KnowledgeBase, event_entry_id: str) -> str | None:
    """The cause a catalog event leads to: the one that counts it as its strongest kind of evidence.

    Generic evidence leads nowhere: an event that fits many problems (a bare 36871) is no way into one
    cause's fix. (Without the event's data; ``explain`` also tests the evidence's conditions on the text.)"""
    ranked = sorted(((_ROLE_RANK.get(e.role, 0), e.weight, cause.id)
                     for cause in kb.causes.values() for e in cause.evidence
                     if e.event == event_entry_id and e.role != "generic"),
                    key=lambda t: (-t[0], -t[1], t[2]))
    return ranked[0][2] if ranked else None


@dataclass(frozen=True, slots=True)
class _Lead:
    """A cause that counts a matched event as evidence, and whether the text meets the evidence's conditions."""

    cause: str
    role: str
    weight: float
    met: stated.Verdict


class _Conditions:
    """Whether the pasted text meets an evidence's field conditions (see ``stated``); each event read once."""

    def __init__(self, text: str, kb: KnowledgeBase) -> None:
        self.text = text
        self.kb = kb
        self._fields: dict[str, list[dict[str, str]]] = {}

    def verdict(self, ev: Evidence) -> stated.Verdict:
        if not ev.where:
            return True
        entry = self.kb.events.get(ev.event)
        if entry is None:
            return None
        if ev.event not in self._fields:
            self._fields[ev.event] = stated.stated_fields(self.text, entry)
        return stated.verdict(ev.where, self.text, entry, self._fields[ev.event])

    def leads(self, event_entry_id: str) -> list[_Lead]:
        """The causes a matched event can lead to: not as generic evidence (one generic event never leads to a
        fix) and not where the text states data that fails the evidence's conditions; strongest role first."""
        out = [_Lead(cause.id, e.role, e.weight, met)
               for cause in self.kb.causes.values() for e in cause.evidence
               if e.event == event_entry_id and e.role != "generic" and (met := self.verdict(e)) is not False]
        best: dict[str, _Lead] = {}
        for lead in sorted(out, key=lambda t: (-_ROLE_RANK.get(t.role, 0), -t.weight, t.cause)):
            best.setdefault(lead.cause, lead)
        return list(best.values())


def _unstated(ev: Evidence) -> str:
    """'AlertDesc not stated in the text': why an evidence counted half."""
    return f"{', '.join(sorted({c.field for c in ev.where}))} not stated in the text"


def _phrase_found(phrase_flat: str, flat_raw: str) -> bool:
    """A declared phrase (or KB title) occurs in the text, allowing about one typo per ten characters.

    A text shorter than the phrase must be a real part of it (a quote cut short), at least
    ``MIN_FRAGMENT_CHARS`` long: a word such as "primaries" is not the phrase "has no primaries".
    A number in the phrase is data, not spelling: "alert was received: 40" is not the phrase "... 47"."""
    from rapidfuzz import fuzz

    need = min(0.9 * len(phrase_flat), MIN_FRAGMENT_CHARS)
    if len(flat_raw) < need or fuzz.partial_ratio(phrase_flat, flat_raw) < PHRASE_RATIO:
        return False
    return all(re.search(r"(?<!\d)" + n + r"(?!\d)", flat_raw) for n in _DIGITS.findall(phrase_flat))


def explain(text: str, kb: KnowledgeBase) -> ExplainResult:
    """Ranked catalog events and causes for pasted text, and the best cause's fix."""
    idx = _index(kb)
    raw = text.strip()
    if not raw:
        return ExplainResult(text, [], None, "nothing to explain: the text is empty")
    from tlsdiag.inputs.pasteread import details_text  # the brief lets explain read pasted exports

    raw = details_text(raw) or raw  # Format-List, ConvertTo-Json, Export-Csv, NDJSON, XML view: as details text
    body = raw
    desc = _DESCRIPTION.search(raw)
    if desc:
        body = raw[desc.end():]
    body_norm = normalise(body)
    flat_norm = normalise(raw)
    flat_raw = _flat(raw)
    paste_words = _words(flat_norm)
    labelled = {int(m) for m in (*_ID_LABEL.findall(raw), *_XML_ID.findall(raw))} & idx.ids
    bare = {int(m) for m in _NUMBER.findall(raw) if m.lstrip("-").isdigit()} & idx.ids
    kb_numbers = {int(m) for m in _KB_LABEL.findall(raw)} | ({abs(int(m)) for m in _NUMBER.findall(raw)} & idx.kbs)
    header = _header_entries(raw, kb, labelled)
    code_hits = code_kb.lookup(raw, kb)
    generic = code_kb.generic_codes(kb)
    said = code_kb.messages_of(code_hits)

    def signal_parts(kind: str, item_id: str, why: list[str]) -> tuple[list[float], bool]:
        """Weights of the declared signals found, and whether any of them is distinctive."""
        parts: list[float] = []
        distinct = False
        for code, patterns in idx.codes[(kind, item_id)]:
            if any(p.search(raw) for p in patterns):
                parts.append(W_CODE)
                shared = code.casefold() in idx.shared
                distinct |= kind == "cause" and not shared
                why.append(f"code {code}" + (" (several causes)" if shared else ""))
        for phrase, phrase_flat in idx.phrases[(kind, item_id)]:
            if _phrase_found(phrase_flat, flat_raw):
                parts.append(W_PHRASE)
                shared = phrase.casefold() in idx.shared
                distinct |= not shared
                why.append(f"phrase '{phrase}'" + (" (several causes)" if shared else ""))
        for phrase, phrase_flat in idx.weak[(kind, item_id)]:
            if _phrase_found(phrase_flat, flat_raw):
                parts.append(W_WEAK_PHRASE)
                why.append(f"phrase '{phrase}' (fits, not specific)")
        return parts, distinct

    likeness: dict[str, tuple[float, str]] = {}  # entry -> its best text similarity with enough uncommon words
    for entry in kb.events.values():
        best, best_lang = 0.0, ""
        for lang, template_norm in idx.templates[entry.id]:
            score = max(_fuzzy(body_norm, template_norm), _fuzzy(flat_norm, template_norm) * 0.95)
            if score > best:
                best, best_lang = score, lang
        if best > 0 and len(paste_words & idx.words[(entry.id, best_lang)]) >= MIN_SHARED_WORDS:
            likeness[entry.id] = (best, best_lang)
    top_likeness = max((b for b, _ in likeness.values()), default=0.0)

    event_scores: dict[str, ExplainMatch] = {}
    for entry in kb.events.values():
        why: list[str] = []
        parts: list[float] = []
        distinct = False  # header, labelled id, text or phrase; a bare number or a code alone is generic
        if entry.id in header:
            parts.append(W_HEADER)
            why.append(f"Event Viewer header: {entry.provider} event {entry.event_id}")
            distinct = True
        elif entry.event_id in labelled:
            parts.append(W_EVENT_ID)
            why.append(f"event id {entry.event_id}")
            distinct = True
        elif entry.event_id in bare:
            parts.append(W_BARE_ID)
            why.append(f"number {entry.event_id} is this event's id")
        best, best_lang = likeness.get(entry.id, (0.0, ""))
        # a similarity says something about this event only when it rests on words few catalog texts use
        # ("certificate error" is a little like many titles and names none of them) and no other event's
        # text explains the paste much better (Schannel's messages share whole sentences); it is the
        # event's own evidence only when it is also strong enough by itself to show the event
        if best > 0 and best >= OWN_SHARE * top_likeness:
            parts.append(best)
            what = f"the {best_lang} template" if best_lang != "title" else "the title"
            if best >= THRESHOLD:
                why.append(f"text similar to {what}")
                distinct = True
            else:
                why.append(f"text a little like {what}")
        signal, signal_distinct = signal_parts("event", entry.id, why)
        parts += signal
        distinct |= signal_distinct
        if not parts:
            continue
        score = _noisy_or(parts)
        if header and entry.id not in header and entry.event_id in labelled:
            score *= 0.8  # the header names another provider's event with this id
        if not distinct and score > GENERIC_CAP:
            score = GENERIC_CAP  # a bare number or error code is not this event: many events carry it
        if code_kb.code_only(why, generic, messages=said):
            score = min(score, code_kb.EVENT_CAP)  # only a generic code: the code answer says what it means
        event_scores[entry.id] = ExplainMatch("event", entry.id, entry.title, score, entry.event_id,
                                              entry.provider, [], why, generic=not distinct,
                                              meaning=" ".join(entry.meaning.split()))

    tempered = {m.id for m in event_scores.values() if code_kb.code_only(m.why, generic, messages=said)}
    held = _Conditions(raw, kb)
    cause_scores: list[ExplainMatch] = []
    for cause in kb.causes.values():
        why = []
        parts = []
        distinct = False
        numbers = [k.number for k in cause.kb]
        for number in numbers:
            if number in kb_numbers:
                parts.append(W_KB)
                why.append(f"KB {number}")
                distinct = True
        for number, title_flat in idx.kb_titles[cause.id]:
            if number not in kb_numbers and _phrase_found(title_flat, flat_raw):
                parts.append(W_KB_TITLE)
                why.append(f"title of KB {number}")
                distinct = True
        signal, signal_distinct = signal_parts("cause", cause.id, why)
        parts += signal
        distinct |= signal_distinct
        best_event = 0.0
        best_why = ""
        best_distinct = False
        for ev in cause.evidence:
            m = event_scores.get(ev.event)
            if m is None:
                continue
            met = held.verdict(ev)
            if met is False:
                continue  # the text states the event's data and it is not what this cause needs (alert 40, not 47)
            value = m.score * ROLE_FACTOR.get(ev.role, 0.4) * (0.6 + 0.4 * ev.weight)
            if met is None:
                value *= UNSTATED_FACTOR
            if value > best_event:
                best_event = value
                best_why = f"event {m.id} ({ev.role} evidence" + (f"; {_unstated(ev)})" if met is None else ")")
                best_distinct = not m.generic and ev.role != "generic" and met is True
        if best_event:
            parts.append(best_event)
            why.append(best_why)
            distinct |= best_distinct
        if not parts:
            continue
        score = _noisy_or(parts)
        if code_kb.code_only(why, generic, tempered, said):
            score = min(score, code_kb.CAUSE_CAP)  # a generic code alone never makes a confident cause
        if not distinct and score > GENERIC_CAP:
            score = GENERIC_CAP
            why.append(f"generic evidence only: capped at {GENERIC_CAP}")
        cause_scores.append(ExplainMatch("cause", cause.id, cause.title, score, None, None,
                                         numbers, why, generic=not distinct, store_related=cause.store_related))

    ranked = sorted([*event_scores.values(), *cause_scores], key=lambda m: (-m.score, m.kind, m.id))
    good = [m for m in ranked if m.score >= THRESHOLD][:MAX_MATCHES]
    # a cause resting on a generic code alone is listed but never chosen for the fix (the code answer comes first)
    best_cause = next((kb.causes[m.id] for m in good
                       if m.kind == "cause" and not code_kb.code_only(m.why, generic, tempered, said)), None)
    note = ""
    candidates: list[Candidate] = []
    good_causes = [m for m in good if m.kind == "cause"]
    if good_causes and all(m.generic for m in good_causes):
        candidates = [Candidate(m.id, m.title, m.score, kb.causes[m.id].tell_apart
                                or "see the cause's verify steps") for m in good_causes[:MAX_CANDIDATES]]
        note = ("only generic evidence: the text fits several causes (or one cause and many unrelated "
                "problems); check the candidates below before acting on any of them")
    if best_cause is None:
        # Only events matched well (e.g. a Windows Fabric line): offer the cause the best of them leads to, when
        # the event is its own evidence and the text shows the evidence's conditions met; else list the causes.
        floor = code_kb.LEAD_FLOOR if code_hits else 0.0  # beside a code, only a clear event match leads to a cause
        counted = {e.event for cause in kb.causes.values() for e in cause.evidence}
        for m in good:
            if m.kind != "event" or m.score < floor or m.id not in counted:
                continue  # an event no cause counts (a service that stopped) says nothing about causes
            leads = held.leads(m.id)  # the best event some cause counts decides: a weaker match never does
            if not leads:
                note = (f"no cause matched the text itself; event {m.id} on its own is generic evidence (or its "
                        "data rules the causes out), so no cause is chosen: see what the event means")
                break
            top = leads[0]
            if top.met is True and not m.generic:
                best_cause = kb.causes[top.cause]
                note = (f"no cause matched the text itself; {top.cause} is the cause that counts the matched event "
                        "as its strongest evidence")
            elif not candidates:
                candidates = [Candidate(lead.cause, kb.causes[lead.cause].title,
                                        m.score * ROLE_FACTOR.get(lead.role, 0.4) * (0.6 + 0.4 * lead.weight)
                                        * (1.0 if lead.met else UNSTATED_FACTOR),
                                        kb.causes[lead.cause].tell_apart or "see the cause's verify steps")
                              for lead in leads[:MAX_CANDIDATES]]
                note = (f"no cause matched the text itself; event {m.id} counts for these causes only with event "
                        "data the text does not show (or it matched only by a bare number or code): check them "
                        "before acting")
            break
    if best_cause is None and code_hits and any(m.kind == "cause" for m in good):
        note = "the error code alone does not establish a cause; check the listed conditions in order"
    if not good and not code_hits:
        near = ranked[0] if ranked else None
        note = "nothing in the knowledge base matches this text well"
        if near:
            note += f" (closest: {near.kind} {near.id}, score {near.score:.2f}, below {THRESHOLD})"
    return ExplainResult(text, good, best_cause, note, candidates=candidates, codes=code_hits)
