"""A reference implementation of a person-week's facts: one plain SQL query per number, for one
person at a time. Production computes the same facts with grouped queries
(``bot.store.batch_aggregates`` via ``facts_for``/``facts_for_many``); tests compare the two."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, tzinfo

import sqlalchemy as sa
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from bot.digest.weekly_facts import warned_rules
from bot.domain.facts import BASELINE_WEEKS, Facts, KindCounts, ToolUsage, UsageTotals, build_facts
from bot.domain.nudges import evaluate
from bot.domain.weeks import Week, previous_weeks
from bot.store.aggregates import CREATED, USAGE, USED, VIEWED, _in_range, _someone_else
from bot.store.deliveries import get_delivery
from bot.store.models import Artifact, Event, Person, WeeklyTotal
from bot.store.workspace import thresholds


def usage_totals(session: Session, person_id: int, start: datetime, end: datetime) -> UsageTotals:
    row = session.exec(
        select(
            sa.func.coalesce(sa.func.sum(Event.input_tokens), 0),
            sa.func.coalesce(sa.func.sum(Event.cached_tokens), 0),
            sa.func.coalesce(sa.func.sum(Event.output_tokens), 0),
            sa.func.coalesce(sa.func.sum(Event.cost_nanos), 0),
            sa.func.coalesce(sa.func.sum(Event.requests), 0),
        ).where(Event.person_id == person_id, Event.type == USAGE, _in_range(start, end))
    ).one()
    return UsageTotals(*(int(value) for value in row))


def usage_by_tool(
    session: Session, person_id: int, start: datetime, end: datetime
) -> list[ToolUsage]:
    tool = sa.func.coalesce(col(Event.tool), col(Event.source))
    rows = session.exec(
        select(
            tool,
            sa.func.sum(col(Event.input_tokens) + col(Event.output_tokens)),
            sa.func.sum(Event.cost_nanos),
        )
        .where(Event.person_id == person_id, Event.type == USAGE, _in_range(start, end))
        .group_by(tool)
    ).all()
    return [ToolUsage(str(name), int(tokens or 0), int(cost or 0)) for name, tokens, cost in rows]


def usage_by_model(
    session: Session, person_id: int, start: datetime, end: datetime
) -> list[ToolUsage]:
    model = sa.func.coalesce(col(Event.model), "unknown")
    rows = session.exec(
        select(
            model,
            sa.func.sum(col(Event.input_tokens) + col(Event.output_tokens)),
            sa.func.sum(Event.cost_nanos),
        )
        .where(Event.person_id == person_id, Event.type == USAGE, _in_range(start, end))
        .group_by(model)
    ).all()
    return [ToolUsage(str(name), int(tokens or 0), int(cost or 0)) for name, tokens, cost in rows]


def unopened_artifacts(session: Session, person_id: int, start: datetime, end: datetime) -> int:
    """Artifacts this person created in [start, end) that nobody else had opened by ``end``."""
    created = aliased(Event)
    viewed = aliased(Event)
    opened = (
        sa.exists()
        .where(
            viewed.artifact_id == created.artifact_id,
            viewed.type == VIEWED,
            viewed.occurred_at < end,
            _someone_else(viewed, created),
        )
        .correlate(created)
    )
    count = session.exec(
        select(sa.func.count(sa.distinct(created.artifact_id))).where(
            created.person_id == person_id,
            created.type == CREATED,
            created.occurred_at >= start,
            created.occurred_at < end,
            ~opened,
        )
    ).one()
    return int(count or 0)


def weekly_tokens(
    session: Session, person_id: int, ranges: list[tuple[datetime, datetime]]
) -> list[int]:
    """Token totals for each [start, end) range, in the order given (zeros included)."""
    if not ranges:
        return []
    bucket = sa.case(
        *[(_in_range(start, end), index) for index, (start, end) in enumerate(ranges)], else_=None
    )
    rows = session.exec(
        select(bucket, sa.func.sum(col(Event.input_tokens) + col(Event.output_tokens)))
        .where(
            Event.person_id == person_id,
            Event.type == USAGE,
            _in_range(min(r[0] for r in ranges), max(r[1] for r in ranges)),
        )
        .group_by(bucket)
    ).all()
    totals = [0] * len(ranges)
    for index, tokens in rows:
        if index is not None:
            totals[int(index)] = int(tokens or 0)
    # Weeks whose raw events the retention job purged live on in weekly_totals (the purged
    # events are gone, so adding never counts an event twice).
    rolled = session.exec(
        select(
            WeeklyTotal.week_start, col(WeeklyTotal.input_tokens) + col(WeeklyTotal.output_tokens)
        ).where(
            WeeklyTotal.person_id == person_id,
            col(WeeklyTotal.week_start) >= min(r[0] for r in ranges),
            col(WeeklyTotal.week_start) < max(r[1] for r in ranges),
        )
    ).all()
    for week_start, tokens in rolled:
        for index, (start, end) in enumerate(ranges):
            if start <= week_start < end:
                totals[index] += int(tokens or 0)
                break
    return totals


def artifacts_by_kind(
    session: Session, person_id: int, start: datetime, end: datetime
) -> list[KindCounts]:
    """``_counts_by_kind`` of all the person's artifacts, with those of the AI-assisted ones."""
    every = _counts_by_kind(session, person_id, start, end, ai_only=False)
    ai = {k.kind: k for k in _counts_by_kind(session, person_id, start, end, ai_only=True)}
    return [
        replace(
            k,
            ai_created=ai[k.kind].created if k.kind in ai else 0,
            ai_viewed_by_others=ai[k.kind].viewed_by_others if k.kind in ai else 0,
            ai_used=ai[k.kind].used if k.kind in ai else 0,
        )
        for k in every
    ]


def ai_marks_in_org(session: Session) -> bool:
    """Whether any artifact carries a mark from its source or a rule."""
    marked = session.exec(
        select(sa.func.count()).select_from(Artifact).where(col(Artifact.ai_marked_by).is_not(None))
    ).one()
    return int(marked) > 0


def _counts_by_kind(
    session: Session, person_id: int, start: datetime, end: datetime, *, ai_only: bool
) -> list[KindCounts]:
    """Artifacts this person created in the range (only those marked AI-assisted when
    ``ai_only``), by kind: how many were viewed by someone else and how many were used, before
    ``end``. A view by the creator is not a view by others."""
    created = aliased(Event)
    viewed = aliased(Event)
    used = aliased(Event)
    viewed_by_other = (
        sa.exists()
        .where(
            viewed.artifact_id == created.artifact_id,
            viewed.type == VIEWED,
            viewed.occurred_at < end,
            _someone_else(viewed, created),
        )
        .correlate(created)
    )
    was_used = (
        sa.exists()
        .where(used.artifact_id == created.artifact_id, used.type == USED, used.occurred_at < end)
        .correlate(created)
    )
    rows = session.exec(
        select(
            Artifact.kind,
            sa.func.count(sa.distinct(created.artifact_id)),
            sa.func.count(sa.distinct(sa.case((viewed_by_other, created.artifact_id)))),
            sa.func.count(sa.distinct(sa.case((was_used, created.artifact_id)))),
        )
        .join(Artifact, col(Artifact.id) == created.artifact_id)
        .where(
            created.person_id == person_id,
            created.type == CREATED,
            created.occurred_at >= start,
            created.occurred_at < end,
            col(Artifact.ai_assisted) if ai_only else sa.true(),
        )
        .group_by(Artifact.kind)
    ).all()
    return [KindCounts(str(kind), int(c), int(v), int(u)) for kind, c, v, u in rows]


def distinct_viewers(session: Session, person_id: int, start: datetime, end: datetime) -> int:
    """How many other people viewed any of this person's artifacts during the range."""
    created = aliased(Event)
    viewed = aliased(Event)
    viewer = sa.func.coalesce(
        sa.cast(viewed.person_id, sa.String), viewed.actor_kind + ":" + viewed.actor_value
    )
    count = session.exec(
        select(sa.func.count(sa.distinct(viewer)))
        .select_from(viewed)
        .join(created, sa.and_(created.artifact_id == viewed.artifact_id, created.type == CREATED))
        .where(
            created.person_id == person_id,
            viewed.type == VIEWED,
            viewed.occurred_at >= start,
            viewed.occurred_at < end,
            _someone_else(viewed, created),
        )
    ).one()
    return int(count or 0)


def reference_facts(session: Session, person: Person, week: Week, tz: tzinfo) -> Facts:
    """The facts of ``person`` in ``week``, one query per number."""
    assert person.id is not None
    start, end = week.bounds(tz)
    baseline_ranges = [w.bounds(tz) for w in previous_weeks(week, BASELINE_WEEKS)]
    recent_start = week.shift(-(BASELINE_WEEKS - 1)).bounds(tz)[0]
    facts = build_facts(
        user=person.email,
        week=str(week),
        usage=usage_totals(session, person.id, start, end),
        by_tool=usage_by_tool(session, person.id, start, end),
        by_model=usage_by_model(session, person.id, start, end),
        by_kind=artifacts_by_kind(session, person.id, start, end),
        viewers=distinct_viewers(session, person.id, start, end),
        baseline_tokens=weekly_tokens(session, person.id, baseline_ranges),
        unopened_recent=unopened_artifacts(session, person.id, recent_start, end),
        ai_marks_in_org=ai_marks_in_org(session),
    )
    last = get_delivery(session, person.id, str(week.shift(-1)))
    previous = warned_rules(last.facts_json) if last and last.facts_json else frozenset()
    return replace(facts, nudges=tuple(evaluate(facts, thresholds(session), previous)))
