"""When a digest is due: each person's local send time, org-timezone weeks, DST, catch-up."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest

from bot.domain.schedule import (
    DEFAULT_SCHEDULE,
    Schedule,
    due_week,
    personal_schedule,
    send_time,
)
from bot.domain.weeks import Week

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
TOKYO = ZoneInfo("Asia/Tokyo")
LOS_ANGELES = ZoneInfo("America/Los_Angeles")
MONDAY_9 = (0, 9 * 60)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_due_once_the_send_time_has_passed_and_for_the_rest_of_the_week() -> None:
    # Monday 2026-11-23 starts W48; the digest is about W47 (Nov 16–22).
    assert due_week(utc(2026, 11, 23, 8, 59), UTC, *MONDAY_9) is None
    assert due_week(utc(2026, 11, 23, 9, 0), UTC, *MONDAY_9) == Week(2026, 47)
    assert due_week(utc(2026, 11, 25, 12, 0), UTC, *MONDAY_9) == Week(2026, 47)
    assert due_week(utc(2026, 11, 29, 23, 59), UTC, *MONDAY_9) == Week(2026, 47)
    # the next Monday, before 09:00: nothing new yet; after: the next week
    assert due_week(utc(2026, 11, 30, 8, 0), UTC, *MONDAY_9) is None
    assert due_week(utc(2026, 11, 30, 9, 0), UTC, *MONDAY_9) == Week(2026, 48)


def test_default_is_monday_nine_and_the_person_may_choose() -> None:
    assert Schedule(weekday=0, minute=540) == DEFAULT_SCHEDULE
    assert personal_schedule(None, None, DEFAULT_SCHEDULE) == DEFAULT_SCHEDULE
    assert personal_schedule(4, None, DEFAULT_SCHEDULE) == Schedule(4, 540)
    assert personal_schedule(None, 0, DEFAULT_SCHEDULE) == Schedule(0, 0)
    assert Schedule.from_json({"weekday": 2, "minute": 615}) == Schedule(2, 615)
    assert Schedule.from_json({"minute": 480}) == Schedule(0, 480)
    assert Schedule.from_json(None) == DEFAULT_SCHEDULE
    assert Schedule(3, 75).to_json() == {"weekday": 3, "minute": 75}


def test_custom_weekday_and_minute() -> None:
    friday_1730 = (4, 17 * 60 + 30)
    assert due_week(utc(2026, 11, 23, 9, 0), UTC, *friday_1730) is None  # Monday
    assert due_week(utc(2026, 11, 27, 17, 29), UTC, *friday_1730) is None
    assert due_week(utc(2026, 11, 27, 17, 30), UTC, *friday_1730) == Week(2026, 47)
    assert due_week(utc(2026, 11, 29, 23, 0), UTC, *friday_1730) == Week(2026, 47)
    midnight_monday = (0, 0)
    assert due_week(utc(2026, 11, 23, 0, 0), UTC, *midnight_monday) == Week(2026, 47)
    assert due_week(utc(2026, 11, 22, 23, 59), UTC, *midnight_monday) == Week(2026, 46)


def test_invalid_slots_and_naive_now_are_refused() -> None:
    with pytest.raises(ValueError, match="weekday"):
        due_week(utc(2026, 11, 23), UTC, 7, 0)
    with pytest.raises(ValueError, match="minute"):
        due_week(utc(2026, 11, 23), UTC, 0, 1440)
    with pytest.raises(ValueError, match="minute"):
        Schedule(0, -1)
    with pytest.raises(ValueError, match="aware"):
        due_week(datetime(2026, 11, 23, 9), UTC, *MONDAY_9)


def test_send_time_is_local_in_the_persons_zone() -> None:
    assert send_time(Week(2026, 48), BERLIN, *MONDAY_9) == utc(2026, 11, 23, 8, 0)  # CET
    assert send_time(Week(2026, 48), NEW_YORK, *MONDAY_9) == utc(2026, 11, 23, 14, 0)  # EST
    assert send_time(Week(2026, 48), TOKYO, *MONDAY_9) == utc(2026, 11, 23, 0, 0)


@pytest.mark.parametrize(
    ("zone", "monday_before", "before_utc_hour", "monday_after", "after_utc_hour"),
    [
        # Berlin springs forward on Sunday 2026-03-29: 09:00 is 08:00 UTC, then 07:00 UTC.
        (BERLIN, (2026, 3, 23), 8, (2026, 3, 30), 7),
        # … and falls back on Sunday 2026-10-25: 09:00 is 07:00 UTC, then 08:00 UTC.
        (BERLIN, (2026, 10, 19), 7, (2026, 10, 26), 8),
        # New York springs forward on Sunday 2026-03-08: 14:00 UTC, then 13:00 UTC.
        (NEW_YORK, (2026, 3, 2), 14, (2026, 3, 9), 13),
        # … and falls back on Sunday 2026-11-01: 13:00 UTC, then 14:00 UTC.
        (NEW_YORK, (2026, 10, 26), 13, (2026, 11, 2), 14),
    ],
)
def test_local_nine_oclock_follows_a_dst_change(
    zone: ZoneInfo,
    monday_before: tuple[int, int, int],
    before_utc_hour: int,
    monday_after: tuple[int, int, int],
    after_utc_hour: int,
) -> None:
    for day, hour in ((monday_before, before_utc_hour), (monday_after, after_utc_hour)):
        slot = utc(*day, hour)
        expected = Week(*slot.isocalendar()[:2]).shift(-1)
        assert due_week(slot - timedelta(minutes=1), zone, *MONDAY_9) is None
        assert due_week(slot, zone, *MONDAY_9) == expected
        assert slot.astimezone(zone).hour == 9


def test_a_send_time_that_does_not_exist_falls_due_when_the_clock_jumps_past_it() -> None:
    sunday_0230 = (6, 2 * 60 + 30)
    # Berlin 2026-03-29: 02:00 CET jumps to 03:00 CEST; 02:30 never happens. Due at 01:30 UTC.
    assert due_week(utc(2026, 3, 29, 1, 29), BERLIN, *sunday_0230) is None
    assert due_week(utc(2026, 3, 29, 1, 30), BERLIN, *sunday_0230) == Week(2026, 12)
    assert utc(2026, 3, 29, 1, 30).astimezone(BERLIN).strftime("%H:%M") == "03:30"
    # New York 2026-03-08: 02:30 never happens; due at 03:30 EDT = 07:30 UTC.
    assert due_week(utc(2026, 3, 8, 7, 29), NEW_YORK, *sunday_0230) is None
    assert due_week(utc(2026, 3, 8, 7, 30), NEW_YORK, *sunday_0230) == Week(2026, 9)


def test_a_send_time_that_happens_twice_counts_at_its_first_occurrence_only() -> None:
    # Berlin 2026-10-25: 02:30 happens at 00:30 UTC (CEST) and again at 01:30 UTC (CET).
    sunday_0230 = (6, 2 * 60 + 30)
    assert due_week(utc(2026, 10, 25, 0, 29), BERLIN, *sunday_0230) is None
    assert due_week(utc(2026, 10, 25, 0, 30), BERLIN, *sunday_0230) == Week(2026, 42)
    assert due_week(utc(2026, 10, 25, 1, 30), BERLIN, *sunday_0230) == Week(2026, 42)
    # New York 2026-11-01: 01:30 happens at 05:30 UTC (EDT) and at 06:30 UTC (EST).
    sunday_0130 = (6, 90)
    assert due_week(utc(2026, 11, 1, 5, 29), NEW_YORK, *sunday_0130) is None
    assert due_week(utc(2026, 11, 1, 5, 30), NEW_YORK, *sunday_0130) == Week(2026, 43)


def test_the_org_week_must_have_ended_for_someone_east_of_the_org() -> None:
    # Tokyo Monday 09:00 is Sunday 16:00 in Los Angeles: the org's W47 is still running.
    assert due_week(utc(2026, 11, 23, 0, 0), TOKYO, *MONDAY_9, org_tz=LOS_ANGELES) is None
    assert due_week(utc(2026, 11, 23, 7, 59), TOKYO, *MONDAY_9, org_tz=LOS_ANGELES) is None
    # W47 ends Monday 00:00 in Los Angeles = 08:00 UTC.
    assert due_week(utc(2026, 11, 23, 8, 0), TOKYO, *MONDAY_9, org_tz=LOS_ANGELES) == Week(2026, 47)


def test_the_send_time_is_the_persons_not_the_orgs() -> None:
    # Someone in Los Angeles in a Tokyo organisation: W47 ended Sunday 15:00 UTC in Tokyo,
    # but their Monday 09:00 is 17:00 UTC.
    assert due_week(utc(2026, 11, 23, 16, 59), LOS_ANGELES, *MONDAY_9, org_tz=TOKYO) is None
    assert due_week(utc(2026, 11, 23, 17, 0), LOS_ANGELES, *MONDAY_9, org_tz=TOKYO) == Week(
        2026, 47
    )
    # Berlin person, UTC organisation: 08:00 UTC, an hour before a UTC colleague.
    assert due_week(utc(2026, 11, 23, 8, 0), BERLIN, *MONDAY_9) == Week(2026, 47)
    assert due_week(utc(2026, 11, 23, 8, 0), UTC, *MONDAY_9) is None


def test_week_53_and_the_new_year() -> None:
    # 2026 has 53 ISO weeks; W53 runs Dec 28 2026 – Jan 3 2027.
    assert due_week(utc(2027, 1, 4, 9, 0), UTC, *MONDAY_9) == Week(2026, 53)
    assert due_week(utc(2026, 12, 28, 9, 0), UTC, *MONDAY_9) == Week(2026, 52)


@pytest.mark.parametrize(
    ("zone", "org", "slot"),
    [
        (BERLIN, UTC, MONDAY_9),
        (NEW_YORK, UTC, MONDAY_9),
        (BERLIN, BERLIN, (6, 150)),  # a Sunday slot inside both DST gaps/overlaps
        (NEW_YORK, BERLIN, (6, 90)),
        (TOKYO, LOS_ANGELES, MONDAY_9),
        (LOS_ANGELES, TOKYO, (4, 1439)),
    ],
)
def test_hourly_ticks_over_a_year_find_every_week_once_and_in_order(
    zone: ZoneInfo, org: ZoneInfo, slot: tuple[int, int]
) -> None:
    """Ticking every hour for a year (two DST changes) yields each week, in order, none missed."""
    start = utc(2026, 1, 5, 0, 0)
    seen: list[Week] = []
    for hour in range(365 * 24):
        week = due_week(start + timedelta(hours=hour), zone, *slot, org_tz=org)
        if week is not None and (not seen or seen[-1] != week):
            seen.append(week)
    assert seen == sorted(set(seen))
    assert all(later == earlier.shift(1) for earlier, later in pairwise(seen))
    assert len(seen) >= 51
