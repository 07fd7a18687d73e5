"""Write real .evtx files: fixtures, bundled samples, benchmark data and damaged variants.

Usage::

    from tlsdiag.evtxwrite import EvtxWriter, EventSpec, UserData
    with EvtxWriter("System.evtx") as w:
        w.add(EventSpec(channel="System", provider="Schannel",
                        provider_guid="{1F678132-5938-4686-9FDC-C8FF68F15C85}",
                        event_id=36888, level=2, time=ts, computer="fe01.contoso.local",
                        user_sid="S-1-5-18",
                        userdata=UserData("EventXML", "LSA_NS", {"AlertDesc": 40, "ErrorState": 1205})))

Never used on evidence: it only creates new files.
"""

from .damage import DAMAGE_KINDS, damage, damage_file
from .writer import (
    CHUNK_SIZE,
    FILE_HEADER_SIZE,
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
    "EventSpec",
    "EvtxWriter",
    "UserData",
    "damage",
    "damage_file",
    "evtx_bytes",
    "write_evtx",
    "write_file",
]
