"""Teams and leads (admin): the App Home button ``ids.ADMIN_TEAMS`` opens the teams modal.

Admins choose Slack user groups that become teams (their members then follow the group on every
sync) and assign leads to any team. Admin rights are re-checked on every action and submission,
so a forged ``block_actions`` or ``view_submission`` from anyone else is refused and changes
nothing. Every listener acknowledges before any Slack call (``save_teams`` says how). Every
change is audited (``bot.store.slack_directory``).
"""

from __future__ import annotations

import logging
import re
import threading
import time
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlmodel import Session

from bot.context import AppContext
from bot.errors import SlackSyncError
from bot.outbound.gate import shared_gate
from bot.slack import ids
from bot.slack.blocks.teams_admin import (
    GroupChoice,
    TeamChoice,
    TeamsAdminState,
    parse_handles,
    parse_metadata,
    teams_admin_modal,
)
from bot.slack.directory_sync import fetch_usergroups, sync_usergroup_teams
from bot.slack.people import is_admin, known_admin, person_for_slack_user
from bot.store import slack_directory
from bot.store.db import transaction
from bot.store.models import Person, Team
from bot.store.people import display_name

log = logging.getLogger(__name__)
REFUSED = "Only workspace admins can change teams and leads."
UNCHANGED = (
    "nothing in teams and leads was changed. Open Teams and leads in the App Home to try again."
)


def _user(body: dict[str, Any]) -> str:
    return str(body["user"]["id"])


def _values(view: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return dict((view.get("state") or {}).get("values") or {})


def _chosen_group_ids(view: dict[str, Any]) -> list[str] | None:
    """The user groups selected in the modal as it stands, or None if the select is absent."""
    block = _values(view).get(ids.TEAMS_USERGROUPS)
    if block is None:
        return None
    selected = (block.get(ids.TEAMS_USERGROUPS) or {}).get("selected_options") or []
    return [str(option.get("value")) for option in selected]


def build_state(
    session: Session,
    groups: list[slack_directory.UserGroup],
    *,
    chosen: list[str] | None = None,
    selected_team: int | None = None,
    page: int = 0,
    notice: str | None = None,
) -> TeamsAdminState:
    linked = {t.slack_usergroup_id for t in slack_directory.usergroup_teams(session)}
    picked = set(chosen) if chosen is not None else linked
    teams = [
        TeamChoice(
            id=int(team.id or 0),
            name=team.name,
            from_usergroup=team.slack_usergroup_id is not None,
            lead_user_ids=tuple(p.slack_user_id for p in leads if p.slack_user_id),
            other_leads=tuple(display_name(p) for p in leads if not p.slack_user_id),
        )
        for team, leads in slack_directory.teams_with_leads(session)
    ]
    return TeamsAdminState(
        groups=[GroupChoice(g.id, g.name, g.handle, g.id in picked) for g in groups],
        teams=teams,
        selected_team=selected_team,
        page=page,
        notice=notice,
    )


GROUPS_TTL = 15 * 60.0  # seconds the groups shown in a modal are used to check its submission
_shown_groups: tuple[float, list[slack_directory.UserGroup]] | None = None
_shown_lock = threading.Lock()


def _groups(client: WebClient) -> tuple[list[slack_directory.UserGroup], str | None]:
    """The workspace's user groups (``usergroups.list``), remembered for the submission."""
    global _shown_groups
    try:
        groups = fetch_usergroups(client, shared_gate())
    except SlackSyncError as exc:
        log.warning("teams modal: %s", exc)
        return [], f":warning: I could not read the workspace's user groups ({exc})."
    with _shown_lock:
        _shown_groups = (time.monotonic(), groups)
    return groups, None


def _groups_shown() -> list[slack_directory.UserGroup] | None:
    """The groups this process drew the modal with recently (the submission is checked against
    them before its ack, without calling Slack); None when it did not draw it recently."""
    with _shown_lock:
        shown = _shown_groups
    if shown is not None and time.monotonic() - shown[0] < GROUPS_TTL:
        return shown[1]
    return None


def open_teams(context: AppContext, client: WebClient, body: dict[str, Any]) -> None:
    user_id = _user(body)
    if not is_admin(context.settings, client, user_id):
        log.warning("refused the teams modal to non-admin %s", user_id)
        return
    groups, notice = _groups(client)
    with Session(context.engine) as session:
        state = build_state(session, groups, notice=notice)
    client.views_open(trigger_id=body["trigger_id"], view=teams_admin_modal(state))


def refresh(
    context: AppContext,
    client: WebClient,
    body: dict[str, Any],
    *,
    team: int | None = None,
    page: int | None = None,
) -> None:
    """Redraw the open modal for another team (its leads shown) or another page of teams."""
    user_id = _user(body)
    if not is_admin(context.settings, client, user_id):
        log.warning("refused a teams modal action from non-admin %s", user_id)
        return
    view = body.get("view") or {}
    metadata = parse_metadata(view.get("private_metadata"))
    groups, notice = _groups(client)
    with Session(context.engine) as session:
        state = build_state(
            session,
            groups,
            chosen=_chosen_group_ids(view),
            selected_team=team if page is None else None,
            page=page if page is not None else int(metadata.get("page") or 0),
            notice=notice,
        )
    client.views_update(view_id=view["id"], hash=view.get("hash"), view=teams_admin_modal(state))


def pick_team(context: AppContext, client: WebClient, body: dict[str, Any]) -> None:
    selected = str((body["actions"][0].get("selected_option") or {}).get("value"))
    refresh(context, client, body, team=int(selected) if selected.isdigit() else None)


def turn_page(context: AppContext, client: WebClient, body: dict[str, Any]) -> None:
    value = str(body["actions"][0].get("value") or "0")
    refresh(context, client, body, page=int(value) if value.isdigit() else 0)


def _first_input(view: dict[str, Any]) -> str | None:
    for block in view.get("blocks") or []:
        if block.get("type") == "input" and block.get("block_id"):
            return str(block["block_id"])
    return next(iter(_values(view)), None)


def _resolve(
    groups: list[slack_directory.UserGroup],
    chosen_ids: list[str] | None,
    handles: list[str],
    offered_raw: list[Any],
) -> tuple[list[slack_directory.UserGroup], list[str], list[str]]:
    """(the groups chosen, the ids the modal offered, the handles no group has)."""
    by_id = {g.id: g for g in groups}
    by_handle = {g.handle.lower(): g for g in groups if g.handle}
    chosen = [by_id[i] for i in chosen_ids or [] if i in by_id]
    chosen += [by_handle[h] for h in handles if h in by_handle]
    offered = [str(i) for i in offered_raw if str(i) in by_id]
    return chosen, offered, [h for h in handles if h not in by_handle]


def _unknown_handles(unknown: list[str]) -> str:
    return "No user group " + ", ".join(f"@{h}" for h in unknown)


def _note(client: WebClient, user_id: str, text: str) -> None:
    """A direct message for what could not be said in the ack (the modal has closed)."""
    try:
        client.chat_postMessage(channel=user_id, text=text, unfurl_links=False)
    except SlackApiError as exc:
        log.warning("could not tell %s about their teams change: %s", user_id, exc)


def save_teams(context: AppContext, ack: Ack, client: WebClient, body: dict[str, Any]) -> None:
    """Ack first: the submission is checked from its values and from what this process knows
    (the admin verdict and the groups it drew the modal with), with field errors in the ack.
    When it knows neither (another replica drew the modal, or a restart), ``users.info`` and
    ``usergroups.list`` are asked after the ack: a non-admin's submission then changes nothing
    (logged; only admins are shown this modal), and a handle no group has, or groups Slack would
    not list, change nothing and are explained to the admin in a direct message."""
    user_id = _user(body)
    view = body.get("view") or {}
    verdict = known_admin(context.settings, user_id)
    if verdict is False:
        log.warning("refused a teams change from non-admin %s", user_id)
        block = _first_input(view)
        if block:
            ack(response_action="errors", errors={block: REFUSED})
        else:
            ack()
        return
    values = _values(view)
    metadata = parse_metadata(view.get("private_metadata"))
    errors: dict[str, str] = {}

    chosen_ids = _chosen_group_ids(view)
    handles = parse_handles(
        (values.get(ids.TEAMS_MORE_USERGROUPS, {}).get(ids.TEAMS_MORE_USERGROUPS) or {}).get(
            "value"
        )
    )
    offered_raw = list(metadata.get("offered") or [])
    wants_groups = chosen_ids is not None or bool(handles)
    shown = _groups_shown() if wants_groups else []
    chosen: list[slack_directory.UserGroup] = []
    offered: list[str] = []
    if shown is not None:
        chosen, offered, unknown = _resolve(shown, chosen_ids, handles, offered_raw)
        if unknown:
            errors[ids.TEAMS_MORE_USERGROUPS] = _unknown_handles(unknown)

    team_id, lead_users, leads_block = _lead_choice(values)
    if leads_block is not None and team_id is not None and leads_block != team_id:
        errors[f"{ids.TEAMS_LEADS}:{leads_block}"] = (
            "These leads belong to another team: choose the team again."
        )
    if leads_block is None and lead_users:
        errors[f"{ids.TEAMS_LEADS}:none"] = "Choose the team these leads are for first."
    if errors:
        ack(response_action="errors", errors=errors)
        return
    ack()

    if verdict is None and not is_admin(context.settings, client, user_id):
        log.warning("refused a teams change from non-admin %s", user_id)
        return
    if shown is None:
        try:
            groups = fetch_usergroups(client, shared_gate())
        except SlackSyncError as exc:
            log.warning("teams change: %s", exc)
            _note(client, user_id, f"Could not read user groups from Slack ({exc}): {UNCHANGED}")
            return
        chosen, offered, unknown = _resolve(groups, chosen_ids, handles, offered_raw)
        if unknown:
            _note(client, user_id, f"{_unknown_handles(unknown)}: {UNCHANGED}")
            return

    now = context.clock()
    with transaction(context.engine) as session:
        added: list[Team] = []
        if wants_groups:
            added, _ = slack_directory.choose_usergroups(
                session, chosen, offered=offered, actor=user_id, now=now
            )
        added_ids = [int(team.id or 0) for team in added]
        team = slack_directory.team_by_id(session, team_id) if team_id is not None else None
        if team is not None and leads_block == team_id:
            people = [_person(session, client, uid) for uid in lead_users]
            slack_directory.set_team_leads(
                session, team, [p for p in people if p is not None], actor=user_id, now=now
            )
    if added_ids:
        sync_usergroup_teams(context, client, shared_gate(), team_ids=added_ids, actor=user_id)


def _lead_choice(values: dict[str, dict[str, Any]]) -> tuple[int | None, list[str], int | None]:
    """(the picked team, the leads chosen, the team the leads block was drawn for)."""
    picked = (values.get(ids.TEAMS_PICK_TEAM, {}).get(ids.TEAMS_PICK_TEAM) or {}).get(
        "selected_option"
    ) or {}
    team_id = int(picked["value"]) if str(picked.get("value", "")).isdigit() else None
    for block_id, actions in values.items():
        prefix, _, suffix = block_id.partition(":")
        if prefix == ids.TEAMS_LEADS:
            users = (actions.get(ids.TEAMS_LEADS) or {}).get("selected_users") or []
            return team_id, [str(u) for u in users], int(suffix) if suffix.isdigit() else None
    return team_id, [], None


def _person(session: Session, client: WebClient, slack_user_id: str) -> Person | None:
    return person_for_slack_user(session, client, slack_user_id)


def register(app: App, context: AppContext) -> None:
    def on_open(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        open_teams(context, client, body)

    def on_pick(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        pick_team(context, client, body)

    def on_page(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        turn_page(context, client, body)

    def on_submit(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        save_teams(context, ack, client, body)

    app.action(ids.ADMIN_TEAMS)(on_open)
    app.action(ids.TEAMS_PICK_TEAM)(on_pick)
    app.action(re.compile(rf"^{ids.TEAMS_PAGE}:\d+$"))(on_page)
    app.view(ids.TEAMS_VIEW)(on_submit)
