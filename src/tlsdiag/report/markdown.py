"""``--format markdown``: the report to paste into a ticket.

Inline text goes through ``textsafe.markdown`` (renders literally: no links,
HTML or emphasis smuggled in by event text); commands and messages go into
fenced blocks through ``textsafe.markdown_code``.
"""

from __future__ import annotations

from typing import Any

from tlsdiag import textsafe
from tlsdiag.kb.model import Step
from tlsdiag.match.explain import ExplainResult
from tlsdiag.match.render import render_message
from tlsdiag.report import steps
from tlsdiag.report.common import file_gave, lost_text, records_text, size, when
from tlsdiag.report.stores import finding_markdown
from tlsdiag.report.view import DiagnosisView, scan_view

md = textsafe.markdown


def _code(text: str, lang: str = "") -> list[str]:
    return [f"```{lang}", *textsafe.markdown_code(text).strip("\n").splitlines(), "```"]


def _steps(title: str, fix: tuple[Step, ...]) -> list[str]:
    return [f"**{title}**", "", *steps.markdown(fix), ""]


def _diagnosis(v: DiagnosisView, lang: str) -> list[str]:
    d, rank = v.diagnosis, v.rank
    cause = d.cause
    flags = [d.confidence, f"score {d.score:.2f}"]
    if d.store == "proven":
        flags.append("proven by store")
    out = [f"### {rank}. {md(cause.title)} ({', '.join(flags)})", "", f"Cause id: `{md(cause.id)}`", "",
           md(cause.summary), ""]
    for note in d.notes:
        out.append(f"> {md(note)}")
    if d.notes:
        out.append("")
    if cause.kb:
        out.append("**KB articles**")
        out.append("")
        for k in cause.kb:
            out.append(f"- KB{k.number}: {md(k.title)} ({md(k.url)})")
        out.append("")
    groups = v.groups
    if groups:
        out += ["**Evidence by catalog entry**", "", "| catalog entry | title | role | events | first seen | last seen |",
                "|---|---|---|---|---|---|"]
        for g in groups:
            unknown = " (fields unknown)" if g.fields_unknown else ""
            out.append(f"| {md(g.label)}{unknown} | {md(g.title)} | {g.role} | {g.count} | {when(g.first)} | "
                       f"{when(g.last)} |")
        out.append("")
        out += ["**One example of each** (the first; the others are counted above, and `--format json` lists "
                "the first ten)", ""]
        for g in groups:
            m = g.example
            if m is None:
                continue
            e = m.event
            out.append(f"- {md(g.label)}: {when(e.timestamp)} {md(e.provider)} {e.event_id} ({md(e.source)}, "
                       f"{md(e.locator)})" + (f", and {g.count - 1} more" if g.count > 1 else ""))
            out += ["", *("  " + line for line in _code(render_message(e, m.entry, lang, m.fields))), ""]
    for ag, hit in d.against:
        out.append(f"- Against: {md(ag.note)}" + (f" ({hit.count} event(s))" if hit else ""))
    if d.store_findings:
        out += ["**Store findings**", ""]
        for f in d.store_findings:
            out += finding_markdown(f)
        out.append("")
    out += _steps("Fix", cause.fix)
    out += _steps("Verify", cause.verify)
    out += steps.workarounds_markdown(cause.workarounds)
    return out


def render_scan(result: Any, *, stats: bool = False, lang: str = "en") -> str:
    made = result.made
    out = ["# tlsdiag report", ""]
    out.append(f"{len(made)} diagnosis(es) made." if made else "No known certificate-store or TLS problem found.")
    out.append("")
    view = scan_view(result)
    quiet = [f"- {md(c.name)} ({md(c.host.windows_name) if c.host else 'Windows unknown'})" for c in view.quiet]
    for c in view.with_diagnoses:
        facts = c.host
        out += [f"## {md(c.name) or '(computer not named in the logs)'}", ""]
        if facts is not None:
            out.append(f"- Windows: {md(facts.windows_name)}")
            if facts.products:
                out.append(f"- Products seen in the logs: {md(', '.join(sorted(facts.products)))}")
            out.append("")
        if not c.made:
            out += ["No diagnosis for this computer.", ""]
        for v in c.made:
            out += _diagnosis(v, lang)
        if c.considered:
            out += ["**Also considered** (not enough to act on)", ""]
            for v in c.considered:
                out.append(f"- {md(v.diagnosis.cause.title)} ({v.diagnosis.confidence}): {md(v.reason)}")
            out.append("")
    if quiet:
        out += ["## Nothing found on", "", *quiet, ""]
    summary = result.summary
    first, last = summary.span
    out += ["## What was read", "",
            f"{len(summary.files)} file(s), {size(summary.bytes)}, {records_text(result)}, "
            f"{lost_text(summary)}; events from {when(first)} to {when(last)}.", "",
            "| file | form | size | records | lost | error |", "|---|---|---|---|---|---|"]
    for f in summary.files:
        lost = "; ".join(f"{md(x.where)}: {md(x.reason)}" for x in f.lost[:5])
        out.append(f"| {md(f.source)} | {f.form} | {size(f.size)} | {md(file_gave(result, f))} | {lost} | "
                   f"{md(f.error or '')} |")
    out.append("")
    for note in result.notes:
        out.append(f"> {md(note)}")
    if stats:
        s = result.stats
        out += ["", "## Where the time went", "",
                f"- total {s.seconds:.2f} s, reading and matching {s.read_seconds:.2f} s, stores {s.store_seconds:.2f} s",
                f"- events matched against the catalog: {s.events}, matches: {s.matches}"]
        out += [f"- {k.replace('_', ' ')}: {v}" for k, v in s.reader.items()]
    return "\n".join(out).rstrip("\n") + "\n"


def render_explain(result: ExplainResult) -> str:
    out = ["# tlsdiag explain", ""]
    if not result.found:
        return "\n".join([*out, md(result.note or "nothing matches")]) + "\n"
    if result.matches:
        out += ["| score | kind | id | title | KB |", "|---|---|---|---|---|"]
    for m in result.matches:
        kind = f"event {m.event_id}" if m.kind == "event" else "cause"
        out.append(f"| {m.score:.2f} | {kind} | {md(m.id)} | {md(m.title)} | "
                   f"{', '.join(f'KB{n}' for n in m.kb)} |")
    for hit in result.codes:
        e = hit.entry
        out += ["", f"## {md(e.name)}" + (f" ({md(e.value)})" if e.value else ""), "", md(e.meaning), ""]
        related = [r for r in hit.related if r.id not in {m.id for m in result.matches}]
        if related:
            out += ["Events to look for at the same time:", ""]
            out += [f"- {md(r.label())}: {md(r.title)}" + ("" if r.logged_by_default else
                                                           " (written only with extra logging enabled)")
                    for r in related]
            out.append("")
        out += ["What to check, most likely first:", ""]
        out += [f"{i}. {md(c.step)}" + (f" (cause: {md(c.cause)})" if c.cause else "") for i, c in enumerate(e.check, 1)]
    cause = result.best_cause
    top = result.matches[0] if result.matches else None
    if cause is None and not result.candidates and top is not None and top.kind == "event" and top.meaning:
        out += ["", f"## What event {top.event_id} ({md(top.provider or '')}) means", "", md(top.meaning)]
    if result.candidates:
        out += ["", "## Generic evidence only: check these before acting", ""]
        out += [f"- **{md(c.id)}** {md(c.title)}: {md(c.check)}" for c in result.candidates]
    if cause is not None:
        heading = "First candidate" if result.candidates else "Most likely cause"
        out += ["", f"## {heading}: {md(cause.title)}", "", md(cause.summary), ""]
        out += _steps("Fix", cause.fix)
        out += _steps("Verify", cause.verify)
        out += steps.workarounds_markdown(cause.workarounds)
    return "\n".join(out).rstrip("\n") + "\n"
