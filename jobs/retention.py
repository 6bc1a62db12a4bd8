"""The daily retention purge (DESIGN §5.5): raw events older than the retention period go; each
person's weekly totals stay.

Week by week, oldest first, one transaction per week: the events about to go are folded into
``weekly_totals`` (``bot.store.retention``), deleted in batches, and the artifacts that lost their
last event are deleted with them. A crash leaves whole weeks either purged and counted or
untouched. On PostgreSQL a transaction-scoped advisory lock keeps two replicas from folding the
same week twice.

On PostgreSQL events are partitioned by month (``bot.store.partitions``), and they go a month at
a time: the horizon is the start of the UTC month the cutoff falls in, and each month partition
wholly before it is folded week by week (an ISO week cut by a month boundary is folded in two
parts, each added once) and dropped, in one transaction that holds off writes to that month.
Rows before the horizon that sit in the default partition (a late backfill) go week by week as
on SQLite. So an event is kept until its whole month is past the retention period: at most a
month longer than on SQLite, and never less; the report's ``cutoff`` is that month's start.

Each run that purged anything is written to the audit log as ``retention.purge`` with its
counts. ``ai-roi db purge [--dry-run]`` runs it on demand.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, tzinfo

from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.context import AppContext
from bot.domain.weeks import week_of
from bot.store import audit, partitions, retention
from bot.store.db import transaction
from bot.store.partitions import Month
from bot.store.workspace import retention_days

log = logging.getLogger(__name__)

BATCH_SIZE = 5_000
PURGE_LOCK_KEY = 0x41_49_52_4F_50  # "AIROP": one purge of a week at a time (PostgreSQL)
ACTOR = "retention"


@dataclass
class PurgeReport:
    cutoff: datetime
    retention_days: int
    dry_run: bool = False
    events: int = 0
    person_weeks: int = 0
    artifacts: int = 0
    weeks: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, object]:
        data = asdict(self)
        data["cutoff"] = self.cutoff.isoformat()
        return data

    def summary(self) -> str:
        verb = "would purge" if self.dry_run else "purged"
        weeks = (
            f" in {len(self.weeks)} weeks ({self.weeks[0]}…{self.weeks[-1]})" if self.weeks else ""
        )
        kept = "" if self.dry_run else f"; {self.person_weeks} weekly totals updated"
        return (
            f"retention {self.retention_days} days (before {self.cutoff:%Y-%m-%d %H:%M} UTC): "
            f"{verb} {self.events} events{weeks} and {self.artifacts} artifacts{kept}"
        )


def purge_events(
    engine: Engine,
    *,
    now: datetime,
    tz: tzinfo,
    dry_run: bool = False,
    batch_size: int = BATCH_SIZE,
    actor: str = ACTOR,
) -> PurgeReport:
    """Purge events older than the workspace's retention period as of ``now``."""
    with Session(engine) as session:
        days = retention_days(session)
        by_month = partitions.is_partitioned(session.connection())
    cutoff = now - timedelta(days=days)
    if by_month:
        cutoff = Month.of(cutoff).start
    report = PurgeReport(cutoff=cutoff, retention_days=days, dry_run=dry_run)
    if dry_run:
        with Session(engine) as session:
            report.events, _, report.artifacts = retention.count_before(session, report.cutoff)
            report.weeks = _weeks_before(session, report.cutoff, tz)
        return report
    while by_month and _drop_oldest_month(engine, report, now=now, tz=tz, batch_size=batch_size):
        pass
    while _purge_oldest_week(engine, report, now=now, tz=tz, batch_size=batch_size):
        pass
    if report.events:
        with transaction(engine) as session:
            audit.record(
                session,
                actor=actor,
                action=audit.RETENTION_PURGE,
                target="events",
                details=report.to_json(),
                now=now,
            )
    return report


def _purge_oldest_week(
    engine: Engine, report: PurgeReport, *, now: datetime, tz: tzinfo, batch_size: int
) -> bool:
    """Fold and delete the oldest week's events before the cutoff; False when none are left."""
    with transaction(engine) as session:
        retention.lock_purge(session, PURGE_LOCK_KEY)
        oldest = retention.oldest_event_before(session, report.cutoff)
        if oldest is None:
            return False
        week = week_of(oldest, tz)
        week_start, week_end = week.bounds(tz)
        end = min(week_end, report.cutoff)
        max_id = retention.last_event_id(session, week_start, end)
        if max_id is None:  # pragma: no cover - the oldest event is in this range
            return False
        purge = retention.PurgeRange(str(week), week_start, week_end, week_start, end, max_id)
        report.person_weeks += retention.fold_into_weekly_totals(session, purge, now=now)
        artifact_ids = retention.artifacts_in(session, purge)
        report.events += retention.delete_events(session, purge, batch_size=batch_size)
        report.artifacts += retention.delete_orphaned_artifacts(
            session, artifact_ids, batch_size=batch_size
        )
        if str(week) not in report.weeks:
            report.weeks.append(str(week))
    return True


def _drop_oldest_month(
    engine: Engine, report: PurgeReport, *, now: datetime, tz: tzinfo, batch_size: int
) -> bool:
    """Fold the oldest month partition wholly before the horizon into the weekly totals and drop
    it; False when there is none.

    The month is locked against writes first (reads go on), so no row arrives or changes between
    the fold and the drop; the drop itself needs ``events`` to itself for a moment. Each lock is
    waited for at most ``partitions.LOCK_TIMEOUT``: past it (or if PostgreSQL finds a deadlock
    with a writer waiting on the month) the whole transaction rolls back, fold included, and the
    next run tries again."""
    with transaction(engine) as session:
        retention.lock_purge(session, PURGE_LOCK_KEY)
        connection = session.connection()
        expired = [m for m in partitions.months(connection) if m.end <= report.cutoff]
        if not expired:
            return False
        month = expired[0]
        partitions.lock_ddl(connection)
        partitions.lock_month(connection, month)
        artifact_ids: set[int] = set()
        week = week_of(month.start, tz)
        while (bounds := week.bounds(tz))[0] < month.end:
            start, end = max(bounds[0], month.start), min(bounds[1], month.end)
            max_id = retention.last_event_id(session, start, end)
            if max_id is not None:
                purge = retention.PurgeRange(str(week), *bounds, start, end, max_id)
                report.person_weeks += retention.fold_into_weekly_totals(session, purge, now=now)
                artifact_ids.update(retention.artifacts_in(session, purge))
                if str(week) not in report.weeks:
                    report.weeks.append(str(week))
            week = week.shift(1)
        report.events += partitions.count_rows(connection, month)
        partitions.drop_month(connection, month)
        report.artifacts += retention.delete_orphaned_artifacts(
            session, sorted(artifact_ids), batch_size=batch_size
        )
        log.info("retention: dropped the events of %s (partition %s)", month, month.table)
    return True


def _weeks_before(session: Session, cutoff: datetime, tz: tzinfo) -> list[str]:
    weeks: list[str] = []
    oldest = retention.oldest_event_before(session, cutoff)
    while oldest is not None and oldest < cutoff:
        week = week_of(oldest, tz)
        weeks.append(str(week))
        next_start = week.shift(1).bounds(tz)[0]
        oldest = retention.oldest_event_between(session, next_start, cutoff)
    return weeks


def run_retention(context: AppContext, *, dry_run: bool = False) -> PurgeReport:
    """The purge as of the context's clock; on PostgreSQL the months ahead are made first
    (``jobs.partitions``), so ``ai-roi db purge`` run from cron keeps them too. A month that
    cannot be made now (logged) does not hold up the purge."""
    if not dry_run:
        from jobs.partitions import run_partition_upkeep_safely

        run_partition_upkeep_safely(context)
    return purge_events(
        context.engine, now=context.clock(), tz=context.settings.timezone, dry_run=dry_run
    )


def run_retention_safely(context: AppContext) -> PurgeReport | None:
    """The scheduled run: logs a failure with its traceback; tomorrow's run tries again."""
    try:
        report = run_retention(context)
    except Exception:
        log.exception("retention purge failed; the next daily run retries")
        return None
    log.info("%s", report.summary())
    return report
