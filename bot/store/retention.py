"""Retention in the store: fold raw events into weekly per-person totals, then delete them.

Each call works on one range inside one ISO week and is meant to run in one transaction with the
deletion of the same events, so an event is counted into ``weekly_totals`` exactly once: totals are
*added* to what an earlier purge of the same week stored (a week cut by the retention cutoff is
purged in two or more passes). Only events with ``id <= max_id`` are counted and deleted, so an
event stored meanwhile is left for the next run instead of being deleted uncounted.

Artifact counts follow ``bot.store.aggregates``: an artifact created in the week counts as viewed
by others (or used) when such an event happened before the week ended, looked up among all events
still stored; the AI-assisted counts are those of the artifacts marked so when the week is
folded.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from bot.store.aggregates import (
    CREATED,
    USAGE,
    ai_counts,
    opened_by_someone_else,
    used_before,
)
from bot.store.db import upsert_for
from bot.store.models import Artifact, Event, WeeklyTotal

TOTAL_COLUMNS = (
    "input_tokens",
    "cached_tokens",
    "output_tokens",
    "cost_nanos",
    "requests",
    "artifacts_created",
    "artifacts_viewed_by_others",
    "artifacts_used",
    "ai_artifacts_created",
    "ai_artifacts_viewed_by_others",
    "ai_artifacts_used",
)


@dataclass(frozen=True)
class PurgeRange:
    """Events with ``start <= occurred_at < end`` and ``id <= max_id``, all in ``week``, whose
    artifact look-ups end at ``week_end``."""

    week: str
    week_start: datetime
    week_end: datetime
    start: datetime
    end: datetime
    max_id: int


def _in(purge: PurgeRange, event: type[Event] = Event) -> sa.ColumnElement[bool]:
    return sa.and_(
        col(event.occurred_at) >= purge.start,
        col(event.occurred_at) < purge.end,
        col(event.id) <= purge.max_id,
    )


def _int(value: object) -> int:
    """A column or SUM of integers as an int (PostgreSQL sums are Decimal)."""
    if isinstance(value, int | Decimal):
        return int(value)
    raise TypeError(f"expected a whole number, not {type(value).__name__}")


def oldest_event_before(session: Session, cutoff: datetime) -> datetime | None:
    return session.exec(
        select(sa.func.min(Event.occurred_at)).where(col(Event.occurred_at) < cutoff)
    ).one()


def oldest_event_between(session: Session, start: datetime, end: datetime) -> datetime | None:
    return session.exec(
        select(sa.func.min(Event.occurred_at)).where(
            col(Event.occurred_at) >= start, col(Event.occurred_at) < end
        )
    ).one()


def lock_purge(session: Session, key: int) -> None:
    """On PostgreSQL, one purge of a week at a time across replicas (until the transaction
    ends); SQLite serialises writers anyway."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


def last_event_id(session: Session, start: datetime, end: datetime) -> int | None:
    return session.exec(
        select(sa.func.max(Event.id)).where(
            col(Event.occurred_at) >= start, col(Event.occurred_at) < end
        )
    ).one()


def count_before(session: Session, cutoff: datetime) -> tuple[int, int, int]:
    """(events, attributed events, artifacts that would lose their last event) before ``cutoff``."""
    events, attributed = session.exec(
        select(sa.func.count(), sa.func.count(col(Event.person_id))).where(
            col(Event.occurred_at) < cutoff
        )
    ).one()
    later = aliased(Event)
    orphaned = session.exec(
        select(sa.func.count(sa.distinct(col(Event.artifact_id)))).where(
            col(Event.occurred_at) < cutoff,
            col(Event.artifact_id).is_not(None),
            ~sa.exists().where(
                col(later.artifact_id) == col(Event.artifact_id), col(later.occurred_at) >= cutoff
            ),
        )
    ).one()
    return int(events or 0), int(attributed or 0), int(orphaned or 0)


def fold_into_weekly_totals(session: Session, purge: PurgeRange, *, now: datetime) -> int:
    """Add the range's per-person totals to ``weekly_totals``; return how many person-weeks."""
    totals: dict[int, dict[str, int]] = {}

    def row_for(person_id: int) -> dict[str, int]:
        return totals.setdefault(person_id, dict.fromkeys(TOTAL_COLUMNS, 0))

    usage = session.execute(  # six columns: more than sqlmodel's typed select() takes
        sa.select(
            col(Event.person_id),
            sa.func.coalesce(sa.func.sum(Event.input_tokens), 0),
            sa.func.coalesce(sa.func.sum(Event.cached_tokens), 0),
            sa.func.coalesce(sa.func.sum(Event.output_tokens), 0),
            sa.func.coalesce(sa.func.sum(Event.cost_nanos), 0),
            sa.func.coalesce(sa.func.sum(Event.requests), 0),
        )
        .where(col(Event.person_id).is_not(None), col(Event.type) == USAGE, _in(purge))
        .group_by(col(Event.person_id))
    ).all()
    for person_id, *sums in usage:
        row = row_for(_int(person_id))
        for name, value in zip(TOTAL_COLUMNS[:5], sums, strict=True):
            row[name] = _int(value)

    created = aliased(Event)
    viewed_by_other = opened_by_someone_else(created, purge.week_end)
    was_used = used_before(created, purge.week_end)
    artifacts = session.execute(  # eight columns: more than sqlmodel's typed select() takes
        sa.select(
            col(created.person_id),
            sa.func.count(sa.distinct(col(created.artifact_id))),
            sa.func.count(sa.distinct(sa.case((viewed_by_other, col(created.artifact_id))))),
            sa.func.count(sa.distinct(sa.case((was_used, col(created.artifact_id))))),
            *ai_counts(created, viewed_by_other, was_used),
        )
        .join(Artifact, col(Artifact.id) == col(created.artifact_id))
        .where(
            col(created.person_id).is_not(None),
            col(created.type) == CREATED,
            col(created.artifact_id).is_not(None),
            _in(purge, created),
        )
        .group_by(col(created.person_id))
    ).all()
    for person_id, *counts in artifacts:
        row = row_for(_int(person_id))
        for name, value in zip(TOTAL_COLUMNS[5:], counts, strict=True):
            row[name] = _int(value)

    if not totals:
        return 0
    insert = upsert_for(session)(WeeklyTotal)
    statement = insert.on_conflict_do_update(
        index_elements=["person_id", "week"],
        set_={
            **{
                name: getattr(WeeklyTotal.__table__.c, name) + getattr(insert.excluded, name)  # type: ignore[attr-defined]
                for name in TOTAL_COLUMNS
            },
            "updated_at": insert.excluded.updated_at,
        },
    )
    session.execute(
        statement,
        [
            {
                "person_id": person_id,
                "week": purge.week,
                "week_start": purge.week_start,
                "updated_at": now,
                **values,
            }
            for person_id, values in sorted(totals.items())
        ],
    )
    return len(totals)


def artifacts_in(session: Session, purge: PurgeRange) -> list[int]:
    rows = session.exec(
        select(Event.artifact_id).where(col(Event.artifact_id).is_not(None), _in(purge)).distinct()
    ).all()
    return sorted(int(artifact_id) for artifact_id in rows if artifact_id is not None)


def delete_events(session: Session, purge: PurgeRange, *, batch_size: int) -> int:
    """Delete the range's events ``batch_size`` rows per statement; return how many."""
    deleted = 0
    while True:
        batch = select(Event.id).where(_in(purge)).limit(batch_size).scalar_subquery()
        result = session.execute(sa.delete(Event).where(col(Event.id).in_(batch)))
        count = int(result.rowcount or 0)  # type: ignore[attr-defined]
        deleted += count
        if count < batch_size:
            return deleted


def delete_orphaned_artifacts(session: Session, artifact_ids: list[int], *, batch_size: int) -> int:
    """Delete those of ``artifact_ids`` that no stored event refers to any more."""
    deleted = 0
    for index in range(0, len(artifact_ids), batch_size):
        chunk = artifact_ids[index : index + batch_size]
        result = session.execute(
            sa.delete(Artifact).where(
                col(Artifact.id).in_(chunk),
                ~sa.exists().where(col(Event.artifact_id) == col(Artifact.id)),
            )
        )
        deleted += int(result.rowcount or 0)  # type: ignore[attr-defined]
    return deleted
