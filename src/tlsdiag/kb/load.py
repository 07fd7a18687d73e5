"""Read ``signatures/`` into a KnowledgeBase, or say exactly which file is wrong.

A rule set that loads with some entries silently missing is worse than one that
does not load: the administrator would trust a clean report. So loading is
all-or-nothing, and ``check_kb`` lists every problem with path and line.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tlsdiag.errors import KnowledgeBaseError
from tlsdiag.kb import cache
from tlsdiag.kb.model import (
    Against,
    CatalogEvent,
    Cause,
    CheckStep,
    CodeCheck,
    CodeEntry,
    CodeMessage,
    Combination,
    Evidence,
    KbArticle,
    KnowledgeBase,
    Peer,
    Signals,
    Source,
    Step,
    StoreCheck,
    WindowsRange,
    Workaround,
    conditions_from,
    parse_duration,
)
from tlsdiag.resources import signatures_dir

if TYPE_CHECKING:
    import jsonschema

# yaml, jsonschema and referencing are imported where validation runs: a scan with a warm
# cache (kb/cache.py) never needs them, and importing them costs more than a small scan.

KINDS = {"events": "event.schema.json", "causes": "cause.schema.json", "checks": "check.schema.json",
         "codes": "code.schema.json"}
# a knowledge base without store checks is still one (the causes say which they need), and a signatures
# folder from before the code knowledge base still loads
OPTIONAL_KINDS = {"checks", "codes"}
RawEntry = dict[str, Any]  # one signature file as parsed from YAML (schema-checked, then made typed objects)


@dataclass(frozen=True, slots=True)
class Problem:
    path: Path
    line: int
    reason: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.reason}"


def _validators(schema_dir: Path) -> dict[str, jsonschema.protocols.Validator]:
    # keyed by the schema texts, not the folder: an edited schema must take effect in the same process
    return _compiled(tuple(sorted((p.name, p.read_text(encoding="utf-8")) for p in schema_dir.glob("*.schema.json"))))


@lru_cache(maxsize=4)
def _compiled(texts: tuple[tuple[str, str], ...]) -> dict[str, jsonschema.protocols.Validator]:
    import jsonschema
    from referencing import Registry, Resource

    schemas = {name: json.loads(text) for name, text in texts}
    registry: Registry = Registry().with_resources(
        (schema["$id"], Resource.from_contents(schema)) for schema in schemas.values()
    )
    out = {}
    for kind, name in KINDS.items():
        if name not in schemas and kind in OPTIONAL_KINDS:
            continue
        cls = jsonschema.validators.validator_for(schemas[name])
        out[kind] = cls(schemas[name], registry=registry)
    return out


def _files(directory: Path) -> Iterator[tuple[str, Path]]:
    for kind in KINDS:
        folder = directory / kind
        if folder.is_dir():
            for path in sorted(folder.iterdir()):
                if path.suffix in (".yaml", ".yml"):
                    yield kind, path
                elif not path.name.startswith(".") and path.name.lower() != "readme.md":
                    yield kind, path  # reported below: a stray file may be a misnamed rule


def _read(directory: Path) -> tuple[dict[str, dict[str, tuple[Path, RawEntry]]], list[Problem]]:
    """Parse and schema-check every file; returns {kind: {id: (path, data)}} and problems."""
    from tlsdiag.kb import yamlsafe

    schema_dir = directory / "schema"
    if not schema_dir.is_dir():
        raise KnowledgeBaseError(f"{directory}: no schema/ folder; is this a signatures directory?")
    validators = _validators(schema_dir.resolve())
    problems: list[Problem] = []
    found: dict[str, dict[str, tuple[Path, RawEntry]]] = {kind: {} for kind in KINDS}
    for kind, path in _files(directory):
        if path.suffix not in (".yaml", ".yml"):
            problems.append(Problem(path, 1, "not a .yaml file; signature files must end in .yaml"))
            continue
        try:
            data, lines = yamlsafe.load(path)
        except yamlsafe.YamlProblem as exc:
            problems.append(Problem(path, exc.line, exc.reason))
            continue
        except OSError as exc:  # a dangling link, no permission: a problem to list, not a traceback
            problems.append(Problem(path, 1, f"cannot read the file: {exc.strerror or exc}"))
            continue
        if not isinstance(data, dict):
            problems.append(Problem(path, 1, "the file must hold one mapping (an entry), not a list or a scalar"))
            continue
        if kind not in validators:
            problems.append(Problem(path, 1, f"schema/{KINDS[kind]} is missing; {kind}/ cannot be checked"))
            continue
        errors = sorted(validators[kind].iter_errors(data), key=lambda e: list(e.absolute_path))
        for err in errors:
            where = ".".join(str(p) for p in err.absolute_path) or "(top level)"
            problems.append(Problem(path, yamlsafe.line_of(lines, tuple(err.absolute_path)),
                                    f"{where}: {err.message}"))
        if errors:
            continue
        entry_id = data["id"]
        if entry_id != path.stem:
            problems.append(Problem(path, yamlsafe.line_of(lines, ("id",)),
                                    f"id {entry_id!r} must equal the file name {path.stem!r}"))
            continue
        if entry_id in found[kind]:
            problems.append(Problem(path, 1, f"duplicate id {entry_id!r} (also {found[kind][entry_id][0]})"))
            continue
        found[kind][entry_id] = (path, data | {"__lines__": lines})
    return found, problems


def _cross_check(directory: Path, found: dict[str, dict[str, tuple[Path, RawEntry]]]) -> list[Problem]:
    from tlsdiag.kb import yamlsafe

    problems: list[Problem] = []
    events = found["events"]
    repo = directory.parent
    for cause_id, (path, data) in found["causes"].items():
        lines = data["__lines__"]
        local = [e["id"] for e in data["evidence"]]
        seen: set[str] = set()
        for i, ev in enumerate(data["evidence"]):
            if ev["id"] in seen:
                problems.append(Problem(path, yamlsafe.line_of(lines, ("evidence", i, "id")),
                                        f"evidence id {ev['id']!r} used twice in {cause_id}"))
            seen.add(ev["id"])
            if ev["event"] not in events:
                problems.append(Problem(path, yamlsafe.line_of(lines, ("evidence", i, "event")),
                                        f"evidence refers to unknown catalog event {ev['event']!r}"))
        for i, combo in enumerate(data.get("combinations", [])):
            for ref in combo["all"]:
                if ref not in local:
                    problems.append(Problem(path, yamlsafe.line_of(lines, ("combinations", i, "all")),
                                            f"combination names {ref!r}, which is not an evidence id here"))
        for i, item in enumerate(data.get("against", [])):
            if "event" in item and item["event"] not in events:
                problems.append(Problem(path, yamlsafe.line_of(lines, ("against", i, "event")),
                                        f"against refers to unknown catalog event {item['event']!r}"))
        for group in ("proves", "rules_out_when_clean"):
            for i, check_id in enumerate(data.get("store_checks", {}).get(group, [])):
                # a signatures folder without checks/ (a test or a partial rule set) uses the bundled checks
                if (directory / "checks").is_dir() and check_id not in found["checks"]:
                    problems.append(Problem(path, yamlsafe.line_of(lines, ("store_checks", group, i)),
                                            f"store check {check_id!r} is not defined in checks/"))
        for i, peer in enumerate(data.get("peers", [])):
            if peer["cause"] not in found["causes"]:
                problems.append(Problem(path, yamlsafe.line_of(lines, ("peers", i, "cause")),
                                        f"peers names {peer['cause']!r}, which is not a cause"))
        for i, other in enumerate(data.get("yields_to", [])):
            if other not in found["causes"] or other == cause_id:
                problems.append(Problem(path, yamlsafe.line_of(lines, ("yields_to", i)),
                                        f"yields_to names {other!r}, which is not another cause"))
        for polarity in ("positive", "negative"):
            for i, example in enumerate(data["examples"][polarity]):
                sample = example.get("sample")
                if sample and not (repo / sample).is_dir():
                    problems.append(Problem(path, yamlsafe.line_of(lines, ("examples", polarity, i, "sample")),
                                            f"example sample folder {sample!r} does not exist"))
    for check_id, (path, data) in found["checks"].items():
        check_cause = data.get("cause")
        if check_cause and check_cause not in found["causes"]:
            problems.append(Problem(path, yamlsafe.line_of(data["__lines__"], ("cause",)),
                                    f"check {check_id} names unknown cause {check_cause!r}"))
    problems += _cross_check_codes(found)
    for event_id, (path, data) in events.items():
        lines = data["__lines__"]
        fields = data.get("fields", [])
        for lang, template in data.get("templates", {}).items():
            for ref in _placeholders(template):
                if ref > len(fields):
                    problems.append(Problem(path, yamlsafe.line_of(lines, ("templates", lang)),
                                            f"template {lang} uses %{ref} but only {len(fields)} field(s) are listed"))
        if event_id and data.get("provider_guid") and data["provider_guid"] != data["provider_guid"].upper():
            problems.append(Problem(path, yamlsafe.line_of(lines, ("provider_guid",)), "provider_guid must be upper case"))
    return problems


def _cross_check_codes(found: dict[str, dict[str, tuple[Path, RawEntry]]]) -> list[Problem]:
    """Code entries name causes and events that exist, and no two entries claim the same code."""
    from tlsdiag.kb import yamlsafe

    problems: list[Problem] = []
    claimed: dict[tuple[str, str], str] = {}
    for code_id, (path, data) in found.get("codes", {}).items():
        lines = data["__lines__"]
        for i, step in enumerate(data["check"]):
            if "cause" in step and step["cause"] not in found["causes"]:
                problems.append(Problem(path, yamlsafe.line_of(lines, ("check", i, "cause")),
                                        f"check names unknown cause {step['cause']!r}"))
        for i, event in enumerate(data.get("related_events", [])):
            if event not in found["events"]:
                problems.append(Problem(path, yamlsafe.line_of(lines, ("related_events", i)),
                                        f"related_events names unknown catalog event {event!r}"))
        if "value" in data:
            key = (data["kind"], str(data["value"]).casefold())
            if key in claimed:
                problems.append(Problem(path, yamlsafe.line_of(lines, ("value",)),
                                        f"{data['kind']} {data['value']} is also entry {claimed[key]!r}"))
            claimed[key] = code_id
        if data["kind"] != "message" and "value" not in data:
            problems.append(Problem(path, 1, f"a {data['kind']} entry needs a value"))
    return problems


def _placeholders(template: str) -> list[int]:
    import re

    return [int(m) for m in re.findall(r"%(\d+)", template)]


def _read_and_check(directory: Path) -> tuple[dict[str, dict[str, tuple[Path, RawEntry]]], list[Problem]]:
    found, problems = _read(directory)
    for kind, entries in found.items():
        if not entries and kind not in OPTIONAL_KINDS and not any(p.path.parent.name == kind for p in problems):
            problems.append(Problem(directory / kind, 0, f"no {kind} entries: an empty knowledge base proves nothing"))
    return found, problems + _cross_check(directory, found)


def check_kb(directory: Path | None = None) -> list[Problem]:
    """Every problem in the knowledge base, each with path, line and reason."""
    return _read_and_check(Path(directory or signatures_dir()))[1]


def load_kb(directory: Path | None = None) -> KnowledgeBase:
    """The whole knowledge base; raises KnowledgeBaseError naming the first problems if any file is bad.

    A knowledge base that loaded cleanly before from exactly the same bytes comes from the cache
    (kb/cache.py, ``TLSDIAG_CACHE_DIR=off`` disables it); anything else is a full load and check.
    """
    directory = Path(directory or signatures_dir())
    key = cache.key_for(directory) if cache.cache_dir() is not None else None
    if key is not None:
        cached = cache.load(key, directory)
        if cached is not None:
            return cached
    found, problems = _read_and_check(directory)
    if problems:
        shown = "; ".join(str(p) for p in problems[:3])
        more = f" (and {len(problems) - 3} more; run 'tlsdiag kb check')" if len(problems) > 3 else ""
        raise KnowledgeBaseError(f"knowledge base has {len(problems)} problem(s): {shown}{more}")
    events = {i: _event(p, d) for i, (p, d) in found["events"].items()}
    causes = {i: _cause(p, d) for i, (p, d) in found["causes"].items()}
    checks = {i: _check(p, d) for i, (p, d) in found["checks"].items()}
    codes = {i: _code(p, d) for i, (p, d) in found.get("codes", {}).items()}
    kb = KnowledgeBase(events=events, causes=causes, directory=directory, checks=checks, codes=codes)
    # saved only if nothing changed while we read (same key after as before)
    if key is not None and cache.key_for(directory) == key:
        cache.save(key, kb, _sample_dirs(directory, found))
    return kb


def _sample_dirs(directory: Path, found: dict[str, dict[str, tuple[Path, RawEntry]]]) -> list[Path]:
    """The example sample folders _cross_check requires; they lie outside the hashed files."""
    return [directory.parent / example["sample"]
            for _, data in found["causes"].values()
            for polarity in ("positive", "negative")
            for example in data["examples"][polarity] if example.get("sample")]


def _sources(items: list[dict[str, Any]]) -> tuple[Source, ...]:
    return tuple(Source(title=s["title"], supports=s["supports"], quality=s["quality"],
                        url=s.get("url"), key=s.get("key")) for s in items)


def _signals(spec: dict[str, Any] | None) -> Signals:
    spec = spec or {}
    return Signals(tuple(spec.get("codes", [])), tuple(spec.get("phrases", [])),
                   tuple(spec.get("weak_phrases", [])))


def _windows(spec: dict[str, Any] | None) -> WindowsRange | None:
    if not spec:
        return None
    return WindowsRange(spec.get("min_build"), spec.get("max_build"), spec.get("note", ""))


def _event(path: Path, d: dict[str, Any]) -> CatalogEvent:
    return CatalogEvent(
        id=d["id"], title=d["title"], channel=d["channel"], provider=d["provider"], event_id=d["event_id"],
        level=d["level"], meaning=d["meaning"].strip(), path=path,
        provider_aliases=tuple(d.get("provider_aliases", [])), provider_guid=d.get("provider_guid"),
        qualifiers=d.get("qualifiers"), logged_by_default=d.get("logged_by_default", True),
        fields=tuple(d.get("fields", [])), templates=dict(d.get("templates", {})),
        match=conditions_from(d.get("match")), examples=d.get("examples", {}),
        sources=_sources(d["sources"]), notes=d.get("notes", ""), signals=_signals(d.get("signals")),
    )


def _code(path: Path, d: dict[str, Any]) -> CodeEntry:
    return CodeEntry(
        id=d["id"], name=d["name"], kind=d["kind"], value=None if "value" not in d else str(d["value"]),
        aliases=tuple(d.get("aliases", [])), meaning=d["meaning"].strip(), path=path,
        messages=tuple(CodeMessage(m["lang"], m["text"], m.get("product", "")) for m in d.get("messages", [])),
        related_events=tuple(d.get("related_events", [])),
        check=tuple(CodeCheck(c["step"].strip(), c.get("cause"), c.get("command", "").strip(),
                              c.get("shell", "powershell")) for c in d["check"]),
        examples=tuple(d["examples"]), sources=_sources(d["sources"]),
    )


def _steps(items: list[dict[str, Any]]) -> tuple[Step, ...]:
    return tuple(Step(step=s["step"].strip(), command=s.get("command", "").strip(),
                      shell=s.get("shell", "powershell"), note=s.get("note", "")) for s in items)


def _check(path: Path, d: dict[str, Any]) -> StoreCheck:
    return StoreCheck(
        id=d["id"], title=d["title"], severity=d["severity"], explanation=" ".join(d["explanation"].split()),
        path=path, cause=d.get("cause"), kb=tuple(d.get("kb", [])),
        fix=tuple(CheckStep(" ".join(s["step"].split()), s.get("command", "").strip(), s.get("shell", "powershell"),
                            s.get("when", "")) for s in d["fix"]),
        other_severities=tuple(d.get("other_severities", [])), sources=_sources(d["sources"]))


def _cause(path: Path, d: dict[str, Any]) -> Cause:
    applies = d["applies_to"]
    checks = d.get("store_checks", {})
    return Cause(
        id=d["id"], title=d["title"], summary=d["summary"].strip(), mechanism=d["mechanism"].strip(), path=path,
        products=tuple(applies["products"]), windows=_windows(applies.get("windows")),
        kb=tuple(KbArticle(k["number"], k["title"], k["url"], k.get("note", "")) for k in d["kb"]),
        evidence=tuple(Evidence(e["id"], e["event"], float(e["weight"]), e["role"],
                                conditions_from(e.get("where")), e.get("note", "")) for e in d["evidence"]),
        combinations=tuple(Combination(tuple(c["all"]), parse_duration(c["within"]), float(c["weight"]),
                                       c.get("note", "")) for c in d.get("combinations", [])),
        against=tuple(Against(float(a["weight"]), a["note"], a.get("event"), conditions_from(a.get("where")),
                              _windows(a.get("windows"))) for a in d.get("against", [])),
        proves=tuple(checks.get("proves", [])), rules_out_when_clean=tuple(checks.get("rules_out_when_clean", [])),
        fix=_steps(d["fix"]), verify=_steps(d["verify"]),
        workarounds=tuple(Workaround(w["title"], w["caveat"], w.get("command", ""), w.get("shell", "powershell"))
                          for w in d.get("workarounds", [])),
        examples=d["examples"], sources=_sources(d["sources"]), store_related=d.get("store_related", False),
        signals=_signals(d.get("signals")), tell_apart=" ".join(d.get("tell_apart", "").split()),
        yields_to=tuple(d.get("yields_to", [])),
        peers=tuple(Peer(p["cause"], float(p["weight"]), p["note"], bool(p.get("against", False)),
                         p.get("scope", "named")) for p in d.get("peers", [])),
    )
