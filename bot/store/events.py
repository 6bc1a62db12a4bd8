"""Store normalised events idempotently: once per (source, key), or replaced for aggregates."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from bot.domain.events import EventType, NormalizedEvent
from bot.store.db import upsert_for
from bot.store.identities import resolve_actors
from bot.store.models import Artifact, Event, UTCDateTime, utcnow

# Columns a restated aggregate may change.
_VALUE_COLUMNS = (
    "occurred_at",
    "person_id",
    "actor_kind",
    "actor_value",
    "tool",
    "model",
    "input_tokens",
    "cached_tokens",
    "output_tokens",
    "cost_nanos",
    "requests",
    "artifact_id",
    "metrics",
)


_EVENTS: sa.Table = Event.__table__  # type: ignore[attr-defined]
# Every column an insert writes, in the order of the row tuples below.
_COLUMNS = ("source", "key", "type", "occurred_at", "received_at", *_VALUE_COLUMNS[1:])
_OCCURRED_AT = _COLUMNS.index("occurred_at")
_RECEIVED_AT = _COLUMNS.index("received_at")
_KEY = _COLUMNS.index("key")
# PostgreSQL: one INSERT … SELECT FROM unnest() of one array per column, whatever the number of
# rows; SQLite: the DBAPI's executemany of one prepared statement.
_PG_ARRAY_TYPES = {
    "occurred_at": "timestamptz",
    "received_at": "timestamptz",
    "person_id": "integer",
    "artifact_id": "integer",
    "input_tokens": "bigint",
    "cached_tokens": "bigint",
    "output_tokens": "bigint",
    "cost_nanos": "bigint",
    "requests": "bigint",
}
_PG_INSERT = (
    f"INSERT INTO events ({', '.join(_COLUMNS)}) SELECT * FROM unnest("
    + ", ".join(f"%s::{_PG_ARRAY_TYPES.get(name, 'text')}[]" for name in _COLUMNS)
    + ") ON CONFLICT (source, key) DO NOTHING RETURNING key"
)
_SQLITE_INSERT = (
    f"INSERT INTO events ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' for _ in _COLUMNS)})"
    " ON CONFLICT (source, key) DO NOTHING"
)
_PG_PAGE_ROWS = 5000

Row = tuple[Any, ...]  # one value per name of ``_COLUMNS``, as Python holds them


@dataclass(frozen=True)
class StoreResult:
    accepted: int
    duplicates: int


def store_events(
    session: Session, source: str, events: Sequence[NormalizedEvent], now: datetime | None = None
) -> StoreResult:
    """Write ``events`` in the session's transaction; the caller commits.

    A record already stored under its key is a duplicate, unless it is an aggregate
    (``replace``) whose numbers changed: then the stored row takes the new numbers.
    """
    return store_event_batches(session, source, [(events, now)])[0]


def store_event_batches(
    session: Session,
    source: str,
    batches: Sequence[tuple[Sequence[NormalizedEvent], datetime | None]],
) -> list[StoreResult]:
    """``store_events`` for several batches (requests) at once, one result each, as if stored
    one after the other: a key in two batches belongs to the first. Each batch is
    ``(events, received_at)``; the batches share the lookups and the insert statements."""
    uniques = [_unique(events) for events, _ in batches]
    people = resolve_actors(
        session,
        {e.actor.key for unique in uniques for e in unique.values() if e.actor is not None},
    )
    seen: set[str] = set()  # keys of per-request records, taken by the first batch to bring them
    new_rows: list[list[Row]] = [[] for _ in batches]
    aggregates: list[list[Row]] = [[] for _ in batches]
    for index, (unique, (_, now)) in enumerate(zip(uniques, batches, strict=True)):
        received_at = now or utcnow()
        events = list(unique.values())
        artifact_ids = _upsert_artifacts(session, source, events, received_at)
        rows, replaced = new_rows[index], aggregates[index]
        for event in events:
            row = _row(source, event, people, artifact_ids, received_at)
            if event.replace:
                replaced.append(row)
            elif event.key not in seen:
                seen.add(event.key)
                rows.append(row)
    # Per-request records: the unique index decides, in the statement that inserts them.
    accepted = _insert_new(session, new_rows)
    for index, rows in enumerate(aggregates):
        if rows:
            accepted[index] += _store_aggregates(session, source, rows)
    return [
        StoreResult(accepted=n, duplicates=len(events) - n)
        for n, (events, _) in zip(accepted, batches, strict=True)
    ]


def _unique(events: Sequence[NormalizedEvent]) -> dict[str, NormalizedEvent]:
    """Within one batch the first copy of a key wins; for aggregates the last one does."""
    unique: dict[str, NormalizedEvent] = {}
    for event in events:
        if event.replace or event.key not in unique:
            unique[event.key] = event
    return unique


def _insert_new(session: Session, groups: list[list[Row]]) -> list[int]:
    """Insert the rows whose key is not stored yet; how many of each group were inserted.

    The values are bound as the driver takes them, through the DBAPI connection under the
    session's transaction: no SQL is compiled and no type is processed per row. Keys must be
    distinct across all the groups.
    """
    if not any(groups):
        return [0] * len(groups)
    connection = session.connection()
    to_db = _time_binder(connection.dialect)
    if connection.dialect.name == "postgresql":
        stored: set[str] = set()
        rows = [row for group in groups for row in group]
        for start in range(0, len(rows), _PG_PAGE_ROWS):
            columns = tuple(
                map(list, zip(*_bound(rows[start : start + _PG_PAGE_ROWS], to_db), strict=True))
            )
            result = connection.exec_driver_sql(_PG_INSERT, columns)
            stored.update(key for (key,) in result)
        return [sum(row[_KEY] in stored for row in group) for group in groups]
    return [
        connection.exec_driver_sql(_SQLITE_INSERT, _bound(group, to_db)).rowcount if group else 0
        for group in groups
    ]


def _bound(rows: list[Row], to_db: Callable[[datetime], Any]) -> list[Row]:
    """The rows with their times as the database takes them."""
    received: dict[datetime, Any] = {}  # a batch shares one received_at: convert it once
    bound = []
    for row in rows:
        received_at = received.get(row[_RECEIVED_AT])
        if received_at is None:
            received_at = received[row[_RECEIVED_AT]] = to_db(row[_RECEIVED_AT])
        bound.append(
            (*row[:_OCCURRED_AT], to_db(row[_OCCURRED_AT]), received_at, *row[_RECEIVED_AT + 1 :])
        )
    return bound


def _time_binder(dialect: sa.Dialect) -> Callable[[datetime], Any]:
    """What ``UTCDateTime`` binds for an aware datetime on this database."""
    if dialect.name == "sqlite":
        return sqlite_utc_text
    process = UTCDateTime().dialect_impl(dialect).bind_processor(dialect)
    return process or (lambda value: value)


def sqlite_utc_text(value: datetime) -> str:
    """The text ``UTCDateTime`` stores on SQLite (naive UTC, SQLAlchemy's ``DATETIME`` format),
    without its two processors per value."""
    if value.tzinfo is not UTC:
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
    return value.replace(tzinfo=None).isoformat(" ", "microseconds")


def _store_aggregates(session: Session, source: str, rows: list[Row]) -> int:
    """New aggregates are inserted, changed ones take the new numbers; how many of either."""
    existing = _existing(session, source, [row[_KEY] for row in rows])
    (accepted,) = _insert_new(session, [[row for row in rows if row[_KEY] not in existing]])
    named = [dict(zip(_COLUMNS, row, strict=True)) for row in rows if row[_KEY] in existing]
    restated = [row for row in named if _changed(existing[row["key"]], row)]
    for row in restated:
        session.execute(
            sa.update(Event)
            .where(col(Event.source) == source, col(Event.key) == row["key"])
            .values({name: row[name] for name in (*_VALUE_COLUMNS, "received_at")})
        )
    return accepted + len(restated)


def _row(
    source: str,
    event: NormalizedEvent,
    people: dict[tuple[str, str], int | None],
    artifact_ids: dict[str, int],
    received_at: datetime,
) -> Row:
    actor = event.actor
    artifact = event.artifact
    return (
        source,
        event.key,
        event.type.value,
        event.occurred_at,
        received_at,
        people.get((actor.kind, actor.value)) if actor else None,
        actor.kind if actor else None,
        actor.value if actor else None,
        event.tool,
        event.model,
        event.input_tokens,
        event.cached_tokens,
        event.output_tokens,
        event.cost_nanos,
        event.requests,
        artifact_ids.get(artifact.external_id) if artifact else None,
        json.dumps(event.metrics, sort_keys=True) if event.metrics else None,
    )


def _existing(session: Session, source: str, keys: list[str]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    columns = [_EVENTS.c[name] for name in _VALUE_COLUMNS]
    for start in range(0, len(keys), 500):
        chunk = keys[start : start + 500]
        query = sa.select(_EVENTS.c.key, *columns).where(
            _EVENTS.c.source == source, _EVENTS.c.key.in_(chunk)
        )
        for stored in session.execute(query):
            found[stored.key] = {name: stored._mapping[name] for name in _VALUE_COLUMNS}
    return found


def _changed(stored: dict[str, Any], row: dict[str, Any]) -> bool:
    return any(stored[name] != row[name] for name in _VALUE_COLUMNS)


def _upsert_artifacts(
    session: Session, source: str, events: list[NormalizedEvent], now: datetime
) -> dict[str, int]:
    refs: dict[str, dict[str, Any]] = {}
    for event in events:
        if event.artifact is None:
            continue
        ref = event.artifact
        described = event.type is EventType.ARTIFACT_CREATED
        if ref.external_id in refs and not described:
            continue
        refs[ref.external_id] = {
            "source": source,
            "external_id": ref.external_id,
            "kind": ref.kind,
            "kind_label": ref.kind_label,
            "title": ref.title,
            "created_at": event.occurred_at if described else now,
            "_described": described,
        }
    if not refs:
        return {}
    insert = upsert_for(session)
    described_rows = [
        {k: v for k, v in r.items() if k != "_described"} for r in refs.values() if r["_described"]
    ]
    bare_rows = [
        {k: v for k, v in r.items() if k != "_described"}
        for r in refs.values()
        if not r["_described"]
    ]
    if described_rows:
        stmt = insert(Artifact)
        session.execute(
            stmt.on_conflict_do_update(
                index_elements=["source", "external_id"],
                set_={
                    "kind": stmt.excluded.kind,
                    "kind_label": stmt.excluded.kind_label,
                    "title": stmt.excluded.title,
                    "created_at": stmt.excluded.created_at,
                },
            ),
            described_rows,
        )
    if bare_rows:
        session.execute(
            insert(Artifact).on_conflict_do_nothing(index_elements=["source", "external_id"]),
            bare_rows,
        )
    ids: dict[str, int] = {}
    external_ids = list(refs)
    for start in range(0, len(external_ids), 500):
        chunk = external_ids[start : start + 500]
        query = select(Artifact.external_id, Artifact.id).where(
            col(Artifact.source) == source, col(Artifact.external_id).in_(chunk)
        )
        for external_id, artifact_id in session.exec(query):
            assert artifact_id is not None
            ids[external_id] = artifact_id
    return ids
