"""Load one signature file as plain data, refusing what a reviewer cannot see.

Signature files are input too: a shared or downloaded rule set may be hostile.
Only plain YAML is accepted: no tags (which could construct objects or hide
types), no anchors or aliases (entity-expansion bombs, and values that change
far from where they are read), and no file larger than ``MAX_BYTES``. Each value
keeps its line so that errors can point at it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

MAX_BYTES = 256 * 1024
MAX_DEPTH = 32

Location = tuple[str | int, ...]


class YamlProblem(Exception):
    def __init__(self, line: int, reason: str) -> None:
        super().__init__(reason)
        self.line = line
        self.reason = reason


_PLAIN_TAGS = {
    "tag:yaml.org,2002:str", "tag:yaml.org,2002:int", "tag:yaml.org,2002:float", "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null", "tag:yaml.org,2002:map", "tag:yaml.org,2002:seq",
}


def load(path: Path) -> tuple[Any, dict[Location, int]]:
    """Return (data, {location: line}) or raise YamlProblem with a 1-based line."""
    size = path.stat().st_size
    if size > MAX_BYTES:
        raise YamlProblem(1, f"file is {size} bytes; signature files are limited to {MAX_BYTES}")
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise YamlProblem(1, f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    if _CLoader is not None:
        # libyaml (same resolver and constructor, C scanner and parser) makes start-up about 10x cheaper;
        # any problem is reported by the pure-Python path below, so error texts do not depend on libyaml
        try:
            return _load_text(text, _CLoader)
        except (YamlProblem, yaml.YAMLError):
            pass
    return _load_text(text, yaml.SafeLoader)


_CLoader: Any = getattr(yaml, "CSafeLoader", None)


def _load_text(text: str, loader: Any) -> tuple[Any, dict[Location, int]]:
    depth = 0
    try:
        for event in yaml.parse(text, Loader=loader):
            line = event.start_mark.line + 1 if event.start_mark else 1  # the parser always sets marks
            if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
                depth += 1
                if depth > MAX_DEPTH:  # composing is recursive: deep nesting would overflow the stack
                    raise YamlProblem(line, f"nesting deeper than {MAX_DEPTH} levels is not allowed in signature "
                                            "files")
            elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                depth -= 1
            if isinstance(event, yaml.AliasEvent):
                raise YamlProblem(line, "YAML aliases (*name) are not allowed in signature files")
            anchor = getattr(event, "anchor", None)
            if anchor is not None:
                raise YamlProblem(line, f"YAML anchors (&{anchor}) are not allowed in signature files")
            tag = getattr(event, "tag", None)
            if tag is not None and tag not in ("!", *_PLAIN_TAGS):
                raise YamlProblem(line, f"YAML tag {tag!r} is not allowed in signature files")
            if tag in _PLAIN_TAGS:
                raise YamlProblem(line, f"explicit YAML tag {tag!r} is not allowed in signature files")
        node = yaml.compose(text, Loader=loader)
        data = yaml.load(text, Loader=loader)  # noqa: S506 (loader is SafeLoader or CSafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        reason = f"invalid YAML: {exc.problem or exc.context}"
        if exc.context and exc.context_mark and exc.problem_mark and exc.context_mark.line != exc.problem_mark.line:
            reason += f" ({exc.context} started at line {exc.context_mark.line + 1})"
        raise YamlProblem(line, reason) from None
    except yaml.YAMLError as exc:
        raise YamlProblem(1, f"invalid YAML: {exc}") from None
    lines: dict[Location, int] = {}
    if node is not None:
        _index(node, (), lines)
    return data, lines


def _index(node: yaml.Node, here: Location, lines: dict[Location, int]) -> None:
    lines[here] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            where = (*here, key.value)
            lines[where] = key.start_mark.line + 1
            _index(value, where, lines)
            lines[where] = key.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _index(item, (*here, i), lines)


def line_of(lines: dict[Location, int], where: Location) -> int:
    """The line of the deepest known location on the path (1 when nothing is known)."""
    path = tuple(where)
    while path:
        if path in lines:
            return lines[path]
        path = path[:-1]
    return lines.get((), 1)
