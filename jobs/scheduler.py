"""The one scheduler inside ``ai-roi serve``: APScheduler 3.x, configured on purpose.

UTC, an in-memory job store (it is not the source of truth: the delivery table is), one hourly
job with an explicit id, ``coalesce`` so missed runs collapse into one, ``max_instances=1`` so
ticks never overlap, a misfire grace measured in minutes, and a first tick right at start-up so
digests that fell due while the process was down go out now.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.context import AppContext
from jobs.digest_tick import TickReport, digest_tick

log = logging.getLogger(__name__)

DIGEST_TICK_ID = "digest_tick"
MISFIRE_GRACE_SECONDS = 30 * 60
SLACK_SYNC_ID = "slack_directory_sync"  # daily at 04:00 UTC, and once at start-up
RETENTION_ID = "retention_purge"  # daily at 03:30 UTC
PULL_TICK_ID = "pull_connectors"  # every few minutes: the pull sources that are due
PULL_TICK_MINUTES = 5
PARTITIONS_ID = "event_partitions"  # PostgreSQL: daily at 03:00 UTC, and once at start-up
DAILY_MISFIRE_GRACE_SECONDS = 6 * 60 * 60


def build_scheduler() -> BackgroundScheduler:
    return BackgroundScheduler(
        timezone=UTC,
        job_defaults={
            "coalesce": True,
            "max_instances": 1,
            "misfire_grace_time": MISFIRE_GRACE_SECONDS,
        },
    )


def add_digest_tick(
    scheduler: BackgroundScheduler,
    tick: Callable[[], object],
    *,
    first_run: datetime | None = None,
) -> None:
    """The hourly tick (at minute 0, UTC), first run at ``first_run`` (default: right away)."""
    scheduler.add_job(
        tick,
        CronTrigger(minute=0, timezone=UTC),
        id=DIGEST_TICK_ID,
        name="weekly digests that are due",
        replace_existing=True,
        coalesce=True,
        max_instances=1,
        misfire_grace_time=MISFIRE_GRACE_SECONDS,
        next_run_time=first_run or datetime.now(UTC),
    )


def add_daily_jobs(
    scheduler: BackgroundScheduler, context: AppContext, *, first_sync: datetime | None = None
) -> None:
    """The retention purge every day; with a bot token, the Slack directory sync every day and
    right away (``first_sync``, default now), so people and time zones are there from the start."""
    from jobs.retention import run_retention_safely
    from jobs.slack_sync import run_slack_sync_safely

    scheduler.add_job(
        run_retention_safely,
        CronTrigger(hour=3, minute=30, timezone=UTC),
        args=[context],
        id=RETENTION_ID,
        name="purge raw events past the retention period",
        replace_existing=True,
        coalesce=True,
        max_instances=1,
        misfire_grace_time=DAILY_MISFIRE_GRACE_SECONDS,
    )
    if context.settings.slack_bot_token:
        scheduler.add_job(
            run_slack_sync_safely,
            CronTrigger(hour=4, minute=0, timezone=UTC),
            args=[context],
            id=SLACK_SYNC_ID,
            name="people, time zones and user-group teams from Slack",
            replace_existing=True,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=DAILY_MISFIRE_GRACE_SECONDS,
            next_run_time=first_sync or datetime.now(UTC),
        )


def add_pull_tick(
    scheduler: BackgroundScheduler, context: AppContext, *, first_run: datetime | None = None
) -> bool:
    """When any pull connector is configured: a tick every few minutes (first right away) that
    pulls each source whose own interval has passed (``jobs.pull``). Whether it was added."""
    from bot.connectors import CONNECTORS
    from jobs.pull import run_pull_tick_safely

    if not any(c.configured(context.settings) for c in CONNECTORS):
        return False
    scheduler.add_job(
        run_pull_tick_safely,
        IntervalTrigger(minutes=PULL_TICK_MINUTES, timezone=UTC),
        args=[context],
        id=PULL_TICK_ID,
        name="pull connectors that are due",
        replace_existing=True,
        coalesce=True,
        max_instances=1,
        misfire_grace_time=MISFIRE_GRACE_SECONDS,
        next_run_time=first_run or datetime.now(UTC),
    )
    return True


def add_partition_upkeep(
    scheduler: BackgroundScheduler, context: AppContext, *, first_run: datetime | None = None
) -> bool:
    """On PostgreSQL: the event partitions of this month and the next ones, made daily and right
    away (``jobs.partitions``). Whether it was added (not on SQLite, which has no partitions)."""
    from jobs.partitions import run_partition_upkeep_safely

    if context.engine.dialect.name != "postgresql":
        return False
    scheduler.add_job(
        run_partition_upkeep_safely,
        CronTrigger(hour=3, minute=0, timezone=UTC),
        args=[context],
        id=PARTITIONS_ID,
        name="event partitions for the months ahead",
        replace_existing=True,
        coalesce=True,
        max_instances=1,
        misfire_grace_time=DAILY_MISFIRE_GRACE_SECONDS,
        next_run_time=first_run or datetime.now(UTC),
    )
    return True


def run_tick_safely(context: AppContext, stopping: threading.Event) -> TickReport | None:
    """A tick that logs its failure with the traceback and lets the next tick try again."""
    try:
        return digest_tick(context, stopping=stopping)
    except Exception:
        log.exception("digest tick failed; the next tick retries")
        return None


class DigestScheduler:
    """The running scheduler and the flag that tells an in-flight tick to stop between people."""

    def __init__(self, scheduler: BackgroundScheduler, stopping: threading.Event) -> None:
        self.scheduler = scheduler
        self.stopping = stopping

    def shutdown(self, *, wait: bool = True) -> None:
        self.stopping.set()
        if self.scheduler.running:
            self.scheduler.shutdown(wait=wait)


def start_scheduler(
    context: AppContext,
    *,
    tick: Callable[[threading.Event], object] | None = None,
) -> DigestScheduler:
    """Build, schedule and start the digest tick in a background thread (first run now).

    ``tick`` replaces the default tick (tests); it receives the stop flag."""
    stopping = threading.Event()
    scheduler = build_scheduler()
    run = tick or (lambda flag: run_tick_safely(context, flag))
    add_digest_tick(scheduler, lambda: run(stopping))
    add_daily_jobs(scheduler, context)
    pulling = add_pull_tick(scheduler, context)
    partitioned = add_partition_upkeep(scheduler, context)
    scheduler.start()
    log.info(
        "scheduler started: digest tick now and at every full hour (UTC); retention purge daily%s%s%s",
        "; Slack directory sync now and daily" if context.settings.slack_bot_token else "",
        "; pull connectors now and every 5 minutes when due" if pulling else "",
        "; event partitions for the months ahead now and daily" if partitioned else "",
    )
    return DigestScheduler(scheduler, stopping)


def stop_scheduler(running: DigestScheduler, *, wait: bool = True) -> None:
    """Stop ticking; an in-flight tick finishes the person it is sending to, then stops."""
    running.shutdown(wait=wait)
