"""``POST /webhooks/{source}``: authenticate, read within the limit, ingest, answer 202."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from bot.context import AppContext
from bot.errors import PayloadTooLargeError
from bot.ingest.adapters import adapter_for
from bot.ingest.decoding import check_content_type
from bot.ingest.pipeline import ingest_body
from bot.ingest.signatures import authenticate

router = APIRouter()


async def read_limited(request: Request, limit: int) -> bytes:
    """The body, refusing more than ``limit`` bytes whether or not Content-Length was sent."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLargeError(f"body is {declared} bytes; the limit is {limit}")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLargeError(f"body is over the limit of {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


async def receive(request: Request, source: str) -> JSONResponse:
    context: AppContext = request.app.state.context
    settings = context.settings
    headers = {k.lower(): v for k, v in request.headers.items()}
    if (
        not settings.webhook_secret_list and not settings.webhook_token_list
    ) or "authorization" in headers:
        # Bearer tokens (and the no-credentials refusal) do not need the body.
        authenticate(
            secrets=settings.webhook_secret_list,
            tokens=settings.webhook_token_list,
            headers=headers,
            body=b"",
            now=context.clock(),
        )
        authenticated = True
    else:
        authenticated = False
    adapter_for(source)
    content_type = request.headers.get("content-type")
    check_content_type(content_type)
    body = await read_limited(request, settings.webhook_max_body_bytes)
    if not authenticated:
        authenticate(
            secrets=settings.webhook_secret_list,
            tokens=settings.webhook_token_list,
            headers=headers,
            body=body,
            now=context.clock(),
        )
    outcome = await run_in_threadpool(ingest_body, context.engine, source, body, content_type)
    return JSONResponse(outcome.to_json(), status_code=202)


@router.post("/webhooks/{source}", status_code=202)
async def webhook(source: str, request: Request) -> JSONResponse:
    """Events in the format of ``source`` (``usage`` is the generic schema)."""
    return await receive(request, source)
