"""ISO-week arithmetic in an organisation's time zone.

A week is ``YYYY-Www`` (ISO 8601): Monday 00:00 to the next Monday 00:00 local time. Instants are
timezone-aware; what leaves this module for storage is UTC.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo

_WEEK_RE = re.compile(r"^(\d{4})-W(\d{2})$")


@dataclass(frozen=True, order=True)
class Week:
    """An ISO week: ``Week(2026, 47)`` prints as ``2026-W47``."""

    year: int
    number: int

    def __str__(self) -> str:
        return f"{self.year:04d}-W{self.number:02d}"

    @property
    def monday(self) -> date:
        return date.fromisocalendar(self.year, self.number, 1)

    @property
    def sunday(self) -> date:
        return date.fromisocalendar(self.year, self.number, 7)

    def shift(self, weeks: int) -> Week:
        return week_of_date(self.monday + timedelta(weeks=weeks))

    def bounds(self, tz: tzinfo) -> tuple[datetime, datetime]:
        """The week's [start, end) as UTC instants, for Monday 00:00 local time in ``tz``."""
        start = datetime.combine(self.monday, time(0), tzinfo=tz)
        end = datetime.combine(self.monday + timedelta(days=7), time(0), tzinfo=tz)
        return start.astimezone(UTC), end.astimezone(UTC)

    def label(self) -> str:
        """A human label such as ``Nov 16–22``."""
        first, last = self.monday, self.sunday
        if first.month == last.month:
            return f"{first:%b} {first.day}–{last.day}"
        return f"{first:%b} {first.day}–{last:%b} {last.day}"


def parse_week(text: str) -> Week:
    """Parse ``YYYY-Www``; raise ``ValueError`` with a readable message otherwise."""
    match = _WEEK_RE.match(text.strip())
    if not match:
        raise ValueError(f"week must look like 2026-W47, not {text!r}")
    year, number = int(match.group(1)), int(match.group(2))
    try:
        date.fromisocalendar(year, number, 1)
    except ValueError:
        raise ValueError(f"{text!r} is not a week of {year}") from None
    return Week(year, number)


def week_of_date(day: date) -> Week:
    iso = day.isocalendar()
    return Week(iso.year, iso.week)


def week_of(instant: datetime, tz: tzinfo) -> Week:
    """The ISO week that contains ``instant`` in the local time of ``tz``."""
    if instant.tzinfo is None:
        raise ValueError("instant must be timezone-aware")
    return week_of_date(instant.astimezone(tz).date())


def last_complete_week(now: datetime, tz: tzinfo) -> Week:
    """The most recent week that has fully ended at ``now`` in ``tz``."""
    return week_of(now, tz).shift(-1)


def previous_weeks(week: Week, count: int) -> list[Week]:
    """The ``count`` weeks before ``week``, oldest first."""
    return [week.shift(-offset) for offset in range(count, 0, -1)]
