"""Team reports for ``/ai-roi`` and ``ai-roi team``: who may see what, what is safe to show.

Steps: check the viewer may see the team (a lead sees the teams they lead; an admin every team and
the organisation); for each week involved, take who was active (ids only) and who was in each team
when the week ended; decide with ``bot.domain.privacy.decide_week`` against that week's ledger of
released sums; record what is newly released; sum the figures of the shown cells in SQL; write an
audit entry per report viewed. The caller commits the session.

Every report decides *every* team and the organisation for its weeks, not only the one asked for,
in a fixed order, under the week's lock: what a week shows depends only on the data and the ledger,
never on who asked first. The ledger is global, so whatever any lead or admin can obtain for a
week — any teams, overlapping or nested, and the organisation — never isolates fewer than k people.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import datetime, tzinfo

from sqlmodel import Session

from bot.domain.privacy import (
    Candidate,
    CellDecision,
    HoldReason,
    decide_week,
    effective_k,
    tool_row,
    total_row,
)
from bot.domain.team_render import ORG, TeamReport, TeamWeek
from bot.domain.weeks import Week, previous_weeks, week_of
from bot.errors import NotFoundError, PermissionDeniedError, UsageError
from bot.store import audit
from bot.store.ai_marks import any_marked
from bot.store.privacy_ledger import lock_week, record, released
from bot.store.team_aggregates import (
    TeamNode,
    WeekActivity,
    all_teams,
    subtree,
    team_figures,
    team_members,
    weekly_activity,
)
from bot.store.team_reports import audit_report_view, person_id_for_slack_user, teams_led_by
from bot.store.workspace import min_group_size

__all__ = [
    "AUDIT_ACTION",
    "MAX_WEEKS",
    "TeamReport",
    "Viewer",
    "min_group_size",
    "team_report",
    "team_reports",
    "teams_for",
]

TREND_WEEKS = 4
MAX_WEEKS = 12
AUDIT_ACTION = audit.TEAM_REPORT_VIEW
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


def teams_for(session: Session, viewer: Viewer) -> list[str]:
    """The reports ``viewer`` may ask for: ``org`` and every team for admins, else the teams led."""
    if viewer.is_admin:
        return [ORG, *(team.name for team in all_teams(session))]
    person_id = _person_id(session, viewer)
    if person_id is None:
        return []
    return teams_led_by(session, person_id)


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
    groups = _groups(nodes)
    shown_weeks = [*previous_weeks(week, weeks - 1), week]
    trend_weeks = [*previous_weeks(week, TREND_WEEKS), week]
    involved = sorted({*shown_weeks, *trend_weeks})
    activity = weekly_activity(session, [w.bounds(tz) for w in involved])
    decision = _Decision(max(effective_k(k), k), groups, {})
    for each, active in zip(involved, activity, strict=True):
        decision.decide(session, nodes, each, active, tz, now)
    marks = any_marked(session)
    reports = []
    for name in wanted:
        report = _report(session, decision, groups[name], shown_weeks, trend_weeks, tz)
        report = replace(report, ai_marks_in_org=marks)
        audit_report_view(
            session,
            actor=viewer.actor,
            team=report.team,
            weeks=[str(w.week) for w in report.weeks],
            action=AUDIT_ACTION,
            now=now,
        )
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
    return person_id_for_slack_user(session, viewer.slack_user_id)


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


# Privacy decision ---------------------------------------------------------------------------


def _groups(nodes: list[TeamNode]) -> dict[str, _Group]:
    groups = {ORG: _Group(_ORG_KEY, ORG, None)}
    for node in nodes:
        groups[node.name] = _Group(f"team:{node.id}", node.name, subtree(nodes, node.id))
    return groups


@dataclass
class _Decision:
    """What each group shows in each week involved, decided against the week's ledger."""

    k: int
    groups: dict[str, _Group]
    cells: dict[Week, dict[str, CellDecision]]

    def decide(
        self,
        session: Session,
        nodes: list[TeamNode],
        week: Week,
        active: WeekActivity,
        tz: tzinfo,
        now: datetime,
    ) -> None:
        _, end = week.bounds(tz)
        members = team_members(session, nodes, end)
        tools_by_person: dict[int, set[str]] = defaultdict(set)
        for tool, users in active.tool_users.items():
            for person in users:
                tools_by_person[person].add(tool)
        candidates = []
        for group in self.groups.values():
            people = active.people
            if group.team_ids is not None:
                node_id = int(group.key.removeprefix("team:"))
                people = people & members.get(node_id, frozenset())
            tools = {
                tool: tool_row(users & people, tool)
                for tool, users in active.tool_users.items()
                if users & people
            }
            candidates.append(
                Candidate(group.key, people, total_row(people, tools_by_person), tools)
            )
        lock_week(session, str(week), now)
        result = decide_week(released(session, str(week)), candidates, self.k)
        record(session, str(week), result.released, now)
        self.cells[week] = result.cells

    def team_week(self, session: Session, group: _Group, week: Week, tz: tzinfo) -> TeamWeek:
        cell = self.cells[week].get(group.key, CellDecision(False, HoldReason.TOO_FEW))
        if not cell.shown:
            return TeamWeek(week, None, cell.reason)
        start, end = week.bounds(tz)
        figures = team_figures(session, group.team_ids, start, end)
        return TeamWeek(week, figures if cell.breakdown else replace(figures, by_tool=()))
