"""The one place that wires ai-roi together: settings → engine → HTTP app (+ Slack, scheduler)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from bot.context import AppContext
from bot.errors import ConfigError
from bot.settings import Settings, load_settings
from bot.store.db import create_engine, upgrade

if TYPE_CHECKING:
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    from bot.slack.credentials import TokenProbe

log = logging.getLogger(__name__)
DEFAULT_PORT = 3000


def build_context(settings: Settings | None = None, *, migrate: bool = False) -> AppContext:
    settings = settings or load_settings()
    engine = create_engine(settings.database_url)
    if migrate:
        upgrade(engine)
    return AppContext(settings=settings, engine=engine)


def build_app(context: AppContext, slack_probe: TokenProbe | None = None):  # type: ignore[no-untyped-def]
    from bot.http.app import build_http_app

    return build_http_app(context, slack_probe=slack_probe)


def serve(*, host: str, port: int | None) -> int:
    from bot.http.server import serve_forever, server_config
    from bot.observability.logs import configure_logging

    settings = load_settings()
    configure_logging(settings.log_level, settings.log_format)
    probe = check_slack_credentials(settings)
    context = build_context(settings, migrate=True)
    app = build_app(context, probe)
    chosen_port = port or settings.port or DEFAULT_PORT
    socket_mode = start_socket_mode(context)
    from jobs.scheduler import start_scheduler, stop_scheduler

    scheduler = start_scheduler(context)  # the hourly digest tick, and one right now
    log.info("ai-roi listening on http://%s:%s", host, chosen_port)
    try:
        serve_forever(server_config(app, settings, host=host, port=chosen_port))
    finally:
        stop_scheduler(scheduler, wait=False)
        if socket_mode is not None:
            socket_mode.close()  # type: ignore[no-untyped-call]  # unannotated in slack-bolt
    return 0


def check_slack_credentials(settings: Settings) -> TokenProbe | None:
    """With a bot token, ask Slack once whether it accepts it (``auth.test``): a refused token is
    a ``ConfigError`` (one line, exit 1) before anything starts; Slack not answering is logged
    and ``/readyz`` asks again. The probe keeps the answer for ``/readyz``."""
    if not settings.slack_bot_token:
        return None
    from bot.slack.credentials import TokenProbe, require_bot_token

    return TokenProbe(settings, last=require_bot_token(settings))


def start_socket_mode(context: AppContext) -> SocketModeHandler | None:
    """With SLACK_APP_TOKEN, Slack traffic arrives over Socket Mode (no public URL needed).
    The app-level token is tried once (``apps.connections.open``); a refused one is a
    ``ConfigError``, one line."""
    if not (context.settings.slack_app_token and context.settings.slack_bot_token):
        return None
    from slack_bolt.adapter.socket_mode import SocketModeHandler
    from slack_sdk.errors import SlackApiError

    from bot.slack.app import build_bolt_app
    from bot.slack.credentials import open_socket_mode_url

    url = open_socket_mode_url(context.settings)
    handler = SocketModeHandler(build_bolt_app(context), context.settings.slack_app_token)
    handler.client.wss_uri = url  # the connection opened just now, not a second one
    try:
        handler.connect()  # type: ignore[no-untyped-call]  # slack-bolt leaves it unannotated
    except SlackApiError as exc:  # refused between the check and now: still one line
        code = exc.response.get("error") if isinstance(exc.response.data, dict) else None
        raise ConfigError(f"SLACK_APP_TOKEN: Slack refused Socket Mode ({code})") from None
    log.info("Slack Socket Mode connected")
    return handler
