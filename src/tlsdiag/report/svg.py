"""An inline SVG timeline per computer for the HTML report: events per catalog entry over time.

Each catalog entry that is evidence of a diagnosis gets a row of bars (events per time bin, scaled to
that row's busiest bin, so a rare specific event stays visible next to a chatty generic one); the
window of each diagnosis (first to last evidence) is shaded; store facts with a time are marked: when
the stores were collected and the validity start of each certificate in the proof. A reg export does
not record when a certificate was added to a store, so that is not drawn, and the legend says so.

No script and no external reference: only rect, line, text and title elements, every text escaped.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from tlsdiag.report.evidence import Timeline, sparkline, stores_for, timeline
from tlsdiag.textsafe import html_text as h

WIDTH = 1000
LABEL = 250  # the label column
RIGHT = 16
ROW = 28
TOP = 30  # room for the diagnosis-window labels
BOTTOM = 34  # room for the time axis
BINS = 60
NARROW_BINS = 20  # sparkline marks in the narrow-screen table


def _x(tl: Timeline, ts: datetime) -> float:
    return LABEL + tl.position(ts) * (WIDTH - LABEL - RIGHT)


def _t(ts: datetime) -> str:
    return ts.strftime("%Y-%m-%d %H:%M")


def _short(text: str, n: int = 38) -> str:
    return text if len(text) <= n else text[:n - 1] + "…"


def timeline_svg(result: Any, computer: str, diagnoses: list[Any]) -> list[str]:
    """The figure (SVG plus a legend in words) for ``computer``, or nothing when there is no evidence."""
    tl = timeline(result, computer, diagnoses, bins=BINS)
    if tl is None:
        return []
    plot = WIDTH - LABEL - RIGHT
    height = TOP + ROW * len(tl.series) + BOTTOM
    bw = plot / tl.bins
    label = f"Timeline of the evidence on {computer}: events per catalog entry from {_t(tl.start)} to {_t(tl.end)}"
    out = ['<figure class="timeline"><div class="tlwrap">',
           f'<svg class="tl" viewBox="0 0 {WIDTH} {height}" role="img" aria-label="{h(label)}">',
           f"<title>{h(label)}</title>",
           f'<rect class="plot" x="{LABEL}" y="{TOP}" width="{plot}" height="{ROW * len(tl.series)}"></rect>']
    for rank, d in enumerate(diagnoses, start=1):
        if d.first_seen is None or d.last_seen is None:
            continue
        x0, x1 = _x(tl, d.first_seen), _x(tl, d.last_seen)
        out.append(f'<rect class="win" x="{x0:.1f}" y="{TOP - 14}" width="{max(2.0, x1 - x0):.1f}" '
                   f'height="{ROW * len(tl.series) + 14}"><title>{h(f"#{rank} {d.cause.title}")}: evidence from '
                   f"{h(_t(d.first_seen))} to {h(_t(d.last_seen))}</title></rect>")
        out.append(f'<text class="winlabel" x="{x0 + 3:.1f}" y="{TOP - 4}">#{rank} {h(_short(d.cause.id, 30))}</text>')
    for i, series in enumerate(tl.series):
        y = TOP + i * ROW
        top = max(series.counts) or 1
        out.append(f'<line class="row" x1="{LABEL}" y1="{y + ROW}" x2="{WIDTH - RIGHT}" y2="{y + ROW}"></line>')
        out.append(f'<text class="lab" x="{LABEL - 8}" y="{y + 12}" text-anchor="end">'
                   f"{h(_short(series.title, 40))}<title>{h(series.entry)}: {h(series.title)}</title></text>")
        out.append(f'<text class="sub" x="{LABEL - 8}" y="{y + 24}" text-anchor="end">'
                   f"{h(series.entry)} &#183; {series.total} event(s)</text>")
        for b, count in enumerate(series.counts):
            if not count:
                continue
            bar = max(2.0, (ROW - 8) * count / top)
            when = tl.start + tl.step * b
            out.append(f'<rect class="bar" x="{LABEL + b * bw + 0.5:.1f}" y="{y + ROW - 2 - bar:.1f}" '
                       f'width="{max(1.0, bw - 1):.1f}" height="{bar:.1f}"><title>{count} x {h(series.entry)} from '
                       f"{h(_t(when))}</title></rect>")
    facts = _store_facts(result, computer, diagnoses, tl)
    for ts, what in facts:
        x = _x(tl, ts)
        out.append(f'<line class="fact" x1="{x:.1f}" y1="{TOP - 14}" x2="{x:.1f}" y2="{TOP + ROW * len(tl.series)}">'
                   f"<title>{h(what)} ({h(_t(ts))})</title></line>")
    base = TOP + ROW * len(tl.series)
    for frac, anchor in ((0.0, "start"), (0.5, "middle"), (1.0, "end")):
        ts = tl.start + (tl.end - tl.start) * frac
        out.append(f'<text class="axis" x="{LABEL + frac * plot:.1f}" y="{base + 18}" text-anchor="{anchor}">'
                   f"{h(_t(ts))}</text>")
    out.append("</svg></div>")
    out += _narrow(tl)
    wide = [f"Each row: one catalog entry, events per {_duration(tl.step)} (bar height relative to the row's "
            "busiest bin; the number is the events drawn)."]
    if any(d.first_seen for d in diagnoses):
        wide.append("Shaded: the window of each diagnosis, from its first to its last evidence.")
    if facts:
        wide.append("Dashed lines: " + "; ".join(f"{what} {_t(ts)}" for ts, what in facts) + ".")
    words = []
    if facts:
        words.append("Store facts in this span: " + "; ".join(f"{what} {_t(ts)}" for ts, what in facts) + ".")
    outside = _outside(result, computer, diagnoses, tl)
    if outside:
        words.append("Outside this span: " + "; ".join(outside) + ".")
    words.append("When a certificate was added to a store is known only from an offline hive (its registry key's "
                 "last write time); registry exports do not record it.")
    if tl.partial:
        words.append("The bars are drawn from the matches the scan kept (the first ones); the counts in the "
                     "evidence below are exact.")
    narrow = [w for w in words if w.startswith("Store facts")]  # the wide figure draws them as dashed lines
    common = [w for w in words if w not in narrow]
    out.append(f'<figcaption class="muted small"><span class="wide">{h(" ".join(wide))} </span>'
               f'<span class="narrow">{h(" ".join(narrow))} </span>{h(" ".join(common))}</figcaption></figure>')
    return out


def _narrow(tl: Timeline) -> list[str]:
    """The same rows as text sparklines, shown instead of the SVG on narrow screens (CSS decides)."""
    per = -(-tl.bins // NARROW_BINS)
    out = ['<table class="tlnarrow"><tr><th>Catalog entry</th><th>Events</th>'
           f"<th>{h(_t(tl.start))} &rarr; {h(_t(tl.end))} (one mark per {h(_duration(tl.step * per))})</th></tr>"]
    for series in tl.series:
        out.append(f"<tr><td>{h(series.title)} <code>{h(series.entry)}</code></td><td>{series.total}</td>"
                   f'<td class="spark">{h(sparkline(_fold(series.counts, per)))}</td></tr>')
    out.append("</table>")
    return out


def _fold(counts: tuple[int, ...], size: int) -> list[int]:
    """``counts`` summed ``size`` bins at a time, for a sparkline that fits a phone."""
    return [sum(counts[i:i + size]) for i in range(0, len(counts), size)]


def _duration(step: timedelta) -> str:
    seconds = step.total_seconds()
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            value = seconds / size
            return f"{value:.0f} {unit}s" if round(value) != 1 else f"{unit}"
    return f"{seconds:.0f} seconds"


def _cert_facts(result: Any, computer: str, diagnoses: list[Any]) -> list[tuple[datetime, str]]:
    out = []
    for d in diagnoses:
        for f in d.store_findings:
            cert = f.cert
            if cert is None:
                continue
            out.append((cert.not_before, f"valid from: {cert.subject}"))
            if cert.written is not None:
                out.append((cert.written, f"registry key of {cert.subject} in {cert.where} last written "
                                          "(added or changed)"))
    for a in stores_for(result, computer):
        if a.snapshot.collected is not None:
            out.append((a.snapshot.collected, "stores collected"))
    return sorted(set(out))


def _store_facts(result: Any, computer: str, diagnoses: list[Any], tl: Timeline) -> list[tuple[datetime, str]]:
    return [(ts, what) for ts, what in _cert_facts(result, computer, diagnoses) if tl.start <= ts <= tl.end]


def _outside(result: Any, computer: str, diagnoses: list[Any], tl: Timeline) -> list[str]:
    return [f"{what} {_t(ts)}" for ts, what in _cert_facts(result, computer, diagnoses)
            if not tl.start <= ts <= tl.end and not what.startswith("valid from")]
