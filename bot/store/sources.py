"""Health of each data source: last event, event counts, identities nobody is mapped to yet."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlmodel import Session, col, select

from bot.store.models import Event


@dataclass(frozen=True)
class SourceHealth:
    source: str
    last_event_at: datetime | None
    last_received_at: datetime | None
    events: int
    org_level_events: int
    unattributed_events: int
    unattributed_identities: tuple[tuple[str, str, int], ...]  # (kind, value, events)


def source_health(session: Session) -> list[SourceHealth]:
    """One row per source that has sent anything, by source name."""
    unattributed = sa.and_(col(Event.person_id).is_(None), col(Event.actor_kind).is_not(None))
    org_level = col(Event.actor_kind).is_(None)
    rows = session.exec(
        select(
            Event.source,
            sa.func.max(Event.occurred_at),
            sa.func.max(Event.received_at),
            sa.func.count(),
            sa.func.sum(sa.case((org_level, 1), else_=0)),
            sa.func.sum(sa.case((unattributed, 1), else_=0)),
        )
        .group_by(col(Event.source))
        .order_by(col(Event.source))
    ).all()
    identities: dict[str, list[tuple[str, str, int]]] = {}
    for source, kind, value, count in session.exec(
        select(Event.source, Event.actor_kind, Event.actor_value, sa.func.count())
        .where(unattributed)
        .group_by(col(Event.source), col(Event.actor_kind), col(Event.actor_value))
        .order_by(
            col(Event.source), sa.func.count().desc(), col(Event.actor_kind), col(Event.actor_value)
        )
    ).all():
        identities.setdefault(str(source), []).append((str(kind), str(value), int(count)))
    return [
        SourceHealth(
            source=str(source),
            last_event_at=_utc(last_event),
            last_received_at=_utc(last_received),
            events=int(events),
            org_level_events=int(org or 0),
            unattributed_events=int(unattributed_count or 0),
            unattributed_identities=tuple(identities.get(str(source), ())),
        )
        for source, last_event, last_received, events, org, unattributed_count in rows
    ]


def _utc(value: datetime | None) -> datetime | None:
    """Aggregates bypass the column type on SQLite; give them the UTC zone back."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def recorded_cost_nanos(session: Session, source: str, start: datetime, end: datetime) -> int:
    """The cost stored for ``source``'s events from ``start`` (inclusive) to ``end``, in
    nano-dollars (what the vendor's usage records carried or what was estimated for them)."""
    total = session.exec(
        select(sa.func.coalesce(sa.func.sum(Event.cost_nanos), 0)).where(
            Event.source == source,
            col(Event.occurred_at) >= start,
            col(Event.occurred_at) < end,
        )
    ).one()
    return int(total or 0)
