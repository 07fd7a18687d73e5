"""A self-contained HTML report for attaching to a ticket.

It is built from the same dictionary as the JSON report (``json.scan_dict``),
so both always say the same thing. One file, inline CSS, no scripts, no
external assets: it opens offline, prints cleanly, and hostile event text in it
is escaped (``textsafe.html_text``) so it cannot become markup or script.
"""

from __future__ import annotations

from typing import Any

from tlsdiag import __version__
from tlsdiag.match.render import render_message
from tlsdiag.report import steps
from tlsdiag.report.common import STORE_FORMS, lost_text, when
from tlsdiag.report.svg import timeline_svg
from tlsdiag.report.view import DiagnosisView, ScanView, scan_view
from tlsdiag.textsafe import html_text as h

_CSS = """
:root { --fg:#1b1f24; --muted:#57606a; --line:#d0d7de; --bg:#ffffff; --code:#f6f8fa;
        --high:#a40e26; --medium:#9a6700; --low:#0969da; --weak:#57606a; --ok:#1a7f37; }
* { box-sizing: border-box; }
body { font: 14px/1.45 -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; color: var(--fg);
       background: var(--bg); margin: 0 auto; max-width: 1100px; padding: 24px; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 18px; margin: 28px 0 8px;
     border-bottom: 1px solid var(--line); padding-bottom: 4px; }
h3 { font-size: 16px; margin: 0 0 6px; } h4 { font-size: 14px; margin: 14px 0 4px; }
.muted { color: var(--muted); } .small { font-size: 12px; }
.card { border: 1px solid var(--line); border-radius: 6px; padding: 14px 16px; margin: 12px 0;
        page-break-inside: avoid; }
.badge { display: inline-block; font-weight: 600; font-size: 12px; padding: 1px 8px; border-radius: 10px;
         border: 1px solid currentColor; margin-right: 6px; }
.c-high { color: var(--high); } .c-medium { color: var(--medium); } .c-low { color: var(--low); }
.c-weak, .c-ruled-out, .c-excluded { color: var(--weak); } .proof { color: var(--ok); }
table { border-collapse: collapse; width: 100%; margin: 6px 0; font-size: 13px; }
th, td { border: 1px solid var(--line); padding: 4px 6px; text-align: left; vertical-align: top; }
th { background: var(--code); }
td.msg { white-space: pre-wrap; word-break: break-word; }
pre { background: var(--code); border: 1px solid var(--line); border-radius: 4px; padding: 8px;
      white-space: pre-wrap; word-break: break-all; margin: 4px 0 8px; font-size: 12.5px; }
ol.steps > li { margin-bottom: 6px; }
.caveat { border-left: 3px solid var(--medium); padding-left: 8px; }
pre.cmd { user-select: all; -webkit-user-select: all; border-left: 3px solid var(--low); cursor: text; }
pre.msg { white-space: pre-wrap; word-break: break-word; }
.group { border-top: 1px solid var(--line); padding: 6px 0; }
.ghead .count { font-weight: 700; font-size: 15px; }
.cert { border: 1px solid var(--line); border-radius: 4px; padding: 8px 10px; margin: 6px 0; }
table.kv th { width: 110px; white-space: nowrap; } table.kv td { word-break: break-all; }
details { margin: 4px 0; } summary { cursor: pointer; color: var(--low); }
figure.timeline { margin: 10px 0 14px; } .tlwrap { overflow-x: auto; }
svg.tl { width: 100%; min-width: 640px; height: auto; display: block; }
svg.tl .plot { fill: #fbfcfd; stroke: var(--line); } svg.tl .row { stroke: var(--line); }
svg.tl .bar { fill: var(--low); } svg.tl .win { fill: var(--high); fill-opacity: 0.10; stroke: var(--high);
  stroke-opacity: 0.5; } svg.tl .fact { stroke: var(--ok); stroke-width: 2; stroke-dasharray: 5 3; }
svg.tl text { font: 12px -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; fill: var(--fg); }
svg.tl .winlabel { fill: var(--high); font-size: 11px; } svg.tl .axis { fill: var(--muted); }
svg.tl .lab { font-size: 11px; } svg.tl .sub { font-size: 10px; fill: var(--muted); }
.hint { font-size: 12px; color: var(--muted); }
table.tlnarrow, figcaption .narrow { display: none; } td.spark { font-family: monospace; white-space: pre; letter-spacing: -1px;
  color: var(--low); }
@media (max-width: 640px) { body { padding: 10px; } .tlwrap, figcaption .wide { display: none; } table.tlnarrow { display: table; }
  figcaption .narrow { display: inline; } th, td { padding: 3px 4px; }
  table { display: block; overflow-x: auto; } h1 { font-size: 19px; } }
@media print { body { max-width: none; padding: 0; font-size: 11px; } a { color: inherit; text-decoration: none; }
               .card, .cert { border-color: #999; } .tlwrap { overflow: visible; } svg.tl { min-width: 0; }
               details > summary { color: inherit; } ::details-content { content-visibility: visible;
               display: block; } pre { break-inside: avoid; } }
"""

_YES_NO: dict[bool | None, str] = {True: "yes", False: "no"}  # a certificate's has_private_key (None: unknown)
_SYMBOL = {"high": "!!!", "medium": "!!", "low": "!", "weak": "?", "ruled out": "x", "excluded": "-"}


def _badge(confidence: str) -> str:
    cls = "c-" + confidence.replace(" ", "-")
    return f'<span class="badge {cls}">{h(_SYMBOL.get(confidence, ""))} {h(confidence)}</span>'


def _kb_links(kbs: list[dict[str, Any]]) -> str:
    links = []
    for kb in kbs:
        url = str(kb.get("url", ""))
        href = h(url) if url.startswith(("https://", "http://")) else ""
        label = f"KB {h(kb.get('number'))}: {h(kb.get('title', ''))}"
        links.append(f'<li><a href="{href}">{label}</a></li>' if href else f"<li>{label}</li>")
    return "<ul>" + "".join(links) + "</ul>" if links else ""


def _finding(f: dict[str, Any], v: DiagnosisView | None) -> list[str]:
    out = ['<section class="card">',
           f"<h3>{_badge(f['confidence'])}#{h(f['rank'])} {h(f['title'])}</h3>",
           f'<div class="muted small">cause <code>{h(f["cause"])}</code>, score {f["score"]:.2f}'
           f'{", seen " + h(f["first_seen"]) + " to " + h(f["last_seen"]) if f.get("first_seen") else ""}</div>',
           f"<p>{h(f.get('summary', ''))}</p>"]
    if f.get("store") == "proven":
        out.append('<p class="proof"><strong>Proven by the certificate stores.</strong></p>')
    elif f.get("store") == "ruled_out":
        out.append("<p><strong>Ruled out by the certificate stores.</strong></p>")
    if f.get("excluded"):
        out.append(f"<p><strong>Does not apply:</strong> {h(f['excluded'])}</p>")
    if f.get("kb"):
        out += ["<h4>Microsoft KB articles</h4>", _kb_links(f["kb"])]
    if v is not None:
        out += _evidence(list(v.groups))
    for c in f.get("combinations", []):
        out.append(f'<div class="small">Together within {h(c["within_seconds"])} s: {h(", ".join(c["all"]))} '
                   f'({h(c["from"])} to {h(c["to"])}, weight {h(c["weight"])})</div>')
    if f.get("store_findings"):
        out += _store_proof(f["store_findings"])
    out += steps.html("Fix", f.get("fix", []))
    out += steps.html("Verify", f.get("verify", []))
    out += steps.workarounds_html(f.get("workarounds", []))
    for note in f.get("notes", []):
        out.append(f'<div class="muted small">Note: {h(note)}</div>')
    out.append("</section>")
    return out


def _evidence(groups: list[Any]) -> list[str]:
    """Per catalog entry: count, first and last, the first event rendered; the other kept events folded."""
    if not groups:
        return []
    out = ["<h4>Evidence by catalog entry</h4>"]
    for g in groups:
        unknown = " (fields unknown: half weight)" if g.fields_unknown else ""
        span = f"{h(when(g.first))} to {h(when(g.last))}" if g.count > 1 else h(when(g.first))
        out.append(f'<div class="group"><div class="ghead"><span class="count">{h(g.count)}&times;</span> '
                   f"<strong>{h(g.title)}</strong> <code>{h(g.label)}</code> "
                   f'<span class="muted small">{h(g.role)}, weight {h(f"{g.weight:g}")}{h(unknown)}</span></div>'
                   f'<div class="small">{span}</div>')
        if g.note:
            out.append(f'<div class="muted small">Why it counts: {h(g.note)}</div>')
        if g.example is not None:
            e = g.example.event
            out.append(f'<div class="small">First event: {h(e.provider)} {h(e.event_id)} at {h(when(e.timestamp))}, '
                       f"{h(e.source)} {h(e.locator)}</div>"
                       f'<pre class="msg">{h(render_message(e, g.example.entry, "en", g.example.fields))}</pre>')
        if g.others:
            rest = f", and {g.not_kept} more counted" if g.not_kept else ""
            out.append(f"<details><summary>{len(g.others)} more event(s) kept{h(rest)}</summary>"
                       "<table><tr><th>Time (UTC)</th><th>Where</th><th>Message</th></tr>")
            for m in g.others:
                e = m.event
                out.append(f"<tr><td>{h(when(e.timestamp))}</td><td class=\"small\">{h(e.source)}<br>{h(e.locator)}</td>"
                           f"<td class=\"msg\">{h(render_message(e, m.entry, 'en', m.fields))}</td></tr>")
            out.append("</table></details>")
        elif g.not_kept:
            out.append(f'<div class="muted small">{h(g.not_kept)} more counted (only their times are kept)</div>')
        out.append("</div>")
    return out


def _store_proof(findings: list[dict[str, Any]]) -> list[str]:
    """The certificate-store proof of a diagnosis: each finding as ``store_finding`` renders it."""
    out = ["<h4>Proof from the certificate stores</h4>"]
    for sf in findings:
        out += store_finding(sf)
    return out


def store_finding(sf: dict[str, Any]) -> list[str]:
    """One store finding (its JSON form, ``Finding.to_dict()``): check, severity, why, the certificate
    and its own fix. The one HTML rendering of a finding, under a diagnosis and in the stores section."""
    cert = sf.get("certificate") or {}
    label = sf.get("severity") if sf.get("kind") == "problem" else sf.get("kind")
    out = [f'<div class="cert"><div><strong>{h(sf.get("title") or sf.get("check", ""))}</strong> '
           f'<code>{h(sf.get("check"))}</code> <span class="muted small">{h(label or "")}</span></div>'
           f'<div class="small">{h(sf.get("why") or "")}</div>']
    if cert:
        rows = [("Subject", cert.get("subject")), ("Issuer", cert.get("issuer")),
                ("Thumbprint", cert.get("thumbprint")),
                ("Store", f"{cert.get('location', '')} {cert.get('store', '')}".strip()),
                ("Valid", f"{cert.get('not_before')} to {cert.get('not_after')}"),
                ("Private key", _YES_NO.get(cert.get("has_private_key"), "unknown")),
                ("Key written", cert.get("key_written") and f"{cert['key_written']} (added to the store "
                                                                "or changed then)"),
                ("Read from", cert.get("source")), ("Note", cert.get("note"))]
        out.append('<table class="kv">' + "".join(f"<tr><th>{h(k)}</th><td>{h(v)}</td></tr>" for k, v in rows
                                                    if v) + "</table>")
    out += steps.html("Fix for this certificate" if cert else "Fix", sf.get("fix", []))
    out.append("</div>")
    return out


def render_document(doc: dict[str, Any], result: Any, view: ScanView) -> str:
    """The HTML page for a scan dictionary (``report.json.scan_dict``), with the timelines and the evidence
    grouped by catalog entry of the ``result`` it was built from and its ``view``."""
    stats = doc.get("stats", {})
    made = [f for f in doc.get("findings", []) if f.get("made")]
    lost = h(lost_text(result.summary))
    out = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
           '<meta name="viewport" content="width=device-width, initial-scale=1">',
           "<title>tlsdiag report</title>", f"<style>{_CSS}</style></head><body>",
           "<h1>tlsdiag report</h1>",
           f'<div class="muted">tlsdiag {h(__version__)}; {len(made)} diagnosis(es) on '
           f"{len(doc.get('computers', []))} computer(s); {h(stats.get('records', 0))} records read, "
           f"{lost}</div>"]
    hosts = {c["computer"]: c for c in doc.get("computers", [])}
    by_computer: dict[str, list[dict[str, Any]]] = {}
    for f in doc.get("findings", []):
        by_computer.setdefault(f["computer"], []).append(f)
    if not by_computer:
        out.append("<h2>No diagnosis</h2><p>No known certificate-store or Schannel failure pattern was found.</p>")
    views = {(c.name, v.rank): v for c in view.computers for v in c.diagnoses}
    for computer, findings in by_computer.items():
        host = hosts.get(computer, {})
        out.append(f"<h2>{h(computer)}</h2>")
        if host.get("windows_name"):
            out.append(f'<div class="muted">{h(host["windows_name"])}</div>')
        out += timeline_svg(result, computer, [d for d in result.diagnoses_for(computer) if d.made])
        for f in findings:
            if f.get("made"):
                out += _finding(f, views.get((computer, f["rank"])))
        others = [f for f in findings if not f.get("made")]
        if others:
            out.append("<h4>Considered and not diagnosed</h4><ul>")
            out += [f"<li>{_badge(f['confidence'])}{h(f['title'])} <span class=\"muted small\">"
                    f"({h(f.get('reason') or 'score ' + format(f['score'], '.2f'))})</span></li>" for f in others]
            out.append("</ul>")
    for store in doc.get("stores", []):
        findings = store.get("findings", [])
        out.append(f"<h2>Certificate stores: {h(store.get('computer'))}</h2>")
        out.append(f'<div class="muted small">from {h(", ".join(store.get("sources", [])))}</div>')
        for sf in findings:
            out += store_finding(sf)
        if store.get("clean_checks"):
            out.append(f'<div class="small">Clean: {h(", ".join(store["clean_checks"]))}</div>')
    out.append("<h2>What was read</h2><table><tr><th>Input</th><th>Form</th><th>Records</th><th>Lost</th></tr>")
    for item in stats.get("inputs", []):
        lost_cell = "<br>".join(f"{h(x.get('where'))}: {h(x.get('reason'))}" + (f" ({h(x['records'])} records)"
                                if x.get("records") is not None else "") for x in item.get("lost", []))
        if item.get("error"):
            lost_cell = "unusable: " + h(item["error"]) + ("<br>" + lost_cell if lost_cell else "")
        records = "store export" if item.get("form") in STORE_FORMS else h(item.get("records"))
        out.append(f"<tr><td>{h(item.get('source'))}</td><td>{h(item.get('form'))}</td>"
                   f"<td>{records}</td><td class=\"msg\">{lost_cell}</td></tr>")
    out.append("</table>")
    span = f"{h(stats.get('first_event'))} to {h(stats.get('last_event'))}" if stats.get("first_event") else "none"
    out.append(f'<div class="muted small">Time span of events: {span}</div>')
    for note in doc.get("notes", []):
        out.append(f'<div class="muted small">Note: {h(note)}</div>')
    out.append("</body></html>")
    return "\n".join(out) + "\n"


def render_scan(result: Any, *, stats: bool = False) -> str:
    from tlsdiag.report.json import scan_dict

    view = scan_view(result)
    return render_document(scan_dict(result, stats=stats, view=view), result, view)
