"""A busy log: mostly catalog Schannel events from three computers, with boots and background noise, for
the tests that compare the worker-process and per-shape paths with the plain one."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone
from pathlib import Path

from tlsdiag_devkit.evtxwrite import EventSpec, UserData, write_file

T0 = datetime(2026, 2, 2, 6, 0, tzinfo=timezone.utc)
SCHANNEL_GUID = "{1F678132-5938-4686-9FDC-C8FF68F15C85}"
FORMATS = ["json", "text", "markdown", "timeline", "timesketch"]


def busy_log(path: Path, n: int, seed: int = 3) -> Path:
    """Mostly catalog Schannel events from three computers, with boots (6009) and some background noise."""
    rng = random.Random(seed)
    specs = []
    for i in range(n):
        t = T0 + timedelta(seconds=7 * i + rng.randrange(5))
        computer = rng.choice(["fe01.contoso.local", "FE02.contoso.local", "edge01.contoso.local"])
        r = rng.random()
        if r < 0.01:
            specs.append(EventSpec("System", "EventLog", 6009, t, computer, qualifiers=32768,
                                   data=["6.03.", "9600", "", "Multiprocessor Free", "17031"]))
        elif r < 0.08:
            specs.append(EventSpec("System", "Service Control Manager", 7036, t, computer, qualifiers=16384,
                                   data={"param1": "Windows Update", "param2": "running"}))
        else:
            event_id = rng.choice([36888, 36888, 36887, 36885, 36874])
            alert = rng.choice([40, 40, 70, 48])
            specs.append(EventSpec("System", "Schannel", event_id, t, computer, provider_guid=SCHANNEL_GUID, level=2,
                                   userdata=UserData("EventXML", "LSA_NS", {"AlertDesc": alert,
                                                                            "ErrorState": 1205 + i % 3})))
    return write_file(path, specs)
