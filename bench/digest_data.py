"""The digest benchmark's synthetic organisation, written straight into the tables (set-up only:
the ingest pipeline has its own benchmark, ``bench.ingest``).

People, then artifacts, then events a day at a time in time order (as a running system stores
them): usage, artifact created / viewed / used. SQLite: ``executemany`` on the driver connection;
PostgreSQL: ``COPY``. The events table's secondary indexes are dropped for the load and built
again after it (a sort each, instead of ten million random inserts), then the tables are
analysed (and vacuumed on PostgreSQL, as autovacuum would leave them), so the build phase meets
the database in its steady state. Memory stays small at any size: a day's events at a time, and
three compact arrays for the artifacts that views and uses pick from. A share of the artifacts
is marked AI-assisted (``ai_share``), drawn from a generator of its own so that everything else
is the same for any share.
"""

from __future__ import annotations

import random
from array import array
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bot.domain.weeks import Week
from bot.store import partitions
from bot.store.event_rows import COLUMNS
from bot.store.models import Event

SOURCE = "bench"
KINDS = ("dashboard", "report", "doc", "deck", "query", "pull_request", "agent", "other")
TOOLS = (
    ("chatgpt", "gpt-4.1"),
    ("chatgpt", "gpt-4.1-mini"),
    ("claude", "claude-sonnet-4"),
    ("cursor", "claude-sonnet-4"),
    ("copilot", "gpt-4.1"),
)
# Shares of the events: usage, artifact created, viewed, used.
MIX = (0.60, 0.12, 0.24, 0.04)
DAY = 86_400
# The columns an insert writes (``event_rows.COLUMNS``) but the metrics, which set-up leaves empty,
# and with the id, which set-up numbers itself.
EVENT_COLUMNS = ("id", *(column for column in COLUMNS if column != "metrics"))


@dataclass
class Counts:
    people: int = 0
    artifacts: int = 0
    ai_artifacts: int = 0  # of them marked AI-assisted
    events: int = 0
    by_type: Counter[str] = field(default_factory=Counter)


def email_of(n: int) -> str:
    return f"person{n:06d}@bench.example.com"


def slack_id_of(n: int) -> str:
    return f"U{n:09d}"


def _poisson_like(rng: random.Random, mean: float) -> int:
    """A whole number with the given mean (a random rounding of a jittered mean)."""
    value = mean * rng.uniform(0.5, 1.5)
    whole = int(value)
    return whole + (1 if rng.random() < value - whole else 0)


class _Clock:
    """Seconds since the first day ↔ the database's text for them (SQLite keeps naive UTC text,
    PostgreSQL reads ISO text with an offset)."""

    def __init__(self, origin: datetime, postgres: bool) -> None:
        self.origin = origin
        self.postgres = postgres
        self._days: dict[int, str] = {}

    def text(self, seconds: int) -> str:
        day, rest = divmod(seconds, DAY)
        prefix = self._days.get(day)
        if prefix is None:
            prefix = self._days[day] = f"{(self.origin + timedelta(days=day)):%Y-%m-%d}"
        hour, rest = divmod(rest, 3600)
        minute, second = divmod(rest, 60)
        if self.postgres:
            return f"{prefix} {hour:02d}:{minute:02d}:{second:02d}+00"
        return f"{prefix} {hour:02d}:{minute:02d}:{second:02d}.000000"


def populate(
    engine: Engine,
    people: int,
    weeks: int,
    events: int,
    seed: int,
    last_week: Week,
    ai_share: float = 0.0,
) -> Counts:
    """``people`` people, about ``events`` events over the ``weeks`` weeks ending with
    ``last_week`` (UTC), in time order; ``ai_share`` of the artifacts are AI-assisted."""
    postgres = engine.dialect.name == "postgresql"
    rng = random.Random(seed)
    ai_rng = random.Random(seed + 1)  # apart, so the rest of the data is the same for any share
    origin = last_week.shift(-(weeks - 1)).bounds(UTC)[0]
    end = weeks * 7 * DAY  # the last second is end - 1
    clock = _Clock(origin, postgres)
    now_text = clock.text(end - 1)
    per_person_week = events / (people * weeks)
    counts = Counts(people=people)
    writer = _writer(engine)
    try:
        writer.rows(
            "people",
            (
                "id",
                "email",
                "name",
                "slack_user_id",
                "tz",
                "is_slack_admin",
                "opted_out",
                "share_with_lead_default",
                "created_at",
                "updated_at",
            ),
            (
                (
                    n + 1,
                    email_of(n),
                    f"Person {n}",
                    slack_id_of(n),
                    "UTC",
                    False,
                    False,
                    False,
                    now_text,
                    now_text,
                )
                for n in range(people)
            ),
        )

        # Artifacts, week by week (ids in that order), so the artifacts that exist by week w are
        # the ids 1..last_id[w]: views and uses pick among them with one random number.
        creator = array("l", [0])
        created_at = array("l", [0])
        on_day: list[list[int]] = [[] for _ in range(weeks * 7)]
        last_id: list[int] = []
        artifact_rows: list[tuple[Any, ...]] = []
        for w in range(weeks):
            for n in range(people):
                for _ in range(_poisson_like(rng, per_person_week * MIX[1])):
                    at = w * 7 * DAY + rng.randrange(7 * DAY - 7200)
                    artifact_id = len(creator)
                    creator.append(n + 1)
                    created_at.append(at)
                    on_day[at // DAY].append(artifact_id)
                    kind = rng.choice(KINDS)
                    ai_assisted = ai_rng.random() < ai_share
                    counts.ai_artifacts += ai_assisted
                    artifact_rows.append(
                        (
                            artifact_id,
                            SOURCE,
                            f"art-{artifact_id:09d}",
                            kind,
                            None,
                            f"{kind} {artifact_id}",
                            clock.text(at),
                            ai_assisted,
                        )
                    )
                    if len(artifact_rows) == 50_000:
                        writer.rows("artifacts", _ARTIFACT_COLUMNS, artifact_rows)
                        artifact_rows = []
            last_id.append(len(creator) - 1)
        writer.rows("artifacts", _ARTIFACT_COLUMNS, artifact_rows)
        counts.artifacts = len(creator) - 1
        del artifact_rows

        writer.before_events(origin, origin + timedelta(seconds=end))
        key = 0
        per_day = per_person_week / 7
        for day in range(weeks * 7):
            w = day // 7
            start = day * DAY
            rows: list[tuple[Any, ...]] = []
            for artifact_id in on_day[day]:
                person = creator[artifact_id]
                rows.append(
                    _event(created_at[artifact_id], "artifact.created", person, artifact_id)
                )
            on_day[day] = []
            pool = last_id[w]
            for n in range(people):
                person = n + 1
                for _ in range(_poisson_like(rng, per_day * MIX[0])):
                    tool, model = TOOLS[rng.randrange(len(TOOLS))]
                    input_tokens = rng.randrange(200, 40_000)
                    output_tokens = rng.randrange(20, 4_000)
                    rows.append(
                        _usage(
                            start + rng.randrange(DAY),
                            person,
                            tool,
                            model,
                            input_tokens,
                            rng.randrange(0, input_tokens // 2 + 1),
                            output_tokens,
                            rng.randrange(1, 6),
                        )
                    )
                if not pool:
                    continue
                for share, type_ in ((MIX[2], "artifact.viewed"), (MIX[3], "artifact.used")):
                    for _ in range(_poisson_like(rng, per_day * share)):
                        artifact_id = rng.randrange(pool) + 1
                        at = max(start + rng.randrange(DAY), created_at[artifact_id] + 300)
                        actor = creator[artifact_id] if type_ == "artifact.used" else person
                        rows.append(_event(min(at, end - 1), type_, actor, artifact_id))
            rows.sort(key=_first)
            numbered = []
            for row in rows:
                key += 1
                counts.by_type[row[1]] += 1
                numbered.append(
                    (key, SOURCE, f"evt-{key:010d}", row[1], clock.text(row[0]), now_text, *row[2:])
                )
            writer.rows("events", EVENT_COLUMNS, numbered)
            counts.events += len(numbered)
        writer.after_events()
    finally:
        writer.close()
    return counts


_ARTIFACT_COLUMNS = (
    "id",
    "source",
    "external_id",
    "kind",
    "kind_label",
    "title",
    "created_at",
    "ai_assisted",
)


def _first(row: tuple[Any, ...]) -> Any:
    return row[0]


def _event(at: int, type_: str, person: int, artifact_id: int) -> tuple[Any, ...]:
    # (seconds, type, person_id, actor_kind, actor_value, tool, model, tokens ×4, requests, artifact)
    return (
        at,
        type_,
        person,
        "email",
        email_of(person - 1),
        None,
        None,
        0,
        0,
        0,
        0,
        0,
        artifact_id,
    )


def _usage(
    at: int,
    person: int,
    tool: str,
    model: str,
    input_tokens: int,
    cached_tokens: int,
    output_tokens: int,
    requests: int,
) -> tuple[Any, ...]:
    cost_nanos = (input_tokens * 2 + output_tokens * 8) * 1000
    return (
        at,
        "ai.usage",
        person,
        "email",
        email_of(person - 1),
        tool,
        model,
        input_tokens,
        cached_tokens,
        output_tokens,
        cost_nanos,
        requests,
        None,
    )


# Writers ----------------------------------------------------------------------------------------


class _Writer:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.raw = engine.raw_connection()
        self.dropped: list[sa.Index] = []

    def rows(
        self, table: str, columns: Sequence[str], rows: Iterator[tuple[Any, ...]] | list[Any]
    ) -> None:
        raise NotImplementedError

    def before_events(self, first: datetime, end: datetime) -> None:
        """Make room for events in [first, end), and drop the events table's secondary indexes
        (built again by ``after_events``)."""
        self.months(first, end)
        cursor = self.raw.cursor()
        for index in sorted(Event.__table__.indexes, key=lambda i: str(i.name)):  # type: ignore[attr-defined]
            cursor.execute(f"DROP INDEX IF EXISTS {index.name}")
            self.dropped.append(index)
        self.raw.commit()

    def months(self, first: datetime, end: datetime) -> None:
        """PostgreSQL: the month partitions of [first, end), as the scheduler would have made
        them ahead of each month (without them every row would land in the default partition)."""

    def after_events(self) -> None:
        cursor = self.raw.cursor()
        for index in self.dropped:
            cursor.execute(str(sa.schema.CreateIndex(index).compile(dialect=self.engine.dialect)))
            self.raw.commit()
        self.finish(cursor)
        self.raw.commit()

    def finish(self, cursor: Any) -> None:
        raise NotImplementedError

    def close(self) -> None:
        self.raw.close()


class _SqliteWriter(_Writer):
    def __init__(self, engine: Engine) -> None:
        super().__init__(engine)
        cursor = self.raw.cursor()
        cursor.execute("PRAGMA synchronous=OFF")  # set-up only: the build never writes
        cursor.execute("PRAGMA cache_size=-262144")

    def rows(self, table: str, columns: Sequence[str], rows: Any) -> None:
        marks = ", ".join("?" for _ in columns)
        cursor = self.raw.cursor()
        cursor.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)
        self.raw.commit()

    def finish(self, cursor: Any) -> None:
        cursor.execute("ANALYZE")


class _PostgresWriter(_Writer):
    def months(self, first: datetime, end: datetime) -> None:
        with self.engine.begin() as connection:
            if not partitions.is_partitioned(connection):
                return
            partitions.lock_ddl(connection)
            month = partitions.Month.of(first)
            while month.start < end:
                partitions.create_month(connection, month)
                month = month.shift(1)

    def rows(self, table: str, columns: Sequence[str], rows: Any) -> None:
        cursor = self.raw.cursor()
        with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:  # type: ignore[attr-defined]
            for row in rows:
                copy.write_row(row)
        self.raw.commit()

    def finish(self, cursor: Any) -> None:
        for table in ("people", "artifacts", "events"):
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT coalesce(max(id), 1) FROM {table}))"
            )
        self.raw.commit()
        # What autovacuum would have done by the time a weekly digest runs: statistics, and the
        # visibility map that lets index-only scans skip the table.
        self.raw.driver_connection.autocommit = True  # type: ignore[union-attr]
        cursor.execute("VACUUM ANALYZE")
        self.raw.driver_connection.autocommit = False  # type: ignore[union-attr]


def _writer(engine: Engine) -> _Writer:
    if engine.dialect.name == "postgresql":
        return _PostgresWriter(engine)
    return _SqliteWriter(engine)
