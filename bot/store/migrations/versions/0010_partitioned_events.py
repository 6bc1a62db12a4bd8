"""events partitioned by month on PostgreSQL, so the retention purge drops whole months

On PostgreSQL the table is rebuilt as ``PARTITION BY RANGE (occurred_at)``: the old table is
renamed, the partitioned one made with a partition for every month it holds (and the current
month and three ahead) plus a default partition, the rows copied with their ids (the id sequence
carries on), the old table dropped. The primary key becomes ``(id, occurred_at)`` and the
idempotency key ``UNIQUE (source, key, occurred_at)`` per partition, with ``event_claims`` making
``(source, key)`` unique across months (``bot.store.partitions`` says how). SQLite: nothing
changes.

Revision ID: 0010
Revises: 0009
"""

from collections.abc import Sequence
from datetime import UTC, datetime

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MONTHS_AHEAD = 3  # as bot.store.partitions.MONTHS_AHEAD when this revision was written
OLD = "events_unpartitioned"
COLUMNS = (
    "id, source, key, type, occurred_at, received_at, person_id, actor_kind, actor_value, tool, "
    "model, input_tokens, cached_tokens, output_tokens, cost_nanos, requests, artifact_id, metrics"
)
INDEXES = (
    ("ix_events_person_time", "(person_id, occurred_at)", ""),
    ("ix_events_time", "(occurred_at)", ""),
    ("ix_events_artifact", "(artifact_id, type)", " WHERE artifact_id IS NOT NULL"),
    ("ix_events_unattributed", "(actor_kind, actor_value)", " WHERE person_id IS NULL"),
)


def _month_index(instant: datetime) -> int:
    return instant.year * 12 + instant.month - 1


def _month_start(index: int) -> datetime:
    return datetime(index // 12, index % 12 + 1, 1, tzinfo=UTC)


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    bind = op.get_bind()
    op.execute(f"ALTER TABLE events RENAME TO {OLD}")
    op.execute(f"ALTER TABLE {OLD} RENAME CONSTRAINT events_pkey TO {OLD}_pkey")
    op.execute(f"ALTER TABLE {OLD} RENAME CONSTRAINT uq_events_source_key TO {OLD}_source_key")
    for name, _, _ in INDEXES:
        op.execute(f"ALTER INDEX {name} RENAME TO {name}_old")
    sequence = bind.exec_driver_sql(f"SELECT pg_get_serial_sequence('{OLD}', 'id')").scalar()
    op.execute(
        f"""
        CREATE TABLE events (
            id bigint NOT NULL DEFAULT nextval('{sequence}'::regclass),
            source varchar(32) NOT NULL,
            key varchar(255) NOT NULL,
            type varchar(32) NOT NULL,
            occurred_at timestamptz NOT NULL,
            received_at timestamptz NOT NULL,
            person_id integer REFERENCES people (id) ON DELETE CASCADE,
            actor_kind varchar(32),
            actor_value varchar(320),
            tool varchar(200),
            model varchar(200),
            input_tokens bigint NOT NULL,
            cached_tokens bigint NOT NULL,
            output_tokens bigint NOT NULL,
            cost_nanos bigint NOT NULL,
            requests bigint NOT NULL,
            artifact_id integer REFERENCES artifacts (id) ON DELETE CASCADE,
            metrics text
        ) PARTITION BY RANGE (occurred_at)
        """
    )
    op.execute("CREATE TABLE events_default PARTITION OF events DEFAULT")
    now = _month_index(datetime.now(UTC))
    horizon = now + MONTHS_AHEAD + 1
    present: Sequence[datetime] = (
        bind.exec_driver_sql(
            f"SELECT DISTINCT date_trunc('month', occurred_at AT TIME ZONE 'UTC') FROM {OLD}"
        )
        .scalars()
        .all()
    )
    wanted = {_month_index(day) for day in present} | set(range(now, horizon))
    for index in sorted(month for month in wanted if month < horizon):
        start, end = _month_start(index), _month_start(index + 1)
        op.execute(
            f"CREATE TABLE events_{start.year:04d}_{start.month:02d} PARTITION OF events "
            f"FOR VALUES FROM ('{start.isoformat(' ')}') TO ('{end.isoformat(' ')}')"
        )
    op.execute(f"INSERT INTO events ({COLUMNS}) SELECT {COLUMNS} FROM {OLD}")
    # Ids are 64-bit from here: a year of request-level events from a large organisation
    # would run a 32-bit sequence out.
    op.execute(f"ALTER SEQUENCE {sequence} AS bigint OWNED BY events.id")
    op.execute(f"DROP TABLE {OLD}")
    op.execute("ALTER TABLE events ADD PRIMARY KEY (id, occurred_at)")
    op.execute(
        "ALTER TABLE events ADD CONSTRAINT uq_events_source_key_time "
        "UNIQUE (source, key, occurred_at)"
    )
    for name, columns, where in INDEXES:
        op.execute(f"CREATE INDEX {name} ON events {columns}{where}")
    # Claims of (source, key) while a transaction inserts them; empty between transactions, so
    # unlogged (no WAL; emptied after a crash, which is what it holds anyway).
    op.execute(
        "CREATE UNLOGGED TABLE event_claims ("
        "source varchar(32) NOT NULL, key varchar(255) NOT NULL, PRIMARY KEY (source, key))"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    bind = op.get_bind()
    op.execute("DROP TABLE event_claims")
    sequence = bind.exec_driver_sql("SELECT pg_get_serial_sequence('events', 'id')").scalar()
    op.execute(f"ALTER TABLE events RENAME TO {OLD}")
    for name, _, _ in INDEXES:
        op.execute(f"ALTER INDEX {name} RENAME TO {name}_old")
    op.execute(
        f"""
        CREATE TABLE events (
            id integer NOT NULL DEFAULT nextval('{sequence}'::regclass),
            source varchar(32) NOT NULL,
            key varchar(255) NOT NULL,
            type varchar(32) NOT NULL,
            occurred_at timestamptz NOT NULL,
            received_at timestamptz NOT NULL,
            person_id integer REFERENCES people (id) ON DELETE CASCADE,
            actor_kind varchar(32),
            actor_value varchar(320),
            tool varchar(200),
            model varchar(200),
            input_tokens bigint NOT NULL,
            cached_tokens bigint NOT NULL,
            output_tokens bigint NOT NULL,
            cost_nanos bigint NOT NULL,
            requests bigint NOT NULL,
            artifact_id integer REFERENCES artifacts (id) ON DELETE CASCADE,
            metrics text
        )
        """
    )
    # One row per key: the oldest copy wins where months held the same key at different times.
    op.execute(
        f"INSERT INTO events ({COLUMNS}) SELECT DISTINCT ON (source, key) {COLUMNS} FROM {OLD} "
        "ORDER BY source, key, id"
    )
    op.execute(f"ALTER SEQUENCE {sequence} OWNED BY events.id")
    op.execute(f"DROP TABLE {OLD}")
    op.execute("ALTER TABLE events ADD CONSTRAINT events_pkey PRIMARY KEY (id)")
    op.execute("ALTER TABLE events ADD CONSTRAINT uq_events_source_key UNIQUE (source, key)")
    for name, columns, where in INDEXES:
        op.execute(f"CREATE INDEX {name} ON events {columns}{where}")
