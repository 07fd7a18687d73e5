"""The knowledge base as typed, read-only objects built from validated YAML.

The YAML files are the source of truth and are written for human reviewers;
these classes only give the matcher, the reports and the TUI attribute access
and a few derived values, so none of them re-reads or re-interprets YAML.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal, TypeAlias, TypeGuard, get_args

# Coded values, as signatures/schema/*.json allows them (the loader validates every file against the schema first)
ConditionOp: TypeAlias = Literal["equals", "in", "contains", "regex", "exists"]
EvidenceRole: TypeAlias = Literal["specific", "corroborating", "generic"]
SourceQuality: TypeAlias = Literal["verbatim", "paraphrase", "inferred"]
Shell: TypeAlias = Literal["powershell", "cmd"]
PeerScope: TypeAlias = Literal["named", "collection"]
Severity: TypeAlias = Literal["error", "warning", "info"]
FindingKind: TypeAlias = Literal["problem", "note", "clean"]  # of a store check's result (stores/checks.py)
CatalogLevel: TypeAlias = Literal["critical", "error", "warning", "information", "verbose"]
CodeKind: TypeAlias = Literal["hresult", "tls-alert", "http-status", "message"]

CONDITION_OPS: frozenset[str] = frozenset(get_args(ConditionOp))


def is_condition_op(name: str) -> TypeGuard[ConditionOp]:
    return name in CONDITION_OPS


_DURATION = re.compile(r"^(\d+)([smhd])$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> timedelta:
    m = _DURATION.match(text)
    if not m:
        raise ValueError(f"bad duration {text!r}")
    return timedelta(seconds=int(m.group(1)) * _UNITS[m.group(2)])


@dataclass(frozen=True, slots=True)
class Condition:
    """One field test; ``negate`` flips it."""

    field: str
    op: ConditionOp
    value: Any
    negate: bool = False


def conditions_from(spec: Mapping[str, Mapping[str, Any]] | None) -> tuple[Condition, ...]:
    out: list[Condition] = []
    for name, tests in (spec or {}).items():
        negate = bool(tests.get("not", False))
        for op, value in tests.items():
            if op == "not":
                continue
            if not is_condition_op(op):  # the schema allows no other key; a hand-made spec may hold one
                raise ValueError(f"unknown condition operator {op!r}")
            out.append(Condition(str(name), op, value, negate))
    return tuple(out)


@dataclass(frozen=True, slots=True)
class Source:
    title: str
    supports: str
    quality: SourceQuality
    url: str | None = None
    key: str | None = None


@dataclass(frozen=True, slots=True)
class Signals:
    """Exact strings 'tlsdiag explain' looks for in pasted text (error codes, tool output)."""

    codes: tuple[str, ...] = ()
    phrases: tuple[str, ...] = ()
    weak_phrases: tuple[str, ...] = ()  # fit the cause but do not point to it (generic evidence)


@dataclass(frozen=True, slots=True)
class WindowsRange:
    min_build: int | None = None
    max_build: int | None = None
    note: str = ""

    def contains(self, build: int) -> bool:
        if self.min_build is not None and build < self.min_build:
            return False
        return not (self.max_build is not None and build > self.max_build)


@dataclass(frozen=True, slots=True)
class CatalogEvent:
    id: str
    title: str
    channel: str
    provider: str
    event_id: int
    level: CatalogLevel
    meaning: str
    path: Path
    provider_aliases: tuple[str, ...] = ()
    provider_guid: str | None = None
    qualifiers: int | None = None
    logged_by_default: bool = True
    fields: tuple[str, ...] = ()
    templates: Mapping[str, str] = field(default_factory=dict)
    match: tuple[Condition, ...] = ()
    examples: Mapping[str, Any] = field(default_factory=dict)
    sources: tuple[Source, ...] = ()
    notes: str = ""
    signals: Signals = field(default_factory=Signals)

    @property
    def providers(self) -> tuple[str, ...]:
        """All provider names this entry answers to, lower-cased for comparison."""
        return tuple(p.lower() for p in (self.provider, *self.provider_aliases))


@dataclass(frozen=True, slots=True)
class Evidence:
    id: str
    event: str  # catalog id
    weight: float
    role: EvidenceRole
    where: tuple[Condition, ...] = ()
    note: str = ""


@dataclass(frozen=True, slots=True)
class Combination:
    all: tuple[str, ...]  # evidence ids
    within: timedelta
    weight: float
    note: str = ""


@dataclass(frozen=True, slots=True)
class Against:
    weight: float
    note: str
    event: str | None = None
    where: tuple[Condition, ...] = ()
    windows: WindowsRange | None = None


@dataclass(frozen=True, slots=True)
class Peer:
    """Another computer of the collection that bears on this cause: the one the evidence names (an Edge in
    a CMS replication event) or any other (a second front end of the pool)."""

    cause: str  # diagnosed on that computer
    weight: float
    note: str
    against: bool = False  # True: it argues against this cause here
    scope: PeerScope = "named"


@dataclass(frozen=True, slots=True)
class Step:
    """One step of a fix or a check: a cause's (signatures/causes/), a store check's static step, or a
    step a store check writes for one certificate (``stores.FixStep`` is this type)."""

    step: str
    command: str = ""
    shell: Shell = "powershell"
    note: str = ""

    def to_dict(self) -> dict[str, str | None]:
        """The one JSON shape of a step in every output (docs/json-output.md)."""
        return {"step": self.step, "command": self.command or None, "shell": self.shell, "note": self.note or None}


@dataclass(frozen=True, slots=True)
class Workaround:
    title: str
    caveat: str
    command: str = ""
    shell: Shell = "powershell"


@dataclass(frozen=True, slots=True)
class KbArticle:
    number: int
    title: str
    url: str
    note: str = ""


@dataclass(frozen=True, slots=True)
class Cause:
    id: str
    title: str
    summary: str
    mechanism: str
    path: Path
    products: tuple[str, ...]
    windows: WindowsRange | None
    kb: tuple[KbArticle, ...]
    evidence: tuple[Evidence, ...]
    combinations: tuple[Combination, ...]
    against: tuple[Against, ...]
    proves: tuple[str, ...]  # store check ids that prove the cause
    rules_out_when_clean: tuple[str, ...]  # store check ids whose clean result rules it out
    fix: tuple[Step, ...]
    verify: tuple[Step, ...]
    workarounds: tuple[Workaround, ...]
    examples: Mapping[str, Any]
    sources: tuple[Source, ...]
    store_related: bool = False
    signals: Signals = field(default_factory=Signals)
    tell_apart: str = ""  # what to check to confirm or exclude this cause when the evidence fits several
    yields_to: tuple[str, ...] = ()  # causes that, when diagnosed on the same computer, rank above this one
    peers: tuple[Peer, ...] = ()  # causes diagnosed on other computers of the collection that bear on this one


@dataclass(frozen=True, slots=True)
class CheckStep:
    step: str
    command: str = ""
    shell: Shell = "powershell"
    when: str = ""  # shown only for this variant of the finding ("" = always)


@dataclass(frozen=True, slots=True)
class StoreCheck:
    """Metadata of one certificate-store check (signatures/checks/); the check itself is code in
    tlsdiag.stores.checks, which reads its title, severity, cause and static fix steps from here."""

    id: str
    title: str
    severity: Severity  # of the usual problem
    explanation: str
    path: Path
    cause: str | None = None
    kb: tuple[int, ...] = ()
    fix: tuple[CheckStep, ...] = ()
    other_severities: tuple[Severity, ...] = ()
    sources: tuple[Source, ...] = ()

    def steps(self, variant: str = "") -> tuple[CheckStep, ...]:
        """The fix steps for one variant of a finding (steps without ``when`` always apply)."""
        return tuple(s for s in self.fix if not s.when or s.when == variant)


@dataclass(frozen=True, slots=True)
class CodeMessage:
    lang: str
    text: str
    product: str = ""


@dataclass(frozen=True, slots=True)
class CodeCheck:
    """One thing to check for a code, in rank order; ``cause`` links it to a cause it can point to."""

    step: str
    cause: str | None = None
    command: str = ""
    shell: Shell = "powershell"


@dataclass(frozen=True, slots=True)
class CodeEntry:
    """An error code, TLS alert, HTTP status or product message (signatures/codes/): meaning and what to check."""

    id: str
    name: str
    kind: CodeKind
    value: str | None
    aliases: tuple[str, ...]
    meaning: str
    path: Path
    messages: tuple[CodeMessage, ...]
    related_events: tuple[str, ...]
    check: tuple[CodeCheck, ...]
    examples: tuple[str, ...]
    sources: tuple[Source, ...]


@dataclass(frozen=True, slots=True)
class KnowledgeBase:
    events: Mapping[str, CatalogEvent]
    causes: Mapping[str, Cause]
    directory: Path
    checks: Mapping[str, StoreCheck] = field(default_factory=dict)
    codes: Mapping[str, CodeEntry] = field(default_factory=dict)
