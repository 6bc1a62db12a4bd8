"""The daily partition upkeep on PostgreSQL (``bot.store.partitions``): every month from the one
the retention cutoff falls in to ``MONTHS_AHEAD`` after the current one has its partition before
events of it arrive (a backfill within the retention period included), and rows that waited in
the default partition for one of those months move into it. SQLite: nothing to do.

One month per transaction, each waiting at most ``partitions.LOCK_TIMEOUT`` for its locks; a
month that could not be made is tried again on the next run (its events wait in the default
partition meanwhile, and nothing is lost). The retention purge takes the same advisory lock, so
the two never change the partitions at once.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.context import AppContext
from bot.store import partitions, retention
from bot.store.db import transaction
from bot.store.partitions import MONTHS_AHEAD, Month
from bot.store.workspace import retention_days
from jobs.retention import PURGE_LOCK_KEY

log = logging.getLogger(__name__)


def months_wanted(engine: Engine, *, now: datetime) -> list[Month]:
    """The months that should have a partition at ``now`` (those already made included): from
    the one the retention cutoff falls in (a backfill of the retention period lands in its own
    month) to ``MONTHS_AHEAD`` after the current one."""
    with Session(engine) as session:
        if not partitions.is_partitioned(session.connection()):
            return []
        oldest = Month.of(now - timedelta(days=retention_days(session)))
    last = Month.of(now).shift(MONTHS_AHEAD)
    wanted = [oldest]
    while wanted[-1] < last:
        wanted.append(wanted[-1].shift(1))
    return wanted


def make_partitions(engine: Engine, *, now: datetime) -> list[Month]:
    """Make the partitions ``months_wanted`` lists that are missing; the months made."""
    made: list[Month] = []
    for month in months_wanted(engine, now=now):
        with transaction(engine) as session:
            retention.lock_purge(session, PURGE_LOCK_KEY)
            connection = session.connection()
            partitions.lock_ddl(connection)
            if partitions.create_month(connection, month):
                made.append(month)
    if made:
        log.info("event partitions made: %s", ", ".join(month.table for month in made))
    return made


def run_partition_upkeep(context: AppContext) -> list[Month]:
    return make_partitions(context.engine, now=context.clock())


def run_partition_upkeep_safely(context: AppContext) -> list[Month] | None:
    """The scheduled run: logs a failure with its traceback; the next run tries again."""
    try:
        return run_partition_upkeep(context)
    except Exception:
        log.exception("event partition upkeep failed; the next daily run retries")
        return None
