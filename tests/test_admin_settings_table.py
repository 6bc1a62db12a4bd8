"""The table of admin settings (``bot.domain.workspace_settings.SETTINGS``) and what is derived
from it: every key has a default, a reader in the store and a control in its rendered modal; the
digest grace period is edited from the App Home like every other setting; and every admin
submission is acknowledged before any Slack Web API call, even when this process has never seen
the user (another replica drew the modal, or a restart)."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.context import AppContext
from bot.domain import workspace_settings
from bot.domain.workspace_settings import (
    BY_KEY,
    DIGEST_GRACE_HOURS,
    GROUPS,
    LLM_MODEL,
    RETENTION_DAYS,
    SETTINGS,
    InputKind,
    check_group,
    read_stored,
)
from bot.slack import ids, people
from bot.slack.blocks.admin_home import AdminState, admin_blocks, settings_modal
from bot.store import workspace
from bot.store.db import transaction
from bot.store.models import AuditEntry, WorkspaceSetting
from fakes.blockkit import assert_valid_view
from fakes.slack_api import FakeSlack
from fakes.slack_requests import view_submission
from tests.conftest import FROZEN_NOW, LiveServer
from tests.support.slack_app import eventually, press_home, send, serve_with_slack

ROOT = Path(__file__).resolve().parents[1]
SLOW = 1.5  # seconds each fake Slack call takes in the ack-first tests

# A value other than the default for each setting, as its modal would submit it.
SAMPLES: dict[str, dict[str, str]] = {
    "thresholds": {
        "unused_min_created": "7",
        "unused_max_viewed_share": "0.3",
        "spike_factor": "3.5",
        "spike_min_tokens": "200000",
        "no_outcome_min_cost_usd": "6.5",
        "cost_per_used_max_usd": "12.5",
    },
    "min_group_size": {"min_group_size": "9"},
    "digest_schedule": {"weekday": "4", "time": "16:30"},
    "llm_enabled": {"llm_enabled": "off"},
    "llm_model": {"llm_model": "gpt-4.1-nano"},
    "retention_days": {"retention_days": "400"},
    "digest_grace_hours": {"digest_grace_hours": "12"},
}

# How each kind of control answers in a view_submission's state.
STATE = {
    InputKind.NUMBER: lambda text: {"type": "number_input", "value": text},
    InputKind.TEXT: lambda text: {"type": "plain_text_input", "value": text},
    InputKind.WEEKDAY: lambda text: {"type": "static_select", "selected_option": {"value": text}},
    InputKind.CHOICE: lambda text: {"type": "static_select", "selected_option": {"value": text}},
    InputKind.BOOLEAN: lambda text: {"type": "radio_buttons", "selected_option": {"value": text}},
    InputKind.TIME: lambda text: {"type": "timepicker", "selected_time": text},
}


def submission_values(group: str, raw: dict[str, str]) -> dict[str, Any]:
    kinds = {one.name: one.kind for s in GROUPS[group] for one in s.inputs}
    return {name: {"value": STATE[kinds[name]](text)} for name, text in raw.items()}


def group_sample(group: str) -> dict[str, str]:
    return {name: text for s in GROUPS[group] for name, text in SAMPLES[s.key].items()}


# The table ---------------------------------------------------------------------------------


def test_every_setting_has_a_sample_and_the_store_knows_exactly_the_table() -> None:
    assert set(SAMPLES) == set(BY_KEY) == set(workspace.KEYS)
    assert len(workspace.KEYS) == len(SETTINGS)
    assert DIGEST_GRACE_HOURS in workspace.KEYS


@pytest.mark.parametrize("group", list(GROUPS))
def test_each_modal_has_a_control_for_every_input_and_is_valid_block_kit(group: str) -> None:
    view = settings_modal(group, {})
    assert_valid_view(view)
    assert view["callback_id"] == ids.admin_view(group)
    inputs = [b["block_id"] for b in view["blocks"] if b["type"] == "input"]
    assert inputs == [one.name for s in GROUPS[group] for one in s.inputs]
    assert len(inputs) == len(set(inputs))


@pytest.mark.parametrize("setting", SETTINGS, ids=lambda s: s.key)
def test_defaults_are_shown_and_a_sample_round_trips_through_check_and_read(setting: Any) -> None:
    # The default is what an unset setting reads as, and its modal shows it.
    assert read_stored(setting, None) == setting.default
    shown = setting.initial(setting.default)
    assert set(shown) <= {one.name for one in setting.inputs}
    # A submitted sample is accepted, stored as JSON, and read back as what the modal shows.
    changes, errors = check_group(setting.group, group_sample(setting.group))
    assert errors == {}
    stored = json.loads(json.dumps(changes[setting.key]))
    value = read_stored(setting, stored)
    assert value != setting.default
    assert setting.initial(value) == SAMPLES[setting.key]


@pytest.mark.parametrize("setting", SETTINGS, ids=lambda s: s.key)
def test_the_store_reads_every_key_back(engine: Engine, setting: Any) -> None:
    with transaction(engine) as session:
        assert workspace.value(session, setting.key) == setting.default
        changes, _ = check_group(setting.group, group_sample(setting.group))
        assert workspace.save(session, changes, actor="U1", now=FROZEN_NOW) == list(changes)
    with Session(engine) as session:
        assert workspace.value(session, setting.key) == read_stored(setting, changes[setting.key])


def test_an_unreadable_stored_value_falls_back_unless_the_setting_is_strict(
    engine: Engine,
) -> None:
    with transaction(engine) as session:
        for key in (DIGEST_GRACE_HOURS, RETENTION_DAYS):
            workspace.set_setting(session, key, "soon", actor="U1", now=FROZEN_NOW)
    with Session(engine) as session:
        assert workspace.digest_grace(session) == timedelta(hours=48)
        with pytest.raises(Exception, match="retention_days"):
            workspace.retention_days(session)
        shown = workspace.values_shown(session)
    assert shown[RETENTION_DAYS] == BY_KEY[RETENTION_DAYS].default


def test_the_admin_section_has_a_button_per_group_and_lists_the_grace_period() -> None:
    blocks = admin_blocks(AdminState(values={DIGEST_GRACE_HOURS: 24.0, LLM_MODEL: "m-1"}))
    buttons = next(b for b in blocks if b.get("block_id") == "home_admin")["elements"]
    actions = [button["action_id"] for button in buttons]
    assert actions == [*(ids.admin_action(group) for group in GROUPS), ids.ADMIN_TEAMS]
    settings = next(b for b in blocks if b.get("block_id") == "admin_settings")
    texts = [field["text"] for field in settings["fields"]]
    assert "*Digest grace period*\nup to 24 hours for late sources" in texts
    assert any("no OPENAI_API_KEY is set" in text for text in texts)


def test_the_slack_side_names_no_setting_so_a_new_one_touches_three_files() -> None:
    generic = [
        "bot/slack/listeners/admin.py",
        "bot/slack/blocks/admin_home.py",
        "bot/slack/home_service.py",
        "bot/slack/view_state.py",
    ]  # bot/slack/ids.py keeps the thresholds' older ids, by group
    for path in generic:
        source = (ROOT / path).read_text(encoding="utf-8")
        named = [key for key in workspace.KEYS if f'"{key}"' in source or f"'{key}'" in source]
        assert named == [], f"{path} names {named}: derive it from SETTINGS instead"


def test_contributing_lists_the_files_an_admin_setting_touches() -> None:
    text = (ROOT / "CONTRIBUTING.md").read_text(encoding="utf-8")
    section = text.split("## Add an admin setting")[1].split("\n## ")[0]
    paths = set(re.findall(r"`((?:bot|tests)/[\w/]+\.py)`", section))
    assert {p for p in paths if p.startswith("bot/")} == {
        "bot/domain/workspace_settings.py",
        "bot/store/workspace.py",
    }
    assert all((ROOT / path).is_file() for path in paths)
    for name in ("SETTINGS", "Setting", "InputKind", "parse_whole_number", "THRESHOLD_LABELS"):
        assert f"`{name}`" in text and hasattr(workspace_settings, name)
    assert "`SAMPLES`" in section and callable(workspace.value)
    assert callable(ids.admin_action) and callable(ids.admin_view)
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    contributing = readme.split("## Contributing")[1].split("\n## ")[0]
    assert "bot/domain/workspace_settings.py" in contributing
    assert "bot/store/workspace.py" in contributing and "three files" in contributing


# Through the app -------------------------------------------------------------------------------


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        fake.add_user(id="UADMIN", email="ada@example.com", real_name="Ada Admin", is_admin=True)
        fake.add_user(id="UANA", email="ana@example.com", real_name="Ana Lopez")
        yield fake


@pytest.fixture
def app(context: AppContext, database_url: str, slack: FakeSlack) -> Iterator[LiveServer]:
    with serve_with_slack(context, database_url, slack) as live:
        # Bolt checks its token (auth.test) once, on the first request: done here, so the tests
        # below see only what the listeners call.
        send(live, view_submission(user_id="UANA", callback_id="no_such_view", values={}))
        assert [call.method for call in slack.calls] == ["auth.test"]
        slack.calls.clear()
        yield live


@pytest.fixture
def fresh_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """No admin verdict remembered, as on a replica that did not draw the modal."""
    monkeypatch.setattr(people, "_verdicts", {})


def submit(live: LiveServer, callback_id: str, user: str, values: dict[str, Any]) -> Any:
    return send(live, view_submission(user_id=user, callback_id=callback_id, values=values))


def grace(context: AppContext) -> timedelta:
    with Session(context.engine) as session:
        return workspace.digest_grace(session)


def audited(context: AppContext) -> list[tuple[str | None, str]]:
    with Session(context.engine) as session:
        entries = session.exec(select(AuditEntry).order_by(col(AuditEntry.id))).all()
        return [(entry.target, entry.actor) for entry in entries]


def test_admins_set_the_digest_grace_period_from_the_app_home(
    app: LiveServer, slack: FakeSlack, context: AppContext, fresh_process: None
) -> None:
    assert press_home(app, slack, ids.ADMIN_DIGEST_GRACE, "UADMIN").status_code == 200
    opened = eventually(lambda: [v.view for v in slack.views if v.method == "views.open"])
    assert [view["callback_id"] for view in opened] == [ids.DIGEST_GRACE_VIEW]
    assert_valid_view(opened[0])
    (block,) = [b for b in opened[0]["blocks"] if b["block_id"] == DIGEST_GRACE_HOURS]
    assert block["element"]["initial_value"] == "48"
    assert (block["element"]["min_value"], block["element"]["max_value"]) == ("0", "168")

    def hours(text: str) -> dict[str, Any]:
        return submission_values("digest_grace", {DIGEST_GRACE_HOURS: text})

    for bad in ("169", "-1", "1.5", "soon"):
        answer = submit(app, ids.DIGEST_GRACE_VIEW, "UADMIN", hours(bad)).json()
        assert answer["response_action"] == "errors" and DIGEST_GRACE_HOURS in answer["errors"]
    assert grace(context) == timedelta(hours=48) and audited(context) == []

    assert submit(app, ids.DIGEST_GRACE_VIEW, "UADMIN", hours("12")).text in ("", "{}")
    assert grace(context) == timedelta(hours=12)
    assert eventually(lambda: slack.home_view("UADMIN"))  # republished before the next change
    assert submit(app, ids.DIGEST_GRACE_VIEW, "UADMIN", hours("0")).text in ("", "{}")
    assert grace(context) == timedelta(0)
    assert audited(context) == [(DIGEST_GRACE_HOURS, "UADMIN")] * 2
    shown = "none: a digest goes out as its week ends"
    home = eventually(
        lambda: shown in json.dumps(slack.home_view("UADMIN")) and slack.home_view("UADMIN")
    )
    assert home
    assert_valid_view(home)


@pytest.mark.parametrize("group", list(GROUPS))
def test_an_unknown_admin_is_acked_before_users_info_then_the_change_is_saved(
    app: LiveServer, slack: FakeSlack, context: AppContext, fresh_process: None, group: str
) -> None:
    slack.latency = SLOW  # any Slack call before the ack would hold the response this long
    started = time.monotonic()
    response = submit(
        app, ids.admin_view(group), "UADMIN", submission_values(group, group_sample(group))
    )
    acked = time.monotonic()
    assert response.status_code == 200 and response.text in ("", "{}")
    assert acked - started < SLOW - 0.5
    keys = [setting.key for setting in GROUPS[group]]
    assert eventually(lambda: audited(context), SLOW * 4) == [(key, "UADMIN") for key in keys]
    assert eventually(lambda: slack.home_view("UADMIN"), SLOW * 4) is not None
    # Each call is recorded after the fake's delay: a call begun before the ack shows up
    # before ``acked`` (and would have held the response).
    assert [c.method for c in slack.calls if c.time <= acked] == []
    assert "users.info" in [c.method for c in slack.calls]


def test_an_unknown_non_admin_is_acked_then_refused_with_nothing_changed(
    app: LiveServer, slack: FakeSlack, context: AppContext, fresh_process: None
) -> None:
    slack.latency = SLOW
    values = submission_values("retention", {RETENTION_DAYS: "90"})
    started = time.monotonic()
    response = submit(app, ids.RETENTION_VIEW, "UANA", values)
    assert time.monotonic() - started < SLOW - 0.5
    assert response.status_code == 200 and response.text in ("", "{}")
    assert eventually(lambda: slack.calls_to("users.info"), SLOW * 4)
    time.sleep(SLOW + 0.3)  # anything the refusal might have sent would have arrived by now
    assert [call.method for call in slack.calls] == ["users.info"]  # no note, no App Home
    with Session(context.engine) as session:
        assert session.exec(select(WorkspaceSetting)).all() == []
        assert session.exec(select(AuditEntry)).all() == []
    # Now known as a non-admin here, the next forged submission is refused in the ack itself.
    answer = submit(app, ids.RETENTION_VIEW, "UANA", values).json()
    assert answer == {
        "response_action": "errors",
        "errors": {RETENTION_DAYS: "Only workspace admins can change this setting."},
    }
