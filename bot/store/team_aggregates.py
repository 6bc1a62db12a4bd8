"""SQL aggregation per team per week. Figures are summed in the database over a team's members;
nothing here returns a per-person figure.

A team's members for a week are the people who were members when the week ended (the
``membership_periods`` history, see ``bot.store.memberships``); a parent team includes the
members of all its sub-teams (the closure over ``Team.parent_id``). The organisation is everyone
with an attributed event. Who was active in a week (ids only) is returned for the privacy check
and goes no further. Artifact semantics follow ``bot.store.aggregates``: artifacts created in the
week by a member, viewed by someone other than the creator or used before the week ends.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from bot.domain.facts import KindCounts, ToolUsage
from bot.domain.team_render import TeamFigures
from bot.store.aggregates import (
    CREATED,
    USAGE,
    ai_counts,
    opened_by_someone_else,
    used_before,
)
from bot.store.memberships import members_at
from bot.store.models import Artifact, Event, MembershipPeriod, Team

Range = tuple[datetime, datetime]


@dataclass(frozen=True)
class TeamNode:
    id: int
    name: str
    parent_id: int | None


@dataclass(frozen=True)
class WeekActivity:
    """Who was active in one week (ids only) and who used which tool: for the privacy check."""

    people: frozenset[int]
    tool_users: dict[str, frozenset[int]]


def all_teams(session: Session) -> list[TeamNode]:
    rows = session.exec(select(Team.id, Team.name, Team.parent_id).order_by(col(Team.name))).all()
    return [TeamNode(int(id_), str(name), parent) for id_, name, parent in rows if id_ is not None]


def subtree(teams: list[TeamNode], root: int) -> frozenset[int]:
    """``root`` and every team below it (cycles in ``parent_id`` are tolerated)."""
    children: dict[int, list[int]] = defaultdict(list)
    for team in teams:
        if team.parent_id is not None:
            children[team.parent_id].append(team.id)
    seen = {root}
    stack = [root]
    while stack:
        for child in children[stack.pop()]:
            if child not in seen:
                seen.add(child)
                stack.append(child)
    return frozenset(seen)


def team_members(
    session: Session, teams: list[TeamNode], at: datetime
) -> dict[int, frozenset[int]]:
    """Member ids of every team at the instant ``at``, sub-teams' members included."""
    direct = members_at(session, at)
    return {
        team.id: frozenset().union(*(direct.get(t, frozenset()) for t in subtree(teams, team.id)))
        for team in teams
    }


def _bucket(ranges: list[Range]) -> sa.ColumnElement[Any]:
    return sa.case(
        *[
            (sa.and_(col(Event.occurred_at) >= start, col(Event.occurred_at) < end), index)
            for index, (start, end) in enumerate(ranges)
        ],
        else_=None,
    )


def _span(ranges: list[Range]) -> sa.ColumnElement[bool]:
    return sa.and_(
        col(Event.occurred_at) >= min(r[0] for r in ranges),
        col(Event.occurred_at) < max(r[1] for r in ranges),
    )


def _int(value: Any) -> int:
    return int(value)


def _is_activity() -> sa.ColumnElement[bool]:
    return sa.or_(col(Event.type) == USAGE, col(Event.type).like("artifact.%"))


def weekly_activity(session: Session, ranges: list[Range]) -> list[WeekActivity]:
    """For each range: the ids of people with any usage or artifact event, and tool users."""
    if not ranges:
        return []
    bucket = _bucket(ranges)
    people: list[set[int]] = [set() for _ in ranges]
    for index, person_id in session.execute(
        sa.select(bucket, col(Event.person_id))
        .where(col(Event.person_id).is_not(None), _is_activity(), _span(ranges))
        .group_by(bucket, col(Event.person_id))
    ).all():
        if index is not None and person_id is not None:
            people[_int(index)].add(_int(person_id))
    tool = sa.func.coalesce(col(Event.tool), col(Event.source))
    tools: list[dict[str, set[int]]] = [defaultdict(set) for _ in ranges]
    for index, name, person_id in session.execute(
        sa.select(bucket, tool, col(Event.person_id))
        .where(col(Event.person_id).is_not(None), col(Event.type) == USAGE, _span(ranges))
        .group_by(bucket, tool, col(Event.person_id))
    ).all():
        if index is not None and person_id is not None:
            tools[_int(index)][str(name)].add(_int(person_id))
    return [
        WeekActivity(frozenset(p), {name: frozenset(ids) for name, ids in t.items()})
        for p, t in zip(people, tools, strict=True)
    ]


def _in_scope(
    person_id: Any, team_ids: frozenset[int] | None, at: datetime
) -> sa.ColumnElement[bool]:
    """The event's person was a member of one of ``team_ids`` at ``at`` (``None``: anyone
    attributed)."""
    column = col(person_id)
    if team_ids is None:
        return column.is_not(None)
    members = sa.select(col(MembershipPeriod.person_id)).where(
        col(MembershipPeriod.team_id).in_(sorted(team_ids)),
        col(MembershipPeriod.joined_at) < at,
        sa.or_(col(MembershipPeriod.left_at).is_(None), col(MembershipPeriod.left_at) >= at),
    )
    return column.in_(members)


def team_figures(
    session: Session, team_ids: frozenset[int] | None, start: datetime, end: datetime
) -> TeamFigures:
    """Sums over the members of ``team_ids`` when the week ended (a team's subtree; ``None`` for
    the organisation)."""
    usage = session.execute(
        sa.select(
            sa.func.coalesce(sa.func.sum(col(Event.input_tokens)), 0),
            sa.func.coalesce(sa.func.sum(col(Event.cached_tokens)), 0),
            sa.func.coalesce(sa.func.sum(col(Event.output_tokens)), 0),
            sa.func.coalesce(sa.func.sum(col(Event.cost_nanos)), 0),
            sa.func.coalesce(sa.func.sum(col(Event.requests)), 0),
        ).where(
            col(Event.type) == USAGE,
            col(Event.occurred_at) >= start,
            col(Event.occurred_at) < end,
            _in_scope(Event.person_id, team_ids, end),
        )
    ).one()
    input_tokens, cached_tokens, output_tokens, cost_nanos, requests = (int(v) for v in usage)
    kinds = _artifact_counts(session, team_ids, start, end)
    created, viewed, used = (sum(getattr(k, n) for k in kinds) for n in _TOTALS)
    return TeamFigures(
        input_tokens=input_tokens,
        cached_tokens=cached_tokens,
        output_tokens=output_tokens,
        cost_nanos=cost_nanos,
        requests=requests,
        artifacts_created=created,
        artifacts_viewed_by_others=viewed,
        artifacts_used=used,
        by_tool=tuple(_usage_by_tool(session, team_ids, start, end)),
        ai_by_kind=tuple(k.ai for k in kinds if k.ai_created),
    )


def _usage_by_tool(
    session: Session, team_ids: frozenset[int] | None, start: datetime, end: datetime
) -> list[ToolUsage]:
    tool = sa.func.coalesce(col(Event.tool), col(Event.source))
    rows = session.execute(
        sa.select(
            tool,
            sa.func.sum(col(Event.input_tokens) + col(Event.output_tokens)),
            sa.func.sum(col(Event.cost_nanos)),
        )
        .where(
            col(Event.type) == USAGE,
            col(Event.occurred_at) >= start,
            col(Event.occurred_at) < end,
            _in_scope(Event.person_id, team_ids, end),
        )
        .group_by(tool)
        .order_by(tool)
    ).all()
    return [ToolUsage(str(name), _int(tokens or 0), _int(cost or 0)) for name, tokens, cost in rows]


_TOTALS = ("created", "viewed_by_others", "used")


def _artifact_counts(
    session: Session, team_ids: frozenset[int] | None, start: datetime, end: datetime
) -> list[KindCounts]:
    """Artifacts the members created in the week, by kind: all of them and the AI-assisted
    ones, each with how many were opened by someone else and how many used. Sums over the same
    members as the team's total, so the privacy decision of the total covers them."""
    created = aliased(Event)
    viewed_by_other = opened_by_someone_else(created, end)
    was_used = used_before(created, end)
    artifact = col(created.artifact_id)
    rows = session.execute(
        sa.select(
            col(Artifact.kind),
            sa.func.count(sa.distinct(artifact)),
            sa.func.count(sa.distinct(sa.case((viewed_by_other, artifact)))),
            sa.func.count(sa.distinct(sa.case((was_used, artifact)))),
            *ai_counts(created, viewed_by_other, was_used),
        )
        .join(Artifact, col(Artifact.id) == artifact)
        .where(
            col(created.type) == CREATED,
            col(created.occurred_at) >= start,
            col(created.occurred_at) < end,
            _in_scope(created.person_id, team_ids, end),
        )
        .group_by(col(Artifact.kind))
        .order_by(col(Artifact.kind))
    ).all()
    return [KindCounts(str(kind), *(_int(n or 0) for n in counts)) for kind, *counts in rows]
