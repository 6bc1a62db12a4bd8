"""The FastAPI application: routes, and the translation of errors into HTTP answers."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager

import sqlalchemy as sa
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse

from bot import __version__
from bot.context import AppContext
from bot.errors import (
    AiRoiError,
    AuthError,
    PayloadError,
    PayloadTooLargeError,
    UnknownSourceError,
    UnsupportedMediaError,
)
from bot.http import github, health, schema, slack_events, webhooks
from bot.http.limits import BodyTimeoutError
from bot.observability import exposition
from bot.observability.logs import request_id
from bot.observability.requests import RequestIdMiddleware, route_template
from bot.slack.credentials import TokenProbe

# When the database cannot be reached, senders are told to retry after this many seconds.
RETRY_AFTER_SECONDS = 5
# Errors that mean the database is unreachable or unusable right now (down, refusing
# connections, the file unreadable, the pool exhausted), as opposed to a bug in a statement.
DATABASE_UNAVAILABLE = (sa.exc.OperationalError, sa.exc.InterfaceError, sa.exc.TimeoutError)

log = logging.getLogger(__name__)

_STATUS: list[tuple[type[AiRoiError], int]] = [
    (BodyTimeoutError, 408),
    (UnknownSourceError, 404),
    (PayloadError, 400),
    (AuthError, 401),
    (PayloadTooLargeError, 413),
    (UnsupportedMediaError, 415),
]


def status_for(error: AiRoiError) -> int:
    for kind, status in _STATUS:
        if isinstance(error, kind):
            return status
    return 400


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    yield
    # Slack listeners acknowledge first and work after (publish a Home, open a modal): let the
    # ones under way finish before the process goes, rather than cut them off half done.
    listeners: ThreadPoolExecutor | None = getattr(app.state, "slack_listeners", None)
    if listeners is not None:
        await asyncio.to_thread(listeners.shutdown, wait=True)


def build_http_app(context: AppContext, *, slack_probe: TokenProbe | None = None) -> FastAPI:
    """The app; with a bot token, ``/readyz`` asks ``slack_probe`` (made here when not given)
    whether Slack accepts it."""
    app = FastAPI(
        title="ai-roi", version=__version__, docs_url=None, redoc_url=None, lifespan=_lifespan
    )
    app.state.context = context
    app.state.scrape_registry = exposition.scrape_registry(context)
    app.add_middleware(RequestIdMiddleware)
    add_routes(
        app,
        # The ingest routes first: requests are matched against the routes in order, and
        # nearly all of them are webhooks.
        github.router,  # before /webhooks/{source}, which it would match
        webhooks.router,
        slack_events.router,
        health.router,
        exposition.router,
    )
    schema.install(app)  # GET /schemas/usage-event.json; the /webhooks/usage body in /openapi.json
    if context.settings.slack_bot_token and context.settings.slack_signing_secret:
        from bot.slack.app import build_bolt_app

        app.state.slack_listeners = ThreadPoolExecutor(5, thread_name_prefix="ai-roi-slack")
        app.state.bolt = build_bolt_app(context, listener_executor=app.state.slack_listeners)
    if context.settings.slack_bot_token:
        app.state.slack_probe = slack_probe or TokenProbe(context.settings)

    @app.exception_handler(AiRoiError)
    async def _known_error(request: Request, error: AiRoiError) -> JSONResponse:
        status = status_for(error)
        log_refusal(request, status, error)
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
        return JSONResponse({"error": str(error)}, status_code=status, headers=headers)

    async def _database_unavailable(request: Request, error: Exception) -> JSONResponse:
        # The driver's message, not the error's: that one holds the statement and its values.
        cause = getattr(error, "orig", None) or error
        reason = (str(cause).strip().splitlines() or [type(cause).__name__])[0][:200]
        log.warning(
            "database unavailable on %s %s: %s: %s",
            request.method,
            request.url.path,
            type(cause).__name__,
            reason,
        )
        return JSONResponse(
            {"error": "the database is unavailable; nothing was stored, retry later"},
            status_code=503,
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )

    for kind in DATABASE_UNAVAILABLE:
        app.add_exception_handler(kind, _database_unavailable)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, error: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        # Answered outside the middleware that stamps every other response: stamp it here, so
        # the caller can quote the id its log line carries.
        rid = request_id.get()
        return JSONResponse(
            {"error": "internal error; the event was not stored"},
            status_code=500,
            headers={"X-Request-ID": rid} if rid else None,
        )

    return app


def add_routes(app: FastAPI, *routers: APIRouter) -> None:
    """The routers' routes, in order, in the app's own list of routes. ``include_router`` would
    keep each router behind a wrapper that every request walks through as it is matched: a
    tenth of the CPU of a one-event webhook request. (None of these routers has a prefix or
    dependencies of its own for ``include_router`` to apply.)"""
    for router in routers:
        app.router.routes.extend(router.routes)


def log_refusal(request: Request, status: int, error: AiRoiError) -> None:
    """A refused request, at WARNING with its reason: never the body nor a credential (the
    reasons name what was wrong, not the value; the log formatter masks secrets besides)."""
    source = str(request.path_params.get("source", ""))[:64] or None
    log.warning(
        "refused %s %s: %d %s",
        request.method,
        route_template(request.scope),
        status,
        error,
        extra={"source": source, "outcome": f"refused {status}"},
    )
