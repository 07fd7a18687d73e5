"""Hostile event text is inert in every output format of the real CLI.

Anyone who can make a server log something controls event data, and certificate
subjects are chosen by whoever issued the certificate. The evidence here is a
real .evtx written with tlsdiag_devkit.evtxwrite (a cause's own positive example, with
terminal escapes, C1 controls, bidi overrides, Rich markup, HTML and spreadsheet
formulas in computer name, provider, channel and data), a collector JSON whose
computer name, friendly name and certificate CN carry the same, and a file name
with escapes. Every command and format is run as a subprocess and its stdout
and stderr are checked byte by byte.
"""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from tlsdiag_devkit.evtxwrite import EventSpec, UserData, write_file

HOSTILE = ("\x1b[31mRED\x1b]0;pwned\x07\x9b2J\u202eEVIL\u2066[bold]b[/bold][link=https://e.x]l[/link]"
           "<script>alert(1)</script><img src=x onerror=alert(2)>\x08\x7f\x85")
# What must never reach a terminal raw: C0 controls except TAB/LF, DEL, C1, bidi and zero-width format characters.
UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
T0 = datetime(2026, 1, 5, 8, 0, tzinfo=timezone.utc)
SCHANNEL = "{1F678132-5938-4686-9FDC-C8FF68F15C85}"


def _events() -> list[EventSpec]:
    """The 'cipher-protocol-mismatch' positive example (36874 + 36888), hostile where the text is free."""
    host = "WEB01" + HOSTILE
    out = [
        EventSpec(channel="System", provider="Schannel", provider_guid=SCHANNEL, event_id=36874, level=2, time=T0,
                  computer=host, data={"Protocol": "TLS 1.2", "Note": HOSTILE}),
        EventSpec(channel="System", provider="Schannel", provider_guid=SCHANNEL, event_id=36888, level=2,
                  time=T0 + timedelta(seconds=1), computer=host,
                  userdata=UserData("EventXML", "LSA_NS", {"AlertDesc": 40, "ErrorState": 1205, "Note": HOSTILE})),
        # spreadsheet formulas at the start of every free-text column
        EventSpec(channel="-2+3" + HOSTILE, provider='=HYPERLINK("http://x","y")', event_id=1, level=4,
                  time=T0 + timedelta(seconds=2), computer="@SUM(1+1)", data={"x": "+1" + HOSTILE}),
    ]
    return out


@pytest.fixture(scope="module")
def evidence(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tlsdiag_devkit import storegen as testdata

    root = tmp_path_factory.mktemp("hostile")
    write_file(root / "System.evtx", _events())
    write_file(root / f"\x1b]0;x\x07name\u202e{'[red]'}.evtx", _events()[:1])
    stores = testdata.planted("WEB01")
    pki = testdata._pki(stores.collected.year)
    cn = "CA\x1b[31m\x1b]0;t\x07\x9b2J\u202eEVIL<script>[bold]x"  # X.509 limits a CN to 64 bytes
    der = testdata.make_cert(testdata.name(cn, o="=cmd|' /C calc'!A0"), testdata.ec_key("hostile"),
                             issuer=pki.root_name, issuer_key=pki.root_key, serial=0x7777,
                             not_before=pki.t0, not_after=pki.t0 + 20 * testdata.Y)
    stores.add(testdata.MACHINE, "ROOT", der, friendly=HOSTILE)
    testdata.write_storejson(stores, root / "stores" / "WEB01-stores.json")
    return root


def _run(*args: str, ok: tuple[int, ...] = (0, 1)) -> subprocess.CompletedProcess[bytes]:
    proc = subprocess.run([sys.executable, "-m", "tlsdiag", *args], capture_output=True, timeout=300, check=False)
    assert proc.returncode in ok, proc.stderr.decode("utf-8", "replace")[-3000:]
    return proc


def _assert_inert(raw: bytes, where: str) -> str:
    text = raw.decode("utf-8")  # output is valid UTF-8
    bad = sorted({f"U+{ord(m.group()):04X}" for m in UNSAFE.finditer(text)})
    assert not bad, f"{where}: raw control/bidi characters in output: {bad}"
    return text


def _strings(doc: object) -> set[str]:
    if isinstance(doc, str):
        return {doc}
    if isinstance(doc, dict):
        return set().union(*(_strings(v) for v in doc.values())) if doc else set()
    if isinstance(doc, list):
        return set().union(*(_strings(v) for v in doc)) if doc else set()
    return set()


def _shows_hostile(text: str, where: str) -> None:
    # the hostile text did reach the output (otherwise the test proves nothing), in some inert form
    assert "EVIL" in text, f"{where}: hostile text not shown at all"


@pytest.mark.slow
def test_events_table_jsonl_csv(evidence: Path) -> None:
    for fmt in ("table", "jsonl", "csv"):
        proc = _run("events", str(evidence), "--format", fmt)
        out = _assert_inert(proc.stdout, f"events --format {fmt}")
        _assert_inert(proc.stderr, f"events --format {fmt} (stderr)")
        _shows_hostile(out, fmt)
        if fmt == "jsonl":
            rows = [json.loads(line) for line in out.splitlines()]
            # JSON escapes, it does not change: the value parses back to the exact event text
            assert any(r["computer"] == "WEB01" + HOSTILE for r in rows)
        if fmt == "csv":
            cells = [c for row in csv.reader(io.StringIO(out)) for c in row]
            assert cells and not [c for c in cells if c.startswith(FORMULA_START)]
            assert any(c.startswith("'=HYPERLINK") for c in cells) and any(c.startswith("'@SUM") for c in cells)
            assert any(c.startswith("'-2+3") for c in cells)


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["text", "json", "markdown", "html", "timesketch", "timeline"])
def test_scan_every_format(evidence: Path, fmt: str) -> None:
    proc = _run("scan", str(evidence), "--format", fmt, "--quiet")
    out = _assert_inert(proc.stdout, f"scan --format {fmt}")
    _assert_inert(proc.stderr, f"scan --format {fmt} (stderr)")
    _shows_hostile(out, f"scan {fmt}")
    assert proc.returncode == 1  # the example still makes its diagnosis: hostile text did not break matching
    lower = out.lower()
    if fmt in ("html", "markdown"):
        assert "<script" not in lower and "<img" not in lower, fmt
    if fmt == "html":
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in out
        assert not re.search(r"<a [^>]*href=\"(?!https?://)", out)  # no javascript:/data: links
    if fmt == "markdown":
        assert "[link=https://e.x]" not in out.replace("\\", "") or "\\[link" in out
        assert not re.search(r"(?<!\\)\[bold\](?!\()", out.split("```")[0]) or "\\[bold\\]" in out
    if fmt == "json":
        assert "WEB01" + HOSTILE in _strings(json.loads(out))  # escaped in the text, exact once parsed
    if fmt == "timesketch":
        rows = [json.loads(line) for line in out.splitlines()]
        assert any(HOSTILE in s for r in rows for s in _strings(r))
    if fmt == "timeline":
        cells = [c for row in csv.reader(io.StringIO(out)) for c in row]
        assert cells and not [c for c in cells if c.startswith(FORMULA_START)]


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["text", "json", "markdown"])
def test_stores_every_format(evidence: Path, fmt: str) -> None:
    proc = _run("stores", str(evidence / "stores"), "--format", fmt)
    out = _assert_inert(proc.stdout, f"stores --format {fmt}")
    _assert_inert(proc.stderr, f"stores --format {fmt} (stderr)")
    _shows_hostile(out, f"stores {fmt}")
    if fmt == "markdown":
        assert "<script" not in out.lower()


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["text", "json", "markdown"])
def test_explain_pasted_hostile_text(fmt: str) -> None:
    paste = f"Schannel 36888 fatal alert 40 ErrorState 1205 {HOSTILE}"
    proc = subprocess.run([sys.executable, "-m", "tlsdiag", "explain", "--format", fmt, "-"],
                          input=paste.encode("utf-8"), capture_output=True, timeout=120, check=False)
    assert proc.returncode in (0, 1), proc.stderr
    out = _assert_inert(proc.stdout, f"explain --format {fmt}")
    _assert_inert(proc.stderr, "explain (stderr)")
    if fmt == "markdown":
        assert "<script" not in out.lower()


def test_errors_naming_hostile_paths_are_inert(tmp_path: Path) -> None:
    bad = tmp_path / f"\x1b[2Jgone\u202e{'[bold]'}.evtx"
    bad.write_bytes(b"")
    proc = _run("events", str(bad), ok=(2,))
    err = _assert_inert(proc.stderr, "error line")
    assert err.count("\n") == 1 and "gone" in err
