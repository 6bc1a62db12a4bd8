"""Shared pieces of the SQL aggregations (facts, team reports, retention): event type names,
the time-range filter, and the rule that a view by the creator is not a view by others.

The facts themselves are computed for many people at once in ``batch_aggregates``."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import col

from bot.domain.events import EventType
from bot.store.models import Event

USAGE = EventType.USAGE.value
CREATED = EventType.ARTIFACT_CREATED.value
VIEWED = EventType.ARTIFACT_VIEWED.value
USED = EventType.ARTIFACT_USED.value


def _in_range(start: datetime, end: datetime) -> sa.ColumnElement[bool]:
    return sa.and_(col(Event.occurred_at) >= start, col(Event.occurred_at) < end)


def _someone_else(viewer: type[Event], creator: type[Event]) -> sa.ColumnElement[bool]:
    """The viewer is not the creator: another person, or an unmapped identity unlike the creator's."""
    return sa.or_(
        sa.and_(
            viewer.person_id.is_not(None),
            creator.person_id.is_not(None),
            viewer.person_id != creator.person_id,
        ),  # type: ignore[union-attr]
        sa.and_(
            sa.or_(viewer.person_id.is_(None), creator.person_id.is_(None)),  # type: ignore[union-attr]
            sa.or_(
                viewer.actor_kind != creator.actor_kind, viewer.actor_value != creator.actor_value
            ),
        ),
    )
