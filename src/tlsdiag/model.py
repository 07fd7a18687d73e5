"""The one event type every reader produces and every later stage consumes.

EVTX, XML exports and Event Viewer text blocks carry the same facts in
different shapes; normalising them here means the matcher, the reports and the
TUI never need to know where an event came from.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from types import MappingProxyType
from typing import Any, Literal, NamedTuple, TypeAlias

LEVEL_NAMES: Mapping[int, str] = MappingProxyType(
    {0: "Information", 1: "Critical", 2: "Error", 3: "Warning", 4: "Information", 5: "Verbose"}
)
LEVEL_NUMBERS: Mapping[str, int] = MappingProxyType(
    {"critical": 1, "error": 2, "warning": 3, "information": 4, "info": 4, "verbose": 5,
     # German Event Viewer
     "kritisch": 1, "fehler": 2, "warnung": 3, "informationen": 4, "ausführlich": 5}
)

EPOCH = datetime(1601, 1, 1, tzinfo=timezone.utc)

EventForm: TypeAlias = Literal["evtx", "xml", "text"]
"""How an event reached us: an EVTX record, an XML export (or pasted XML/JSON/CSV with fields), or a
rendered text export whose fields may have to be read back from the message."""

InputKind: TypeAlias = Literal["evtx", "xml", "text", "export", "zip", "reg", "hive", "storejson", "cert",
                              "unknown"]
"""What an input file holds, decided by its content (``inputs.sniff``); ``export`` is one of the forms
admins paste or export (``inputs/pasteread.py``)."""
FileForm: TypeAlias = InputKind | Literal["store", "collection"]
"""A FileReport's form: the input's kind, ``store`` for a store export named by path, or ``collection`` for
a collector's own note (collection text or manifest, read for names and times: ``stores.load``)."""
EVENT_KINDS: tuple[InputKind, ...] = ("evtx", "xml", "text", "export")
"""The kinds that hold events (the readers' inputs)."""
STORE_KINDS: tuple[InputKind, ...] = ("reg", "hive", "storejson", "cert")
"""The kinds that hold certificate stores (``stores.load``'s inputs)."""

EventRest: TypeAlias = tuple[str, str, int, int | None, str, str | None, int | None, int | None, str, str,
                             Mapping[str, str], str | None, EventForm]
"""Every Event field after source, locator, record id and timestamp (channel ... form), in field order."""

EventSystem: TypeAlias = tuple[str, str, int, int | None, str, str | None, int | None, int | None, str, str]
"""channel ... keywords: the Event fields an EVTX record's System element gives (``event_system``)."""

EventKind: TypeAlias = tuple[str, str, int, int | None, str, str | None, EventForm]
"""channel, provider, event id, level, computer, message and form (``event_kind``)."""


def level_name(level: int | None) -> str:
    if level is None:
        return ""
    return LEVEL_NAMES.get(level, f"Level {level}")


def freeze_data(items: Mapping[str, Any] | Iterable[tuple[str, Any]]) -> Mapping[str, str]:
    """An ordered, read-only str->str mapping (None becomes empty text)."""
    pairs = items.items() if isinstance(items, Mapping) else items
    return MappingProxyType({str(k): "" if v is None else str(v) for k, v in pairs})


_tuple_new = tuple.__new__


def event_at(source: str, locator: str, record_id: int | None, timestamp: datetime, rest: EventRest) -> Event:
    """An Event from where and when its record is and the rest of its fields (``event_rest`` of another
    Event, or channel ... form in field order). The one place that builds an Event by position: a named
    tuple's own ``__new__`` takes the fields one by one, which costs a busy log noticeable time."""
    return _tuple_new(Event, (source, locator, record_id, timestamp, *rest))


def event_rest(event: Event) -> EventRest:
    """Every field after source, locator, record id and timestamp (channel ... form), for ``event_at``."""
    return event[4:]


def event_kind(event: Event) -> EventKind:
    """channel, provider, event id, level, computer, message and form: what the scan's per-shape analysis
    compares besides the data (slices of the tuple, made per event)."""
    return event[4:9] + event[15:]


def event_system(event: Event) -> EventSystem:
    """channel ... keywords: the fields an EVTX record's System element gives (``event_rest`` without data,
    message and form), for a reader that remembers them per System element."""
    return event[4:14]


def _event(*fields: Any) -> Event:
    values = list(fields)
    values[14] = MappingProxyType(values[14])
    return Event(*values)


class Event(NamedTuple):
    """One normalised Windows event.

    ``data`` holds EventData/UserData fields in document order. Named
    ``<Data Name=...>`` fields keep their names; unnamed classic ``<Data>``
    items are numbered ``"1"``, ``"2"``, ... so ``%1``-style templates can be
    filled. Binary data is kept as upper-case hex under ``"Binary"``.

    Immutable as a named tuple rather than a frozen dataclass: a busy log makes one per record, and
    a tuple is made in a third of the time a frozen dataclass needs. ``event._replace(...)`` gives a
    changed copy.
    """

    source: str  # file path; for an archive member "archive.zip!member/path"
    locator: str  # where in the source: "record 1234", "chunk 3 record 1234", "line 17"
    record_id: int | None
    timestamp: datetime  # timezone-aware UTC
    channel: str
    provider: str
    event_id: int  # the 16-bit id; qualifiers are kept apart
    level: int | None = None
    computer: str = ""
    provider_guid: str | None = None  # "{1F678132-5938-4686-9FDC-C8FF68F15C85}" form, upper case
    qualifiers: int | None = None
    task: int | None = None
    task_name: str = ""  # text exports give only the name ("Task Category")
    keywords: str = ""  # "0x8000000000000000" form, or the text export's words
    data: Mapping[str, str] = MappingProxyType({})  # read-only, so one empty mapping serves every event
    message: str | None = None  # rendered text when the input carried one (XML RenderingInfo, text export)
    form: EventForm = "evtx"

    def __reduce__(self) -> tuple[Callable[..., Event], tuple[object, ...]]:
        """Picklable for worker processes: the read-only data mapping travels as a plain dict."""
        return (_event, (self.source, self.locator, self.record_id, self.timestamp, self.channel, self.provider,
                         self.event_id, self.level, self.computer, self.provider_guid, self.qualifiers, self.task,
                         self.task_name, self.keywords, dict(self.data), self.message, self.form))

    @property
    def level_name(self) -> str:
        return level_name(self.level)

    def to_dict(self) -> dict[str, Any]:
        """Stable, JSON-ready field set (UTC ISO-8601 time)."""
        return {
            "source": self.source,
            "locator": self.locator,
            "record_id": self.record_id,
            "timestamp": iso_utc(self.timestamp),
            "channel": self.channel,
            "provider": self.provider,
            "provider_guid": self.provider_guid,
            "event_id": self.event_id,
            "qualifiers": self.qualifiers,
            "level": self.level,
            "level_name": self.level_name,
            "computer": self.computer,
            "task": self.task,
            "task_name": self.task_name,
            "keywords": self.keywords,
            "data": dict(self.data),
            "message": self.message,
            "form": self.form,
        }


def iso_utc(ts: datetime) -> str:
    """ISO-8601 in UTC with a 'Z', microseconds only when present."""
    ts = ts.astimezone(timezone.utc)
    text = ts.strftime("%Y-%m-%dT%H:%M:%S")
    if ts.microsecond:
        text += f".{ts.microsecond:06d}"
    return text + "Z"



@dataclass(frozen=True, slots=True)
class Loss:
    """Records a reader could not read, and where. Nothing is dropped silently."""

    source: str
    where: str  # "chunk 7", "chunk 7 record 1234", "offset 0x1f000", "line 88"
    reason: str
    records: int | None = None  # how many records were lost there, when known


@dataclass(slots=True)
class FileReport:
    """What one input file gave: its form, size, how many records came out and what was lost."""

    source: str
    form: FileForm
    size: int = 0
    records: int = 0
    lost: list[Loss] = field(default_factory=list)
    error: str | None = None  # set when the whole file was unusable
    first: datetime | None = None
    last: datetime | None = None

    def saw(self, ts: datetime) -> None:
        if self.first is None or ts < self.first:
            self.first = ts
        if self.last is None or ts > self.last:
            self.last = ts


@dataclass(slots=True)
class ReadSummary:
    """Accumulates FileReports while a scan runs; views print it at the end."""

    files: list[FileReport] = field(default_factory=list)

    def add(self, report: FileReport) -> FileReport:
        self.files.append(report)
        return report

    @property
    def records(self) -> int:
        return sum(f.records for f in self.files)

    @property
    def losses(self) -> list[Loss]:
        return [loss for f in self.files for loss in f.lost]

    @property
    def records_lost(self) -> int:
        """Records known to be lost; losses of unknown size count once."""
        return sum(loss.records if loss.records is not None else 1 for loss in self.losses)

    @property
    def bytes(self) -> int:
        return sum(f.size for f in self.files)

    @property
    def span(self) -> tuple[datetime | None, datetime | None]:
        firsts = [f.first for f in self.files if f.first]
        lasts = [f.last for f in self.files if f.last]
        return (min(firsts) if firsts else None, max(lasts) if lasts else None)

    def one_line(self) -> str:
        lost = self.records_lost
        errors = sum(1 for f in self.files if f.error)
        text = f"{len(self.files)} file(s), {self.records} record(s) read, {lost} lost"
        if errors:
            text += f", {errors} file(s) unusable"
        return text
