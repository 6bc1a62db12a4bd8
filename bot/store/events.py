"""Store normalised events idempotently: once per (source, key), or replaced for aggregates."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from bot.domain.events import EventType, NormalizedEvent
from bot.store.db import upsert_for
from bot.store.identities import resolve_actors
from bot.store.models import Artifact, Event, utcnow

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
# Rows per multi-row INSERT. psycopg rewrites each statement's placeholders in Python and caches
# only short statements, so on PostgreSQL short pages are several times faster than long ones.
_INSERT_PAGE_ROWS = {"postgresql": 25}


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
    ``(events, received_at)``; the batches share the lookups and one insert statement."""
    uniques = [_unique(events) for events, _ in batches]
    people = resolve_actors(
        session,
        [e.actor for unique in uniques for e in unique.values() if e.actor is not None],
    )
    owner: dict[str, int] = {}  # key of a per-request record → the batch that brought it first
    new_rows: list[dict[str, Any]] = []
    aggregates: list[list[dict[str, Any]]] = [[] for _ in batches]
    for index, (unique, (_, now)) in enumerate(zip(uniques, batches, strict=True)):
        received_at = now or utcnow()
        events = list(unique.values())
        artifact_ids = _upsert_artifacts(session, source, events, received_at)
        for event in events:
            row = _row(source, event, people, artifact_ids, received_at)
            if event.replace:
                aggregates[index].append(row)
            elif event.key not in owner:
                owner[event.key] = index
                new_rows.append(row)
    accepted = [0] * len(batches)
    # Per-request records: the unique index decides, in the same statement that inserts them.
    for key in _insert_new(session, new_rows):
        accepted[owner[key]] += 1
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
        if event.key not in unique or event.replace:
            unique[event.key] = event
    return unique


def _insert_new(session: Session, rows: list[dict[str, Any]]) -> list[str]:
    """Insert the rows whose key is not stored yet; the keys of those inserted."""
    if not rows:
        return []
    dialect = session.get_bind().dialect.name
    statement = (
        upsert_for(session)(_EVENTS)
        .on_conflict_do_nothing(index_elements=["source", "key"])
        .returning(_EVENTS.c.key)
        .execution_options(insertmanyvalues_page_size=_INSERT_PAGE_ROWS.get(dialect, 1000))
    )
    return list(session.execute(statement, rows).scalars())


def _store_aggregates(session: Session, source: str, rows: list[dict[str, Any]]) -> int:
    """New aggregates are inserted, changed ones take the new numbers; how many of either."""
    existing = _existing(session, source, [row["key"] for row in rows])
    accepted = len(_insert_new(session, [row for row in rows if row["key"] not in existing]))
    restated = [
        row for row in rows if row["key"] in existing and _changed(existing[row["key"]], row)
    ]
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
) -> dict[str, Any]:
    actor = event.actor
    return {
        "source": source,
        "key": event.key,
        "type": event.type.value,
        "occurred_at": event.occurred_at,
        "received_at": received_at,
        "person_id": people.get(actor.key) if actor else None,
        "actor_kind": actor.kind if actor else None,
        "actor_value": actor.value if actor else None,
        "tool": event.tool,
        "model": event.model,
        "input_tokens": event.input_tokens,
        "cached_tokens": event.cached_tokens,
        "output_tokens": event.output_tokens,
        "cost_nanos": event.cost_nanos,
        "requests": event.requests,
        "artifact_id": artifact_ids.get(event.artifact.external_id) if event.artifact else None,
        "metrics": json.dumps(event.metrics, sort_keys=True) if event.metrics else None,
    }


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
