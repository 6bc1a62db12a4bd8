"""Each person's AI-assisted artifacts over the weeks of the digest's chart, for many people in one
query: per ISO week, the artifacts marked AI-assisted (``artifacts.ai_assisted``) whose
``artifact.created`` event names the person and falls in that week, how many of those someone else
opened before the week ended, and how many were used before it ended: the rules of the facts
(``bot.store.aggregates``; a view by the creator is not a view by others). Weeks whose raw events
the retention job purged count from ``weekly_totals.ai_*``, added in the same statement.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import tzinfo
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.orm import aliased
from sqlmodel import Session, col

from bot.domain.ai_history import AiWeek
from bot.domain.weeks import Week
from bot.store.aggregates import CREATED, opened_by_someone_else, used_before
from bot.store.batch_aggregates import whose
from bot.store.models import Artifact, Event, UTCDateTime, WeeklyTotal

_Row = tuple[int, int, int, int, int]


def ai_history(
    session: Session, person_ids: Sequence[int], weeks: Sequence[Week], tz: tzinfo
) -> dict[int, tuple[AiWeek, ...]]:
    """Per person, one ``AiWeek`` for each of ``weeks`` (consecutive, oldest first), for the
    people with at least one AI-assisted artifact in them; the others are absent."""
    if not person_ids or not weeks:
        return {}
    return history_values(session.execute(history_statement(person_ids, weeks, tz)), weeks)


def history_values(
    rows: Iterable[Sequence[Any]], weeks: Sequence[Week]
) -> dict[int, tuple[AiWeek, ...]]:
    """The rows of ``history_statement`` → ``ai_history``'s answer."""
    counts: dict[int, list[list[int]]] = {}
    for row in rows:
        person_id, index, created, viewed, used = cast(_Row, tuple(row))
        if index is None:
            continue
        person = counts.get(person_id)
        if person is None:
            person = counts[person_id] = [[0, 0, 0] for _ in weeks]
        cell = person[int(index)]
        cell[0] += int(created or 0)
        cell[1] += int(viewed or 0)
        cell[2] += int(used or 0)
    names = [str(week) for week in weeks]
    return {
        person_id: tuple(
            AiWeek(name, created, viewed, used)
            for name, (created, viewed, used) in zip(names, cells, strict=True)
        )
        for person_id, cells in counts.items()
        if any(any(cell) for cell in cells)
    }


def history_statement(
    person_ids: Sequence[int] | None, weeks: Sequence[Week], tz: tzinfo
) -> sa.CompoundSelect[Any]:
    """Rows of (person, week index, created, viewed by others, used): with a list of ids, those
    people's; with ``None``, everyone's, ordered by person id (a pass over the chart's weeks by
    time, read a chunk of people at a time like the facts' other everyone-statements)."""
    ranges = [week.bounds(tz) for week in weeks]
    first, last = ranges[0][0], ranges[-1][1]
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
    ids = list(person_ids) if person_ids is not None else None
    stored = (
        sa.select(*columns)
        .join(Artifact, col(Artifact.id) == artifact)
        .where(
            whose(col(created.person_id), ids),
            col(created.type) == CREATED,
            col(Artifact.ai_assisted).is_(True),
            col(created.occurred_at) >= first,
            col(created.occurred_at) < last,
        )
        .group_by(sa.literal_column("1"), sa.literal_column("2"))
    )
    purged = sa.select(
        col(WeeklyTotal.person_id),
        week_of(col(WeeklyTotal.week_start)),
        col(WeeklyTotal.ai_artifacts_created),
        col(WeeklyTotal.ai_artifacts_viewed_by_others),
        col(WeeklyTotal.ai_artifacts_used),
    ).where(
        whose(col(WeeklyTotal.person_id), ids),
        col(WeeklyTotal.week_start) >= first,
        col(WeeklyTotal.week_start) < last,
        sa.or_(
            col(WeeklyTotal.ai_artifacts_created) > 0,
            col(WeeklyTotal.ai_artifacts_viewed_by_others) > 0,
            col(WeeklyTotal.ai_artifacts_used) > 0,
        ),
    )
    both = sa.union_all(stored, purged)
    return both.order_by(sa.literal_column("1")) if ids is None else both
