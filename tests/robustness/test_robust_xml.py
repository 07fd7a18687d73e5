"""Hostile XML exports through the real CLI, and streaming memory on a large export.

An "event export" is just a file someone hands over: it may declare entities
that expand a billion times, point entities or XInclude at local files or the
network, hide the DTD behind a megabyte of comments or UTF-16, or nest
elements until a recursive parser falls over. Each is refused (whole file, exit
2 and one line naming the path and the reason) or cut off as a counted Loss,
and nothing from outside the file ever appears in the output.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

EVENT_NS = "http://schemas.microsoft.com/win/2004/08/events/event"
EVENT = (f'<Event xmlns="{EVENT_NS}"><System><Provider Name="Schannel"/><EventID>36888</EventID><Level>2</Level>'
         '<TimeCreated SystemTime="2026-11-27T08:00:{s:02d}.000Z"/><EventRecordID>{i}</EventRecordID>'
         '<Channel>System</Channel><Computer>fe01.contoso.local</Computer></System>'
         '<EventData><Data Name="AlertDesc">40</Data><Data Name="ErrorState">{i}</Data>'
         '<Data Name="Pad">{pad}</Data></EventData></Event>')


def _event(i: int, pad: str = "") -> str:
    return EVENT.format(i=i, s=i % 60, pad=pad)


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tlsdiag", *args], capture_output=True, text=True, timeout=300,
                          check=False)


def _refused(path: Path, *words: str) -> str:
    proc = _cli("events", str(path))
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout == ""
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert str(path) in lines[0]
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


BILLION_LAUGHS = textwrap.dedent("""\
    <?xml version="1.0"?>
    <!DOCTYPE Events [
     <!ENTITY lol "lol">
     <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
     <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
     <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
     <!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
    ]>
    <Events><Event xmlns="{ns}"><System><EventID>1</EventID><Computer>&lol9;</Computer></System></Event></Events>
    """).format(ns=EVENT_NS)


def test_billion_laughs_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bomb.xml"
    path.write_text(BILLION_LAUGHS)
    _refused(path, "DTD")


@pytest.mark.slow
def test_external_entities_and_parameter_entities_are_refused(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    for name, doctype in (
        ("file.xml", f'<!DOCTYPE Event [<!ENTITY x SYSTEM "file://{secret}">]>'),
        ("param.xml", f'<!DOCTYPE Event [<!ENTITY % p SYSTEM "file://{secret}"> %p;]>'),
        ("net.xml", '<!DOCTYPE Event SYSTEM "http://127.0.0.1:9/evil.dtd">'),
    ):
        path = tmp_path / name
        path.write_text(doctype + _event(1).replace("<Data Name=\"Pad\"></Data>", "<Data Name='Pad'>&x;</Data>"))
        line = _refused(path, "DTD")
        assert "TOP-SECRET" not in line


def test_dtd_hidden_behind_a_large_prolog_or_utf16_is_refused(tmp_path: Path) -> None:
    big = tmp_path / "late-dtd.xml"
    prolog = "<!--" + "x" * (2 * 1024 * 1024) + "-->\n"  # beyond the reader's first 1 MiB block
    big.write_text(prolog + '<!DOCTYPE Event [<!ENTITY x "X">]>' + _event(1))
    line = _refused(big)  # not even recognised as an export: the DTD is never parsed
    assert '"X"' not in line
    utf16 = tmp_path / "utf16.xml"
    utf16.write_bytes(("\ufeff" + '<!DOCTYPE Event [<!ENTITY x "X">]>' + _event(1)).encode("utf-16-le"))
    _refused(utf16, "DTD")


@pytest.mark.slow
def test_xinclude_is_not_processed(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    path = tmp_path / "xi.xml"
    path.write_text(_event(1).replace(
        "<Data Name=\"Pad\"></Data>",
        f'<Data Name="Pad"><xi:include xmlns:xi="http://www.w3.org/2001/XInclude" href="{secret}" parse="text"/>'
        "</Data>"))
    proc = _cli("events", str(path), "--format", "jsonl")
    assert proc.returncode == 0, proc.stderr
    assert "TOP-SECRET" not in proc.stdout and "36888" in proc.stdout


def test_deep_nesting_is_cut_off_with_a_reason(tmp_path: Path) -> None:
    path = tmp_path / "deep.xml"
    depth = 100_000
    path.write_text(_event(1) + "\n" + f'<Event xmlns="{EVENT_NS}"><EventData>' + "<a>" * depth + "</a>" * depth
                    + "</EventData></Event>\n" + _event(3))
    proc = _cli("events", str(path), "--format", "jsonl")
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    assert proc.stdout.count("\n") == 1  # the event before the damage is kept
    assert "lost at:" in proc.stderr and f"{path} line" in proc.stderr


def test_not_xml_wrong_encoding_and_garbage_are_clear(tmp_path: Path) -> None:
    path = tmp_path / "binary.xml"
    path.write_bytes(b"<Events>" + bytes(range(256)) * 100)
    proc = _cli("events", str(path))
    assert "Traceback" not in proc.stderr and proc.returncode in (0, 2)
    assert str(path) in proc.stderr


# ---------------------------------------------------------------- streaming memory

_MEASURE = """
import resource, sys
from tlsdiag.inputs import read_events
from tlsdiag.model import ReadSummary
s = ReadSummary()
n = sum(1 for _ in read_events([sys.argv[1]], summary=s))
print(n, len(s.losses), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def write_export(path: Path, megabytes: int) -> int:
    """A wevtutil-style export (events back to back, no root) of about ``megabytes`` MB; returns the count."""
    pad = "p" * 700
    one = len(_event(0, pad).encode()) + 1
    count = megabytes * 1_000_000 // one
    with open(path, "w", encoding="utf-8") as fh:
        for start in range(0, count, 1000):
            fh.write("\n".join(_event(i, pad) for i in range(start, min(start + 1000, count))) + "\n")
    return count


def peak_rss_kb(path: Path) -> tuple[int, int, int]:
    proc = subprocess.run([sys.executable, "-c", _MEASURE, str(path)], capture_output=True, text=True, timeout=1800,
                          check=True)
    events, losses, rss = (int(x) for x in proc.stdout.split())
    return events, losses, rss


@pytest.mark.slow
def test_large_export_is_streamed(tmp_path: Path) -> None:
    """Peak RSS must not grow with the file: 8 MB and 48 MB exports differ by far less than the 40 MB between."""
    big_mb = int(os.environ.get("TLSDIAG_XML_MB", "48"))
    small, big = tmp_path / "small.xml", tmp_path / "big.xml"
    n_small, n_big = write_export(small, 8), write_export(big, big_mb)
    got_small, lost_small, rss_small = peak_rss_kb(small)
    got_big, lost_big, rss_big = peak_rss_kb(big)
    assert (got_small, got_big, lost_small, lost_big) == (n_small, n_big, 0, 0)
    growth_mb = (rss_big - rss_small) / 1024
    print(f"XML export {big_mb} MB: {n_big} events, peak RSS {rss_big / 1024:.1f} MiB "
          f"(8 MB export: {rss_small / 1024:.1f} MiB)")
    assert growth_mb < 0.25 * (big_mb - 8), (rss_small, rss_big)


if __name__ == "__main__":  # the documented measurement: python tests/robustness/test_robust_xml.py 200
    import tempfile

    size = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    with tempfile.TemporaryDirectory() as tmp:
        target = Path(tmp) / "export.xml"
        n = write_export(target, size)
        import time

        t0 = time.perf_counter()
        got, lost, rss = peak_rss_kb(target)
        print(f"{target.stat().st_size / 1e6:.0f} MB export, {n} events written, {got} read, {lost} losses, "
              f"peak RSS {rss / 1024:.1f} MiB, {time.perf_counter() - t0:.1f} s")
