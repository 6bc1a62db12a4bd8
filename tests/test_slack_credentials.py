"""Slack credentials checked at start (``auth.test``, one ``apps.connections.open``) against the
fake Slack: a refused token stops ``serve`` with one line and exit 1; a token revoked later turns
``/readyz`` 503 while webhooks are still accepted; Slack not answering leaves readiness alone."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.context import AppContext
from bot.errors import ConfigError
from bot.slack.credentials import (
    RECHECK_OK_SECONDS,
    RECHECK_UNVERIFIED_SECONDS,
    TokenCheck,
    TokenProbe,
    check_bot_token,
    open_socket_mode_url,
)
from fakes.slack_api import APP_TOKEN, TEAM_NAME, FakeSlack
from tests.conftest import WEBHOOK_TOKEN, LiveServer, make_settings
from tests.helpers import dumps, usage_event

WRONG_BOT_TOKEN = "xoxb-1000000001-2000000002-WrOnGtOkEnWrOnGtOkEn0001"
WRONG_APP_TOKEN = "xapp-1-A0AIROI0001-3000000003-WrOnGaPpToKeNWrOnG0001"


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        yield fake


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/api/"


def test_auth_test_accepts_refuses_or_cannot_say(slack: FakeSlack, database_url: str) -> None:
    good = make_settings(database_url, slack_bot_token=slack.token, slack_api_url=slack.base_url)
    check = check_bot_token(good)
    assert (check.state, check.detail) == ("ok", f"workspace {TEAM_NAME}")

    wrong = make_settings(
        database_url, slack_bot_token=WRONG_BOT_TOKEN, slack_api_url=slack.base_url
    )
    refused = check_bot_token(wrong)
    assert (refused.state, refused.detail) == ("refused", "invalid_auth")

    slack.fail_next("auth.test", "ratelimited", retry_after=30)
    limited = check_bot_token(good)
    assert (limited.state, limited.detail) == ("unverified", "rate limited by Slack")

    slack.fail_next("auth.test", "internal_error", status=500)
    assert check_bot_token(good).state == "unverified"

    away = make_settings(database_url, slack_bot_token=slack.token, slack_api_url=closed_port_url())
    unreachable = check_bot_token(away)
    assert unreachable.state == "unverified" and "could not be reached" in unreachable.detail
    assert [c.method for c in slack.calls] == ["auth.test"] * 4  # one call per check, no retries


def test_the_app_token_is_tried_once(slack: FakeSlack, database_url: str) -> None:
    good = make_settings(
        database_url,
        slack_bot_token=slack.token,
        slack_app_token=APP_TOKEN,
        slack_api_url=slack.base_url,
    )
    url = open_socket_mode_url(good)
    assert slack.socket_mode is not None and url == slack.socket_mode.url

    wrong = make_settings(
        database_url,
        slack_bot_token=slack.token,
        slack_app_token=WRONG_APP_TOKEN,
        slack_api_url=slack.base_url,
    )
    with pytest.raises(ConfigError) as refused:
        open_socket_mode_url(wrong)
    message = str(refused.value)
    assert message.startswith("SLACK_APP_TOKEN was refused by Slack (invalid_auth)")
    assert "\n" not in message and WRONG_APP_TOKEN not in message
    assert len(slack.calls_to("apps.connections.open")) == 2


def test_the_probe_asks_again_only_when_its_answer_is_old_and_never_makes_a_probe_wait(
    slack: FakeSlack, database_url: str
) -> None:
    settings = make_settings(
        database_url, slack_bot_token=slack.token, slack_api_url=slack.base_url
    )
    now = [1000.0]
    probe = TokenProbe(settings, clock=lambda: now[0])
    assert probe.current().state == "ok"  # nothing known yet: the first call asks and waits
    now[0] += RECHECK_OK_SECONDS - 1
    assert probe.current().state == "ok"
    assert len(slack.calls_to("auth.test")) == 1

    slack.revoke_token()  # the app was uninstalled meanwhile
    now[0] += 2
    slack.latency = 0.5
    started = time.monotonic()
    assert probe.current().state == "ok"  # the old answer at once; a refresh starts behind it
    assert time.monotonic() - started < 0.25
    probe.wait_for_refresh(5)
    assert (
        probe.current().readiness()
        == "token refused by Slack (token_revoked): check SLACK_BOT_TOKEN"
    )
    now[0] += RECHECK_UNVERIFIED_SECONDS - 1
    probe.current()
    probe.wait_for_refresh(5)
    assert len(slack.calls_to("auth.test")) == 2


def test_a_check_that_breaks_is_unverified_not_an_error(database_url: str) -> None:
    def broken(settings: object) -> TokenCheck:
        raise ValueError("unexpected answer")

    settings = make_settings(database_url, slack_bot_token="xoxb-1-2-abc")
    check = TokenProbe(settings, check=broken).current()
    assert (check.state, check.detail) == ("unverified", "the check failed (ValueError)")


def test_readyz_is_503_for_a_revoked_token_while_webhooks_are_still_accepted(
    slack: FakeSlack, database_url: str, context: AppContext
) -> None:
    from bot.wiring import build_app

    settings = make_settings(
        database_url,
        slack_bot_token=slack.token,
        slack_api_url=slack.base_url,
        webhook_tokens=WEBHOOK_TOKEN,
    )
    now = [0.0]
    probe = TokenProbe(settings, clock=lambda: now[0])
    app = build_app(AppContext(settings, context.engine, context.clock), probe)
    with LiveServer(app) as live:
        ready = live.client.get("/readyz")
        assert ready.status_code == 200 and ready.json()["slack"] == "ok"

        slack.revoke_token()
        now[0] += RECHECK_OK_SECONDS + 1
        assert live.client.get("/readyz").status_code == 200  # the answer known, a check begun
        probe.wait_for_refresh(5)
        revoked = live.client.get("/readyz")
        assert revoked.status_code == 503
        assert revoked.json() == {
            "status": "unavailable",
            "database": "ok",
            "migrations": "current",
            "slack": "token refused by Slack (token_revoked): check SLACK_BOT_TOKEN",
        }
        assert settings.slack_bot_token not in revoked.text

        stored = live.client.post(
            "/webhooks/usage",
            content=dumps(usage_event("r1", "ana@example.com", "2026-11-18T09:00:00Z")),
            headers={
                "authorization": f"Bearer {WEBHOOK_TOKEN}",
                "content-type": "application/json",
            },
        )
        assert stored.status_code == 202 and stored.json()["accepted"] == 1


def test_readyz_stays_ready_when_slack_cannot_be_asked(
    database_url: str, context: AppContext
) -> None:
    from bot.wiring import build_app

    settings = make_settings(
        database_url,
        slack_bot_token="xoxb-1000000001-2000000002-aIrOiFaKeSlAcKtOkEn0001",
        slack_api_url=closed_port_url(),
    )
    with LiveServer(build_app(AppContext(settings, context.engine, context.clock))) as live:
        ready = live.client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["slack"].startswith("unverified: Slack could not be reached")


def serve(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", "serve", "--port", "9"],  # exits before it would listen
        cwd=tmp_path,
        env={
            "PATH": os.environ.get("PATH", ""),
            "DATABASE_URL": f"sqlite:///{tmp_path / 'serve.db'}",
            "LOG_LEVEL": "WARNING",
            **env,
        },
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_serve_with_a_refused_bot_token_says_so_in_one_line(
    tmp_path: Path, slack: FakeSlack
) -> None:
    done = serve(
        tmp_path,
        SLACK_BOT_TOKEN=WRONG_BOT_TOKEN,
        SLACK_SIGNING_SECRET="8f742231b10e8888abcd99yyyzzz85a5",
        SLACK_API_URL=slack.base_url,
    )
    assert done.returncode == 1
    assert done.stdout == ""
    (line,) = done.stderr.splitlines()
    assert line.startswith("ai-roi: SLACK_BOT_TOKEN was refused by Slack (invalid_auth): ")
    assert WRONG_BOT_TOKEN not in done.stderr and "8f742231" not in done.stderr
    assert [c.method for c in slack.calls] == ["auth.test"]


def test_serve_with_a_refused_app_token_says_so_in_one_line(
    tmp_path: Path, slack: FakeSlack
) -> None:
    done = serve(
        tmp_path,
        SLACK_BOT_TOKEN=slack.token,
        SLACK_APP_TOKEN=WRONG_APP_TOKEN,
        SLACK_API_URL=slack.base_url,
    )
    assert done.returncode == 1
    (line,) = done.stderr.splitlines()
    assert line.startswith("ai-roi: SLACK_APP_TOKEN was refused by Slack (invalid_auth): ")
    assert "Traceback" not in done.stderr
    assert WRONG_APP_TOKEN not in done.stderr and slack.token not in done.stderr
    assert [c.method for c in slack.calls] == ["auth.test", "apps.connections.open"]
    assert slack.socket_mode is None
