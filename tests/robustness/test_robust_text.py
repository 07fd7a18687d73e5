"""Event Viewer text exports with an endless line: memory stays flat and the cut is named."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

_MEASURE = """
import resource, sys
from tlsdiag.inputs import read_events
from tlsdiag.model import ReadSummary
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
s = ReadSummary()
events = list(read_events([sys.argv[1]], summary=s))
print(len(events), s.files[0].form, repr([(l.where, l.records) for l in s.losses]),
      resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base, base)
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
    fields = proc.stdout.split()
    count, form = int(fields[0]), fields[1]
    losses = proc.stdout[proc.stdout.index("["):proc.stdout.rindex("]") + 1]
    growth_kb, base_kb = int(fields[-2]), int(fields[-1])
    assert (count, form) == (2, "text")  # the cut event and the one after it
    assert losses == "[('line 1', 0)]"  # named, nothing counted missing
    # growth over the process after imports (ru_maxrss survives fork+exec, so the absolute peak can be the
    # launching pytest worker's): a held 96 MB line adds about 275 MiB, the capped reader about 3 MiB
    assert growth_kb < 64 * 1024, f"peak RSS grew {growth_kb / 1024:.0f} MiB (base {base_kb / 1024:.0f} MiB)"
