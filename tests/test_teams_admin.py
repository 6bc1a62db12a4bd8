"""Slack user groups as teams and leads assigned by admins: signed requests into the live app,
the fake Slack Web API on loopback, both databases."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.context import AppContext
from bot.domain.directory import parse_directory
from bot.slack import ids, people
from bot.slack.blocks.teams_admin import (
    MAX_OPTIONS,
    GroupChoice,
    TeamChoice,
    TeamsAdminState,
    parse_handles,
    teams_admin_modal,
)
from bot.slack.directory_sync import sync_slack
from bot.slack.listeners import teams_admin as teams_listener
from bot.store.db import transaction
from bot.store.directory import apply_directory
from bot.store.models import AuditEntry, Membership, Person, Team
from fakes.blockkit import assert_valid_view
from fakes.slack_api import FakeSlack, ViewRecord
from fakes.slack_requests import SlackRequest, block_actions, view_dict, view_submission
from tests.conftest import LiveServer, make_settings, serve_app

SIGNING_SECRET = "teams-admin-signing-secret"
ADMIN = "U0ADMIN01"
ANA, BOB, CAL, DAN, EVE = "U0ANA0001", "U0BOB0001", "U0CAL0001", "U0DAN0001", "U0EVE0001"
CSV = "email,name,team\neve@example.com,Eve,Data\ndan@example.com,Dan,Sales\n"


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        fake.add_user(id=ADMIN, email="ada@example.com", real_name="Ada Admin", is_admin=True)
        for user_id in (ANA, BOB, CAL, DAN, EVE):
            name = user_id[2:5].lower()
            fake.add_user(id=user_id, email=f"{name}@example.com", real_name=name.title())
        fake.add_usergroup(id="S0DATA001", handle="data-team", name="Data", users=[ANA, BOB, CAL])
        fake.add_usergroup(id="S0PLAT001", handle="platform", name="Platform", users=[DAN])
        yield fake


@pytest.fixture
def ctx(context: AppContext, database_url: str, slack: FakeSlack) -> AppContext:
    settings = make_settings(
        database_url,
        slack_bot_token=slack.token,
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=slack.base_url,
    )
    ctx = AppContext(settings, context.engine, context.clock)
    with transaction(ctx.engine) as session:
        apply_directory(session, parse_directory(CSV).rows)
    sync_slack(ctx)
    return ctx


@pytest.fixture
def app(ctx: AppContext) -> Iterator[LiveServer]:
    with serve_app(ctx) as live:
        yield live


def post(app: LiveServer, request: SlackRequest) -> Any:
    response = app.client.post(
        "/slack/events", content=request.body, headers=request.headers(SIGNING_SECRET)
    )
    assert response.status_code == 200, response.text
    return response


def wait_for(check: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def members(engine: Engine, team_name: str) -> list[str]:
    with Session(engine) as session:
        return sorted(
            p.email.split("@")[0]
            for p in session.exec(
                select(Person)
                .join(Membership, col(Membership.person_id) == col(Person.id))
                .join(Team, col(Team.id) == col(Membership.team_id))
                .where(Team.name == team_name, col(Membership.is_member))
            )
        )


def leads(engine: Engine, team_name: str) -> list[str]:
    with Session(engine) as session:
        return sorted(
            p.email.split("@")[0]
            for p in session.exec(
                select(Person)
                .join(Membership, col(Membership.person_id) == col(Person.id))
                .join(Team, col(Team.id) == col(Membership.team_id))
                .where(Team.name == team_name, col(Membership.is_lead))
            )
        )


def audit(engine: Engine) -> list[tuple[str, str, str | None]]:
    with Session(engine) as session:
        return [
            (a.actor, a.action, a.target)
            for a in session.exec(select(AuditEntry).order_by(col(AuditEntry.id)))
        ]


def team_id(engine: Engine, name: str) -> int:
    with Session(engine) as session:
        found = session.exec(select(Team.id).where(Team.name == name)).one()
        assert found is not None
        return found


def open_modal(app: LiveServer, slack: FakeSlack, user: str = ADMIN) -> ViewRecord | None:
    before = len(slack.calls_to("views.open"))
    post(
        app,
        block_actions(
            user_id=user,
            action_id=ids.ADMIN_TEAMS,
            value="teams",
            block_id="home_admin",
            view=view_dict("home"),
            trigger_id=slack.new_trigger_id(),
        ),
    )
    if user != ADMIN:
        time.sleep(0.5)
        assert len(slack.calls_to("views.open")) == before
        return None
    wait_for(lambda: any(v.method == "views.open" for v in slack.views[before:]))
    return [v for v in slack.views if v.method == "views.open"][-1]


def submit(
    app: LiveServer, modal: ViewRecord, values: dict[str, dict[str, Any]], user: str = ADMIN
) -> Any:
    request = view_submission(
        user_id=user,
        callback_id=ids.TEAMS_VIEW,
        values=values,
        private_metadata=modal.view.get("private_metadata", ""),
        blocks=modal.view["blocks"],
    )
    response = post(app, request)
    return response.json() if response.content else {}


def groups_value(*group_ids: str) -> dict[str, dict[str, Any]]:
    return {
        ids.TEAMS_USERGROUPS: {
            ids.TEAMS_USERGROUPS: {
                "type": "multi_static_select",
                "selected_options": [{"value": g} for g in group_ids],
            }
        }
    }


def leads_value(team: int, *users: str) -> dict[str, dict[str, Any]]:
    return {
        ids.TEAMS_PICK_TEAM: {
            ids.TEAMS_PICK_TEAM: {"type": "static_select", "selected_option": {"value": str(team)}}
        },
        f"{ids.TEAMS_LEADS}:{team}": {
            ids.TEAMS_LEADS: {"type": "multi_users_select", "selected_users": list(users)}
        },
    }


def test_user_groups_become_teams_that_follow_their_members(
    app: LiveServer, slack: FakeSlack, ctx: AppContext
) -> None:
    modal = open_modal(app, slack)
    assert modal is not None
    assert_valid_view(modal.view)
    assert modal.view["callback_id"] == ids.TEAMS_VIEW
    text = json.dumps(modal.view)
    assert "Data (@data-team)" in text and "Platform (@platform)" in text

    assert submit(app, modal, groups_value("S0DATA001")) == {}
    # A CSV team is already called "Data": the group's team takes its handle too.
    wait_for(lambda: members(ctx.engine, "Data (@data-team)") == ["ana", "bob", "cal"])
    assert members(ctx.engine, "Data") == ["eve"]
    actions = [action for actor, action, _ in audit(ctx.engine) if actor == ADMIN]
    assert actions == ["team.usergroup_added", "team.members_synced"]

    # Slack changes the group: the next sync follows; the CSV teams are never touched.
    slack._usergroups["S0DATA001"]["users"] = [BOB, CAL, DAN]
    report = sync_slack(ctx)
    assert (report.teams["Data (@data-team)"].added, report.teams["Data (@data-team)"].removed) == (
        1,
        1,
    )
    assert members(ctx.engine, "Data (@data-team)") == ["bob", "cal", "dan"]
    assert members(ctx.engine, "Data") == ["eve"]
    assert members(ctx.engine, "Sales") == ["dan"]
    assert sync_slack(ctx).teams["Data (@data-team)"].added == 0  # idempotent

    # The modal shows the chosen group; deselecting it removes its team (audited).
    modal = open_modal(app, slack)
    assert modal is not None
    usergroups = next(b for b in modal.view["blocks"] if b.get("block_id") == ids.TEAMS_USERGROUPS)
    assert [o["value"] for o in usergroups["element"]["initial_options"]] == ["S0DATA001"]
    assert submit(app, modal, groups_value("S0PLAT001")) == {}
    wait_for(lambda: members(ctx.engine, "Platform") == ["dan"])
    with Session(ctx.engine) as session:
        names = sorted(session.exec(select(Team.name)).all())
    assert names == ["Data", "Platform", "Sales"]
    assert ("team.usergroup_removed") in [a for _, a, _ in audit(ctx.engine)]


def test_groups_beyond_the_list_are_added_by_handle(
    app: LiveServer, slack: FakeSlack, ctx: AppContext
) -> None:
    modal = open_modal(app, slack)
    assert modal is not None
    values = {
        ids.TEAMS_MORE_USERGROUPS: {ids.TEAMS_MORE_USERGROUPS: "@platform, @nope"},
    }
    answer = submit(app, modal, values)
    assert answer["response_action"] == "errors"
    assert "@nope" in answer["errors"][ids.TEAMS_MORE_USERGROUPS]
    values[ids.TEAMS_MORE_USERGROUPS][ids.TEAMS_MORE_USERGROUPS] = "@platform"
    assert submit(app, modal, values) == {}
    wait_for(lambda: members(ctx.engine, "Platform") == ["dan"])


def test_admins_assign_leads_to_any_team(
    app: LiveServer, slack: FakeSlack, ctx: AppContext
) -> None:
    sales = team_id(ctx.engine, "Sales")
    modal = open_modal(app, slack)
    assert modal is not None
    # Picking a team redraws the modal with that team's leads in the users select.
    picked = block_actions(
        user_id=ADMIN,
        action_id=ids.TEAMS_PICK_TEAM,
        block_id=ids.TEAMS_PICK_TEAM,
        action_type="static_select",
        selected_option={"text": {"type": "plain_text", "text": "Sales"}, "value": str(sales)},
        view={**modal.view, "id": modal.id, "hash": modal.hash},
    )
    post(app, picked)
    wait_for(lambda: bool(slack.calls_to("views.update")))
    updated = [v for v in slack.views if v.method == "views.update"][-1]
    assert_valid_view(updated.view)
    assert any(b.get("block_id") == f"{ids.TEAMS_LEADS}:{sales}" for b in updated.view["blocks"])

    assert submit(app, updated, leads_value(sales, BOB, EVE)) == {}
    wait_for(lambda: leads(ctx.engine, "Sales") == ["bob", "eve"])
    assert members(ctx.engine, "Sales") == ["dan"]  # a lead is not made a member

    modal = open_modal(app, slack)
    assert modal is not None
    assert "<@U0BOB0001>" in json.dumps(modal.view)  # existing leads shown
    assert submit(app, modal, leads_value(sales, EVE)) == {}
    wait_for(lambda: leads(ctx.engine, "Sales") == ["eve"])
    lead_changes = [t for actor, a, t in audit(ctx.engine) if a == "team.leads" and actor == ADMIN]
    assert lead_changes == [f"team:{sales}", f"team:{sales}"]


def test_leads_drawn_for_another_team_are_refused(
    app: LiveServer, slack: FakeSlack, ctx: AppContext
) -> None:
    sales, data = team_id(ctx.engine, "Sales"), team_id(ctx.engine, "Data")
    modal = open_modal(app, slack)
    assert modal is not None
    values = leads_value(sales, BOB)
    values[ids.TEAMS_PICK_TEAM][ids.TEAMS_PICK_TEAM]["selected_option"]["value"] = str(data)
    answer = submit(app, modal, values)
    assert answer["response_action"] == "errors"
    assert leads(ctx.engine, "Sales") == [] and leads(ctx.engine, "Data") == []


def test_forged_requests_from_a_non_admin_change_nothing(
    app: LiveServer, slack: FakeSlack, ctx: AppContext
) -> None:
    assert open_modal(app, slack, user=ANA) is None
    modal = open_modal(app, slack)
    assert modal is not None
    before = audit(ctx.engine)
    sales = team_id(ctx.engine, "Sales")
    forged = {**groups_value("S0DATA001", "S0PLAT001"), **leads_value(sales, ANA)}
    answer = submit(app, modal, forged, user=ANA)
    assert answer["response_action"] == "errors"
    assert "Only workspace admins" in json.dumps(answer["errors"])
    post(
        app,
        block_actions(
            user_id=ANA,
            action_id=ids.TEAMS_PICK_TEAM,
            block_id=ids.TEAMS_PICK_TEAM,
            action_type="static_select",
            selected_option={"text": {"type": "plain_text", "text": "Sales"}, "value": str(sales)},
            view={**modal.view, "id": modal.id, "hash": modal.hash},
        ),
    )
    time.sleep(0.5)
    assert slack.calls_to("views.update") == []
    assert audit(ctx.engine) == before
    assert leads(ctx.engine, "Sales") == []
    with Session(ctx.engine) as session:
        assert (
            session.exec(select(Team).where(col(Team.slack_usergroup_id).is_not(None))).all() == []
        )


SLOW = 1.5  # seconds each fake Slack call takes in the ack-first tests


def drawn_elsewhere(monkeypatch: pytest.MonkeyPatch, slack: FakeSlack) -> int:
    """Forget what this process knows (the admin verdict, the groups the modal was drawn with),
    as on another replica or after a restart; slow Slack down; the number of calls so far."""
    monkeypatch.setattr(people, "_verdicts", {})
    monkeypatch.setattr(teams_listener, "_shown_groups", None)
    slack.latency = SLOW
    return len(slack.calls)


def test_a_submission_this_process_did_not_draw_is_acked_before_slack_is_asked(
    app: LiveServer, slack: FakeSlack, ctx: AppContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    modal = open_modal(app, slack)
    assert modal is not None
    before = drawn_elsewhere(monkeypatch, slack)
    started = time.monotonic()
    assert submit(app, modal, groups_value("S0DATA001")) == {}
    acked = time.monotonic()
    assert acked - started < SLOW - 0.5  # one Slack call before the ack would take SLOW
    wait_for(lambda: members(ctx.engine, "Data (@data-team)") == ["ana", "bob", "cal"], 20)
    later = slack.calls[before:]
    assert [call.method for call in later if call.time <= acked] == []
    assert {"users.info", "usergroups.list"} <= {call.method for call in later}


def test_an_unknown_handle_found_after_the_ack_changes_nothing_and_is_explained(
    app: LiveServer, slack: FakeSlack, ctx: AppContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    modal = open_modal(app, slack)
    assert modal is not None
    before_audit = audit(ctx.engine)
    drawn_elsewhere(monkeypatch, slack)
    values = {ids.TEAMS_MORE_USERGROUPS: {ids.TEAMS_MORE_USERGROUPS: "@platform, @nope"}}
    started = time.monotonic()
    assert submit(app, modal, values) == {}  # the handles cannot be checked before the ack
    assert time.monotonic() - started < SLOW - 0.5
    wait_for(lambda: bool(slack.dms_to(ADMIN)), 20)
    (note,) = slack.dms_to(ADMIN)
    assert "No user group @nope" in (note.text or "") and "nothing" in (note.text or "")
    assert audit(ctx.engine) == before_audit
    with Session(ctx.engine) as session:
        assert session.exec(select(Team).where(Team.name == "Platform")).all() == []


def test_forged_signature_is_rejected(app: LiveServer, slack: FakeSlack, ctx: AppContext) -> None:
    request = view_submission(
        user_id=ADMIN, callback_id=ids.TEAMS_VIEW, values=groups_value("S0DATA001")
    )
    response = app.client.post(
        "/slack/events", content=request.body, headers=request.headers("not-the-secret")
    )
    assert response.status_code == 401
    with Session(ctx.engine) as session:
        assert (
            session.exec(select(Team).where(col(Team.slack_usergroup_id).is_not(None))).all() == []
        )


# The builder ---------------------------------------------------------------------------------


def test_the_modal_stays_within_slacks_limits_with_many_groups_and_teams() -> None:
    groups = [
        GroupChoice(f"S{n:08d}", f"Group {n:03d}", f"group-{n}", n % 50 == 0) for n in range(250)
    ]
    teams = [
        TeamChoice(n, f"Team {n:03d} " + "x" * 60, n % 3 == 0, (f"U{n:08d}",), ("Someone",))
        for n in range(1, 241)
    ]
    for page in (0, 1, 2, 5):
        view = teams_admin_modal(TeamsAdminState(groups, teams, selected_team=150, page=page))
        assert_valid_view(view)
        assert len(view["blocks"]) <= 100
        selects = [b["element"] for b in view["blocks"] if b["type"] == "input"]
        assert all(len(e.get("options", [])) <= MAX_OPTIONS for e in selects)
    view = teams_admin_modal(TeamsAdminState(groups, teams, selected_team=150, page=1))
    group_select = next(b for b in view["blocks"] if b.get("block_id") == ids.TEAMS_USERGROUPS)
    chosen = [o["value"] for o in group_select["element"]["initial_options"]]
    assert chosen == [f"S{n:08d}" for n in range(0, 250, 50)]  # chosen groups always offered
    assert any(b.get("block_id") == ids.TEAMS_MORE_USERGROUPS for b in view["blocks"])
    leads = next(b for b in view["blocks"] if b.get("block_id") == f"{ids.TEAMS_LEADS}:150")
    assert leads["element"]["initial_users"] == ["U00000150"]
    assert "Teams 101–200 of 240" in json.dumps(view, ensure_ascii=False)
    assert json.loads(view["private_metadata"])["page"] == 1


def test_an_empty_workspace_modal_is_valid() -> None:
    view = teams_admin_modal(TeamsAdminState([], []))
    assert_valid_view(view)
    assert parse_handles("@data-team, platform\n@x") == ["data-team", "platform", "x"]
