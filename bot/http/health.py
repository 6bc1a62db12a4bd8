"""Liveness and readiness probes."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool

from bot.context import AppContext
from bot.store.db import is_current

log = logging.getLogger(__name__)
router = APIRouter()


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(request: Request) -> JSONResponse:
    """The database is reachable and migrated to the newest revision."""
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
    return JSONResponse({"status": "ready", "database": "ok", "migrations": "current"})
