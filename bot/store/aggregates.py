"""Shared pieces of the SQL aggregations (facts, team reports, retention): event type names,
the time-range filter, the rule that a view by the creator is not a view by others, and the two
questions asked of every created artifact (opened by someone else? used?), also for the ones
marked AI-assisted.

The facts themselves are computed for many people at once in ``batch_aggregates``."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import aliased
from sqlmodel import col

from bot.domain.events import EventType
from bot.store.models import Artifact, Event

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
            col(viewer.person_id).is_not(None),
            col(creator.person_id).is_not(None),
            col(viewer.person_id) != col(creator.person_id),
        ),
        sa.and_(
            sa.or_(col(viewer.person_id).is_(None), col(creator.person_id).is_(None)),
            _other_actor(viewer, creator),
        ),
    )


def opened_by_someone_else(
    created: type[Event], end: datetime | sa.ColumnElement[Any]
) -> sa.ColumnElement[bool]:
    """The artifact of ``created`` (a ``created`` event, correlated) was viewed before ``end`` (a
    time, or an expression of the row such as the end of the week it was created in) by someone
    other than its creator.

    ``_someone_else`` asked as three questions, each answered from ``ix_events_artifact`` (which
    holds the viewer's person) without reading the views' rows: a view by another person; a view
    by an unmapped identity unlike the creator's (only those views' rows are read); and, for an
    unmapped creator, any view by an identity unlike theirs."""

    def views(conditions: Callable[[type[Event]], list[sa.ColumnElement[bool]]]) -> sa.Exists:
        viewed = aliased(Event)
        return (
            sa.exists()
            .where(
                col(viewed.artifact_id) == col(created.artifact_id),
                col(viewed.type) == VIEWED,
                col(viewed.occurred_at) < end,
                *conditions(viewed),
            )
            .correlate(created)
        )

    return sa.or_(
        views(lambda viewed: [col(viewed.person_id) != col(created.person_id)]),
        views(lambda viewed: [col(viewed.person_id).is_(None), _other_actor(viewed, created)]),
        sa.and_(
            col(created.person_id).is_(None),
            views(lambda viewed: [_other_actor(viewed, created)]),
        ),
    )


def _other_actor(viewer: type[Event], creator: type[Event]) -> sa.ColumnElement[bool]:
    return sa.or_(
        col(viewer.actor_kind) != col(creator.actor_kind),
        col(viewer.actor_value) != col(creator.actor_value),
    )


def used_before(created: type[Event], end: datetime | sa.ColumnElement[Any]) -> sa.Exists:
    """The artifact of ``created`` (correlated) was used before ``end`` (as above)."""
    used = aliased(Event)
    return (
        sa.exists()
        .where(
            col(used.artifact_id) == col(created.artifact_id),
            col(used.type) == USED,
            col(used.occurred_at) < end,
        )
        .correlate(created)
    )


def ai_counts(
    created: type[Event], viewed_by_other: sa.ColumnElement[bool], was_used: sa.Exists
) -> tuple[sa.ColumnElement[int], ...]:
    """Three aggregate columns over ``created`` events joined to their ``Artifact``: how many
    distinct artifacts marked AI-assisted, and of those how many opened by someone else and how
    many used (``viewed_by_other`` and ``was_used`` as from the two functions above)."""
    artifact = col(created.artifact_id)
    ai = col(Artifact.ai_assisted)
    return (
        sa.func.count(sa.distinct(sa.case((ai, artifact)))),
        sa.func.count(sa.distinct(sa.case((sa.and_(ai, viewed_by_other), artifact)))),
        sa.func.count(sa.distinct(sa.case((sa.and_(ai, was_used), artifact)))),
    )
