"""Event Viewer text exports with an endless line: memory stays flat and the cut is named."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

_MEASURE = """
import resource, sys
from tlsdiag.inputs import read_events
from tlsdiag.model import ReadSummary
s = ReadSummary()
events = list(read_events([sys.argv[1]], summary=s))
print(len(events), s.files[0].form, repr([(l.where, l.records) for l in s.losses]),
      resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def test_one_endless_line_is_cut_and_named(tmp_path: Path) -> None:
    path = tmp_path / "export.txt"
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("Log Name: System Source: Schannel Event ID: 36888 Level: Error Computer: fe01 Description: ")
        for _ in range(96):
            fh.write("A" * 1_000_000)  # one 96 MB line
        fh.write("\nLog Name:      System\nSource:        Schannel\nEvent ID:      36887\nDescription:\nx\n")
    proc = subprocess.run([sys.executable, "-c", _MEASURE, str(path)], capture_output=True, text=True, timeout=600,
                          check=True)
    count, form, losses, rss_kb = proc.stdout.split(" ", 3)[0], proc.stdout.split()[1], \
        proc.stdout[proc.stdout.index("["):proc.stdout.rindex("]") + 1], int(proc.stdout.split()[-1])
    assert (int(count), form) == (2, "text")  # the cut event and the one after it
    assert losses == "[('line 1', 0)]"  # named, nothing counted missing
    assert rss_kb < 96 * 1024, f"peak RSS {rss_kb / 1024:.0f} MiB for a 96 MB line: the line was held whole"
