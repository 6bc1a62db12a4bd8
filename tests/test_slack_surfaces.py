"""Slack surfaces through signed requests into the real HTTP app, with a Web API on loopback."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.parse
from collections.abc import Iterator
from typing import Any

import pytest
from sqlmodel import Session, select

from bot.context import AppContext
from bot.store.models import AuditEntry, WorkspaceSetting
from fakes.blockkit import assert_valid_view
from fakes.slack_api import FakeSlack
from fakes.slack_requests import app_home_opened
from tests.conftest import LiveServer
from tests.support.slack_app import SECRET, serve_with_slack


@pytest.fixture
def slack_api() -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        fake.add_user(
            id="UADMIN", email="ada@example.com", real_name="Ada Admin", tz="UTC", is_admin=True
        )
        fake.add_user(id="UANA", email="ana@example.com", real_name="Ana Lopez", tz="Europe/Berlin")
        yield fake


@pytest.fixture
def app(context: AppContext, database_url: str, slack_api: FakeSlack) -> Iterator[LiveServer]:
    with serve_with_slack(context, database_url, slack_api) as live:
        yield live


def signed(body: str, *, secret: str = SECRET, age: int = 0, content_type: str) -> dict[str, str]:
    ts = str(int(time.time()) - age)
    digest = hmac.new(secret.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
    return {
        "x-slack-request-timestamp": ts,
        "x-slack-signature": f"v0={digest}",
        "content-type": content_type,
    }


FORM = "application/x-www-form-urlencoded"


def command(live: LiveServer, api: FakeSlack, user: str, text: str, **sign: Any) -> Any:
    body = urllib.parse.urlencode(
        {
            "command": "/ai-roi",
            "text": text,
            "user_id": user,
            "team_id": "T1",
            "channel_id": "C1",
            "response_url": api.new_response_url(),
            "trigger_id": api.new_trigger_id(),
        }
    )
    return live.client.post(
        "/slack/events", content=body, headers=signed(body, content_type=FORM, **sign)
    )


def wait_for(predicate: Any, seconds: float = 5) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.02)
    raise AssertionError("timed out")


def test_slash_command_help_and_unknown_reply_only_to_the_caller(
    app: LiveServer, slack_api: FakeSlack
) -> None:
    assert command(app, slack_api, "UANA", "help").status_code == 200
    wait_for(lambda: slack_api.responses)
    assert slack_api.responses[0]["response_type"] == "ephemeral"
    assert "/ai-roi team NAME" in slack_api.responses[0]["text"]
    command(app, slack_api, "UANA", "frobnicate")
    wait_for(lambda: len(slack_api.responses) == 2)
    assert "I don't know `frobnicate`" in slack_api.responses[1]["text"]


def test_a_non_lead_sees_no_team_and_an_admin_sees_the_org(
    app: LiveServer, slack_api: FakeSlack, context: AppContext
) -> None:
    command(app, slack_api, "UANA", "team Data")
    wait_for(lambda: slack_api.responses)
    assert slack_api.responses[0]["response_type"] == "ephemeral"
    assert "ana@example.com" not in json.dumps(slack_api.responses[0].payload)
    command(app, slack_api, "UADMIN", "")
    wait_for(lambda: len(slack_api.responses) == 2)
    assert "blocks" in slack_api.responses[1].payload or "text" in slack_api.responses[1].payload
    with Session(context.engine) as session:
        assert (
            session.exec(select(AuditEntry).where(AuditEntry.action == "team_report.view")).first()
            is not None
        )


def test_forged_and_stale_requests_are_refused(app: LiveServer, slack_api: FakeSlack) -> None:
    assert command(app, slack_api, "UANA", "help", secret="not-the-secret").status_code == 401
    assert command(app, slack_api, "UANA", "help", age=600).status_code == 401
    time.sleep(0.2)
    assert slack_api.responses == []


def test_app_home_opened_publishes_a_valid_home(app: LiveServer, slack_api: FakeSlack) -> None:
    body = json.dumps(
        {
            "type": "event_callback",
            "team_id": "T1",
            "api_app_id": "A1",
            "event_id": "Ev1",
            "event_time": int(time.time()),
            "event": {"type": "app_home_opened", "user": "UANA", "tab": "home", "channel": "D1"},
        }
    )
    assert (
        app.client.post(
            "/slack/events", content=body, headers=signed(body, content_type="application/json")
        ).status_code
        == 200
    )
    wait_for(lambda: slack_api.home_view("UANA"))
    view = slack_api.home_view("UANA")
    assert view is not None
    assert_valid_view(view)
    assert "Edit thresholds" not in json.dumps(view)  # not an admin


def thresholds_submission(user: str, values: dict[str, str]) -> str:
    payload = {
        "type": "view_submission",
        "team": {"id": "T1"},
        "user": {"id": user},
        "api_app_id": "A1",
        "view": {
            "id": "V1",
            "type": "modal",
            "callback_id": "admin_thresholds",
            "private_metadata": "",
            "state": {
                "values": {
                    k: {"value": {"type": "plain_text_input", "value": v}}
                    for k, v in values.items()
                }
            },
        },
    }
    return urllib.parse.urlencode({"payload": json.dumps(payload)})


GOOD = {
    "unused_min_created": "10",
    "unused_max_viewed_share": "0.3",
    "spike_factor": "2",
    "spike_min_tokens": "100000",
    "no_outcome_min_cost_usd": "5",
    "cost_per_used_max_usd": "10",
}


def test_a_forged_admin_submission_from_a_non_admin_changes_nothing(
    app: LiveServer, slack_api: FakeSlack, context: AppContext
) -> None:
    body = thresholds_submission("UANA", GOOD)
    response = app.client.post(
        "/slack/events", content=body, headers=signed(body, content_type=FORM)
    )
    assert response.status_code == 200
    assert response.json()["response_action"] == "errors"
    with Session(context.engine) as session:
        assert session.exec(select(WorkspaceSetting)).all() == []


def test_admin_thresholds_are_validated_saved_and_audited(
    app: LiveServer, slack_api: FakeSlack, context: AppContext
) -> None:
    bad = thresholds_submission(
        "UADMIN", {**GOOD, "unused_max_viewed_share": "3", "spike_factor": "lots"}
    )
    response = app.client.post("/slack/events", content=bad, headers=signed(bad, content_type=FORM))
    assert response.json() == {
        "response_action": "errors",
        "errors": {
            "unused_max_viewed_share": "A share between 0 and 1, e.g. 0.2 for 20%.",
            "spike_factor": "Enter a number.",
        },
    }
    good = thresholds_submission("UADMIN", GOOD)
    assert (
        app.client.post(
            "/slack/events", content=good, headers=signed(good, content_type=FORM)
        ).status_code
        == 200
    )

    def saved_setting() -> bool:
        with Session(context.engine) as session:
            return session.exec(select(WorkspaceSetting)).first() is not None

    wait_for(saved_setting)  # saved after the ack, then the App Home is re-published
    wait_for(lambda: slack_api.home_view("UADMIN"))
    with Session(context.engine) as session:
        saved = json.loads(session.exec(select(WorkspaceSetting)).one().value)
        audit = session.exec(select(AuditEntry).where(AuditEntry.action == "setting.change")).one()
    assert saved["unused_min_created"] == 10 and saved["unused_max_viewed_share"] == 0.3
    assert audit.actor == "UADMIN"


def test_stopping_the_server_lets_slack_listeners_finish_their_work(
    context: AppContext, database_url: str, slack_api: FakeSlack
) -> None:
    """Listeners ack first and work after; a server that stops waits for that work."""
    slack_api.latency = 0.5  # every Web API call takes half a second
    with serve_with_slack(context, database_url, slack_api) as live:
        opened = app_home_opened(user_id="UANA")
        response = live.client.post(
            "/slack/events", content=opened.body, headers=opened.headers(SECRET)
        )
        assert response.status_code == 200
        assert slack_api.home_view("UANA") is None  # acknowledged, not yet published
    assert slack_api.home_view("UANA") is not None  # published before the server was gone
