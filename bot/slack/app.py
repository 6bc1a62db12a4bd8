"""The Bolt app: built once by the wiring, served at ``/slack/events`` or over Socket Mode."""

from __future__ import annotations

import logging
from concurrent.futures import Executor

from slack_bolt import App
from slack_sdk import WebClient

from bot.context import AppContext
from bot.outbound.clients import slack_web_client
from bot.slack.listeners import register

log = logging.getLogger(__name__)


def web_client(context: AppContext) -> WebClient:
    """The listeners' client: built by ``bot.outbound.clients`` (explicit timeout, no SDK
    retries; a 429 is honoured through the Slack gate)."""
    return slack_web_client(context.settings)


def build_bolt_app(context: AppContext, listener_executor: Executor | None = None) -> App:
    """The Bolt app with every listener; ``listener_executor`` runs what listeners do after
    their ack (Bolt's own pool when not given)."""
    settings = context.settings
    app = App(
        token=settings.slack_bot_token,
        signing_secret=settings.slack_signing_secret or "",
        client=web_client(context),
        token_verification_enabled=False,
        request_verification_enabled=bool(settings.slack_signing_secret),
        logger=logging.getLogger("bot.slack.bolt"),
        listener_executor=listener_executor,
    )
    register(app, context)
    return app
