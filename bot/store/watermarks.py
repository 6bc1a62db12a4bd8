"""What the digest needs to know about sources: each one's watermark (complete-through instant).

Pull sources keep theirs in ``source_state``; a push source's is the latest event it sent, taken
as the earlier of its latest ``occurred_at`` and latest ``received_at`` so that a sender whose
clock runs ahead cannot mark a week complete before its data has arrived.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, col, select

from bot.domain.completeness import PUSH_LOOKBACK, enabled_sources
from bot.store.models import Event, SourceState


def pull_watermarks(session: Session) -> dict[str, datetime | None]:
    rows = session.exec(select(SourceState.source, SourceState.watermark)).all()
    return {str(source): _utc(mark) for source, mark in rows}


def push_last_events(session: Session, *, since: datetime) -> dict[str, datetime]:
    """Per source with events since ``since``: its latest event (see the module docstring)."""
    rows = session.exec(
        select(Event.source, sa.func.max(Event.occurred_at), sa.func.max(Event.received_at))
        .where(col(Event.occurred_at) >= since)
        .group_by(col(Event.source))
    ).all()
    marks: dict[str, datetime] = {}
    for source, occurred, received in rows:
        first, second = _utc(occurred), _utc(received)
        if first is not None and second is not None:
            marks[str(source)] = min(first, second)
    return marks


def source_watermarks(
    session: Session, *, now: datetime, lookback: timedelta = PUSH_LOOKBACK
) -> dict[str, datetime | None]:
    """Every enabled source and its watermark (``bot.domain.completeness.enabled_sources``)."""
    return enabled_sources(
        pull_watermarks(session),
        push_last_events(session, since=now - lookback),
        now=now,
        lookback=lookback,
    )


def _utc(value: datetime | str | None) -> datetime | None:
    """Aggregates bypass the column type on SQLite; give them the UTC zone back."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
