"""`tlsdiag stores` views: the certificate stores of each computer and what is wrong with them, as text,
JSON (docs/json-output.md, schemas/stores.schema.json) or Markdown.

These writers were in ``cli/stores.py``; a store finding's fix steps go through ``report/steps.py`` like
every other fix step, and its JSON is the same ``Finding.to_dict()`` that the scan report carries.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from tlsdiag import __version__, textsafe
from tlsdiag.model import iso_utc
from tlsdiag.report import SCHEMA_VERSION, steps
from tlsdiag.report.formats import ReportFormat

if TYPE_CHECKING:
    from tlsdiag.match.diagnose import StoreFinding
    from tlsdiag.stores import Finding, StoreSnapshot
    from tlsdiag.stores.analyse import StoreReport
    from tlsdiag.stores.model import StoreLoss

# tlsdiag.stores (and with it cryptography) is imported inside the functions that use it: the cli module
# that imports this one is imported to build the parser of every command.

SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}


def _sorted(findings: Sequence[Finding], kind: str) -> list[Finding]:
    return sorted((f for f in findings if f.kind == kind),
                  key=lambda f: (SEVERITY_ORDER.get(f.severity, 9), f.check, f.cert.thumbprint if f.cert else ""))


def computer_dict(snap: StoreSnapshot, findings: Sequence[Finding]) -> dict[str, Any]:
    """What was read for one computer: stores, issuer list, SCHANNEL values, losses; no findings."""
    from tlsdiag.stores import issuer_list
    from tlsdiag.stores.checks import certificate_summary
    from tlsdiag.stores.model import TRUSTED_ROOT

    lst = issuer_list(snap)
    roots = {sc.thumbprint for sc in snap.logical(TRUSTED_ROOT)}
    problems = {f.check for f in findings if f.kind == "problem"}
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
        "lost": [_loss_dict(x) for x in snap.lost],
        "clean_checks": sorted({f.check for f in findings if f.kind == "clean"} - problems),
    }


def _loss_dict(x: StoreLoss) -> dict[str, Any]:
    return {"source": x.source, "where": x.where or None, "item": x.item, "reason": x.reason}


def stores_dict(results: Sequence[StoreReport], lost: Sequence[StoreLoss] = ()) -> dict[str, Any]:
    """The whole `tlsdiag stores --format json` document: computers, then one top-level ``findings`` list
    (problems, then notes, per computer in order) as in the scan report; ``lost``: export files that could
    not be read at all (no computer to put them under)."""
    return {
        "tool": "tlsdiag",
        "version": __version__,
        "schema_version": SCHEMA_VERSION,
        "computers": [computer_dict(r.snapshot, r.findings) for r in results],
        "findings": [f.to_dict() for r in results for kind in ("problem", "note") for f in _sorted(r.findings, kind)],
        "clean": [f.to_dict() for r in results for f in r.findings if f.kind == "clean"],
        "lost": [_loss_dict(x) for x in lost],
    }


def render_json(results: Sequence[StoreReport], lost: Sequence[StoreLoss] = ()) -> str:
    return json.dumps(stores_dict(results, lost), indent=2, ensure_ascii=True) + "\n"  # no raw C1/bidi from names


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


def finding_text(f: StoreFinding, base: str = "") -> list[str]:
    """One store finding for a terminal, in the `stores` report and under a scan's diagnosis alike: what, the
    certificate, why, the cause it proves, the fix (``base`` indents the whole block)."""
    t = textsafe.one_line
    indent = base + "  "
    out = [f"{base}[{f.severity if f.kind == 'problem' else 'note'}] {f.check}: {t(f.title)}"]
    if f.cert:
        c = f.cert
        out.append(f"{indent}certificate: {t(c.subject)}")
        out.append(f"{indent}issued by:   {t(c.issuer)}")
        out.append(f"{indent}thumbprint:  {c.thumbprint}   store: {t(c.where)}")
        out.append(f"{indent}valid:       {iso_utc(c.not_before)} .. {iso_utc(c.not_after)}"
                   + (f"   private key: {'yes' if c.has_private_key else 'no'}"
                      if c.has_private_key is not None else ""))
        if c.written:
            out.append(f"{indent}key written: {iso_utc(c.written)} (the certificate was added or changed then)")
        if c.note:
            out.append(f"{indent}note:        {t(c.note)}")
    out.append(f"{indent}why: {t(f.why)}")
    if f.cause:
        out.append(f"{indent}cause: {f.cause}")
    return out + steps.text(f.fix, indent)


def render_text(results: Sequence[StoreReport], lost: Sequence[StoreLoss] = ()) -> str:
    from tlsdiag.stores.model import LOCATION_TEXT, TRUSTED_ROOT

    t = textsafe.one_line
    out: list[str] = []
    for snap, findings in results:
        problems = _sorted(findings, "problem")
        notes = _sorted(findings, "note")
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
        counts = {sev: sum(1 for f in problems if f.severity == sev) for sev in SEVERITY_ORDER}
        out.append(f"Findings: {counts['error']} error(s), {counts['warning']} warning(s), "
                   f"{counts['info'] + len(notes)} note(s)")
        for f in problems + notes:
            out += ["", *finding_text(f)]
        clean = [f for f in findings if f.kind == "clean"]
        if clean:
            out.append("")
            out.append("Checked and clean:")
            for f in clean:
                out.append(f"  {f.check}: {t(f.why)}")
        out.append("")
    if lost:
        out.append(f"Files not read: {len(lost)} (the other exports were read)")
        out += [f"  lost: {t(x.text())}" for x in lost]
        out.append("")
    return "\n".join(out)


def finding_markdown(f: StoreFinding) -> list[str]:
    """One store finding for a ticket, in the `stores` report and under a scan's diagnosis alike: a heading,
    the certificate as a list, why, the fix steps."""
    md = textsafe.markdown
    label = f.severity if f.kind == "problem" else "note"
    out = [f"#### {md(label)}: {md(f.check)}, {md(f.title)}", ""]
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
    return [*out, "", *steps.markdown(f.fix), ""]


def render_markdown(results: Sequence[StoreReport], lost: Sequence[StoreLoss] = ()) -> str:
    from tlsdiag.stores.model import LOCATION_TEXT

    md = textsafe.markdown
    out: list[str] = ["# Certificate stores", ""]
    for snap, findings in results:
        problems = _sorted(findings, "problem")
        notes = _sorted(findings, "note")
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
        out += ["", f"### Findings ({len(problems)}) and notes ({len(notes)})", ""]
        for f in problems + notes:
            out += finding_markdown(f)
        clean = [f for f in findings if f.kind == "clean"]
        if clean:
            out += ["### Checked and clean", ""]
            out += [f"- {md(f.check)}: {md(f.why)}" for f in clean]
            out.append("")
    if lost:
        out += [f"## Files not read ({len(lost)})", "", *(f"- lost: {md(x.text())}" for x in lost), ""]
    return "\n".join(out) + "\n"


RENDERERS: dict[ReportFormat, Callable[[Sequence[StoreReport], Sequence[StoreLoss]], str]] = {
    "text": render_text, "json": render_json, "markdown": render_markdown}
