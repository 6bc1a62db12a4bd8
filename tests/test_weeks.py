"""ISO weeks in a time zone, including DST changes and year ends."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.domain.weeks import Week, last_complete_week, parse_week, previous_weeks, week_of

BERLIN = ZoneInfo("Europe/Berlin")


def test_parse_and_print() -> None:
    assert str(parse_week("2026-W47")) == "2026-W47"
    assert parse_week(" 2026-W01 ") == Week(2026, 1)
    for bad in ("2026-47", "2026-W54", "W47", "2026-W5"):
        with pytest.raises(ValueError):
            parse_week(bad)
    assert parse_week("2026-W53") == Week(2026, 53)  # 2026 has 53 ISO weeks


def test_bounds_follow_local_midnight_across_dst() -> None:
    start, end = Week(2026, 44).bounds(BERLIN)  # Oct 26 – Nov 1; DST ended Oct 25
    assert start == datetime(2026, 10, 25, 23, 0, tzinfo=UTC)
    assert end == datetime(2026, 11, 1, 23, 0, tzinfo=UTC)
    start, end = Week(2026, 43).bounds(BERLIN)  # contains the change: 7 days minus... plus one hour
    assert (end - start).total_seconds() == 7 * 86400 + 3600


def test_week_of_and_last_complete_week() -> None:
    just_after_midnight = datetime(2026, 11, 22, 23, 30, tzinfo=UTC)  # Monday 00:30 in Berlin
    assert week_of(just_after_midnight, BERLIN) == Week(2026, 48)
    assert week_of(just_after_midnight, UTC) == Week(2026, 47)
    assert last_complete_week(just_after_midnight, BERLIN) == Week(2026, 47)
    assert week_of(datetime(2027, 1, 1, tzinfo=UTC), UTC) == Week(2026, 53)
    assert previous_weeks(Week(2027, 2), 3) == [Week(2026, 52), Week(2026, 53), Week(2027, 1)]
    assert Week(2026, 47).label() == "Nov 16–22"
    assert Week(2026, 49).label() == "Nov 30–Dec 6"
