"""Views of a ScanResult / ExplainResult: text (terminal), JSON (stable schema), Markdown (tickets).

Reports never parse files; they only format what ``tlsdiag.scan`` and
``tlsdiag.match.explain`` returned.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tlsdiag.report.formats import SCAN_FORMATS, ReportFormat, ScanFormat

SCHEMA_DIR = Path(__file__).resolve().parent / "schemas"
# The version of every JSON document tlsdiag prints (scan, stores, explain; docs/json-output.md). Fields may
# be added within a version; a rename, removal or change of shape bumps it. 2: `stores` got the top-level
# `findings` list, and a fix step has one shape everywhere ({step, command, shell, note}).
SCHEMA_VERSION = 2


def render_scan(result: Any, fmt: ScanFormat = "text", *, color: bool = False, stats: bool = False) -> str:
    """The scan report in one of SCAN_FORMATS."""
    if fmt == "json":
        from tlsdiag.report import json as json_report

        return json_report.render_scan(result, stats=stats)
    if fmt in ("timesketch", "timeline"):
        import io

        from tlsdiag.report import timeline
        from tlsdiag.report.view import scan_view

        out = io.StringIO()
        timeline.write(fmt, timeline.view_rows(scan_view(result)), out)
        return out.getvalue()
    if fmt == "html":
        from tlsdiag.report import html

        return html.render_scan(result, stats=stats)
    if fmt == "markdown":
        from tlsdiag.report import markdown

        return markdown.render_scan(result, stats=stats)
    from tlsdiag.report import text

    return text.render_scan(result, color=color, stats=stats)


def render_explain(result: Any, fmt: ReportFormat = "text", *, color: bool = False) -> str:
    """The explain answer in one of ``formats.REPORT_FORMATS``."""
    if fmt == "json":
        from tlsdiag.report import json as json_report

        return json_report.render_explain(result)
    if fmt == "markdown":
        from tlsdiag.report import markdown

        return markdown.render_explain(result)
    from tlsdiag.report import text

    return text.render_explain(result, color=color)


__all__ = ["SCAN_FORMATS", "SCHEMA_DIR", "SCHEMA_VERSION", "render_explain", "render_scan"]
