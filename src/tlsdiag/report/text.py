"""The default report: readable text for a stressed administrator on a terminal.

Per computer: ranked diagnoses with confidence, the evidence timeline with
rendered messages, KB articles, fix steps with commands, verify steps and
workarounds with their caveats; then what was read. Every piece of text that
came from an event, a file name or a signature file goes through
``tlsdiag.textsafe``; colour (ANSI) is added only when the caller says the
output is a terminal.
"""

from __future__ import annotations

import textwrap
from typing import Any

from tlsdiag import textsafe
from tlsdiag.match.explain import ExplainResult
from tlsdiag.match.render import render_message
from tlsdiag.report import steps
from tlsdiag.report.common import (
    STORE_FORMS,
    file_gave,
    lost_text,
    records_text,
    size,
    when,
)
from tlsdiag.report.stores import finding_text
from tlsdiag.report.view import DiagnosisView, scan_view

MESSAGE_LINES = 4  # rendered message lines shown per evidence item (all of them are in --format json)


def short(ts: Any) -> str:
    """Time for the terminal: UTC to the second."""
    return ts.strftime("%Y-%m-%d %H:%M:%SZ") if ts else "-"


def _duration(delta: Any) -> str:
    seconds = int(delta.total_seconds())
    for unit, size_ in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size_ == 0 and seconds >= size_:
            return f"{seconds // size_}{unit}"
    return f"{seconds}s"


class _Style:
    def __init__(self, color: bool) -> None:
        self.color = color

    def _wrap(self, code: str, text: str) -> str:
        return f"\x1b[{code}m{text}\x1b[0m" if self.color else text

    def bold(self, text: str) -> str:
        return self._wrap("1", text)

    def dim(self, text: str) -> str:
        return self._wrap("2", text)

    def level(self, confidence: str, text: str) -> str:
        code = {"high": "1;31", "medium": "1;33", "low": "33", "weak": "2"}.get(confidence, "2")
        return self._wrap(code, text)


def _t(text: object) -> str:
    return textsafe.one_line(text)


def _block(text: object, indent: str) -> list[str]:
    return [indent + line for line in textsafe.terminal(text).strip("\n").splitlines()]


def _diagnosis(v: DiagnosisView, style: _Style, lang: str) -> list[str]:
    d, rank = v.diagnosis, v.rank
    cause = d.cause
    badge = d.confidence.upper()
    extra = []
    if d.store == "proven":
        extra.append("proven by store")
    if d.weak:
        extra.append("only generic evidence")
    tag = f"[{badge} {d.score:.2f}" + (", " + ", ".join(extra) if extra else "") + "]"
    out = [f"  {rank}. {style.bold(_t(cause.title))}  {style.level(d.confidence, tag)}",
           style.dim(f"     cause: {_t(cause.id)}")]
    out += _wrapped(cause.summary, "     ")
    for note in d.notes:
        out.append(f"     note: {_t(note)}")
    if cause.kb:
        out.append("     KB articles:")
        for k in cause.kb:
            out.append(f"       KB{k.number}  {_t(k.title)}  {_t(k.url)}")
            if k.note:
                out.append(f"         ({_t(k.note)})")
    rows: list[tuple[Any, list[str]]] = []
    for g in v.groups:
        first = g.example
        unknown = ", fields unknown: half weight" if g.fields_unknown else ""
        until = f" until {short(g.last)}" if g.count > 1 else ""
        head = (f"       {short(g.first)}  {_t(g.label)}: {g.count} event(s){until}  "
                + style.dim(f"({g.role}, weight {g.weight:g}{unknown})"))
        lines = [head]
        if first is not None:
            lines += _block(render_message(first.event, first.entry, lang, first.fields), "           ")[:MESSAGE_LINES]
        if g.note:
            lines.append(style.dim(f"           why it counts: {_t(g.note)}"))
        if first is not None:
            more = f" (+{g.count - 1} more; --format json lists the first {1 + len(g.others)})" if g.count > 1 else ""
            lines.append(style.dim(f"           first at: {_t(first.event.source)} {_t(first.event.locator)}{more}"))
        rows.append((g.first, lines))
    for combo, _start, b in d.combinations:
        rows.append((b, [f"       {short(b)}  + together within {_duration(combo.within)}: "
                         f"{', '.join(_t(x) for x in combo.all)} (weight {combo.weight:g})"]))
    if rows:
        out.append("     Evidence by catalog entry (count, first and last time, the first event as example):")
        for _, lines in sorted(rows, key=lambda r: (r[0] is None, r[0])):
            out += lines
    for ag, hit in d.against:
        seen = f", {hit.count} event(s)" if hit else ""
        out.append(f"     Against (score x{1 - ag.weight:.2f}{seen}): {_t(ag.note)}")
    if d.store_findings:
        out.append("     Store findings:")
        for f in d.store_findings:
            out += finding_text(f, "       ")
    if cause.fix:
        out.append("     Fix:")
        out += steps.text(cause.fix)
    if cause.verify:
        out.append("     Verify:")
        out += steps.text(cause.verify)
    out += steps.workarounds_text(cause.workarounds, "     ")
    return out


def _wrapped(text: object, indent: str, width: int = 110) -> list[str]:
    """A paragraph of KB prose wrapped for the terminal (commands are never wrapped)."""
    return textwrap.wrap(textsafe.one_line(text), width=width, initial_indent=indent, subsequent_indent=indent,
                         break_on_hyphens=False)


def render_scan(result: Any, *, color: bool = False, stats: bool = False, lang: str = "en") -> str:
    style = _Style(color)
    out: list[str] = []
    made = result.made
    head = (f"tlsdiag: {len(made)} diagnosis(es) on {len({d.computer for d in made})} computer(s)" if made
            else "tlsdiag: no known certificate-store or TLS problem found")
    out.append(style.bold(head))
    summary = result.summary
    unusable = sum(1 for f in summary.files if f.error)
    out.append(style.dim(f"read: {len(summary.files)} file(s), {records_text(result)}, {lost_text(summary)}"
                         + (f", {unusable} file(s) unusable" if unusable else "")))
    view = scan_view(result)
    quiet = [f"{_t(c.name)} ({_t(c.host.windows_name) if c.host else 'Windows unknown'})" for c in view.quiet]
    for c in view.with_diagnoses:
        facts = c.host
        out.append("")
        out.append(style.bold(f"== {_t(c.name) or '(computer not named in the logs)'}"))
        if facts is not None:
            out.append(f"   Windows: {_t(facts.windows_name)}")
            if facts.products:
                out.append(f"   Products seen in the logs: {_t(', '.join(sorted(facts.products)))}")
        if not c.made:
            out.append("   No diagnosis for this computer.")
        for v in c.made:
            out.append("")
            out += _diagnosis(v, style, lang)
        if c.considered:
            out.append("")
            out.append("   Also considered (not enough to act on):")
            for v in c.considered:
                out.append(f"   - {_t(v.diagnosis.cause.title)} [{v.diagnosis.confidence}]: {_t(v.reason)}")
    if quiet:
        out.append("")
        out.append(style.bold("== Nothing found on"))
        out += [f"   {q}" for q in quiet]
    if result.stores and not any(d.store_findings for d in result.diagnoses):
        out.append("")
        out.append("Certificate stores: " + ", ".join(
            f"{_t(a.snapshot.computer or '?')} ({len(a.findings)} finding(s))" for a in result.stores))
    out.append("")
    out += _read_section(result, style)
    if stats:
        out.append("")
        out += _stats_section(result)
    return "\n".join(out) + "\n"


def _read_section(result: Any, style: _Style) -> list[str]:
    summary = result.summary
    first, last = summary.span
    out = [style.bold("== What was read"),
           f"   {len(summary.files)} file(s), {size(summary.bytes)}, {records_text(result)}, "
           f"{lost_text(summary)}; events from {when(first)} to {when(last)}"]
    for f in summary.files:
        line = f"   - {_t(f.source)} ({f.form}, {size(f.size)}): {file_gave(result, f)}"
        if f.first:
            line += f", {when(f.first)} .. {when(f.last)}"
        if f.error:
            line += f"; UNUSABLE: {_t(f.error)}"
        out.append(line)
        for loss in f.lost[:10]:
            if f.form in STORE_FORMS:  # the reason says what was lost (a certificate, a store, the file)
                out.append(f"       at {_t(loss.where)}: {_t(loss.reason)}")
                continue
            n = f"{loss.records} record(s)" if loss.records is not None else "records"
            out.append(f"       lost {n} at {_t(loss.where)}: {_t(loss.reason)}")
        if len(f.lost) > 10:
            out.append(f"       ... and {len(f.lost) - 10} more losses (see --format json)")
    for a in result.stores:
        sources = ", ".join(a.snapshot.sources)
        out.append(f"   - store export {_t(sources)}: {len(a.findings)} finding(s)")
    for note in result.notes:
        out.append(f"   note: {_t(note)}")
    return out


def _stats_section(result: Any) -> list[str]:
    s = result.stats
    summary = result.summary
    rate = summary.bytes / s.read_seconds / 1e6 if s.read_seconds > 0 else 0.0
    out = ["== Where the time went",
           f"   total {s.seconds:.2f} s; reading+matching {s.read_seconds:.2f} s ({rate:.1f} MB/s); "
           f"stores {s.store_seconds:.2f} s",
           f"   bytes {summary.bytes}, records read {summary.records}, events matched against the catalog "
           f"{s.events}, matches {s.matches}"]
    for key, value in s.reader.items():
        out.append(f"   {key.replace('_', ' ')}: {value}")
    return out


def _related(hit: Any, style: _Style, shown: set[str]) -> list[str]:
    """The events that usually accompany a code (those the paste itself matched aside): where to look in Event
    Viewer, and whether Windows writes them without extra logging."""
    related = [r for r in hit.related if r.id not in shown]
    if not related:
        return []
    out = ["  Events to look for at the same time:"]
    for r in related:
        extra = "" if r.logged_by_default else style.dim("  (written only with extra logging enabled)")
        out.append(f"    - {_t(r.label())}: {_t(r.title)}{extra}")
    return out


def _event_meaning(result: ExplainResult, style: _Style) -> list[str]:
    """With no cause chosen, what the best-matching event says: an event that proves no cause (a service that
    stopped, a generic Lync start-up event) still tells the admin where the reason is."""
    if result.best_cause is not None or result.candidates or not result.matches:
        return []
    top = result.matches[0]
    if top.kind != "event" or not top.meaning:
        return []
    return ["", style.bold(f"What event {top.event_id} ({_t(top.provider or '')}) means:"), *_wrapped(top.meaning, "  ")]


def _codes(result: ExplainResult, style: _Style) -> list[str]:
    """The error codes and messages recognised: what each means and what to check, most likely first."""
    out: list[str] = []
    for hit in result.codes:
        e = hit.entry
        value = f" ({e.value})" if e.value and e.value != e.name.removeprefix("HTTP ") else ""
        label = {"tls-alert": "TLS alert", "http-status": "IIS status", "hresult": "code", "message": "message"}[e.kind]
        out += ["", style.bold(f"{label.capitalize()}: {_t(e.name)}{_t(value)}") + style.dim(f"  ({_t(e.id)}; found: {_t(hit.found)})")]
        out += _wrapped(e.meaning, "  ")
        out += _related(hit, style, {m.id for m in result.matches})
        out.append("  What to check, most likely first:")
        for i, c in enumerate(e.check, 1):
            cause = f"  [cause: {c.cause}]" if c.cause else ""
            out += textwrap.wrap(textsafe.one_line(f"{i}. {c.step}{cause}"), width=110, initial_indent="    ",
                                 subsequent_indent="       ", break_on_hyphens=False)
            if c.command:
                out += [f"       {_t(line)}" for line in c.command.splitlines()]
    if result.codes and result.note and result.best_cause is None:
        out += ["", style.dim(_t(result.note))]
    return out


def render_explain(result: ExplainResult, *, color: bool = False) -> str:
    style = _Style(color)
    out: list[str] = []
    if not result.found:
        out.append(style.bold(_t(result.note or "nothing matches")))
        return "\n".join(out) + "\n"
    if result.matches:
        out.append(style.bold("Best matches:"))
    for m in result.matches:
        label = f"event {m.event_id} ({m.provider})" if m.kind == "event" else "cause"
        kbs = ("  " + ", ".join(f"KB{n}" for n in m.kb)) if m.kb else ""
        out.append(f"  {m.score:.2f}  {label}: {_t(m.id)}  {_t(m.title)}{kbs}")
        out.append(style.dim(f"        because: {_t('; '.join(m.why))}"))
    out += _codes(result, style)
    out += _event_meaning(result, style)
    cause = result.best_cause
    if result.candidates:
        out.append("")
        out.append(style.bold("Generic evidence only: several causes fit. Check these before acting:"))
        for c in result.candidates:
            out.append(f"  - {_t(c.id)}  {_t(c.title)}")
            out += _wrapped(f"check: {c.check}", "      ")
    if cause is not None:
        out.append("")
        heading = "First candidate" if result.candidates else "Most likely cause"
        out.append(style.bold(f"{heading}: {_t(cause.title)}") + style.dim(f"  ({_t(cause.id)})"))
        out += _wrapped(cause.summary, "  ")
        for k in cause.kb:
            out.append(f"  KB{k.number}  {_t(k.title)}  {_t(k.url)}")
        out.append("  Fix:")
        out += steps.text(cause.fix, "    ")
        if cause.verify:
            out.append("  Verify:")
            out += steps.text(cause.verify, "    ")
        out += steps.workarounds_text(cause.workarounds, "  ")
    return "\n".join(out) + "\n"
