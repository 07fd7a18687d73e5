"""`tlsdiag stores`: read certificate-store exports, show the stores and what is wrong with them."""

from __future__ import annotations

import argparse
import json
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from tlsdiag import textsafe
from tlsdiag.errors import InputError
from tlsdiag.model import iso_utc

if TYPE_CHECKING:
    from tlsdiag.stores import Finding, StoreSnapshot

# tlsdiag.stores (and with it cryptography) is imported inside the functions that use it: every
# subcommand module is imported to build the parser, and a scan of event logs needs no X.509 code.

_SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "stores", help="check certificate-store exports (reg export, hives, collector JSON, certificate folders)",
        description="Read certificate-store exports offline and report misplaced, expired or missing certificates, "
                    "the trusted-issuer list size and the SCHANNEL settings, each problem with its fix. "
                    "Exit 1 when a problem is found, 0 when the stores are clean, 2 for unusable input.")
    parser.add_argument("paths", nargs="+", metavar="PATH",
                        help="store export files or collection folders (searched recursively)")
    parser.add_argument("--format", choices=("text", "json", "markdown"), default="text")
    parser.add_argument("--at", metavar="TIME", default=None,
                        help="reference time for validity checks, ISO-8601 (default: the collection time when the "
                             "export records it, else now)")
    parser.set_defaults(func=_run)


def _parse_at(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InputError("--at", f"not an ISO-8601 time: {text!r}") from None
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def analyse(paths: list[str], at: datetime | None = None) -> list[tuple[StoreSnapshot, list[Finding]]]:
    from tlsdiag.stores import load_stores, run_checks

    snapshots = load_stores(paths)
    if not snapshots:
        raise InputError(", ".join(paths), "no certificate-store export found (reg export, hive, collector JSON, "
                                           "or certificate files in store-named folders)")
    return [(snap, run_checks(snap, at)) for snap in snapshots]


def _run(args: argparse.Namespace) -> int:
    results = analyse(args.paths, _parse_at(args.at))
    render = {"text": render_text, "json": render_json, "markdown": render_markdown}[args.format]
    print(render(results), end="")
    return 1 if any(f.is_problem for _, findings in results for f in findings) else 0


def _sorted(findings: list[Finding]) -> list[Finding]:
    return sorted(findings, key=lambda f: (_SEVERITY_ORDER.get(f.severity, 9), f.check,
                                           f.cert.thumbprint if f.cert else ""))


def snapshot_dict(snap: StoreSnapshot, findings: list[Finding]) -> dict[str, Any]:
    from tlsdiag.stores import issuer_list
    from tlsdiag.stores.checks import certificate_summary
    from tlsdiag.stores.model import TRUSTED_ROOT

    lst = issuer_list(snap)
    roots = {sc.thumbprint for sc in snap.logical(TRUSTED_ROOT)}
    return {
        "computer": snap.computer,
        "collected": iso_utc(snap.collected) if snap.collected else None,
        "os_build": snap.os_build,
        "sources": snap.sources,
        "stores": [{"location": loc, "name": name, "count": len(certs), "bytes": sum(len(c.cert.der) for c in certs),
                    "certificates": [certificate_summary(c) for c in certs]}
                   for loc, name, certs in snap.physical_stores()],
        "trusted_root_count": len(roots),
        "issuer_list": lst.to_dict() if lst else None,
        "schannel": dict(snap.schannel) if snap.schannel_collected else None,
        "warnings": snap.warnings,
        "lost": [{"source": x.source, "where": x.where or None, "item": x.item, "reason": x.reason}
                 for x in snap.lost],
        "findings": [f.to_dict() for f in _sorted(findings) if f.kind == "problem"],
        "notes": [f.to_dict() for f in _sorted(findings) if f.kind == "note"],
        "clean": [f.to_dict() for f in findings if f.kind == "clean"],
    }


def render_json(results: list[tuple[StoreSnapshot, list[Finding]]]) -> str:
    doc = {"computers": [snapshot_dict(s, f) for s, f in results],
           "problems": sum(1 for _, fs in results for f in fs if f.is_problem)}
    return json.dumps(doc, indent=2, ensure_ascii=True) + "\n"  # no raw C1/bidi from certificate names


def _schannel_text(snap: StoreSnapshot) -> str:
    from tlsdiag.stores.model import SCHANNEL_VALUES

    if not snap.schannel_collected:
        return "not collected"
    return ", ".join(f"{name}={snap.schannel[name]}" if name in snap.schannel else f"{name} absent"
                     for name in SCHANNEL_VALUES)


def _issuer_text(snap: StoreSnapshot) -> str:
    from tlsdiag.stores import issuer_list
    from tlsdiag.stores.checks import ISSUER_LIST_LIMIT

    lst = issuer_list(snap)
    if lst is None:
        return "unknown (Trusted Root not collected)"
    text = f"{lst.size} bytes for {lst.count} issuers from {lst.source} (limit {ISSUER_LIST_LIMIT})"
    if lst.mixed_size is not None:
        text += (f"; Trusted Root mixes roots and {lst.non_self_signed} CA issuer(s), so WS2012+ sends only those "
                 f"({lst.mixed_size} bytes)")
    return text


def render_text(results: list[tuple[StoreSnapshot, list[Finding]]]) -> str:
    from tlsdiag.stores.model import LOCATION_TEXT, TRUSTED_ROOT

    t = textsafe.one_line
    out: list[str] = []
    for snap, findings in results:
        problems = [f for f in _sorted(findings) if f.kind == "problem"]
        collected = iso_utc(snap.collected) if snap.collected else "unknown"
        dns = ".".join(part for part in (snap.dns_host, snap.dns_domain) if part)
        out.append(f"Computer {t(snap.computer)}{f' ({t(dns)})' if dns else ''} (collected {collected})")
        for source in snap.sources:
            out.append(f"  source: {t(source)}")
        out.append("Stores:")
        for loc, name, certs in snap.physical_stores():
            size = sum(len(c.cert.der) for c in certs)
            out.append(f"  {LOCATION_TEXT.get(loc, loc) + ' ' + t(name):<44} {len(certs):>5} certificate(s) "
                       f"{size:>9} bytes")
        roots = {sc.thumbprint for sc in snap.logical(TRUSTED_ROOT)}
        out.append(f"Trusted Root (all physical stores): {len(roots)} distinct certificate(s)")
        out.append(f"Trusted-issuer list: {_issuer_text(snap)}")
        out.append(f"SCHANNEL: {_schannel_text(snap)}")
        for warning in snap.warnings:
            out.append(f"warning: {t(warning)}")
        out.append(f"Lost: {len(snap.lost)}" + (" (read as far as possible; each named below)" if snap.lost else ""))
        for loss in snap.lost:
            out.append(f"  lost: {t(loss.text())}")
        tolerant = [sc for sc in snap.certs if sc.cert.note]
        if tolerant:
            out.append(f"Read tolerantly: {len(tolerant)} certificate(s) a strict X.509 parser refuses")
            out += [f"  {t(sc.cert.subject)} ({sc.thumbprint}, {t(sc.where)}): {t(sc.cert.note)}" for sc in tolerant]
        counts = {sev: sum(1 for f in problems if f.severity == sev) for sev in _SEVERITY_ORDER}
        n_notes = sum(1 for f in findings if f.kind == "note")
        out.append(f"Findings: {counts['error']} error(s), {counts['warning']} warning(s), "
                   f"{counts['info'] + n_notes} note(s)")
        notes = [f for f in _sorted(findings) if f.kind == "note"]
        for f in problems + notes:
            out.append("")
            out.append(f"[{f.severity if f.kind == 'problem' else 'note'}] {f.check}: {f.title}")
            if f.cert:
                c = f.cert
                out.append(f"  certificate: {t(c.subject)}")
                out.append(f"  issued by:   {t(c.issuer)}")
                out.append(f"  thumbprint:  {c.thumbprint}   store: {t(c.where)}")
                out.append(f"  valid:       {iso_utc(c.not_before)} .. {iso_utc(c.not_after)}"
                           + (f"   private key: {'yes' if c.has_private_key else 'no'}"
                              if c.has_private_key is not None else ""))
                if c.written:
                    out.append(f"  key written: {iso_utc(c.written)} (the certificate was added or changed then)")
                if c.note:
                    out.append(f"  note:        {t(c.note)}")
            out.append(f"  why: {t(f.why)}")
            if f.cause:
                out.append(f"  cause: {f.cause}")
            for n, step in enumerate(f.fix, 1):
                out.append(f"  {n}. {t(step.step)}")
                if step.command:
                    prompt = "PS>" if step.shell == "powershell" else "C:\\>"
                    out.append(f"     {prompt} {t(step.command)}")
        clean = [f for f in findings if f.kind == "clean"]
        if clean:
            out.append("")
            out.append("Checked and clean:")
            for f in clean:
                out.append(f"  {f.check}: {t(f.why)}")
        out.append("")
    return "\n".join(out)


def render_markdown(results: list[tuple[StoreSnapshot, list[Finding]]]) -> str:
    from tlsdiag.stores.model import LOCATION_TEXT

    md = textsafe.markdown
    out: list[str] = ["# Certificate stores", ""]
    for snap, findings in results:
        problems = [f for f in _sorted(findings) if f.kind == "problem"]
        out += [f"## {md(snap.computer)}", ""]
        out.append(f"Collected: {iso_utc(snap.collected) if snap.collected else 'unknown'}  ")
        out.append(f"Sources: {', '.join(md(s) for s in snap.sources)}")
        out += ["", "| Store | Certificates | Bytes |", "|---|---:|---:|"]
        for loc, name, certs in snap.physical_stores():
            out.append(f"| {md(LOCATION_TEXT.get(loc, loc))} {md(name)} | {len(certs)} | "
                       f"{sum(len(c.cert.der) for c in certs)} |")
        out += ["", f"Trusted-issuer list: {md(_issuer_text(snap))}  ", f"SCHANNEL: {md(_schannel_text(snap))}", ""]
        for warning in snap.warnings:
            out.append(f"- warning: {md(warning)}")
        out.append(f"\nLost: {len(snap.lost)}\n")
        for loss in snap.lost:
            out.append(f"- lost: {md(loss.text())}")
        notes = [f for f in _sorted(findings) if f.kind == "note"]
        out += ["", f"### Findings ({len(problems)}) and notes ({len(notes)})", ""]
        for f in problems + notes:
            label = f.severity if f.kind == "problem" else "note"
            out.append(f"#### {md(label)}: {md(f.check)}, {md(f.title)}")
            out.append("")
            if f.cert:
                c = f.cert
                out += [f"- Certificate: {md(c.subject)}", f"- Issued by: {md(c.issuer)}",
                        f"- Thumbprint: {md(c.thumbprint)}", f"- Store: {md(c.where)}",
                        f"- Valid: {iso_utc(c.not_before)} to {iso_utc(c.not_after)}"]
                if c.note:
                    out.append(f"- Note: {md(c.note)}")
            out.append(f"- Why: {md(f.why)}")
            if f.cause:
                out.append(f"- Cause: {md(f.cause)}")
            out.append("")
            for n, step in enumerate(f.fix, 1):
                out.append(f"{n}. {md(step.step)}")
                if step.command:
                    out += ["", f"   ```{step.shell}", f"   {textsafe.markdown_code(step.command)}", "   ```"]
            out.append("")
        clean = [f for f in findings if f.kind == "clean"]
        if clean:
            out += ["### Checked and clean", ""]
            out += [f"- {md(f.check)}: {md(f.why)}" for f in clean]
            out.append("")
    return "\n".join(out) + "\n"
