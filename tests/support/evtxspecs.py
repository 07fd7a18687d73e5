"""One event spec per provider the EVTX reader tests write: Schannel 36888 (UserData), Lync 32174 (classic
data with binary) and CAPI2 4097 (named data), each in any BinXML form."""

from __future__ import annotations

from datetime import datetime, timezone

from tlsdiag_devkit.evtxwrite import EventSpec, UserData

T0 = datetime(2026, 11, 27, 8, 0, 0, 123456, tzinfo=timezone.utc)
SCHANNEL_GUID = "{1F678132-5938-4686-9FDC-C8FF68F15C85}"


def schannel(i: int = 0, form: str = "template") -> EventSpec:
    return EventSpec(channel="System", provider="Schannel", provider_guid=SCHANNEL_GUID, event_id=36888,
                     level=2, time=T0, computer="fe01.contoso.local", user_sid="S-1-5-18", form=form,
                     userdata=UserData("EventXML", "LSA_NS", {"AlertDesc": 40, "ErrorState": 1205 + i,
                                                              "TargetName": ""}))


def lync(i: int = 0, form: str = "template") -> EventSpec:
    return EventSpec(channel="Lync Server", provider="LS User Services", event_id=32174, qualifiers=33777,
                     level=3, task=1006, time=T0, computer="fe01.contoso.local", form=form,
                     data=[f"{{63BB8586-A9D8-5AF2-83FF-B5CE680594C{i % 10}}}", "", "1"], binary=b"\x01\xab")


def capi(i: int = 0, form: str = "template") -> EventSpec:
    return EventSpec(channel="Application", provider="Microsoft-Windows-CAPI2",
                     provider_guid="{5bbca4a8-b209-48dc-a8c7-b23d3e5216fb}", event_id=4097, time=T0,
                     computer="fe01.contoso.local", form=form,
                     data={"Subject": f"CN=Root {i}", "Thumbprint": "A8985D3A65E5E5C4B2D7D66D40C6DD2FB19C5436"})
