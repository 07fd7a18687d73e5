"""Export the diagnosis on screen as Markdown, through the shared report module.

The Markdown itself comes from ``tlsdiag.report.markdown`` (one report format, one
implementation); this module only decides what to render and where it may go:
never into a folder that holds the evidence, so a collection handed over for
review stays exactly as it was collected.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

from tlsdiag.report import markdown


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:40] or "unknown"


def evidence_dirs(app: Any) -> list[Path]:
    """Folders that hold the evidence: each input folder, and the folder of each input file."""
    out: list[Path] = []
    for p in [*app.paths, *app.store_paths]:
        path = Path(p).resolve()
        out.append(path if path.is_dir() else path.parent)
    return out


def next_to_evidence(app: Any, target: Path) -> Path | None:
    """The evidence folder ``target`` would be written into (or below), or None."""
    parent = target.resolve().parent
    for folder in evidence_dirs(app):
        if parent == folder or folder in parent.parents:
            return folder
    return None


def default_export_path(app: Any) -> Path:
    """``tlsdiag-<computer>-<cause>.md`` in the current directory, or the home folder if that holds evidence."""
    current = app.current
    name = "tlsdiag-report.md"
    if current is not None:
        cause_id, computer = current
        name = f"tlsdiag-{_slug(computer or 'pasted')}-{cause_id}.md"
    target = Path(app.cwd) / name
    if next_to_evidence(app, target) is not None:
        target = Path.home() / name
    return target


def render_current(app: Any) -> str:
    """Markdown of the selected diagnosis (with what was read), of the whole scan when none is selected,
    or of the paste search when only an error was pasted."""
    result = app.result
    d = app.current_diagnosis()
    if result is None:
        explained = getattr(app, "last_explain", None)
        if explained is not None and explained.found:
            return markdown.render_explain(explained)  # a cause opened from a pasted error, no logs scanned
        raise ValueError("nothing to export: no scan has finished and no pasted error matched")
    if d is None:
        return markdown.render_scan(result)
    return markdown.render_scan(dataclasses.replace(result, diagnoses=[d]))


def write_markdown(app: Any, target: Path) -> Path:
    """Write the export; refuse evidence folders and existing files (one-line reasons)."""
    target = target.expanduser()
    if not target.is_absolute():
        target = Path(app.cwd) / target
    if target.is_dir():
        raise ValueError(f"{target}: is a folder; give a file name")
    folder = next_to_evidence(app, target)
    if folder is not None:
        raise ValueError(f"{target}: inside the evidence folder {folder}; choose another folder")
    if target.exists():
        raise ValueError(f"{target}: already exists; choose another name")
    if not target.parent.is_dir():
        raise ValueError(f"{target.parent}: folder does not exist")
    text = render_current(app)
    with open(target, "x", encoding="utf-8") as fh:
        fh.write(text)
    return target
