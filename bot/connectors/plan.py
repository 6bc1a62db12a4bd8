"""Pure planning for the pull connectors: which days a run asks for, the checkpoint it leaves,
the watermark the vendor's freshness rule allows, and when a source is due again.

Plain values in and out: no database, no network, no clock (``now`` and ``today`` are passed in).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

MAX_BACKOFF = timedelta(hours=24)  # a failing source is tried at least once a day


@dataclass(frozen=True)
class Window:
    """The days one run fetches, ``first`` to ``last`` inclusive (UTC days)."""

    first: date
    last: date

    @property
    def start(self) -> datetime:
        """Midnight UTC at the start of ``first``."""
        return midnight(self.first)

    @property
    def end(self) -> datetime:
        """Midnight UTC after ``last`` (exclusive end, as the vendors' ``end_time`` is)."""
        return midnight(self.last + timedelta(days=1))

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    def each_day(self) -> Iterator[date]:
        for offset in range(self.days):
            yield self.first + timedelta(days=offset)

    def chunks(self, max_days: int) -> Iterator[Window]:
        """Consecutive windows of at most ``max_days`` days covering this one."""
        if max_days < 1:
            raise ValueError("max_days must be at least 1")
        first = self.first
        while first <= self.last:
            last = min(self.last, first + timedelta(days=max_days - 1))
            yield Window(first, last)
            first = last + timedelta(days=1)


def midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


def checkpoint_through(checkpoint: Mapping[str, Any] | None) -> date | None:
    """The last day a previous run fetched, or ``None`` (no run yet, or a checkpoint this
    version cannot read: then the source backfills again, which upserts and never doubles)."""
    if not checkpoint:
        return None
    value = checkpoint.get("through")
    if not isinstance(value, str):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def plan_window(
    *,
    today: date,
    through: date | None,
    trailing_days: int,
    backfill_days: int,
    since: date | None = None,
    until: date | None = None,
) -> Window:
    """The days to fetch: from ``since`` when given; else from the day after the checkpoint, but
    never later than ``trailing_days`` before today (vendors restate recent days); a first run
    reaches back ``backfill_days``. It ends at ``until`` or today (today is partial, and fetched
    again next time). ``ValueError`` when ``since`` is after the end."""
    last = min(until, today) if until is not None else today
    if since is not None:
        first = since
    elif through is None:
        first = today - timedelta(days=backfill_days)
    else:
        first = min(through + timedelta(days=1), today - timedelta(days=trailing_days))
    if first > last:
        raise ValueError(f"nothing to fetch: {first.isoformat()} is after {last.isoformat()}")
    return Window(first, last)


def next_checkpoint(
    previous: Mapping[str, Any] | None, window: Window, **extra: Any
) -> dict[str, Any]:
    """The checkpoint after a successful run of ``window``: ``through`` never moves back (a
    backfill of old days does not make the next run fetch recent days again)."""
    through = checkpoint_through(previous)
    last = window.last if through is None else max(through, window.last)
    kept = {k: v for k, v in (previous or {}).items() if k != "through"}
    return {**kept, **extra, "through": last.isoformat()}


def daily_watermark(window: Window, *, now: datetime, lag: timedelta) -> datetime:
    """Complete through: the end of the last day of ``window`` whose data the vendor has
    finished, i.e. whose midnight is at least ``lag`` ago (a day bucket is final once it ended
    and the vendor's aggregation delay has passed)."""
    finished = midnight((now - lag).astimezone(UTC).date())
    return min(window.end, finished)


def hourly_watermark(window: Window, *, now: datetime, lag: timedelta) -> datetime:
    """Complete through: the start of the last hour the vendor has aggregated (the hour that
    began at least ``lag`` before ``now``), never past the window's end."""
    aggregated = (now - lag).astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    return min(window.end, aggregated)


def is_due(
    *,
    now: datetime,
    interval: timedelta,
    last_run_at: datetime | None,
    consecutive_failures: int,
) -> bool:
    """A source is due ``interval`` after its last run; after failures the wait doubles each
    time, up to a day, so a refused credential never becomes a retry storm."""
    if last_run_at is None:
        return True
    wait = interval
    if consecutive_failures > 0:
        doublings = min(consecutive_failures - 1, 32)  # past a day long before this
        wait = min(interval * 2**doublings, max(MAX_BACKOFF, interval))
    return now >= last_run_at + wait
