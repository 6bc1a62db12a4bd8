"""With SLACK_APP_TOKEN the app takes Slack's traffic over Socket Mode, with no public URL.

``start_socket_mode`` opens a connection through ``apps.connections.open`` on the fake Web API,
which hands out the fake Socket Mode server; envelopes pushed there are acknowledged by the app
and handled by the same listeners as over HTTP.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.context import AppContext
from bot.slack import ids
from bot.slack.listeners.commands import HELP
from bot.wiring import start_socket_mode
from fakes.slack_api import FakeSlack
from fakes.slack_requests import app_home_opened, block_actions, slash_command, view_dict
from fakes.slack_socket import SocketModeServer
from tests.conftest import make_settings
from tests.support.slack_app import eventually


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        fake.add_user(id="UANA", email="ana@example.com", real_name="Ana Lopez")
        yield fake


@pytest.fixture
def socket(context: AppContext, database_url: str, slack: FakeSlack) -> Iterator[SocketModeServer]:
    settings = make_settings(
        database_url,
        slack_bot_token=slack.token,
        slack_app_token=slack.app_token,
        slack_api_url=slack.base_url,
    )
    handler = start_socket_mode(AppContext(settings, context.engine, context.clock))
    assert handler is not None
    try:
        assert slack.socket_mode is not None, "the app did not call apps.connections.open"
        slack.socket_mode.wait_for_client()
        yield slack.socket_mode
    finally:
        handler.close()


def test_a_slash_command_is_acknowledged_and_answered_to_its_response_url(
    socket: SocketModeServer, slack: FakeSlack
) -> None:
    command = slash_command(user_id="UANA", text="help", response_url=slack.new_response_url())
    envelope = socket.push("slash_commands", command.form(), accepts_response=True)
    assert socket.ack_for(envelope)["envelope_id"] == envelope
    (answer,) = eventually(lambda: slack.responses)
    assert answer.text == HELP and answer.response_type == "ephemeral"
    assert [c.method for c in slack.calls if c.method.startswith("chat.")] == []  # only to her
    assert socket.protocol_errors == []


def test_events_and_button_presses_reach_the_same_listeners(
    socket: SocketModeServer, slack: FakeSlack
) -> None:
    opened = socket.push("events_api", app_home_opened(user_id="UANA").payload())
    socket.ack_for(opened)
    home = eventually(lambda: slack.home_view("UANA"))
    assert home and home["type"] == "home"

    press = block_actions(
        user_id="UANA",
        action_id=ids.HOME_MY_SETTINGS,
        value="x",
        view=view_dict("home"),
        trigger_id=slack.new_trigger_id(),
    )
    socket.ack_for(socket.push("interactive", press.payload()))
    opened_views = eventually(lambda: slack.calls_to("views.open"))
    assert opened_views and opened_views[0].ok
    assert socket.protocol_errors == []


def test_socket_mode_needs_the_app_level_token(slack: FakeSlack) -> None:
    """The bot token cannot open a connection, and the app token cannot call other methods."""

    def error(token: str, method: str) -> str:
        with pytest.raises(SlackApiError) as refused:
            WebClient(token=token, base_url=slack.base_url).api_call(method)
        return str(refused.value.response["error"])

    assert error(slack.token, "apps.connections.open") == "not_allowed_token_type"
    assert error(slack.app_token, "auth.test") == "not_allowed_token_type"
    assert slack.socket_mode is None
