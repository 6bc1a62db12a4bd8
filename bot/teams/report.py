"""Team reports for ``/ai-roi`` and ``ai-roi team``: who may see what, what is safe to show.

Steps: check the viewer may see the team (a lead sees the teams they lead; an admin every team and
the organisation), gather who was active each week (ids only), decide with
``bot.domain.privacy.visible_cells`` which team-weeks may be shown, sum the figures of those in
SQL, and write an audit entry per report viewed. The caller commits the session.

The privacy check never runs over just the team asked for: it runs over every team and the
organisation, for the weeks shown, the trend weeks, and ``CONTEXT_WEEKS`` before them, so that no
combination of reports — whoever asks, whichever team — can be subtracted to single someone out.
Because earlier weeks are decided first, asking about a later week never changes what an earlier
week showed.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import datetime, tzinfo

from sqlmodel import Session, col, select

from bot.domain.privacy import CellKey, visible_cells
from bot.domain.team_render import ORG, TeamFigures, TeamReport, TeamWeek
from bot.domain.weeks import Week, previous_weeks, week_of
from bot.errors import NotFoundError, PermissionDeniedError, UsageError
from bot.store.models import AuditEntry, Membership, Person, Team
from bot.store.team_aggregates import (
    TeamNode,
    WeekActivity,
    all_teams,
    subtree,
    team_figures,
    team_members,
    weekly_activity,
)
from bot.store.workspace import get_setting

__all__ = [
    "AUDIT_ACTION",
    "MAX_WEEKS",
    "MIN_GROUP_SIZE_SETTING",
    "TeamReport",
    "Viewer",
    "min_group_size",
    "team_report",
    "team_reports",
    "teams_for",
]

TREND_WEEKS = 4
CONTEXT_WEEKS = 8
MAX_WEEKS = 12
AUDIT_ACTION = "team_report.view"
MIN_GROUP_SIZE_SETTING = "min_group_size"
_ORG_KEY = "org"


@dataclass(frozen=True)
class Viewer:
    """Who asks: ``actor`` is what the audit log records (a Slack user id, or ``cli``)."""

    actor: str
    person_id: int | None = None
    slack_user_id: str | None = None
    is_admin: bool = False

    @classmethod
    def cli(cls) -> Viewer:
        return cls(actor="cli", is_admin=True)


@dataclass(frozen=True)
class _Group:
    key: str  # the privacy-check name: "team:<id>" or "org"
    name: str  # what people call it: the team name, or "org"
    team_ids: frozenset[int] | None  # the team's subtree; None for the organisation
    members: frozenset[int] | None  # None for the organisation: everyone


def min_group_size(session: Session) -> int:
    """k in force: the admin's ``min_group_size`` setting, never below 5."""
    from bot.domain.privacy import effective_k

    return effective_k(get_setting(session, MIN_GROUP_SIZE_SETTING))


def teams_for(session: Session, viewer: Viewer) -> list[str]:
    """The reports ``viewer`` may ask for: ``org`` and every team for admins, else the teams led."""
    if viewer.is_admin:
        return [ORG, *(team.name for team in all_teams(session))]
    person_id = _person_id(session, viewer)
    if person_id is None:
        return []
    rows = session.exec(
        select(Team.name)
        .join(Membership, col(Membership.team_id) == col(Team.id))
        .where(Membership.person_id == person_id, col(Membership.is_lead))
        .order_by(col(Team.name))
    ).all()
    return [str(name) for name in rows]


def team_report(
    session: Session,
    *,
    viewer: Viewer,
    team_name: str | None,
    week: Week,
    weeks: int,
    tz: tzinfo,
    k: int,
    now: datetime,
) -> TeamReport:
    """One team's report (``team_name=None``: the organisation for admins, else the first team
    the viewer leads). Raises ``NotFoundError``, ``PermissionDeniedError`` or ``UsageError``."""
    names = None if team_name is None else [team_name]
    reports = team_reports(
        session, viewer=viewer, team_names=names, week=week, weeks=weeks, tz=tz, k=k, now=now
    )
    return reports[0]


def team_reports(
    session: Session,
    *,
    viewer: Viewer,
    team_names: list[str] | None,
    week: Week,
    weeks: int,
    tz: tzinfo,
    k: int,
    now: datetime,
) -> list[TeamReport]:
    """Reports for several teams under one privacy decision (``None``: the viewer's default —
    every team they lead, or the organisation for an admin who leads none)."""
    _check_weeks(week, weeks, tz, now)
    nodes = all_teams(session)
    allowed = teams_for(session, viewer)
    wanted = _resolve_names(session, viewer, team_names, nodes, allowed)
    groups = _groups(session, nodes)
    shown_weeks = [*previous_weeks(week, weeks - 1), week]
    trend_weeks = [*previous_weeks(week, TREND_WEEKS), week]
    first = min(shown_weeks[0], trend_weeks[0])
    universe = [*previous_weeks(first, CONTEXT_WEEKS), *_weeks_between(first, week)]
    activity = weekly_activity(session, [w.bounds(tz) for w in universe])
    decision = _Decision.make(groups, dict(zip(universe, activity, strict=True)), k)
    reports = []
    for name in wanted:
        report = _report(session, decision, groups[name], shown_weeks, trend_weeks, tz)
        _audit(session, viewer, report, now)
        reports.append(report)
    return reports


def _report(
    session: Session,
    decision: _Decision,
    group: _Group,
    shown_weeks: list[Week],
    trend_weeks: list[Week],
    tz: tzinfo,
) -> TeamReport:
    cache: dict[Week, TeamWeek] = {}
    for week in sorted({*shown_weeks, *trend_weeks}):
        cache[week] = decision.team_week(session, group, week, tz)
    return TeamReport(
        team=group.name,
        k=decision.k,
        weeks=tuple(cache[w] for w in shown_weeks),
        trend=tuple(cache[w] for w in trend_weeks),
    )


# Access -------------------------------------------------------------------------------------


def _person_id(session: Session, viewer: Viewer) -> int | None:
    if viewer.person_id is not None:
        return viewer.person_id
    if viewer.slack_user_id is None:
        return None
    person = session.exec(
        select(Person).where(Person.slack_user_id == viewer.slack_user_id)
    ).first()
    return None if person is None else person.id


def _resolve_names(
    session: Session,
    viewer: Viewer,
    team_names: list[str] | None,
    nodes: list[TeamNode],
    allowed: list[str],
) -> list[str]:
    if team_names is None:
        if not allowed:
            raise PermissionDeniedError(
                "Team reports are for team leads and admins, and you don't lead a team."
            )
        led = [name for name in teams_for(session, _as_lead(viewer)) if name in allowed]
        return led or [allowed[0]]
    known = {ORG: ORG, **{node.name: node.name for node in nodes}}
    folded = {name.casefold(): name for name in known}
    resolved = []
    for asked in team_names:
        name = known.get(asked.strip()) or folded.get(asked.strip().casefold())
        if name is None:
            raise NotFoundError(f"No team named {asked.strip()!r}. {_may_see(allowed)}")
        if name not in allowed:
            what = "the organisation report" if name == ORG else f"the report of {name!r}"
            raise PermissionDeniedError(f"You may not see {what}. {_may_see(allowed)}")
        resolved.append(name)
    return resolved


def _as_lead(viewer: Viewer) -> Viewer:
    return Viewer(viewer.actor, viewer.person_id, viewer.slack_user_id, is_admin=False)


def _may_see(allowed: list[str]) -> str:
    if not allowed:
        return "You don't lead a team, so there are no team reports for you."
    return "Teams you can see: " + ", ".join(allowed) + "."


def _check_weeks(week: Week, weeks: int, tz: tzinfo, now: datetime) -> None:
    if not 1 <= weeks <= MAX_WEEKS:
        raise UsageError(f"weeks must be between 1 and {MAX_WEEKS}, not {weeks}")
    if week >= week_of(now, tz):
        raise UsageError(f"{week} has not ended yet; team reports cover complete weeks only")


def _weeks_between(first: Week, last: Week) -> list[Week]:
    weeks = [first]
    while weeks[-1] < last:
        weeks.append(weeks[-1].shift(1))
    return weeks


# Privacy decision ---------------------------------------------------------------------------


def _groups(session: Session, nodes: list[TeamNode]) -> dict[str, _Group]:
    members = team_members(session, nodes)
    groups = {ORG: _Group(_ORG_KEY, ORG, None, None)}
    for node in nodes:
        groups[node.name] = _Group(
            f"team:{node.id}", node.name, subtree(nodes, node.id), members[node.id]
        )
    return groups


@dataclass
class _Decision:
    """Which cells may be shown, decided once over every group and every week considered."""

    k: int
    activity: dict[Week, WeekActivity]
    groups: dict[str, _Group]
    visible: set[CellKey]
    visible_tools: set[CellKey]

    @classmethod
    def make(
        cls, groups: dict[str, _Group], activity: dict[Week, WeekActivity], k: int
    ) -> _Decision:
        from bot.domain.privacy import MIN_K

        k = max(MIN_K, k)
        cells: dict[CellKey, frozenset[int]] = {}
        tool_cells: dict[str, dict[CellKey, frozenset[int]]] = defaultdict(dict)
        for week, active in activity.items():
            for group in groups.values():
                cells[(group.key, week)] = _active(group, active.people)
                for tool, users in active.tool_users.items():
                    tool_cells[tool][(f"{group.key}/{tool}", week)] = _active(group, users)
        visible = visible_cells(cells, k, week_span=TREND_WEEKS)
        visible_tools: set[CellKey] = set()
        for per_tool in tool_cells.values():
            visible_tools |= visible_cells(per_tool, k, week_span=TREND_WEEKS)
        return cls(k, activity, groups, visible, visible_tools)

    def team_week(self, session: Session, group: _Group, week: Week, tz: tzinfo) -> TeamWeek:
        if (group.key, week) not in self.visible:
            return TeamWeek(week, None)
        start, end = week.bounds(tz)
        figures = team_figures(session, group.team_ids, start, end)
        return TeamWeek(week, self._safe_tools(figures, group, week))

    def _safe_tools(self, figures: TeamFigures, group: _Group, week: Week) -> TeamFigures:
        """The tool breakdown only when every tool used in this cell may be shown on its own:
        a hidden tool would otherwise be the total minus the tools shown."""
        used = {
            tool for tool, users in self.activity[week].tool_users.items() if _active(group, users)
        }
        if all((f"{group.key}/{tool}", week) in self.visible_tools for tool in used):
            return figures
        return replace(figures, by_tool=())


def _active(group: _Group, people: frozenset[int]) -> frozenset[int]:
    return people if group.members is None else people & group.members


# Audit --------------------------------------------------------------------------------------


def _audit(session: Session, viewer: Viewer, report: TeamReport, now: datetime) -> None:
    """One entry per report viewed: who, which team, which weeks — never a number of people."""
    details = {"weeks": [str(w.week) for w in report.weeks]}
    session.add(
        AuditEntry(
            at=now,
            actor=viewer.actor[:64],
            action=AUDIT_ACTION,
            target=report.team[:200],
            details=json.dumps(details, sort_keys=True),
        )
    )
    session.flush()
