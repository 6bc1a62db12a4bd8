"""Health of each data source: last event, event counts, identities nobody is mapped to yet."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

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
    rows = session.execute(  # six columns: more than sqlmodel's typed select() takes
        sa.select(
            col(Event.source),
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
            events=_count(events),
            org_level_events=_count(org),
            unattributed_events=_count(unattributed_count),
            unattributed_identities=tuple(identities.get(str(source), ())),
        )
        for source, last_event, last_received, events, org, unattributed_count in rows
    ]


def _utc(value: object) -> datetime | None:
    """Aggregates bypass the column type on SQLite; give them the UTC zone back."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if not isinstance(value, datetime):
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _count(value: object) -> int:
    """A COUNT or SUM as an int (SUM of nothing is NULL; PostgreSQL sums are Decimal)."""
    return int(value) if isinstance(value, int | float | Decimal) else 0


def recorded_cost_nanos(session: Session, source: str, start: datetime, end: datetime) -> int:
    """The cost stored for ``source``'s events from ``start`` (inclusive) to ``end``, in
    nano-dollars (what the vendor's usage records carried or what was estimated for them)."""
    total = session.exec(
        select(sa.func.coalesce(sa.func.sum(Event.cost_nanos), 0)).where(
            col(Event.source) == source,
            col(Event.occurred_at) >= start,
            col(Event.occurred_at) < end,
        )
    ).one()
    return int(total or 0)
