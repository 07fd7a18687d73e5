"""Certificate-store exports for the bundled samples (the ``extra_files`` hook of samplegen).

Each store scenario is written as ``<scenario>/stores/``: the files collect-tlsdiag.cmd
makes (UTF-16 ``reg export`` files and ``tlsdiag-collection.txt``). The computer name and
the collection time come from the scenario's own event logs (most frequent computer,
one hour after the last event, the build from EventLog 6009), so stores and events belong together and the output
stays deterministic.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

from tlsdiag_devkit.storegen import write_sample_stores

# sample scenario -> store scenario in tlsdiag_devkit.storegen
STORE_SCENARIOS = {
    "lync2013-fe-root-store": "lync2013-fe-root-store",  # three misplaced certificates in Root (the seed's case)
    "trusted-issuer-list-16kb": "trusted-issuer-list-16kb",  # 340 third-party roots in AuthRoot
    "healthy-server": "healthy-server",  # clean stores: the store checks rule causes out
}


def _from_events(scenario_dir: Path) -> tuple[str | None, datetime | None, int | None]:
    from tlsdiag.inputs import discover, read_events
    from tlsdiag.model import ReadSummary

    names: Counter[str] = Counter()
    last: datetime | None = None
    build: int | None = None
    inputs = [i for i in discover([scenario_dir]) if i.kind in ("evtx", "xml", "text")]
    for event in read_events(inputs, summary=ReadSummary()):
        if event.computer:
            names[event.computer] += 1
        if last is None or event.timestamp > last:
            last = event.timestamp
        if event.provider == "EventLog" and event.event_id == 6009 and event.data.get("2", "").isdigit():
            build = int(event.data["2"])  # 6009 "Microsoft (R) Windows (R) %1. %2 ..." carries the build
    name = sorted(names.items(), key=lambda kv: (-kv[1], kv[0]))[0][0] if names else None
    return name, last, build


def extra_files(scenario: str, scenario_dir: Path) -> None:
    store = STORE_SCENARIOS.get(scenario)
    if store is None:
        return
    computer, last, build = _from_events(scenario_dir)
    collected = None
    if last is not None:
        collected = (last + timedelta(hours=1)).astimezone(timezone.utc).replace(minute=0, second=0, microsecond=0)
    write_sample_stores(store, scenario_dir / "stores", computer=computer, collected=collected, os_build=build,
                        forms=("reg",))
