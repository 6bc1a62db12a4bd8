"""The one place that wires ai-roi together: settings → engine → HTTP app (+ Slack, scheduler)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from bot.context import AppContext
from bot.settings import Settings, load_settings
from bot.store.db import create_engine, upgrade

if TYPE_CHECKING:
    from slack_bolt.adapter.socket_mode import SocketModeHandler

log = logging.getLogger(__name__)
DEFAULT_PORT = 3000


def build_context(settings: Settings | None = None, *, migrate: bool = False) -> AppContext:
    settings = settings or load_settings()
    engine = create_engine(settings.database_url)
    if migrate:
        upgrade(engine)
    return AppContext(settings=settings, engine=engine)


def build_app(context: AppContext):  # type: ignore[no-untyped-def]
    from bot.http.app import build_http_app

    return build_http_app(context)


def serve(*, host: str, port: int | None) -> int:
    import uvicorn

    from bot.http.server import server_config

    settings = load_settings()
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    context = build_context(settings, migrate=True)
    app = build_app(context)
    chosen_port = port or settings.port or DEFAULT_PORT
    socket_mode = start_socket_mode(context)
    from jobs.scheduler import start_scheduler, stop_scheduler

    scheduler = start_scheduler(context)  # the hourly digest tick, and one right now
    log.info("ai-roi listening on http://%s:%s", host, chosen_port)
    try:
        uvicorn.Server(server_config(app, settings, host=host, port=chosen_port)).run()
    finally:
        stop_scheduler(scheduler, wait=False)
        if socket_mode is not None:
            socket_mode.close()  # type: ignore[no-untyped-call]  # unannotated in slack-bolt
    return 0


def start_socket_mode(context: AppContext) -> SocketModeHandler | None:
    """With SLACK_APP_TOKEN, Slack traffic arrives over Socket Mode (no public URL needed)."""
    if not (context.settings.slack_app_token and context.settings.slack_bot_token):
        return None
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    from bot.slack.app import build_bolt_app

    handler = SocketModeHandler(build_bolt_app(context), context.settings.slack_app_token)
    handler.connect()  # type: ignore[no-untyped-call]  # slack-bolt leaves it unannotated
    log.info("Slack Socket Mode connected")
    return handler
