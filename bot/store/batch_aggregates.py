"""SQL aggregation for many people at once: the numbers of a person-week's facts, grouped by
person, so a digest run makes a handful of queries per chunk of people instead of several per
person — or, for a whole organisation, a handful of queries in all.

Each aggregate is a statement and a shaper:

- ``*_statement(person_ids, …)``: with a list of ids, the rows of those people (one
  ``person_id IN (…)`` query per chunk, through ``ix_events_person_time``); with ``None``, the
  rows of everyone, **ordered by person id**, so one pass over the week's events (a range on
  ``occurred_at``: ``ix_events_time``, or the week's partitions) serves a whole organisation and
  its rows can be read a chunk of people at a time, beside the people themselves
  (``PersonRows``).
- ``*_values(rows)``: the rows of some people → ``{person_id: value}``. People with nothing to
  count are absent; callers use the zero value.

Either way the numbers are the same, and the same as the one-query-per-number reference
(``fakes/reference_facts.py``); the tests check both against it.

The week's per-kind artifact counts are one statement (``artifact_counts_statement``): a count
is added to every kind by adding its column there and reading it in ``artifact_counts_values``.
"""

from __future__ import annotations

import queue
import sys
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import aliased
from sqlmodel import Session, col

from bot.domain.facts import KindCounts, ToolUsage, UsageTotals
from bot.store.aggregates import (
    CREATED,
    USAGE,
    VIEWED,
    _in_range,
    _someone_else,
    opened_by_someone_else,
    used_before,
)
from bot.store.models import Artifact, Delivery, Event, WeeklyTotal

Row = Sequence[Any]  # a result row: the person's id first


@dataclass
class Usage:
    """One person's usage in a range: totals, by tool, by model (``usage_totals`` & co.)."""

    totals: UsageTotals = field(default_factory=UsageTotals)
    by_tool: list[ToolUsage] = field(default_factory=list)
    by_model: list[ToolUsage] = field(default_factory=list)


@dataclass
class ArtifactCounts:
    """One person's artifacts: the week's, by kind, and the last weeks' that nobody else opened."""

    by_kind: list[KindCounts] = field(default_factory=list)
    unopened_recent: int = 0


def whose(person: Any, person_ids: Sequence[int] | None) -> sa.ColumnElement[bool]:
    """The people's rows: ``person_id IN (…)``; or everyone's (``person_id + 0 IS NOT NULL``, a
    test no index answers, so the planner reads the time range rather than walking every
    person's events through the person index)."""
    whose = person.in_(person_ids) if person_ids is not None else (person + 0).is_not(None)
    return cast(sa.ColumnElement[bool], whose)


def grouped(statement: Any, person_ids: Sequence[int] | None, keys: int) -> Any:
    """Grouped by the first ``keys`` columns (the person first), named by position so that
    everyone's rows, ordered the same way, need no second sort (SQLite's grouping sorts)."""
    positions: list[Any] = [sa.literal_column(str(n)) for n in range(1, keys + 1)]
    statement = statement.group_by(*positions)
    return statement.order_by(*positions) if person_ids is None else statement


def ordered(statement: Any, person_ids: Sequence[int] | None) -> Any:
    """Everyone's rows come ordered by person, to be read a chunk of people at a time."""
    return statement.order_by(sa.literal_column("1")) if person_ids is None else statement


def _sum(column: Any) -> sa.ColumnElement[int]:
    """A sum of integer columns, as an integer: PostgreSQL sums ``bigint`` as ``numeric``, which
    arrives as a ``Decimal`` (slow to build and to convert, hundreds of thousands of rows a run);
    a person-week's sums are far below ``bigint``'s limit."""
    return sa.cast(sa.func.sum(column), sa.BigInteger)


# Usage ------------------------------------------------------------------------------------------


def usage_statement(
    person_ids: Sequence[int] | None, start: datetime, end: datetime
) -> sa.Select[Any]:
    """Usage in [start, end) grouped by (person, tool, model)."""
    tool = sa.func.coalesce(col(Event.tool), col(Event.source))
    model = sa.func.coalesce(col(Event.model), "unknown")
    person = col(Event.person_id)
    statement = sa.select(
        person,
        tool,
        model,
        _sum(col(Event.input_tokens)),
        _sum(col(Event.cached_tokens)),
        _sum(col(Event.output_tokens)),
        _sum(col(Event.cost_nanos)),
        _sum(col(Event.requests)),
    ).where(whose(person, person_ids), col(Event.type) == USAGE, _in_range(start, end))
    return cast(sa.Select[Any], grouped(statement, person_ids, 3))


def usage_values(rows: Iterable[Row]) -> dict[int, Usage]:
    """Totals, per-tool and per-model usage of each person (the groups added up per tool and
    per model)."""
    totals: dict[int, list[int]] = {}
    tools: dict[int, dict[str, list[int]]] = {}
    models: dict[int, dict[str, list[int]]] = {}
    for person_id, tool_name, model_name, inp, cached, out, cost, requests in rows:
        inp, out, cost = int(inp or 0), int(out or 0), int(cost or 0)
        person_total = totals.get(person_id)
        if person_total is None:
            person_total = totals[person_id] = [0, 0, 0, 0, 0]
            tools[person_id] = {}
            models[person_id] = {}
        person_total[0] += inp
        person_total[1] += int(cached or 0)
        person_total[2] += out
        person_total[3] += cost
        person_total[4] += int(requests or 0)
        for groups, name in (
            (tools[person_id], str(tool_name)),
            (models[person_id], str(model_name)),
        ):
            group = groups.get(name)
            if group is None:
                groups[name] = [inp + out, cost]
            else:
                group[0] += inp + out
                group[1] += cost
    return {
        person_id: Usage(
            UsageTotals(*numbers),
            [ToolUsage(name, t, c) for name, (t, c) in tools[person_id].items()],
            [ToolUsage(name, t, c) for name, (t, c) in models[person_id].items()],
        )
        for person_id, numbers in totals.items()
    }


def usage(
    session: Session, person_ids: Sequence[int], start: datetime, end: datetime
) -> dict[int, Usage]:
    if not person_ids:
        return {}
    return usage_values(session.execute(usage_statement(person_ids, start, end)))


# Baseline: tokens per earlier week ---------------------------------------------------------------


def weekly_tokens_statement(
    person_ids: Sequence[int] | None, ranges: list[tuple[datetime, datetime]]
) -> sa.Select[Any]:
    """Token totals of each person: one row a person, one column for each [start, end) range.
    (One row a person, not one a person-week: everyone's rows are read a row at a time, and a
    third as many rows is a third as many hand-overs between threads.)"""
    tokens = col(Event.input_tokens) + col(Event.output_tokens)
    person = col(Event.person_id)
    # Everyone's: grouped by ``person_id + 0`` (see ``distinct_viewers_statement``).
    key = person if person_ids is not None else person + 0
    statement = sa.select(
        key,
        *[_sum(sa.case((_in_range(start, end), tokens), else_=0)) for start, end in ranges],
    ).where(
        whose(person, person_ids),
        col(Event.type) == USAGE,
        _in_range(min(r[0] for r in ranges), max(r[1] for r in ranges)),
    )
    return cast(sa.Select[Any], grouped(statement, person_ids, 1))


def rolled_tokens_statement(
    person_ids: Sequence[int] | None, ranges: list[tuple[datetime, datetime]]
) -> sa.Select[Any]:
    """Weeks whose raw events the retention job purged live on in ``weekly_totals``."""
    person = col(WeeklyTotal.person_id)
    statement = sa.select(
        person,
        col(WeeklyTotal.week_start),
        col(WeeklyTotal.input_tokens) + col(WeeklyTotal.output_tokens),
    ).where(
        whose(person, person_ids),
        col(WeeklyTotal.week_start) >= min(r[0] for r in ranges),
        col(WeeklyTotal.week_start) < max(r[1] for r in ranges),
    )
    return cast(sa.Select[Any], ordered(statement, person_ids))


def weekly_tokens_values(
    rows: Iterable[Row], rolled: Iterable[Row], ranges: list[tuple[datetime, datetime]]
) -> dict[int, list[int]]:
    found: dict[int, list[int]] = {}
    for person_id, *tokens in rows:
        if person_id is not None:
            found[person_id] = [int(week or 0) for week in tokens]
    for person_id, week_start, tokens in rolled:
        for index, (start, end) in enumerate(ranges):
            if start <= week_start < end:
                found.setdefault(person_id, [0] * len(ranges))[index] += int(tokens or 0)
                break
    return found


def weekly_tokens(
    session: Session, person_ids: Sequence[int], ranges: list[tuple[datetime, datetime]]
) -> dict[int, list[int]]:
    if not person_ids or not ranges:
        return {}
    return weekly_tokens_values(
        session.execute(weekly_tokens_statement(person_ids, ranges)),
        session.execute(rolled_tokens_statement(person_ids, ranges)),
        ranges,
    )


# Artifacts ---------------------------------------------------------------------------------------


def artifact_counts_statement(
    person_ids: Sequence[int] | None, start: datetime, end: datetime
) -> sa.Select[Any]:
    """The week's created events (in [start, end)), grouped by (person, kind): the week's
    artifacts, those of them viewed by someone else and those used, both before ``end``; the
    same three for the AI-assisted artifacts alone (DESIGN §3.6 ``artifacts.ai``)."""
    created = aliased(Event)
    person = col(created.person_id)
    artifact = col(created.artifact_id)
    viewed = opened_by_someone_else(created, end)
    used = used_before(created, end)
    ai = col(Artifact.ai_assisted)

    def distinct(*conditions: Any) -> sa.ColumnElement[Any]:
        return sa.func.count(sa.distinct(sa.case((sa.and_(*conditions), artifact))))

    statement = (
        sa.select(
            person,
            col(Artifact.kind),
            sa.func.count(sa.distinct(artifact)),
            distinct(viewed),
            distinct(used),
            distinct(ai),
            distinct(ai, viewed),
            distinct(ai, used),
        )
        .join(Artifact, col(Artifact.id) == artifact)
        .where(
            whose(person, person_ids),
            col(created.type) == CREATED,
            col(created.occurred_at) >= start,
            col(created.occurred_at) < end,
        )
    )
    return cast(sa.Select[Any], grouped(statement, person_ids, 2))


def unopened_statement(
    person_ids: Sequence[int] | None, recent_start: datetime, end: datetime
) -> sa.Select[Any]:
    """Per person, the artifacts created in [recent_start, end) that nobody else had opened by
    ``end``. A statement of its own, beside the week's counts: it reads four weeks of created
    events to the week's one, and the two run at once. (Every created event's artifact exists:
    the foreign key deletes the events of a deleted artifact, so no join to ``artifacts``.)"""
    created = aliased(Event)
    person = col(created.person_id)
    unopened = sa.case((sa.not_(opened_by_someone_else(created, end)), col(created.artifact_id)))
    # Everyone's: grouped by ``person_id + 0`` (see ``distinct_viewers_statement``).
    key = person if person_ids is not None else person + 0
    statement = sa.select(key, sa.func.count(sa.distinct(unopened))).where(
        whose(person, person_ids),
        col(created.type) == CREATED,
        col(created.occurred_at) >= recent_start,
        col(created.occurred_at) < end,
    )
    return cast(sa.Select[Any], grouped(statement, person_ids, 1))


def artifact_counts_values(
    rows: Iterable[Row], unopened: Iterable[Row]
) -> dict[int, ArtifactCounts]:
    """The rows of ``artifact_counts_statement`` and ``unopened_statement`` of some people."""
    found: dict[int, ArtifactCounts] = {}
    for person_id, kind, created, viewed, used, ai_created, ai_viewed, ai_used in rows:
        counts = found.get(person_id)
        if counts is None:
            counts = found[person_id] = ArtifactCounts()
        if created:
            counts.by_kind.append(
                KindCounts(
                    str(kind),
                    int(created),
                    int(viewed),
                    int(used),
                    int(ai_created),
                    int(ai_viewed),
                    int(ai_used),
                )
            )
    for person_id, count in unopened:
        if count:
            counts = found.get(person_id)
            if counts is None:
                counts = found[person_id] = ArtifactCounts()
            counts.unopened_recent = int(count)
    return found


def artifact_counts(
    session: Session,
    person_ids: Sequence[int],
    recent_start: datetime,
    start: datetime,
    end: datetime,
) -> dict[int, ArtifactCounts]:
    if not person_ids:
        return {}
    return artifact_counts_values(
        session.execute(artifact_counts_statement(person_ids, start, end)),
        session.execute(unopened_statement(person_ids, recent_start, end)),
    )


def distinct_viewers_statement(
    person_ids: Sequence[int] | None, start: datetime, end: datetime
) -> sa.Select[Any]:
    """Per person, how many other people viewed any of their artifacts during the range: one
    pass over the range's views, each followed to its artifact's creation."""
    created = aliased(Event)
    viewed = aliased(Event)
    viewer = sa.func.coalesce(
        sa.cast(col(viewed.person_id), sa.String),
        col(viewed.actor_kind) + ":" + col(viewed.actor_value),
    )
    person = col(created.person_id)
    # Everyone's: grouped by ``person_id + 0``, an order no index gives, so that SQLite starts
    # from the week's views (the time index) instead of walking every person's events in order.
    key = person if person_ids is not None else person + 0
    statement = (
        sa.select(key, sa.func.count(sa.distinct(viewer)))
        .select_from(viewed)
        .join(
            created,
            sa.and_(
                col(created.artifact_id) == col(viewed.artifact_id),
                col(created.type) == CREATED,
            ),
        )
        .where(
            whose(person, person_ids),
            col(viewed.type) == VIEWED,
            col(viewed.occurred_at) >= start,
            col(viewed.occurred_at) < end,
            _someone_else(viewed, created),
        )
    )
    return cast(sa.Select[Any], grouped(statement, person_ids, 1))


def distinct_viewers_values(rows: Iterable[Row]) -> dict[int, int]:
    return {person_id: int(count or 0) for person_id, count in rows if person_id is not None}


def distinct_viewers(
    session: Session, person_ids: Sequence[int], start: datetime, end: datetime
) -> dict[int, int]:
    if not person_ids:
        return {}
    return distinct_viewers_values(
        session.execute(distinct_viewers_statement(person_ids, start, end))
    )


# Last week's delivery ------------------------------------------------------------------------------


def delivered_statement(person_ids: Sequence[int] | None, week: str) -> sa.Select[Any]:
    """The facts JSON recorded with each person's delivery for ``week`` (where there is one)."""
    person = col(Delivery.person_id)
    statement = sa.select(person, col(Delivery.facts_json)).where(
        whose(person, person_ids), col(Delivery.week) == week
    )
    return cast(sa.Select[Any], ordered(statement, person_ids))


def delivered_values(rows: Iterable[Row]) -> dict[int, str]:
    return {person_id: facts_json for person_id, facts_json in rows if facts_json}


def delivered_facts(session: Session, person_ids: Sequence[int], week: str) -> dict[int, str]:
    if not person_ids:
        return {}
    return delivered_values(session.execute(delivered_statement(person_ids, week)))


# Reading everyone's rows a chunk of people at a time ------------------------------------------------

STREAM_ROWS = 5_000  # rows fetched at a time from each statement
STREAM_AHEAD = 4  # fetches a statement's reader may run ahead of the chunk being built

# While the readers run, Python's lock changes hands this often (5 ms by default). A reader gives up
# the lock while SQLite works on each row and needs it back to return the row; with the default,
# each such hand-over can wait for the digest-building thread's next 5 ms.
READER_SWITCH_INTERVAL = 0.0005

_DONE = object()


class PersonRows:
    """The rows of one everyone-statement (ordered by person id), handed out a chunk of people at
    a time: ``upto(last)`` returns the rows of every person id ≤ ``last`` not handed out yet.
    Only a few fetches are held at once; the rest wait in the database cursor."""

    def __init__(self, rows: Iterable[Row]) -> None:
        self._rows: Iterator[Row] = iter(rows)
        self._next: Row | None = next(self._rows, None)

    def upto(self, last: int) -> list[Row]:
        taken: list[Row] = []
        row, rows = self._next, self._rows
        while row is not None and row[0] <= last:
            taken.append(row)
            row = next(rows, None)
        self._next = row
        return taken


class _Reader(threading.Thread):
    """Runs one statement on its own connection and hands its rows over in fetches, a few ahead
    of the reader: the database sorts and groups every statement at once (SQLite gives up
    Python's lock while it works; PostgreSQL works in its own processes), beside the Python
    that builds the digests."""

    def __init__(self, engine: Engine, statement: sa.Select[Any], name: str) -> None:
        super().__init__(name=f"facts-{name}", daemon=True)
        self.engine = engine
        self.statement = statement
        self.fetched: queue.Queue[Any] = queue.Queue(maxsize=STREAM_AHEAD)
        self.stopping = threading.Event()

    def run(self) -> None:
        try:
            with self.engine.connect() as connection:
                if connection.dialect.name == "postgresql":
                    # Every row is read: plan for all of them (a cursor's default, 10 %, picks
                    # fast-start plans that walk the person index into the table row by row).
                    connection.exec_driver_sql("SET LOCAL cursor_tuple_fraction = 1.0")
                else:
                    # The grouping of everyone's rows sorts the whole week: on disk, not in the
                    # memory connections otherwise use for their (small) temporary data.
                    connection.exec_driver_sql("PRAGMA temp_store=FILE")
                result = connection.execute(
                    self.statement,
                    execution_options={"stream_results": True, "yield_per": STREAM_ROWS},
                )
                for rows in result.partitions(STREAM_ROWS):
                    if not self._put(rows):
                        return
                result.close()
                if connection.dialect.name == "sqlite":
                    connection.exec_driver_sql("PRAGMA temp_store=MEMORY")  # as it was
            self._put(_DONE)
        except BaseException as exc:  # handed to the reader, which raises it
            self._put(exc)

    def _put(self, item: Any) -> bool:
        while not self.stopping.is_set():
            try:
                self.fetched.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def rows(self) -> Iterator[Row]:
        while True:
            item = self.fetched.get()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            yield from item

    def stop(self) -> None:
        self.stopping.set()
        self.join()


def readable_from_other_connections(engine: Engine) -> bool:
    """Whether other connections see this engine's data (an in-memory SQLite database is private
    to its connection: everyone's rows are then queried by person instead)."""
    database = engine.url.database or ""
    in_memory = database in ("", ":memory:") or "mode=memory" in database
    return not (engine.dialect.name == "sqlite" and in_memory)


@contextmanager
def everyone_rows(
    engine: Engine, statements: dict[str, sa.Select[Any]]
) -> Iterator[dict[str, PersonRows]]:
    """Everyone's rows of each statement (built with ``person_ids=None``), read a chunk of people
    at a time; every statement runs at once, each on its own connection."""
    readers = {name: _Reader(engine, statement, name) for name, statement in statements.items()}
    with _quick_handovers():
        for reader in readers.values():
            reader.start()
        try:
            yield {name: PersonRows(reader.rows()) for name, reader in readers.items()}
        finally:
            for reader in readers.values():
                reader.stop()


_handovers_lock = threading.Lock()
_handovers = {"runs": 0, "interval": 0.0}  # runs reading everyone's rows; the interval before


@contextmanager
def _quick_handovers() -> Iterator[None]:
    """``READER_SWITCH_INTERVAL`` while any run reads everyone's rows (runs may overlap in
    threads), the process's own interval again once none does."""
    with _handovers_lock:
        if not _handovers["runs"]:
            _handovers["interval"] = sys.getswitchinterval()
            sys.setswitchinterval(min(_handovers["interval"], READER_SWITCH_INTERVAL))
        _handovers["runs"] += 1
    try:
        yield
    finally:
        with _handovers_lock:
            _handovers["runs"] -= 1
            if not _handovers["runs"]:
                sys.setswitchinterval(_handovers["interval"])
