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
    if not events:
        return StoreResult(0, 0)
    received_at = now or utcnow()

    # Within one batch the first copy of a key wins; for aggregates the last one does.
    unique: dict[str, NormalizedEvent] = {}
    for event in events:
        if event.key not in unique or event.replace:
            unique[event.key] = event
    in_batch_duplicates = len(events) - len(unique)

    people = resolve_actors(session, [e.actor for e in unique.values() if e.actor is not None])
    artifact_ids = _upsert_artifacts(session, source, list(unique.values()), received_at)

    rows = [_row(source, event, people, artifact_ids, received_at) for event in unique.values()]
    existing = _existing(session, source, list(unique))

    fresh = [row for row in rows if row["key"] not in existing]
    restated = [
        row
        for row in rows
        if row["key"] in existing
        and unique[row["key"]].replace
        and _changed(existing[row["key"]], row)
    ]
    insert = upsert_for(session)
    if fresh:
        session.execute(
            insert(Event).on_conflict_do_nothing(index_elements=["source", "key"]), fresh
        )
    for row in restated:
        session.execute(
            sa.update(Event)
            .where(col(Event.source) == source, col(Event.key) == row["key"])
            .values({name: row[name] for name in (*_VALUE_COLUMNS, "received_at")})
        )
    duplicates = in_batch_duplicates + len(rows) - len(fresh) - len(restated)
    return StoreResult(accepted=len(fresh) + len(restated), duplicates=duplicates)


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
    for start in range(0, len(keys), 500):
        chunk = keys[start : start + 500]
        query = select(Event).where(col(Event.source) == source, col(Event.key).in_(chunk))
        for stored in session.exec(query):
            found[stored.key] = {name: getattr(stored, name) for name in _VALUE_COLUMNS}
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
