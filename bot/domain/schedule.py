"""When a person's weekly digest is due: pure week-and-clock arithmetic, no I/O.

A person's send slot is a weekday and a minute after local midnight in their own time zone
(default Monday 09:00). Once the slot of their current local week has passed, they are due for
the week before it, the most recent complete week they have lived through. Facts are counted in
the organisation's ISO weeks, so that week must also have ended in the organisation's time zone.

Local times that do not exist (spring forward) or happen twice (fall back) are resolved with
``fold=0``: a missing 02:30 falls due when the clock jumps past it (03:30 local), an ambiguous
01:30 at its first occurrence, so the slot is never skipped and never counted twice.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta, tzinfo
from typing import Any

from bot.domain.weeks import Week, week_of

MINUTES_PER_DAY = 24 * 60


def check_slot(weekday: int, minute: int) -> None:
    if not 0 <= weekday <= 6:
        raise ValueError(f"weekday must be 0 (Monday) to 6 (Sunday), not {weekday}")
    if not 0 <= minute < MINUTES_PER_DAY:
        raise ValueError(f"minute must be 0 to {MINUTES_PER_DAY - 1} after midnight, not {minute}")


@dataclass(frozen=True)
class Schedule:
    """A weekly send slot: ``weekday`` 0 = Monday … 6 = Sunday, ``minute`` after local midnight."""

    weekday: int = 0
    minute: int = 9 * 60

    def __post_init__(self) -> None:
        check_slot(self.weekday, self.minute)

    def to_json(self) -> dict[str, int]:
        return {"weekday": self.weekday, "minute": self.minute}

    @classmethod
    def from_json(cls, value: Mapping[str, Any] | None) -> Schedule:
        """A schedule from its stored form; missing keys take the defaults."""
        if not value:
            return cls()
        default = cls()
        return cls(
            weekday=int(value.get("weekday", default.weekday)),
            minute=int(value.get("minute", default.minute)),
        )


DEFAULT_SCHEDULE = Schedule()


def personal_schedule(weekday: int | None, minute: int | None, default: Schedule) -> Schedule:
    """The person's own choice where they made one, the workspace default elsewhere."""
    return Schedule(
        weekday=default.weekday if weekday is None else weekday,
        minute=default.minute if minute is None else minute,
    )


def send_time(week: Week, tz: tzinfo, weekday: int, minute: int) -> datetime:
    """The UTC instant of the slot in ``week`` for someone living in ``tz``."""
    check_slot(weekday, minute)
    day = week.monday + timedelta(days=weekday)
    local = datetime.combine(day, time(minute // 60, minute % 60), tzinfo=tz).replace(fold=0)
    return local.astimezone(UTC)


def due_week(
    now_utc: datetime,
    person_tz: tzinfo,
    weekday: int,
    minute: int,
    *,
    org_tz: tzinfo = UTC,
) -> Week | None:
    """The week whose digest is due for this person at ``now_utc``, or ``None`` before their slot.

    The answer is the same for every instant between the slot and the next week's slot, so an
    hourly tick that missed hours (downtime) still finds the same week and catches up.
    """
    if now_utc.tzinfo is None:
        raise ValueError("now_utc must be timezone-aware")
    local_week = week_of(now_utc, person_tz)
    if now_utc < send_time(local_week, person_tz, weekday, minute):
        return None
    week = local_week.shift(-1)
    _, org_end = week.bounds(org_tz)
    if now_utc < org_end:  # the organisation's week has not ended yet (person far east of it)
        return None
    return week
