"""Write real .evtx files: fixtures, bundled samples, benchmark data and damaged variants.

Usage::

    from tlsdiag_devkit.evtxwrite import EvtxWriter, EventSpec, UserData
    with EvtxWriter("System.evtx") as w:            # a path or a seekable binary stream
        w.add(EventSpec(channel="System", provider="Schannel",
                        provider_guid="{1F678132-5938-4686-9FDC-C8FF68F15C85}",
                        event_id=36888, level=2, time=ts, computer="fe01.contoso.local",
                        user_sid="S-1-5-18",
                        userdata=UserData("EventXML", "LSA_NS", {"AlertDesc": 40, "ErrorState": 1205})))

``EventSpec`` fields: channel, provider, event_id, time (timezone-aware), computer; optional
provider_guid (None = classic EventLog-API provider unless ``manifest=True``), event_source_name,
qualifiers, version, level, task, opcode, keywords (default: Classic 0x80000000000000 for classic
providers, 0x8000000000000000 otherwise), record_id (default: next), user_sid, data (mapping for
named ``<Data Name=..>``, sequence for unnamed classic ``<Data>``), userdata (``UserData(name,
namespace, fields)``), binary, process_id, thread_id, activity_id, eventdata_name, and form:
"template" (what Windows writes; read by evtx, python-evtx and libevtx), "inline" (plain
elements, no template; evtx and libevtx) or "mixed" (template System, plain-element payload; evtx).

``EvtxWriter(target, dirty=False, header_chunks=None, first_record_id=1, minor_version=1)``:
``dirty`` leaves the header flagged dirty with its chunk count one chunk behind (or
``header_chunks``), as a log copied from a running system. ``damage(data, kind, chunk)`` returns a
damaged copy for robustness tests; ``DAMAGE_KINDS`` lists the kinds.

Never used on evidence: it only creates new files.
"""

from .damage import DAMAGE_KINDS, chunk_record_ids, damage, damage_file
from .writer import (
    CHUNK_SIZE,
    FILE_HEADER_SIZE,
    FORMS,
    EventSpec,
    EvtxWriter,
    UserData,
    evtx_bytes,
    write_evtx,
    write_file,
)

__all__ = [
    "CHUNK_SIZE",
    "DAMAGE_KINDS",
    "FILE_HEADER_SIZE",
    "FORMS",
    "EventSpec",
    "EvtxWriter",
    "UserData",
    "chunk_record_ids",
    "damage",
    "damage_file",
    "evtx_bytes",
    "write_evtx",
    "write_file",
]
