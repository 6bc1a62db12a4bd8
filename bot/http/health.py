"""Liveness and readiness probes."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool

from bot.context import AppContext
from bot.slack.credentials import TokenProbe
from bot.store.db import is_current

log = logging.getLogger(__name__)
router = APIRouter()


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(request: Request) -> JSONResponse:
    """The database is reachable and migrated to the newest revision, and Slack accepts the bot
    token when one is set.

    A token Slack refuses (revoked while the server runs; a refused token at start stops
    ``serve``) makes this 503 with the reason; webhooks are still accepted meanwhile. Slack not
    answering (network, 5xx, rate limit) leaves readiness alone, reported as ``unverified``:
    a Slack outage must not take event ingest out of the load balancer. The token's last answer
    is used and refreshed in the background (``TokenProbe``): a probe never waits on Slack.
    """
    context: AppContext = request.app.state.context
    try:
        current = await run_in_threadpool(is_current, context.engine)
    except SQLAlchemyError:
        log.warning("readiness: database unreachable", exc_info=True)
        return JSONResponse({"status": "unavailable", "database": "unreachable"}, status_code=503)
    if not current:
        return JSONResponse(
            {
                "status": "unavailable",
                "database": "ok",
                "migrations": "pending: run ai-roi db upgrade",
            },
            status_code=503,
        )
    answer = {"status": "ready", "database": "ok", "migrations": "current"}
    probe: TokenProbe | None = getattr(request.app.state, "slack_probe", None)
    if probe is not None:
        check = await run_in_threadpool(probe.current)
        answer["slack"] = check.readiness()
        if check.state == "refused":
            return JSONResponse({**answer, "status": "unavailable"}, status_code=503)
    return JSONResponse(answer)
