"""The App Home's admin section and its modals, through signed requests into the real app and the
fake Slack Web API: who is an admin is checked on every press and every submission, values are
validated field by field, changes are saved and audited, and the LLM switch reaches
``ai-roi digest`` (off: not one request to the fake OpenAI server)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import Session, col, select

from bot.cli import main
from bot.context import AppContext
from bot.domain.schedule import Schedule
from bot.slack import ids
from bot.slack.blocks.admin_home import MAX_SOURCES_SHOWN
from bot.store.db import transaction
from bot.store.models import AuditEntry, Delivery, Event, Person, WorkspaceSetting
from bot.store.workspace import (
    DIGEST_SCHEDULE,
    LLM_ENABLED,
    LLM_MODEL,
    MIN_GROUP_SIZE,
    RETENTION_DAYS,
    default_schedule,
    get_setting,
)
from bot.teams.report import min_group_size
from fakes.blockkit import assert_valid_view
from fakes.openai_api import FakeOpenAI
from fakes.slack_api import FakeSlack
from fakes.slack_requests import (
    app_home_opened,
    view_submission,
)
from tests.conftest import FROZEN_NOW, LiveServer
from tests.helpers import usage_event
from tests.support.slack_app import eventually, press_home, send, serve_with_slack

CONFIGURED_ADMIN = "UCONFIG01"  # in ADMIN_USER_IDS, not a workspace admin

ADMIN_ACTIONS = (ids.ADMIN_MIN_GROUP_SIZE, ids.ADMIN_SCHEDULE, ids.ADMIN_LLM, ids.ADMIN_RETENTION)


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        fake.add_user(id="UADMIN", email="ada@example.com", real_name="Ada Admin", is_admin=True)
        fake.add_user(id="UOWNER", email="owen@example.com", real_name="Owen Owner", is_owner=True)
        fake.add_user(id=CONFIGURED_ADMIN, email="cy@example.com", real_name="Cy Config")
        fake.add_user(id="UANA", email="ana@example.com", real_name="Ana Lopez")
        yield fake


@pytest.fixture
def app(context: AppContext, database_url: str, slack: FakeSlack) -> Iterator[LiveServer]:
    with serve_with_slack(context, database_url, slack, admin_user_ids=CONFIGURED_ADMIN) as live:
        yield live


def submit(
    live: LiveServer, callback_id: str, user: str, values: dict[str, Any], **sign: Any
) -> Any:
    request = view_submission(user_id=user, callback_id=callback_id, values=values)
    return send(live, request, **sign)


def setting(context: AppContext, key: str) -> Any:
    with Session(context.engine) as session:
        return get_setting(session, key, "unset")


def audit(context: AppContext) -> list[AuditEntry]:
    with Session(context.engine) as session:
        return list(
            session.exec(
                select(AuditEntry)
                .where(AuditEntry.action == "setting.change")
                .order_by(col(AuditEntry.id))
            ).all()
        )


def number(value: str) -> dict[str, Any]:
    return {"value": {"type": "number_input", "value": value}}


def select_value(value: str) -> dict[str, Any]:
    option = {"text": {"type": "plain_text", "text": value}, "value": value}
    return {"value": {"type": "static_select", "selected_option": option}}


def radio(value: str) -> dict[str, Any]:
    option = {"text": {"type": "plain_text", "text": value}, "value": value}
    return {"value": {"type": "radio_buttons", "selected_option": option}}


def clock_time(value: str) -> dict[str, Any]:
    return {"value": {"type": "timepicker", "selected_time": value}}


def text(value: str) -> dict[str, Any]:
    return {"value": {"type": "plain_text_input", "value": value}}


# One row per admin modal: button, callback, a valid submission, the setting(s) it writes.
MODALS = [
    pytest.param(
        ids.ADMIN_MIN_GROUP_SIZE,
        ids.MIN_GROUP_SIZE_VIEW,
        {"min_group_size": number("7")},
        {MIN_GROUP_SIZE: 7},
        id="min_group_size",
    ),
    pytest.param(
        ids.ADMIN_SCHEDULE,
        ids.SCHEDULE_VIEW,
        {"weekday": select_value("2"), "time": clock_time("08:15")},
        {DIGEST_SCHEDULE: {"weekday": 2, "minute": 8 * 60 + 15}},
        id="schedule",
    ),
    pytest.param(
        ids.ADMIN_LLM,
        ids.LLM_VIEW,
        {"llm_enabled": radio("off"), "llm_model": text("gpt-4.1-nano")},
        {LLM_ENABLED: False, LLM_MODEL: "gpt-4.1-nano"},
        id="llm",
    ),
    pytest.param(
        ids.ADMIN_RETENTION,
        ids.RETENTION_VIEW,
        {"retention_days": number("365")},
        {RETENTION_DAYS: 365},
        id="retention",
    ),
]


@pytest.mark.parametrize(("action_id", "callback_id", "values", "saved"), MODALS)
def test_admins_open_validated_modals_and_changes_are_saved_and_audited(
    app: LiveServer,
    slack: FakeSlack,
    context: AppContext,
    action_id: str,
    callback_id: str,
    values: dict[str, Any],
    saved: dict[str, Any],
) -> None:
    assert press_home(app, slack, action_id, "UADMIN").status_code == 200
    opened = eventually(lambda: [v.view for v in slack.views if v.method == "views.open"])
    assert [view["callback_id"] for view in opened] == [callback_id]
    assert_valid_view(opened[0])

    response = submit(app, callback_id, "UADMIN", values)
    assert response.status_code == 200 and response.text in ("", "{}")
    for key, value in saved.items():
        assert setting(context, key) == value
    entries = audit(context)
    assert [(e.actor, e.target) for e in entries] == [("UADMIN", key) for key in saved]
    assert all(json.loads(e.details or "{}")["after"] == saved[e.target or ""] for e in entries)
    home = eventually(lambda: slack.home_view("UADMIN"))
    assert_valid_view(home)

    # The same values again change nothing, so nothing more is audited.
    assert submit(app, callback_id, "UADMIN", values).status_code == 200
    assert len(audit(context)) == len(saved)


@pytest.mark.parametrize(("action_id", "callback_id", "values", "saved"), MODALS)
def test_a_non_admin_can_neither_open_nor_submit_any_admin_modal(
    app: LiveServer,
    slack: FakeSlack,
    context: AppContext,
    action_id: str,
    callback_id: str,
    values: dict[str, Any],
    saved: dict[str, Any],
) -> None:
    assert press_home(app, slack, action_id, "UANA").status_code == 200
    # The press is checked after its ack (users.info); once it has been, this process knows Ana
    # is no admin, and refuses her forged submission in its ack.
    assert eventually(lambda: slack.calls_to("users.info"))
    time.sleep(0.2)
    response = submit(app, callback_id, "UANA", values)  # forged: Ana never saw this modal
    assert response.status_code == 200
    answer = response.json()
    assert answer["response_action"] == "errors"
    assert list(answer["errors"].values()) == ["Only workspace admins can change this setting."]
    time.sleep(0.2)
    assert slack.calls_to("views.open") == [] and slack.calls_to("views.publish") == []
    with Session(context.engine) as session:
        assert session.exec(select(WorkspaceSetting)).all() == []
        assert session.exec(select(AuditEntry)).all() == []


@pytest.mark.parametrize(("action_id", "callback_id", "values", "saved"), MODALS)
@pytest.mark.parametrize("sign", [{"age": 600}, {"secret": "not-the-secret"}])
def test_stale_or_forged_signatures_are_refused_even_for_admins(
    app: LiveServer,
    slack: FakeSlack,
    context: AppContext,
    action_id: str,
    callback_id: str,
    values: dict[str, Any],
    saved: dict[str, Any],
    sign: dict[str, Any],
) -> None:
    assert press_home(app, slack, action_id, "UADMIN", **sign).status_code == 401
    assert submit(app, callback_id, "UADMIN", values, **sign).status_code == 401
    time.sleep(0.1)
    assert slack.calls_to("views.open") == []
    with Session(context.engine) as session:
        assert session.exec(select(WorkspaceSetting)).all() == []


@pytest.mark.parametrize("user", ["UOWNER", CONFIGURED_ADMIN])
def test_owners_and_admin_user_ids_are_admins_too(
    app: LiveServer, slack: FakeSlack, context: AppContext, user: str
) -> None:
    # The owner never opened a modal on this process: the ack comes first, then users.info, then
    # the change; ADMIN_USER_IDS needs no Slack call, so the change is stored before the ack.
    response = submit(app, ids.RETENTION_VIEW, user, {"retention_days": number("90")})
    assert response.status_code == 200 and response.text in ("", "{}")
    assert eventually(lambda: setting(context, RETENTION_DAYS) == 90)
    assert eventually(lambda: [e.actor for e in audit(context)]) == [user]


@pytest.mark.parametrize(
    ("callback_id", "values", "errors"),
    [
        (
            ids.MIN_GROUP_SIZE_VIEW,
            {"min_group_size": number("4")},
            {"min_group_size": "At least 5: smaller groups could single people out."},
        ),
        (
            ids.MIN_GROUP_SIZE_VIEW,
            {"min_group_size": number("5.5")},
            {"min_group_size": "Enter a whole number."},
        ),
        (
            ids.MIN_GROUP_SIZE_VIEW,
            {"min_group_size": number("-7")},
            {"min_group_size": "Enter a whole number."},
        ),
        (
            ids.MIN_GROUP_SIZE_VIEW,
            {"min_group_size": number("1001")},
            {"min_group_size": "At most 1000."},
        ),
        (
            ids.RETENTION_VIEW,
            {"retention_days": number("29")},
            {"retention_days": "At least 30 days."},
        ),
        (
            ids.RETENTION_VIEW,
            {"retention_days": number("forever")},
            {"retention_days": "Enter a whole number of days."},
        ),
        (
            ids.SCHEDULE_VIEW,
            {"weekday": select_value("7"), "time": clock_time("24:00")},
            {"weekday": "Pick a day of the week.", "time": "Pick a time."},
        ),
        (
            ids.LLM_VIEW,
            {"llm_enabled": radio("maybe"), "llm_model": text("gpt 4; rm -rf")},
            {
                "llm_enabled": "Pick on or off.",
                "llm_model": "A model name: letters, digits and . _ : / @ + - only.",
            },
        ),
        (
            ids.LLM_VIEW,
            {"llm_enabled": radio("on"), "llm_model": text("  ")},
            {"llm_model": "Enter a model name, e.g. gpt-4.1-mini."},
        ),
    ],
)
def test_invalid_values_get_field_errors_and_change_nothing(
    app: LiveServer,
    context: AppContext,
    callback_id: str,
    values: dict[str, Any],
    errors: dict[str, str],
) -> None:
    response = submit(app, callback_id, "UADMIN", values)
    assert response.json() == {"response_action": "errors", "errors": errors}
    with Session(context.engine) as session:
        assert session.exec(select(WorkspaceSetting)).all() == []
        assert session.exec(select(AuditEntry)).all() == []


def test_k_can_be_raised_and_lowered_back_to_5_but_never_below(
    app: LiveServer, context: AppContext
) -> None:
    assert submit(app, ids.MIN_GROUP_SIZE_VIEW, "UADMIN", {"min_group_size": number("8")}).text in (
        "",
        "{}",
    )
    with Session(context.engine) as session:
        assert min_group_size(session) == 8
    submit(app, ids.MIN_GROUP_SIZE_VIEW, "UADMIN", {"min_group_size": number("5")})
    with Session(context.engine) as session:
        assert min_group_size(session) == 5
    refused = submit(app, ids.MIN_GROUP_SIZE_VIEW, "UADMIN", {"min_group_size": number("3")})
    assert refused.json()["response_action"] == "errors"
    with Session(context.engine) as session:
        assert min_group_size(session) == 5


def test_the_default_schedule_is_what_the_digest_tick_reads(
    app: LiveServer, context: AppContext
) -> None:
    values = {"weekday": select_value("4"), "time": clock_time("16:45")}
    assert submit(app, ids.SCHEDULE_VIEW, "UADMIN", values).status_code == 200
    with Session(context.engine) as session:
        assert default_schedule(session) == Schedule(weekday=4, minute=16 * 60 + 45)


def seed_large_workspace(context: AppContext, sources: int = 40) -> None:
    """Many sources, many unmapped identities, many audit entries, some summarizer spend."""
    with transaction(context.engine) as session:
        for s in range(sources):
            for i in range(30):
                session.add(
                    Event(
                        source=f"source-{s:02d}",
                        key=f"e-{s}-{i}",
                        type="ai.usage",
                        occurred_at=FROZEN_NOW - timedelta(hours=i),
                        actor_kind="email",
                        actor_value=f"unmapped-{i}-{'x' * 200}@example.com",
                        input_tokens=100,
                    )
                )
        for i in range(200):
            session.add(
                AuditEntry(
                    at=FROZEN_NOW - timedelta(minutes=i),
                    actor="UADMIN",
                    action="setting.change",
                    target="thresholds",
                    details=json.dumps({"before": None, "after": {"k": "v" * 500}}),
                )
            )
        person = Person(email="ana@example.com", slack_user_id="UANA")
        session.add(person)
        session.flush()
        for week, tokens in (("2026-W47", 1200), ("2026-W46", 999_000)):
            session.add(
                Delivery(
                    person_id=person.id or 0,
                    week=week,
                    status="sent",
                    summarizer_input_tokens=tokens,
                    summarizer_output_tokens=tokens // 10,
                    created_at=FROZEN_NOW if week == "2026-W47" else FROZEN_NOW - timedelta(7),
                )
            )


def test_the_admin_home_stays_valid_and_small_with_large_data(
    app: LiveServer, slack: FakeSlack, context: AppContext
) -> None:
    seed_large_workspace(context)
    assert send(app, app_home_opened(user_id="UADMIN")).status_code == 200
    view = eventually(lambda: slack.home_view("UADMIN"))
    assert view is not None
    assert_valid_view(view)
    assert len(view["blocks"]) <= 100
    shown = json.dumps(view)
    for action_id in (*ADMIN_ACTIONS, ids.ADMIN_TEAMS, ids.HOME_EDIT_THRESHOLDS):
        assert action_id in shown
    assert "Teams and leads" in shown
    assert f"and {40 - MAX_SOURCES_SHOWN} more sources" in shown
    assert "30 unmapped identities" in shown and "and 27 more" in shown
    # This week's spend only: one digest, 1.2K in and 120 out (last week's 999K is not counted).
    assert "1.2K input and 120 output tokens over 1 digest" in shown
    assert "999K" not in shown
    audit_block = next(b for b in view["blocks"] if b.get("block_id") == "admin_audit_log")
    assert audit_block["text"]["text"].count("<@UADMIN>") == 10
    # The non-admin home has none of it.
    send(app, app_home_opened(user_id="UANA"))
    ana_home = eventually(lambda: slack.home_view("UANA"))
    assert_valid_view(ana_home)
    assert "Audit log" not in json.dumps(ana_home) and "source-00" not in json.dumps(ana_home)


def test_the_audit_log_shows_who_changed_what_but_no_ones_numbers(
    app: LiveServer, slack: FakeSlack, context: AppContext
) -> None:
    from bot.store.forget import forget_person

    with transaction(context.engine) as session:
        session.add(Person(email="ana@example.com", slack_user_id="UANA"))
        session.add(
            Event(
                source="usage",
                key="e1",
                type="ai.usage",
                occurred_at=FROZEN_NOW,
                actor_kind="email",
                actor_value="ana@example.com",
                input_tokens=4242,
            )
        )
    with transaction(context.engine) as session:
        forget_person(session, "ana@example.com", actor="UANA", now=FROZEN_NOW)
    submit(app, ids.RETENTION_VIEW, "UADMIN", {"retention_days": number("120")})
    view = eventually(lambda: slack.home_view("UADMIN"))
    audit_text = next(b for b in view["blocks"] if b.get("block_id") == "admin_audit_log")["text"][
        "text"
    ]
    lines = audit_text.splitlines()
    assert "<@UADMIN> changed retention_days → `120`" in lines[0]
    assert "<@UANA> erased a person's data" in lines[1]
    assert "4242" not in audit_text and '"events"' not in audit_text


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, database_url: str) -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as fake:
        monkeypatch.setenv("DATABASE_URL", database_url)
        monkeypatch.setenv("OPENAI_API_KEY", fake.api_key)
        monkeypatch.setenv("OPENAI_BASE_URL", fake.base_url)
        yield fake


def test_llm_off_means_no_request_reaches_openai_during_ai_roi_digest(
    app: LiveServer,
    context: AppContext,
    cli_env: FakeOpenAI,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Any,
) -> None:
    events = [
        usage_event("u47", "ana@example.com", "2026-11-18T09:00:00Z", input_tokens=5000),
        usage_event("u46", "ana@example.com", "2026-11-11T09:00:00Z", input_tokens=6000),
    ]
    (tmp_path / "e.json").write_text(json.dumps(events))
    assert main(["ingest", "--source", "usage", str(tmp_path / "e.json")]) == 0

    off = {"llm_enabled": radio("off"), "llm_model": text("gpt-4.1-mini")}
    assert submit(app, ids.LLM_VIEW, "UADMIN", off).status_code == 200
    assert main(["digest", "--week", "2026-W47"]) == 0
    assert cli_env.requests == []
    with Session(context.engine) as session:
        first = session.exec(select(Delivery).where(Delivery.week == "2026-W47")).one()
    assert first.status == "preview" and first.writer == "template"  # console: a preview
    assert first.summarizer_input_tokens == 0

    # Back on, with another model: the next digest asks the fake server, for that model.
    on = {"llm_enabled": radio("on"), "llm_model": text("my-model-1")}
    assert submit(app, ids.LLM_VIEW, "UADMIN", on).status_code == 200
    assert main(["digest", "--week", "2026-W46"]) == 0
    assert [request["model"] for request in cli_env.requests] == ["my-model-1"]
    capsys.readouterr()


def test_the_thresholds_modal_is_admin_only_too(
    app: LiveServer, slack: FakeSlack, context: AppContext
) -> None:
    values = {
        name: text(value)
        for name, value in {
            "unused_min_created": "10",
            "unused_max_viewed_share": "0.3",
            "spike_factor": "2",
            "spike_min_tokens": "100000",
            "no_outcome_min_cost_usd": "5",
            "cost_per_used_max_usd": "10",
        }.items()
    }
    assert press_home(app, slack, ids.HOME_EDIT_THRESHOLDS, "UANA").status_code == 200
    assert eventually(lambda: slack.calls_to("users.info"))  # checked after the press's ack
    time.sleep(0.2)
    refused = submit(app, ids.THRESHOLDS_VIEW, "UANA", values)
    assert refused.json()["response_action"] == "errors"
    time.sleep(0.2)
    assert slack.calls_to("views.open") == []
    with Session(context.engine) as session:
        assert session.exec(select(WorkspaceSetting)).all() == []
    assert press_home(app, slack, ids.HOME_EDIT_THRESHOLDS, "UADMIN").status_code == 200
    opened = eventually(lambda: [v.view for v in slack.views if v.method == "views.open"])
    assert [view["callback_id"] for view in opened] == [ids.THRESHOLDS_VIEW]
    assert_valid_view(opened[0])


def test_the_admin_home_shows_each_connectors_watermark_and_last_error(
    context: AppContext, database_url: str, slack: FakeSlack
) -> None:
    from datetime import UTC, datetime

    from bot.store import source_state

    with transaction(context.engine) as session:
        source_state.record_success(
            session,
            "openai",
            now=FROZEN_NOW - timedelta(hours=1),
            checkpoint={"day": "2026-11-24"},
            watermark=datetime(2026, 11, 24, tzinfo=UTC),
            rows=12,
        )
        source_state.record_failure(
            session, "cursor", now=FROZEN_NOW, error="cursor: refused the credential (401)"
        )
        source_state.record_failure(
            session, "cursor", now=FROZEN_NOW, error="cursor: refused the credential (401)"
        )
    with serve_with_slack(
        context,
        database_url,
        slack,
        admin_user_ids=CONFIGURED_ADMIN,
        openai_admin_key="sk-admin-test",
        cursor_admin_key="key_test",
    ) as live:
        assert send(live, app_home_opened(user_id="UADMIN")).status_code == 200
        view = eventually(lambda: slack.home_view("UADMIN"))
    assert view is not None
    assert_valid_view(view)
    shown = "\n".join(str(block.get("text", {}).get("text", "")) for block in view["blocks"])
    assert "*openai* · last event never" in shown
    through = int(datetime(2026, 11, 24, tzinfo=UTC).timestamp())
    assert (
        f"complete through <!date^{through}^{{date_short_pretty}} {{time}}|2026-11-24 00:00"
        in shown
    )
    assert ":x: the last 2 runs failed: cursor: refused the credential (401)" in shown
    assert "sk-admin-test" not in shown and "key_test" not in shown
    assert "*anthropic*" not in shown  # not configured and never run: `ai-roi sources` lists it
