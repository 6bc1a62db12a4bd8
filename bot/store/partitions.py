"""The events table on PostgreSQL: one partition per calendar month (UTC), made ahead of time.

Why and how (migration 0010 builds it; SQLite keeps one plain table):

* **Partitions.** ``events`` is partitioned by range of ``occurred_at``: ``events_YYYY_MM`` holds
  one UTC calendar month, ``events_default`` what falls in no month made yet (a backfill of an old
  month, a clock far in the future). The scheduler's daily upkeep (``jobs.partitions``) makes the
  current month and the next ``MONTHS_AHEAD`` ahead, and moves rows of months it makes out of the
  default partition, so inserts never run DDL. The retention job folds a month into
  ``weekly_totals`` and drops its partition once all of it is past the retention horizon.
* **Idempotency.** PostgreSQL requires every unique index of a partitioned table to contain the
  partition key, so ``(source, key)`` cannot be unique across months by a constraint, and an
  event re-sent with another time must still be a duplicate (DESIGN §3.2). Each partition keeps
  ``UNIQUE (source, key, occurred_at)`` (its ``(source, key)`` prefix serves the look-ups), and
  the insert path (``bot.store.events``) first *claims* its keys in ``event_claims``, a small
  unlogged table with a primary key on ``(source, key)``: a second transaction claiming the same
  key waits there until the first one ends. Then, in a statement that sees whatever the first one
  committed, it inserts only the rows whose key is stored in no partition, and removes its claims
  before it commits. ``event_claims`` is empty between transactions, so nothing but the month
  partitions has to be purged, and dropping a month is a catalogue change, not hundreds of
  millions of row deletions.

  The other designs weighed: a permanent ``(source, key) → (occurred_at, id)`` table unique
  across time answers duplicates with one probe instead of one per partition, but it grows with
  every event and its rows would again be deleted one by one when a month goes; advisory locks
  per key run out of lock slots on a bulk import.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

PARENT = "events"
DEFAULT = "events_default"
CLAIMS = "event_claims"
MONTHS_AHEAD = 3
UNIQUE_KEY = "uq_events_source_key_time"  # PostgreSQL: (source, key, occurred_at), per partition
SQLITE_UNIQUE_KEY = "uq_events_source_key"  # SQLite (the model): (source, key)
_NAME_RE = re.compile(r"^events_(\d{4})_(\d{2})$")
LOCK_TIMEOUT = "5s"  # DDL on events waits at most this long for a lock, then the run retries


@dataclass(frozen=True, order=True)
class Month:
    """A UTC calendar month: the range ``[start, end)`` of one partition."""

    year: int
    month: int

    @staticmethod
    def of(instant: datetime) -> Month:
        utc = instant.astimezone(UTC)
        return Month(utc.year, utc.month)

    @property
    def start(self) -> datetime:
        return datetime(self.year, self.month, 1, tzinfo=UTC)

    @property
    def end(self) -> datetime:
        return self.shift(1).start

    def shift(self, months: int) -> Month:
        index = self.year * 12 + self.month - 1 + months
        return Month(index // 12, index % 12 + 1)

    @property
    def table(self) -> str:
        return f"events_{self.year:04d}_{self.month:02d}"

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"


def month_of_table(name: str) -> Month | None:
    match = _NAME_RE.match(name)
    if not match:
        return None
    year, month = int(match.group(1)), int(match.group(2))
    return Month(year, month) if 1 <= month <= 12 and year >= 1 else None


def is_partitioned(connection: Connection) -> bool:
    """True on PostgreSQL once migration 0010 made ``events`` a partitioned table."""
    if connection.dialect.name != "postgresql":
        return False
    kind = connection.execute(
        sa.text("SELECT relkind FROM pg_class WHERE oid = to_regclass(:name)"), {"name": PARENT}
    ).scalar()
    return kind == "p"


def months(connection: Connection) -> list[Month]:
    """The month partitions of ``events``, oldest first."""
    names: Sequence[str] = (
        connection.execute(
            sa.text(
                "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                "WHERE i.inhparent = to_regclass(:parent)"
            ),
            {"parent": PARENT},
        )
        .scalars()
        .all()
    )
    found = [month_of_table(str(name)) for name in names]
    return sorted(month for month in found if month is not None)


def _literal(instant: datetime) -> str:
    return f"'{instant.astimezone(UTC).isoformat(' ')}'"


def create_month(connection: Connection, month: Month) -> bool:
    """Make ``month``'s partition if it is missing; False when it was there already.

    Rows of that month in the default partition move into it: the new table is filled and then
    attached, with the default partition locked meanwhile so no row of the month lands there in
    between. Run inside the caller's transaction (``lock_ddl`` first)."""
    if month in months(connection):
        return False
    bounds = f"FROM ({_literal(month.start)}) TO ({_literal(month.end)})"
    parameters = {"start": month.start, "end": month.end}
    waiting = connection.execute(
        sa.text(
            f"SELECT EXISTS (SELECT 1 FROM {DEFAULT} "
            "WHERE occurred_at >= :start AND occurred_at < :end)"
        ),
        parameters,
    ).scalar()
    if not waiting:
        connection.exec_driver_sql(
            f"CREATE TABLE {month.table} PARTITION OF {PARENT} FOR VALUES {bounds}"
        )
        return True
    connection.exec_driver_sql(f"LOCK TABLE {DEFAULT} IN ACCESS EXCLUSIVE MODE")
    connection.exec_driver_sql(
        f"CREATE TABLE {month.table} (LIKE {PARENT} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)"
    )
    connection.execute(
        sa.text(
            f"WITH moved AS (DELETE FROM {DEFAULT} "
            "WHERE occurred_at >= :start AND occurred_at < :end RETURNING *) "
            f"INSERT INTO {month.table} SELECT * FROM moved"
        ),
        parameters,
    )
    # The range as a check constraint lets ATTACH skip scanning the rows it was just given.
    connection.exec_driver_sql(
        f"ALTER TABLE {month.table} ADD CONSTRAINT {month.table}_range CHECK "
        f"(occurred_at >= {_literal(month.start)} AND occurred_at < {_literal(month.end)})"
    )
    connection.exec_driver_sql(
        f"ALTER TABLE {PARENT} ATTACH PARTITION {month.table} FOR VALUES {bounds}"
    )
    connection.exec_driver_sql(f"ALTER TABLE {month.table} DROP CONSTRAINT {month.table}_range")
    return True


def lock_ddl(connection: Connection) -> None:
    """Partition DDL waits ``LOCK_TIMEOUT`` at most for its locks (then fails, and the job's next
    run retries) instead of queueing every reader and writer of ``events`` behind it."""
    connection.exec_driver_sql(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")


def lock_month(connection: Connection, month: Month) -> None:
    """Hold off writes to ``month``'s partition until the transaction ends (reads go on)."""
    connection.exec_driver_sql(f"LOCK TABLE {month.table} IN SHARE MODE")


def count_rows(connection: Connection, month: Month) -> int:
    return int(connection.exec_driver_sql(f"SELECT count(*) FROM {month.table}").scalar() or 0)


def max_id(connection: Connection, month: Month) -> int | None:
    value = connection.exec_driver_sql(f"SELECT max(id) FROM {month.table}").scalar()
    return None if value is None else int(value)


def drop_month(connection: Connection, month: Month) -> None:
    connection.exec_driver_sql(f"DROP TABLE {month.table}")


# Schema comparison -----------------------------------------------------------------------------


def schema_filter(dialect: str) -> Callable[[Any, str | None, str, bool, Any], bool]:
    """Alembic's ``include_object`` for comparing the models with a database of ``dialect``.

    The models describe the events table as SQLite has it. On PostgreSQL its partitioned shape
    (the month partitions, the claims table, the unique index that carries ``occurred_at``) is
    built by migration 0010 and checked by the tests of this module, so the comparison skips
    exactly those objects."""

    def include(_obj: Any, name: str | None, type_: str, reflected: bool, _other: Any) -> bool:
        if dialect != "postgresql" or name is None:
            return True
        if type_ == "table":
            return not (reflected and (name in (DEFAULT, CLAIMS) or month_of_table(name)))
        if type_ in ("unique_constraint", "index"):
            return name not in (UNIQUE_KEY, SQLITE_UNIQUE_KEY)
        return True

    return include
