"""Sync the directory from Slack: people and time zones (``users.list``), then the members of the
teams that follow a Slack user group (``usergroups.users.list``).

Runs when ``serve`` starts and daily (when a bot token is set), after an admin picks user groups,
and on demand as ``ai-roi directory sync-slack``. Every call waits at the process-wide rate gate
(``bot.outbound.gate``) and a ``429`` is honoured through it: no request goes out again before
its ``Retry-After`` has passed, then the same page is asked for again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.web import SlackResponse
from sqlmodel import Session

from bot.context import AppContext
from bot.errors import AiRoiError
from bot.outbound.clients import slack_web_client
from bot.outbound.gate import RateGate, shared_gate
from bot.store import slack_directory
from bot.store.db import transaction
from bot.store.slack_directory import SlackMember, SlackSyncResult, TeamSync, UserGroup

log = logging.getLogger(__name__)

USERS_PAGE_SIZE = 200  # Slack recommends no more than 200 members per users.list page
MAX_ATTEMPTS = 5  # per request, when Slack keeps answering 429
ACTOR = "slack-sync"


class SlackSyncError(AiRoiError):
    """A Slack Web API call of the sync failed for good (the error code says why)."""


def call_slack(
    gate: RateGate, method: Callable[..., SlackResponse], name: str, **kwargs: object
) -> SlackResponse:
    """One Web API call through the rate gate; a 429 waits its Retry-After and tries again."""
    for attempt in range(1, MAX_ATTEMPTS + 1):
        gate.wait(paced=False)
        try:
            return method(**kwargs)
        except SlackApiError as exc:
            response = exc.response
            if response.status_code == 429 and attempt < MAX_ATTEMPTS:
                gate.retry_after(_retry_after(response.headers))
                continue
            code = response.get("error") if response.status_code != 429 else "ratelimited"
            raise SlackSyncError(f"Slack {name} failed: {code}") from None
    raise SlackSyncError(f"Slack {name} failed: ratelimited")  # pragma: no cover


def _retry_after(headers: object) -> float:
    items = dict(headers).items() if isinstance(headers, dict) else []
    for key, value in items:
        if str(key).lower() == "retry-after":
            value = value[0] if isinstance(value, list) else value
            try:
                return max(float(value), 0.0)
            except (TypeError, ValueError):
                break
    return 1.0


def fetch_members(client: WebClient, gate: RateGate) -> Iterator[list[SlackMember]]:
    """Every workspace member, a page at a time (``users.list`` cursor pagination)."""
    cursor: str | None = None
    while True:
        kwargs: dict[str, object] = {"limit": USERS_PAGE_SIZE}
        if cursor:
            kwargs["cursor"] = cursor
        page = call_slack(gate, client.users_list, "users.list", **kwargs)
        yield [slack_directory.member_from_api(m) for m in page.get("members") or []]
        cursor = (page.get("response_metadata") or {}).get("next_cursor") or None
        if not cursor:
            return


def fetch_usergroups(client: WebClient, gate: RateGate) -> list[UserGroup]:
    """The workspace's enabled user groups, by name."""
    answer = call_slack(gate, client.usergroups_list, "usergroups.list")
    groups = [slack_directory.usergroup_from_api(g) for g in answer.get("usergroups") or []]
    return sorted(groups, key=lambda group: (group.name.lower(), group.id))


def fetch_usergroup_members(client: WebClient, gate: RateGate, group_id: str) -> list[str]:
    answer = call_slack(
        gate, client.usergroups_users_list, "usergroups.users.list", usergroup=group_id
    )
    return [str(user) for user in answer.get("users") or []]


@dataclass
class SlackSyncReport:
    people: SlackSyncResult = field(default_factory=SlackSyncResult)
    teams: dict[str, TeamSync] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def summary(self) -> str:
        people = self.people
        text = (
            f"Slack: {people.people_created} people created, {people.people_updated} updated, "
            f"{people.skipped} members skipped (bots, deactivated, no email), "
            f"{people.events_attributed} earlier events attributed"
        )
        if self.teams:
            added = sum(sync.added for sync in self.teams.values())
            removed = sum(sync.removed for sync in self.teams.values())
            text += (
                f"; {len(self.teams)} user-group teams: {added} members added, {removed} removed"
            )
        return text


def sync_people(context: AppContext, client: WebClient, gate: RateGate) -> SlackSyncResult:
    total = SlackSyncResult()
    for members in fetch_members(client, gate):
        with transaction(context.engine) as session:
            page = slack_directory.apply_slack_members(session, members)
        for name in ("people_created", "people_updated", "deactivated", "skipped"):
            setattr(total, name, getattr(total, name) + getattr(page, name))
        total.events_attributed += page.events_attributed
        total.problems += page.problems
    return total


def sync_usergroup_teams(
    context: AppContext,
    client: WebClient,
    gate: RateGate,
    *,
    team_ids: list[int] | None = None,
    actor: str = ACTOR,
) -> tuple[dict[str, TeamSync], list[str]]:
    """Members of each user-group team (or only ``team_ids``) follow their Slack group."""
    with Session(context.engine) as session:
        teams = [
            (team.id, team.name, team.slack_usergroup_id)
            for team in slack_directory.usergroup_teams(session)
            if team_ids is None or team.id in team_ids
        ]
    synced: dict[str, TeamSync] = {}
    problems: list[str] = []
    for team_id, name, group_id in teams:
        assert group_id is not None
        try:
            users = fetch_usergroup_members(client, gate, group_id)
        except SlackSyncError as exc:  # a deleted group: its team keeps its members
            problems.append(f"team {name}: {exc}")
            continue
        with transaction(context.engine) as session:
            team = slack_directory.team_by_id(session, int(team_id or 0))
            if team is None or team.slack_usergroup_id != group_id:
                continue  # changed meanwhile
            synced[name] = slack_directory.follow_usergroup(
                session, team, users, actor=actor, now=context.clock()
            )
    return synced, problems


def sync_slack(
    context: AppContext, *, client: WebClient | None = None, gate: RateGate | None = None
) -> SlackSyncReport:
    """People first (so group members are known), then the user-group teams."""
    client = client or slack_web_client(context.settings)
    gate = gate or shared_gate()
    report = SlackSyncReport(people=sync_people(context, client, gate))
    report.teams, problems = sync_usergroup_teams(context, client, gate)
    report.problems = [*report.people.problems, *problems]
    return report


def run_slack_sync_safely(context: AppContext) -> SlackSyncReport | None:
    """The scheduled run: a failure is logged with its traceback; the next run tries again."""
    try:
        report = sync_slack(context)
    except Exception:
        log.exception("Slack directory sync failed; the next daily run retries")
        return None
    for problem in report.problems:
        log.warning("Slack directory sync: %s", problem)
    log.info("%s", report.summary())
    return report
