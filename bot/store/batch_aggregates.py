"""SQL aggregation for many people at once: the numbers of ``bot.store.aggregates``, grouped by
person, so a digest run for a whole organisation makes a handful of queries per chunk of people
instead of several per person. Every function returns exactly what its one-person counterpart
returns for each person (people with nothing to count are absent; callers use the zero value).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import cast

import sqlalchemy as sa
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from bot.domain.facts import KindCounts, ToolUsage, UsageTotals
from bot.store.aggregates import (
    CREATED,
    USAGE,
    VIEWED,
    _in_range,
    _someone_else,
    ai_counts,
    opened_by_someone_else,
    used_before,
)
from bot.store.models import Artifact, Delivery, Event, WeeklyTotal


@dataclass
class Usage:
    """One person's usage in a range: totals, by tool, by model (``usage_totals`` & co.)."""

    totals: UsageTotals = field(default_factory=UsageTotals)
    by_tool: list[ToolUsage] = field(default_factory=list)
    by_model: list[ToolUsage] = field(default_factory=list)


# Row shapes of the selects wider than sqlmodel's typed ``select()`` (SQLAlchemy types them as
# plain tuples of objects).
_UsageRow = tuple[int, str, str, int | None, int | None, int | None, int | None, int | None]
_KindRow = tuple[int, str, int, int, int, int, int, int]


def usage(
    session: Session, person_ids: Sequence[int], start: datetime, end: datetime
) -> dict[int, Usage]:
    """Totals, per-tool and per-model usage of each person, from one query grouped by
    (person, tool, model); the groups are then added up per tool and per model."""
    if not person_ids:
        return {}
    tool = sa.func.coalesce(col(Event.tool), col(Event.source))
    model = sa.func.coalesce(col(Event.model), "unknown")
    rows = session.execute(  # eight columns: more than sqlmodel's typed select() takes
        sa.select(
            col(Event.person_id),
            tool,
            model,
            sa.func.sum(Event.input_tokens),
            sa.func.sum(Event.cached_tokens),
            sa.func.sum(Event.output_tokens),
            sa.func.sum(Event.cost_nanos),
            sa.func.sum(Event.requests),
        )
        .where(
            col(Event.person_id).in_(person_ids),
            col(Event.type) == USAGE,
            _in_range(start, end),
        )
        .group_by(col(Event.person_id), tool, model)
    ).all()
    totals: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0, 0, 0])
    tools: dict[int, dict[str, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    models: dict[int, dict[str, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    for row in rows:
        person_id, tool_name, model_name, inp, cached, out, cost, requests = cast(_UsageRow, row)
        numbers = [int(inp or 0), int(cached or 0), int(out or 0), int(cost or 0)]
        person_total = totals[person_id]
        for index, value in enumerate([*numbers, int(requests or 0)]):
            person_total[index] += value
        for groups, name in ((tools, str(tool_name)), (models, str(model_name))):
            group = groups[person_id][name]
            group[0] += numbers[0] + numbers[2]
            group[1] += numbers[3]
    return {
        person_id: Usage(
            UsageTotals(*numbers),
            [ToolUsage(name, t, c) for name, (t, c) in tools[person_id].items()],
            [ToolUsage(name, t, c) for name, (t, c) in models[person_id].items()],
        )
        for person_id, numbers in totals.items()
    }


def weekly_tokens(
    session: Session, person_ids: Sequence[int], ranges: list[tuple[datetime, datetime]]
) -> dict[int, list[int]]:
    """Token totals of each person for each [start, end) range, in the order given."""
    if not person_ids or not ranges:
        return {}
    bucket = sa.case(
        *[(_in_range(start, end), index) for index, (start, end) in enumerate(ranges)], else_=None
    )
    rows = session.exec(
        select(
            col(Event.person_id),
            bucket,
            sa.func.sum(col(Event.input_tokens) + col(Event.output_tokens)),
        )
        .where(
            col(Event.person_id).in_(person_ids),
            col(Event.type) == USAGE,
            _in_range(min(r[0] for r in ranges), max(r[1] for r in ranges)),
        )
        .group_by(col(Event.person_id), bucket)
    ).all()
    found: dict[int, list[int]] = {}
    for person_id, index, tokens in rows:
        if index is not None and person_id is not None:
            found.setdefault(person_id, [0] * len(ranges))[int(index)] = int(tokens or 0)
    # Weeks whose raw events the retention job purged live on in weekly_totals.
    rolled = session.exec(
        select(
            WeeklyTotal.person_id,
            WeeklyTotal.week_start,
            col(WeeklyTotal.input_tokens) + col(WeeklyTotal.output_tokens),
        ).where(
            col(WeeklyTotal.person_id).in_(person_ids),
            col(WeeklyTotal.week_start) >= min(r[0] for r in ranges),
            col(WeeklyTotal.week_start) < max(r[1] for r in ranges),
        )
    ).all()
    for person_id, week_start, tokens in rolled:
        for index, (start, end) in enumerate(ranges):
            if start <= week_start < end:
                found.setdefault(person_id, [0] * len(ranges))[index] += int(tokens or 0)
                break
    return found


def artifacts_by_kind(
    session: Session, person_ids: Sequence[int], start: datetime, end: datetime
) -> dict[int, list[KindCounts]]:
    """Per person, ``aggregates.artifacts_by_kind``: created in the range, by kind, and how many
    of those were viewed by someone else and how many used, before ``end``; the same three for
    the AI-assisted ones alone."""
    if not person_ids:
        return {}
    created = aliased(Event)
    viewed_by_other = opened_by_someone_else(created, end)
    was_used = used_before(created, end)
    artifact_rows = session.execute(  # five columns
        sa.select(
            col(created.person_id),
            col(Artifact.kind),
            sa.func.count(sa.distinct(col(created.artifact_id))),
            sa.func.count(sa.distinct(sa.case((viewed_by_other, col(created.artifact_id))))),
            sa.func.count(sa.distinct(sa.case((was_used, col(created.artifact_id))))),
            *ai_counts(created, viewed_by_other, was_used),
        )
        .join(Artifact, col(Artifact.id) == col(created.artifact_id))
        .where(
            col(created.person_id).in_(person_ids),
            col(created.type) == CREATED,
            col(created.occurred_at) >= start,
            col(created.occurred_at) < end,
        )
        .group_by(col(created.person_id), col(Artifact.kind))
    ).all()
    found: dict[int, list[KindCounts]] = defaultdict(list)
    for row in artifact_rows:
        person_id, kind, *counts = cast(_KindRow, row)
        found[person_id].append(KindCounts(str(kind), *map(int, counts)))
    return dict(found)


def distinct_viewers(
    session: Session, person_ids: Sequence[int], start: datetime, end: datetime
) -> dict[int, int]:
    """Per person, how many other people viewed any of their artifacts during the range."""
    if not person_ids:
        return {}
    created = aliased(Event)
    viewed = aliased(Event)
    viewer = sa.func.coalesce(
        sa.cast(col(viewed.person_id), sa.String),
        col(viewed.actor_kind) + ":" + col(viewed.actor_value),
    )
    rows = session.exec(
        select(col(created.person_id), sa.func.count(sa.distinct(viewer)))
        .select_from(viewed)
        .join(
            created,
            sa.and_(
                col(created.artifact_id) == col(viewed.artifact_id),
                col(created.type) == CREATED,
            ),
        )
        .where(
            col(created.person_id).in_(person_ids),
            col(viewed.type) == VIEWED,
            col(viewed.occurred_at) >= start,
            col(viewed.occurred_at) < end,
            _someone_else(viewed, created),
        )
        .group_by(col(created.person_id))
    ).all()
    return {person_id: int(count or 0) for person_id, count in rows if person_id is not None}


def unopened_artifacts(
    session: Session, person_ids: Sequence[int], start: datetime, end: datetime
) -> dict[int, int]:
    """Per person, artifacts created in [start, end) that nobody else had opened by ``end``."""
    if not person_ids:
        return {}
    created = aliased(Event)
    opened = opened_by_someone_else(created, end)
    rows = session.exec(
        select(col(created.person_id), sa.func.count(sa.distinct(col(created.artifact_id))))
        .where(
            col(created.person_id).in_(person_ids),
            col(created.type) == CREATED,
            col(created.occurred_at) >= start,
            col(created.occurred_at) < end,
            ~opened,
        )
        .group_by(col(created.person_id))
    ).all()
    return {person_id: int(count or 0) for person_id, count in rows if person_id is not None}


def delivered_facts(session: Session, person_ids: Sequence[int], week: str) -> dict[int, str]:
    """The facts JSON recorded with each person's delivery for ``week`` (where there is one)."""
    if not person_ids:
        return {}
    rows = session.exec(
        select(Delivery.person_id, Delivery.facts_json).where(
            col(Delivery.person_id).in_(person_ids), Delivery.week == week
        )
    ).all()
    return {person_id: facts_json for person_id, facts_json in rows if facts_json}
