"""The accounting rule every damaged variant is held to.

Definition (what "every record is read or lost" means here):

1. No exception escapes ``read_events``; the file has exactly one FileReport.
2. The file is either refused as a whole, visibly (``FileReport.error`` set),
   or read chunk by chunk. In the second case, for every chunk ``c`` of the
   original file that held records, with ``s`` the slot the chunk occupies in
   the variant, one of these holds:
   a. a ``Loss`` names slot ``s`` (``where`` is ``"chunk s"`` or starts with
      ``"chunk s "``), or a file-level Loss (``where == "file"``) exists; or
   b. the events read from slot ``s`` are exactly the original chunk's events,
      in order and unchanged in every field except the locator.
   The only exemption: a slot beyond the header's chunk count, zero-filled or
   absent with only zeros after it (``invisible``): a dirty file's lagging
   header plus preallocated zero chunks make that look like unused space.
3. Slots that hold no original chunk (appended data) give no event unless a
   Loss names them.
4. The summary counts what was yielded (``report.records`` == events read).

So a record can be missing, altered or invented only in a chunk the summary
names. Records read from a chunk whose data checksum fails are "flagged" by
rule 2a: the reader must name that chunk.
"""

from __future__ import annotations

import json
import re
import struct
from collections import defaultdict
from pathlib import Path

from tlsdiag.inputs import read_events
from tlsdiag.model import Event, ReadSummary

_CHUNK = re.compile(r"^chunk (\d+)(?: |$)")
_CHUNKS = re.compile(r"^chunks (\d+)-(\d+)(?: |$)")


def event_key(event: Event) -> str:
    d = event.to_dict()
    d.pop("source")
    d.pop("locator")
    return json.dumps(d, sort_keys=True, default=str)


def by_chunk(events: list[Event]) -> dict[int, list[str]]:
    out: dict[int, list[str]] = defaultdict(list)
    for event in events:
        m = _CHUNK.match(event.locator)
        out[int(m.group(1)) if m else -1].append(event_key(event))
    return dict(out)


def read(path: Path, backend: str, prefilter: object = None, options: object = None) -> tuple[list[Event], ReadSummary]:
    """All events of one file; with ``prefilter`` as ``tlsdiag scan`` reads (original and variant alike)."""
    summary = ReadSummary()
    events = list(read_events([path], summary=summary, backend=backend, prefilter=prefilter, options=options))
    return events, summary


def invisible(data: bytes, slot: int) -> bool:
    """True when losing ``slot`` cannot be told from the file at all.

    A dirty file's header lags behind (it counts fewer chunks than are written),
    and Windows preallocates zero-filled chunks. So a slot beyond the header's
    chunk count that is zero-filled or absent, with nothing but zeros after it,
    looks exactly like unused space. Only that case is exempt.
    """
    if len(data) < 4096 or not data.startswith(b"ElfFile\x00"):
        return False
    count = struct.unpack_from("<H", data, 42)[0]
    start = 4096 + slot * 65536
    return slot >= count and not data[start:].strip(b"\x00")


def problems(original: dict[int, list[str]], slot_of: dict[int, int], events: list[Event],
             summary: ReadSummary, data: bytes = b"") -> list[str]:
    """Every way the variant's reading breaks the accounting rule (empty when it holds)."""
    out: list[str] = []
    if len(summary.files) != 1:
        return [f"expected one FileReport, got {len(summary.files)}"]
    report = summary.files[0]
    if report.records != len(events):
        out.append(f"report counts {report.records} records but {len(events)} were yielded")
    if report.error:
        if events:
            out.append(f"file refused ({report.error}) yet {len(events)} events yielded")
        return out
    if report.form != "evtx" and any(original.values()):
        out.append(f"file with records read as {report.form!r} without an error or loss: silent loss")
        return out
    flagged: set[int] = set()
    whole_file = False
    for loss in report.lost:
        if loss.where == "file":
            whole_file = True
        m = _CHUNK.match(loss.where)
        if m:
            flagged.add(int(m.group(1)))
        m = _CHUNKS.match(loss.where)
        if m:
            flagged.update(range(int(m.group(1)), int(m.group(2)) + 1))
    got = by_chunk(events)
    if -1 in got:
        out.append(f"{len(got[-1])} events without a chunk locator")
    if whole_file:
        return out
    for chunk, keys in sorted(original.items()):
        if not keys:
            continue
        slot = slot_of.get(chunk, chunk)
        if slot in flagged or (not got.get(slot) and invisible(data, slot)):
            continue
        read_keys = got.get(slot, [])
        if read_keys != keys:
            missing = len([k for k in keys if k not in set(read_keys)])
            extra = len([k for k in read_keys if k not in set(keys)])
            out.append(f"chunk {chunk} (slot {slot}): {len(keys)} original records, {len(read_keys)} read, "
                       f"{missing} missing/altered, {extra} new/altered, and no Loss names the chunk")
    known = set(slot_of.values())
    for slot, keys in sorted(got.items()):
        if slot >= 0 and slot not in known and slot not in flagged and keys:
            out.append(f"slot {slot} holds no original chunk yet gave {len(keys)} unflagged events")
    return out
