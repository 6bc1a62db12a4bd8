"""The daily partition upkeep on PostgreSQL (``bot.store.partitions``): the current month and the
next ``MONTHS_AHEAD`` get their partitions before any event of theirs arrives, and rows waiting
in the default partition for a month still inside the retention period move into a partition
of their own. SQLite: nothing to do.

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
    """The months that should have a partition at ``now`` (those already made included)."""
    with Session(engine) as session:
        connection = session.connection()
        if not partitions.is_partitioned(connection):
            return []
        oldest = Month.of(now - timedelta(days=retention_days(session)))
        current = Month.of(now)
        wanted = {current.shift(ahead) for ahead in range(MONTHS_AHEAD + 1)}
        last = current.shift(MONTHS_AHEAD)
        wanted.update(partitions.months_in_default(connection, oldest.start, last.end))
    return sorted(wanted)


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
