"""A self-contained HTML report for attaching to a ticket.

It is built from the same dictionary as the JSON report (``json.scan_dict``),
so both always say the same thing. One file, inline CSS, no scripts, no
external assets: it opens offline, prints cleanly, and hostile event text in it
is escaped (``textsafe.html_text``) so it cannot become markup or script.
"""

from __future__ import annotations

from typing import Any

from tlsdiag import __version__
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
@media print { body { max-width: none; padding: 0; } a { color: inherit; text-decoration: none; }
               .card { border-color: #999; } }
"""

_SYMBOL = {"high": "!!!", "medium": "!!", "low": "!", "weak": "?", "ruled out": "x", "excluded": "-"}


def _badge(confidence: str) -> str:
    cls = "c-" + confidence.replace(" ", "-")
    return f'<span class="badge {cls}">{h(_SYMBOL.get(confidence, ""))} {h(confidence)}</span>'


def _steps(title: str, steps: list[dict[str, Any]]) -> list[str]:
    if not steps:
        return []
    out = [f"<h4>{h(title)}</h4>", '<ol class="steps">']
    for step in steps:
        item = f"<li>{h(step.get('step', ''))}"
        if step.get("command"):
            item += f"<pre>{h(step['command'])}</pre>"
        if step.get("note"):
            item += f'<div class="muted small">{h(step["note"])}</div>'
        out.append(item + "</li>")
    out.append("</ol>")
    return out


def _kb_links(kbs: list[dict[str, Any]]) -> str:
    links = []
    for kb in kbs:
        url = str(kb.get("url", ""))
        href = h(url) if url.startswith(("https://", "http://")) else ""
        label = f"KB {h(kb.get('number'))}: {h(kb.get('title', ''))}"
        links.append(f'<li><a href="{href}">{label}</a></li>' if href else f"<li>{label}</li>")
    return "<ul>" + "".join(links) + "</ul>" if links else ""


def _finding(f: dict[str, Any]) -> list[str]:
    out = ['<div class="card">',
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
    evidence = f.get("evidence", [])
    if evidence:
        out += ["<h4>Evidence</h4>", "<table><tr><th>Time (UTC)</th><th>Event</th><th>Source</th>"
                "<th>Message</th></tr>"]
        rows = sorted((ev for e in evidence for ev in e.get("events", [])), key=lambda ev: ev.get("timestamp") or "")
        for ev in rows:
            out.append(f"<tr><td>{h(ev.get('timestamp'))}</td><td>{h(ev.get('provider'))} {h(ev.get('event_id'))}</td>"
                       f"<td class=\"small\">{h(ev.get('source'))}<br>{h(ev.get('locator'))}</td>"
                       f"<td class=\"msg\">{h(ev.get('message') or '')}</td></tr>")
        out.append("</table>")
        counts = ", ".join(f"{h(e['event'])} x{h(e['count'])}" for e in evidence)
        out.append(f'<div class="muted small">Counts: {counts}</div>')
    for sf in f.get("store_findings", []):
        out.append(f"<h4>Store finding: {h(sf.get('title') or sf.get('check', ''))}</h4><pre>{h(_store_line(sf))}</pre>")
        out += _steps("Fix for this certificate", sf.get("fix", []))
    out += _steps("Fix", f.get("fix", []))
    out += _steps("Verify", f.get("verify", []))
    for w in f.get("workarounds", []):
        out.append(f'<div class="caveat"><strong>Workaround: {h(w.get("title"))}</strong>'
                   f'{"<pre>" + h(w["command"]) + "</pre>" if w.get("command") else ""}'
                   f"<div>{h(w.get('caveat'))}</div></div>")
    for note in f.get("notes", []):
        out.append(f'<div class="muted small">Note: {h(note)}</div>')
    out.append("</div>")
    return out


def _store_line(sf: dict[str, Any]) -> str:
    cert = sf.get("certificate") or {}
    parts = [str(sf.get("why") or "")]
    for key in ("subject", "issuer", "thumbprint", "location", "store", "not_before", "not_after"):
        if cert.get(key):
            parts.append(f"{key}: {cert[key]}")
    return "\n".join(parts)


def render_document(doc: dict[str, Any]) -> str:
    """The HTML page for a scan dictionary (as built by report.json.scan_dict)."""
    stats = doc.get("stats", {})
    made = [f for f in doc.get("findings", []) if f.get("made")]
    out = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
           '<meta name="viewport" content="width=device-width, initial-scale=1">',
           "<title>tlsdiag report</title>", f"<style>{_CSS}</style></head><body>",
           "<h1>tlsdiag report</h1>",
           f'<div class="muted">tlsdiag {h(__version__)}; {len(made)} diagnosis(es) on '
           f"{len(doc.get('computers', []))} computer(s); {h(stats.get('records', 0))} records read, "
           f"{h(stats.get('records_lost', 0))} lost</div>"]
    hosts = {c["computer"]: c for c in doc.get("computers", [])}
    by_computer: dict[str, list[dict[str, Any]]] = {}
    for f in doc.get("findings", []):
        by_computer.setdefault(f["computer"], []).append(f)
    if not by_computer:
        out.append("<h2>No diagnosis</h2><p>No known certificate-store or Schannel failure pattern was found.</p>")
    for computer, findings in by_computer.items():
        host = hosts.get(computer, {})
        out.append(f"<h2>{h(computer)}</h2>")
        if host.get("windows_name"):
            out.append(f'<div class="muted">{h(host["windows_name"])}</div>')
        for f in findings:
            if f.get("made"):
                out += _finding(f)
        others = [f for f in findings if not f.get("made")]
        if others:
            out.append("<h4>Considered and not diagnosed</h4><ul>")
            out += [f"<li>{_badge(f['confidence'])}{h(f['title'])} <span class=\"muted small\">"
                    f"(score {f['score']:.2f})</span></li>" for f in others]
            out.append("</ul>")
    for store in doc.get("stores", []):
        findings = store.get("findings", [])
        out.append(f"<h2>Certificate stores: {h(store.get('computer'))}</h2>")
        out.append(f'<div class="muted small">from {h(", ".join(store.get("sources", [])))}</div>')
        if findings:
            out.append("<table><tr><th>Check</th><th>Finding</th></tr>")
            out += [f"<tr><td>{h(sf.get('check'))}</td><td class=\"msg\">{h(_store_line(sf))}</td></tr>"
                    for sf in findings]
            out.append("</table>")
        if store.get("clean_checks"):
            out.append(f'<div class="small">Clean: {h(", ".join(store["clean_checks"]))}</div>')
    out.append("<h2>What was read</h2><table><tr><th>Input</th><th>Form</th><th>Records</th><th>Lost</th></tr>")
    for item in stats.get("inputs", []):
        lost = "<br>".join(f"{h(x.get('where'))}: {h(x.get('reason'))}" + (f" ({h(x['records'])} records)"
                           if x.get("records") is not None else "") for x in item.get("lost", []))
        if item.get("error"):
            lost = h(item["error"]) + ("<br>" + lost if lost else "")
        out.append(f"<tr><td>{h(item.get('source'))}</td><td>{h(item.get('form'))}</td>"
                   f"<td>{h(item.get('records'))}</td><td class=\"msg\">{lost}</td></tr>")
    out.append("</table>")
    span = f"{h(stats.get('first_event'))} to {h(stats.get('last_event'))}" if stats.get("first_event") else "none"
    out.append(f'<div class="muted small">Time span of events: {span}</div>')
    for note in doc.get("notes", []):
        out.append(f'<div class="muted small">Note: {h(note)}</div>')
    out.append("</body></html>")
    return "\n".join(out) + "\n"


def render_scan(result: Any, *, stats: bool = False) -> str:
    from tlsdiag.report.json import scan_dict

    return render_document(scan_dict(result, stats=stats))
