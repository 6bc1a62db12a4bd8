"""Each person's AI-assisted artifacts over the weeks of the digest's chart, for many people in one
query: per ISO week, the artifacts marked AI-assisted (``artifacts.ai_assisted``) whose
``artifact.created`` event names the person and falls in that week, how many of those someone else
opened before the week ended, and how many were used before it ended: the rules of the facts
(``bot.store.aggregates``; a view by the creator is not a view by others). Weeks whose raw events
the retention job purged count from ``weekly_totals.ai_*``, added in the same statement.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, tzinfo
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.orm import aliased
from sqlmodel import Session, col

from bot.domain.ai_history import AiWeek
from bot.domain.weeks import Week
from bot.store.aggregates import CREATED, opened_by_someone_else, used_before
from bot.store.models import Artifact, Event, UTCDateTime, WeeklyTotal

_Row = tuple[int, int, int, int, int]


def ai_history(
    session: Session, person_ids: Sequence[int], weeks: Sequence[Week], tz: tzinfo
) -> dict[int, tuple[AiWeek, ...]]:
    """Per person, one ``AiWeek`` for each of ``weeks`` (consecutive, oldest first), for the
    people with at least one AI-assisted artifact in them; the others are absent."""
    if not person_ids or not weeks:
        return {}
    ranges = [week.bounds(tz) for week in weeks]
    first, last = ranges[0][0], ranges[-1][1]
    counts: dict[int, list[list[int]]] = {}
    for row in session.execute(_statement(list(person_ids), ranges, first, last)).all():
        person_id, index, created, viewed, used = cast(_Row, tuple(row))
        if index is None:
            continue
        person = counts.setdefault(int(person_id), [[0, 0, 0] for _ in weeks])
        cell = person[int(index)]
        cell[0] += int(created or 0)
        cell[1] += int(viewed or 0)
        cell[2] += int(used or 0)
    return {
        person_id: tuple(
            AiWeek(str(week), created, viewed, used)
            for week, (created, viewed, used) in zip(weeks, cells, strict=True)
        )
        for person_id, cells in counts.items()
        if any(any(cell) for cell in cells)
    }


def _statement(
    person_ids: list[int],
    ranges: list[tuple[datetime, datetime]],
    first: datetime,
    last: datetime,
) -> sa.CompoundSelect[Any]:
    created = aliased(Event)

    def week_of(column: Any) -> sa.Case[int]:
        return sa.case(
            *[
                (sa.and_(column >= start, column < end), index)
                for index, (start, end) in enumerate(ranges)
            ],
            else_=None,
        )

    bucket = week_of(col(created.occurred_at))
    # each artifact's views and uses count up to the end of the week it was created in
    week_end = sa.case(
        *[
            (
                sa.and_(col(created.occurred_at) >= start, col(created.occurred_at) < end),
                sa.literal(end, UTCDateTime()),
            )
            for start, end in ranges
        ],
        else_=None,
    )
    opened_by_other = opened_by_someone_else(created, week_end)
    was_used = used_before(created, week_end)
    artifact = col(created.artifact_id)
    columns: list[Any] = [  # an aliased model column is typed apart from the others
        col(created.person_id),
        bucket,
        sa.func.count(sa.distinct(artifact)),
        sa.func.count(sa.distinct(sa.case((opened_by_other, artifact)))),
        sa.func.count(sa.distinct(sa.case((was_used, artifact)))),
    ]
    stored = (
        sa.select(*columns)
        .join(Artifact, col(Artifact.id) == artifact)
        .where(
            col(created.person_id).in_(person_ids),
            col(created.type) == CREATED,
            col(Artifact.ai_assisted).is_(True),
            col(created.occurred_at) >= first,
            col(created.occurred_at) < last,
        )
        .group_by(col(created.person_id), bucket)
    )
    purged = sa.select(
        col(WeeklyTotal.person_id),
        week_of(col(WeeklyTotal.week_start)),
        col(WeeklyTotal.ai_artifacts_created),
        col(WeeklyTotal.ai_artifacts_viewed_by_others),
        col(WeeklyTotal.ai_artifacts_used),
    ).where(
        col(WeeklyTotal.person_id).in_(person_ids),
        col(WeeklyTotal.week_start) >= first,
        col(WeeklyTotal.week_start) < last,
        sa.or_(
            col(WeeklyTotal.ai_artifacts_created) > 0,
            col(WeeklyTotal.ai_artifacts_viewed_by_others) > 0,
            col(WeeklyTotal.ai_artifacts_used) > 0,
        ),
    )
    return sa.union_all(stored, purged)
