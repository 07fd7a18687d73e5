"""The guided diagnosis as data: five steps, each a ``Text`` plus the commands it offers to copy.

Kept apart from the screen so the content can be tested without a terminal and
so every piece of untrusted text passes through ``tui.render`` exactly once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from rich.text import Text

from tlsdiag.kb.model import Step
from tlsdiag.match import Diagnosis, render_message
from tlsdiag.match.diagnose import StoreFinding
from tlsdiag.report.evidence import evidence_groups, sparkline, stores_for, timeline
from tlsdiag.tui.render import (
    CLEAN,
    INFO,
    PROBLEM,
    WARNING,
    confidence_badge,
    heading,
    line,
    safe,
    short_time,
)

STEPS: tuple[tuple[str, str], ...] = (
    ("happened", "What happened"),
    ("why", "Why"),
    ("proof", "Proof"),
    ("fix", "Fix"),
    ("verify", "Verify"),
)


@dataclass
class StepContent:
    key: str
    title: str
    body: Text
    commands: list[str] = field(default_factory=list)  # what the copy key puts on the clipboard


def collection_command() -> str:
    """One cmd.exe line that exports the certificate stores and SCHANNEL values with ``reg export``.

    The keys and file names are those of ``collector/collect-tlsdiag.cmd`` (collector/README.md);
    the key paths come from ``tlsdiag.stores.model``, the reader that loads them. ``reg.exe`` is on
    every Windows server, so this works where the collector script is not at hand.
    """
    from tlsdiag.stores.model import ENTERPRISE, GROUP_POLICY, LOCATION_KEYS, MACHINE, SCHANNEL_KEY

    exports = (
        (LOCATION_KEYS[MACHINE], "SystemCertificates.reg"),
        (LOCATION_KEYS[GROUP_POLICY], "Policies-SystemCertificates.reg"),
        (LOCATION_KEYS[ENTERPRISE], "EnterpriseCertificates.reg"),
        (SCHANNEL_KEY, "SCHANNEL.reg"),
    )
    return " & ".join(f'reg export "HKLM\\{key}" {name} /y' for key, name in exports)


def finding_mark(finding: StoreFinding) -> tuple[str, str, str]:
    """(symbol, word, style) for a store finding: never colour alone."""
    severity = finding.severity
    if finding.kind == "clean":
        return CLEAN[0], "ok", CLEAN[1]
    if severity == "error":
        return PROBLEM[0], "problem", PROBLEM[1]
    if severity == "warning":
        return WARNING[0], "warning", WARNING[1]
    return INFO[0], "note", INFO[1]


def finding_text(finding: StoreFinding, indent: str = "") -> Text:
    symbol, word, style = finding_mark(finding)
    title = finding.title or finding.check
    out = Text.assemble(indent, (f"{symbol} {word}: ", style), line(title, "bold"))
    why = finding.why
    if why:
        out.append("\n" + indent + "  ")
        out.append_text(safe(why))
    cert = finding.cert
    if cert is not None:
        out.append("\n" + indent + "  ")
        out.append_text(Text.assemble("certificate: ", line(cert.subject, "bold")))
        out.append("\n" + indent + "  ")
        out.append_text(Text.assemble("issued by:   ", line(cert.issuer)))
        out.append("\n" + indent + "  ")
        out.append_text(Text.assemble("thumbprint:  ", line(cert.thumbprint), "  in ", line(cert.where)))
        if cert.written is not None:
            out.append("\n" + indent + "  ")
            out.append_text(Text.assemble("key written: ", short_time(cert.written), " UTC (added or changed then)"))
        if cert.note:
            out.append("\n" + indent + "  ")
            out.append_text(Text.assemble("note:        ", line(cert.note, "italic")))
    return out


def _fix_commands(finding: StoreFinding) -> list[Step]:
    """A store finding's fix steps that carry a command (the ones the fix step offers to copy)."""
    return [s for s in finding.fix if s.command]


def _steps_text(steps: Sequence[Step], start: int = 1) -> tuple[Text, list[str]]:
    """The TUI's one rendering of fix and verify steps (a cause's and a store finding's alike), and the
    commands they offer to copy."""
    out = Text()
    commands: list[str] = []
    for i, s in enumerate(steps, start=start):
        out.append(f"{i}. ", "bold")
        out.append_text(safe(s.step))
        out.append("\n")
        if s.command:
            out.append_text(_command_block(s.command))
            commands.append(s.command.strip())
        if s.note:
            out.append("   ")
            out.append_text(safe(s.note, "italic"))
            out.append("\n")
    return out, commands


def _command_block(command: str) -> Text:
    body = "\n".join("    " + c for c in command.strip().splitlines())
    return safe(body + "\n", "bold")


SPARK_BINS = 24


def happened(d: Diagnosis | None, cause: Any, result: Any = None) -> StepContent:
    title = "What happened"
    if d is None:
        body = Text.assemble(heading(cause.title), "\n\n", safe(cause.summary), "\n\n",
                             ("No scanned events point to this cause yet. Press f to open event logs.", "italic"))
        return StepContent("happened", title, body)
    body = Text.assemble(heading(cause.title), "\n", confidence_badge(d.confidence),
                         f" score {d.score:.2f} on ", line(d.computer or "(computer not named)", "bold"),
                         "\n\n", safe(cause.summary), "\n")
    groups = evidence_groups(d, getattr(result, "kb", None))
    if groups:
        body.append_text(_compact_timeline(d, groups, result))
        body.append("\nFirst event of each (UTC)\n", "bold underline")
        for g in groups:
            m = g.example
            if m is None:
                continue
            e = m.event
            body.append_text(Text.assemble(
                (short_time(e.timestamp), "bold"), "  ", line(e.provider), f" {e.event_id}  ",
                line(m.entry.title, "italic"), "\n"))
            message = render_message(e, m.entry, "en", m.fields)
            body.append_text(safe("    " + message.replace("\n", "\n    ") + "\n"))
            more = f"  (+{g.count - 1} more: events screen, e)" if g.count > 1 else ""
            body.append_text(Text.assemble("    ", line(f"{e.source}, {e.locator}", "dim"), (more, "dim"), "\n"))
    for note in d.notes:
        body.append("\n")
        body.append_text(safe(note, "italic"))
    if d.excluded:
        body.append("\n")
        body.append_text(safe(f"Does not apply: {d.excluded}", "bold"))
    return StepContent("happened", title, body)


def _brief(ts: Any) -> str:
    return ts.strftime("%m-%d %H:%M") if ts else "-"


def _compact_timeline(d: Diagnosis, groups: list[Any], result: Any) -> Text:
    """Per catalog entry: count, title and role, then a sparkline of its events over the evidence's span."""
    tl = timeline(result, d.computer, [d], bins=SPARK_BINS) if result is not None else None
    spark = {s.entry: sparkline(s.counts) for s in tl.series} if tl is not None else {}
    out = Text()
    out.append("\nEvidence by catalog entry", "bold underline")
    if tl is not None:
        out.append(f"\n          {tl.start:%m-%d %H:%M}  {tl.end:%m-%d %H:%M}  (UTC, {SPARK_BINS} bins)", "dim")
    out.append("\n")
    for g in groups:
        unknown = " (fields unknown)" if g.fields_unknown else ""
        out.append_text(Text.assemble(f"  {g.count:>5} × ", line(g.title, "bold"), f" [{g.role}]{unknown}\n"))
        bars = spark.get(g.entry)
        out.append_text(Text.assemble("          ", (bars, "cyan") if bars else "",
                                      "  " if bars else "", f"{_brief(g.first)} … {_brief(g.last)}\n"))
    if tl is not None and tl.partial:
        out.append("  (bars from the first matches kept; counts are exact)\n", "italic")
    return out


def why(d: Diagnosis | None, cause: Any) -> StepContent:
    body = Text.assemble(heading("How it breaks"), "\n", safe(cause.mechanism.strip()), "\n")
    if cause.kb:
        body.append("\nMicrosoft KB articles\n", "bold underline")
        for k in cause.kb:
            body.append_text(Text.assemble(f"  KB{k.number}  ", safe(k.title), "\n      ", safe(k.url, "underline"),
                                           "\n"))
            if k.note:
                body.append_text(Text.assemble("      ", safe(k.note, "italic"), "\n"))
    if d is not None and d.against:
        body.append("\nWhat argues against it\n", "bold underline")
        for ag, hit in d.against:
            count = f" ({hit.count} event(s))" if hit else ""
            body.append_text(Text.assemble("  - ", safe(ag.note), count, "\n"))
    return StepContent("why", "Why", body)


def _stores_shown(analyses: list[Any], computer: str, result: Any) -> Text:
    """What the loaded stores showed for this computer: problems (and the cause each proves), clean checks, losses."""
    body = Text.assemble(("What the stores showed for ", "bold underline"), line(computer or "this computer",
                                                                                  "bold underline"), "\n")
    titles = {d.cause.id: d.cause.title for d in (result.diagnoses_for(computer) if result is not None else [])}
    for a in analyses:
        sources = ", ".join(str(src).replace("\\", "/").rsplit("/", 1)[-1] for src in a.snapshot.sources)
        body.append_text(Text.assemble("  from ", line(sources, "dim"), "\n"))
        for f in a.findings:
            symbol, word, style = finding_mark(f)
            cert = f.cert
            about = Text.assemble(" ", line(cert.subject), " (", line(cert.where), ")") if cert is not None else Text()
            body.append_text(Text.assemble("  ", (f"{symbol} {word}: ", style), line(f.check, "bold"),
                                           about, "\n"))
            cause = f.cause
            if cause:
                verb = "proves" if f.is_problem and cause in titles else "relates to"
                body.append_text(Text.assemble(f"      {verb}: ", line(titles.get(cause, cause), "italic"), "\n"))
        if not a.findings:
            body.append_text(Text.assemble("  ", (f"{CLEAN[0]} no problem found", CLEAN[1]), "\n"))
        if a.clean_checks:
            body.append_text(Text.assemble("  checked and clean: ", line(", ".join(sorted(a.clean_checks))), "\n"))
        lost = a.snapshot.lost
        if lost:
            body.append_text(Text.assemble(("  ! lost: ", "bold"), f"{len(lost)} item(s) could not be read "
                                           "(see the overview)\n"))
    return body


def proof(d: Diagnosis | None, cause: Any, store_loaded: bool, result: Any = None) -> StepContent:
    body = Text()
    related = list(d.store_findings) if d is not None else []
    computer = d.computer if d is not None else ""
    mine = stores_for(result, computer) if d is not None else []
    if d is not None and d.store == "proven":
        body.append_text(Text.assemble((f"{PROBLEM[0]} Proven by the certificate stores", PROBLEM[1]), "\n\n"))
    elif d is not None and d.store == "ruled_out":
        body.append_text(Text.assemble((f"{CLEAN[0]} Ruled out: the stores are clean for this cause", CLEAN[1]),
                                       "\n\n"))
    if related:
        body.append("Store findings\n", "bold underline")
        for f in related:
            body.append_text(finding_text(f, "  "))
            body.append("\n")
        return StepContent("proof", "Proof", body)
    if d is not None and d.store == "ruled_out":
        return StepContent("proof", "Proof", body)
    if not cause.proves:
        body.append_text(Text.assemble(
            (f"{INFO[0]} This cause has no certificate-store check", "bold"),
            ": the stores can neither prove nor rule it out; the evidence is in the logs (step 1).\n\n"))
        if mine:
            body.append_text(_stores_shown(mine, computer, result))
        elif store_loaded:
            body.append_text(Text.assemble("The store export that was loaded does not cover ",
                                           line(computer or "this computer", "bold"), ".\n"))
        else:
            body.append("No store export is needed for this cause.\n", "italic")
        return StepContent("proof", "Proof", body)
    checks = ", ".join(cause.proves)
    if mine:
        body.append_text(Text.assemble(
            ("The stores of ", "bold"), line(computer, "bold"), (" were loaded", "bold"),
            ": the checks for this cause (", line(checks), ") found nothing that proves it, and not enough "
            "ran to rule it out.\n\n"))
        body.append_text(_stores_shown(mine, computer, result))
        return StepContent("proof", "Proof", body)
    body.append_text(Text.assemble(
        ("No certificate-store data", "bold"), " for ", line(computer or "the server", "bold"),
        " yet", " (a store export was loaded, but it did not cover this computer)" if store_loaded else "", ".\n\n",
        "The stores prove or rule out this cause (checks: ", line(checks), ").\n",
        "Run this one line in an elevated cmd.exe on the server (or collector\\collect-tlsdiag.cmd), "
        "then copy the .reg files here:\n\n"))
    command = collection_command()
    body.append_text(safe(command + "\n\n", "bold"))
    body.append_text(Text.assemble(("Press l", "bold"), " to load the export; the diagnosis is re-evaluated in place. ",
                                   ("Press c", "bold"), " to copy the command.\n"))
    return StepContent("proof", "Proof", body, [command])


def fix(d: Diagnosis | None, cause: Any) -> StepContent:
    body = Text()
    commands: list[str] = []
    n = 1
    exact = [f for f in (d.store_findings if d is not None else []) if _fix_commands(f)]
    if exact:
        body.append("For the certificates found\n", "bold underline")
        done: set[str] = set()
        for f in exact:
            cert = f.cert
            if cert is not None:
                body.append_text(Text.assemble(("Certificate ", "bold"), line(cert.subject, "bold"), "\n",
                                               "  ", line(cert.thumbprint), " in ", line(cert.where), "\n"))
            # a command shared by several certificates (create the backup folder) is shown once
            todo = []
            for step in _fix_commands(f):
                if step.command.strip() not in done:
                    done.add(step.command.strip())
                    todo.append(step)
            text, more = _steps_text(todo, n)
            body.append_text(text)
            commands += more
            n += len(todo)
        body.append("\n")
    body.append("The fix\n" if not exact else "Then\n", "bold underline")
    text, more = _steps_text(cause.fix, n)
    body.append_text(text)
    commands += more
    if not commands:
        body.append("\n(no command to copy)\n", "italic")
    else:
        body.append_text(Text.assemble("\n", ("Press c", "bold"), f" to copy the {len(commands)} command(s).\n"))
    return StepContent("fix", "Fix", body, commands)


def verify(d: Diagnosis | None, cause: Any) -> StepContent:
    text, commands = _steps_text(cause.verify)
    body = Text.assemble(heading("Check that it worked"), "\n", text)
    if cause.workarounds:
        body.append("\nWorkarounds (they hide the symptom, they do not fix the cause)\n", "bold underline")
        for w in cause.workarounds:
            body.append_text(Text.assemble("  - ", safe(w.title, "bold"), ": ", safe(w.caveat), "\n"))
            if w.command:
                body.append_text(_command_block(w.command))
    if commands:
        body.append_text(Text.assemble("\n", ("Press c", "bold"), f" to copy the {len(commands)} command(s).\n"))
    return StepContent("verify", "Verify", body, commands)


def build_steps(d: Diagnosis | None, cause: Any, *, store_loaded: bool = False,
                result: Any = None) -> list[StepContent]:
    """The five guided steps for a diagnosis (or for a cause alone, from a pasted error); ``result`` (the
    scan) lets the proof step show what the loaded stores said about this computer."""
    return [happened(d, cause, result), why(d, cause), proof(d, cause, store_loaded, result), fix(d, cause),
            verify(d, cause)]
