"""The one parser of user-given times, and that `events --since/--until`, `stores --at` and the TUI filter
all use it (the same text means the same instant everywhere, and a bad one is refused everywhere)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from tlsdiag.cli import main
from tlsdiag.tui.filtering import FilterError, parse_filter
from tlsdiag.usertime import parse_user_time

UTC = timezone.utc


@pytest.mark.parametrize(("text", "expected"), [
    ("2026-11-27", datetime(2026, 11, 27, tzinfo=UTC)),
    ("2026-11-27T08:00", datetime(2026, 11, 27, 8, tzinfo=UTC)),
    ("2026-11-27 08:00:05", datetime(2026, 11, 27, 8, 0, 5, tzinfo=UTC)),
    ("2026-11-27T08:00:05Z", datetime(2026, 11, 27, 8, 0, 5, tzinfo=UTC)),
    ("2026-11-27t08:00:05z", datetime(2026, 11, 27, 8, 0, 5, tzinfo=UTC)),
    ("2026-11-27T08:00:05.1234567Z", datetime(2026, 11, 27, 8, 0, 5, 123456, tzinfo=UTC)),  # Windows' 7 digits
    ("2026-11-27T09:00+01:00", datetime(2026, 11, 27, 8, tzinfo=UTC)),
    ("2026-11-27T03:00-0500", datetime(2026, 11, 27, 8, tzinfo=UTC)),
    ("  2026-11-27T08:00Z  ", datetime(2026, 11, 27, 8, tzinfo=UTC)),
])
def test_forms_a_user_types(text: str, expected: datetime) -> None:
    got = parse_user_time(text)
    assert got == expected and got.utcoffset() == timedelta(0)


@pytest.mark.parametrize("text", ["yesterday", "2026-13-01", "2026-02-30", "2026-11-27T25:00", "27.11.2026",
                                  "2026-11-27T08", "2026-11-27T08:00+24:00", "", "2026-11-27T08:00 junk",
                                  "2026-11-27T09:00+01:99", "2026-11-27T09:00-0560"])  # offset minutes 0..59
def test_bad_times_are_refused_with_the_forms_named(text: str) -> None:
    with pytest.raises(ValueError, match=r"ISO-8601|valid date|offset"):
        parse_user_time(text)


def test_every_command_refuses_the_same_bad_time(tmp_path, capsys) -> None:
    with pytest.raises(FilterError, match="since"):
        parse_filter("since:27.11.2026")
    for argv in (["events", "--since", "27.11.2026", str(tmp_path)], ["stores", "--at", "27.11.2026", str(tmp_path)]):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert "not an ISO-8601 date or time" in err and f"{argv[1]} 27.11.2026" in err  # names the option


def test_the_tui_filter_reads_a_time_as_the_commands_do() -> None:
    flt = parse_filter("since:2026-11-27T09:00+01:00 until:2026-11-28")
    assert flt.since == parse_user_time("2026-11-27T08:00Z") and flt.until == datetime(2026, 11, 28, tzinfo=UTC)
