"""``POST /webhooks/{source}`` and ``POST /v1/traces``: authenticate, read within the limit,
ingest, answer 202."""

from __future__ import annotations

import zlib
from typing import Any

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from bot.context import AppContext
from bot.errors import PayloadError, PayloadTooLargeError, UnsupportedMediaError
from bot.http.limits import read_limited
from bot.http.routes import RawRoute
from bot.ingest.adapters import adapter_for, otel
from bot.ingest.decoding import check_content_type, media_type
from bot.ingest.pipeline import ingest_body_async
from bot.ingest.signatures import authenticate

router = APIRouter(route_class=RawRoute)

OTLP_PROTOBUF = (
    "OTLP protobuf is not supported; use the JSON encoding: set "
    "OTEL_EXPORTER_OTLP_PROTOCOL=http/json (collector otlphttp exporter: encoding: json), "
    "which sends Content-Type application/json"
)


def decompress(body: bytes, encoding: str | None, limit: int) -> bytes:
    """Undo ``Content-Encoding: gzip`` (OTLP exporters compress by default), within ``limit``."""
    encoding = (encoding or "identity").strip().lower()
    if encoding == "identity":
        return body
    if encoding not in ("gzip", "x-gzip"):
        raise UnsupportedMediaError(
            f"content encoding {encoding!r} is not supported; send gzip or no encoding"
        )
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        data = inflater.decompress(body, limit + 1)
    except zlib.error:
        raise PayloadError("body is not valid gzip") from None
    if len(data) > limit:
        raise PayloadTooLargeError(f"decompressed body is over the limit of {limit} bytes")
    if not inflater.eof:
        raise PayloadError("gzip body is truncated")
    return data


def check_media(source: str, content_type: str | None) -> None:
    """415 for what we do not read; OTLP senders are told how to switch to JSON."""
    if source == otel.SOURCE and "protobuf" in media_type(content_type):
        raise UnsupportedMediaError(OTLP_PROTOBUF)
    check_content_type(content_type)


async def receive(request: Request, source: str) -> Response:
    context: AppContext = request.app.state.context
    settings = context.settings
    headers = {
        name.decode("latin-1").lower(): value.decode("latin-1")
        for name, value in request.scope["headers"]
    }
    secrets, tokens = settings.webhook_secret_list, settings.webhook_token_list
    if (not secrets and not tokens) or "authorization" in headers:
        # Bearer tokens (and the no-credentials refusal) do not need the body.
        authenticate(
            secrets=secrets,
            tokens=tokens,
            headers=headers,
            body=b"",
            now=context.clock(),
        )
        authenticated = True
    else:
        authenticated = False
    adapter_for(source)
    content_type = headers.get("content-type")
    check_media(source, content_type)
    limit = settings.webhook_max_body_bytes
    body = await read_limited(request, limit, settings.http_body_timeout_seconds)
    now = context.clock()  # when the body was in: signatures are checked at, events received at
    receipt = None
    if not authenticated:
        # Signatures cover the bytes as sent, before any decompression.
        authenticate(
            secrets=secrets,
            tokens=tokens,
            headers=headers,
            body=body,
            now=now,
        )
        # A signed message is stored once: its id is remembered with its events (replays).
        receipt = (headers["webhook-id"], now)
    body = decompress(body, headers.get("content-encoding"), limit)
    outcome = await ingest_body_async(
        context.engine, source, body, content_type, now=now, receipt=receipt
    )
    return answer(outcome.to_json())


def answer(document: dict[str, Any]) -> Response:
    """202 with ``document`` as JSON (orjson: a fifth of the time of ``JSONResponse``)."""
    try:
        content = orjson.dumps(document)
    except TypeError:  # a string orjson will not encode (a lone surrogate): json will
        return JSONResponse(document, status_code=202)
    return Response(content, status_code=202, media_type="application/json")


# ``source`` is described here and read from the path by hand: FastAPI validating it as a
# declared parameter cost about 10 us of CPU on every request.
_SOURCE = {
    "name": "source",
    "in": "path",
    "required": True,
    "schema": {"type": "string"},
    "description": "the sender's format: usage (the generic schema) or a vendor's",
}


@router.post("/webhooks/{source}", status_code=202, openapi_extra={"parameters": [_SOURCE]})
async def webhook(request: Request) -> Response:
    """Events in the format of ``source`` (``usage`` is the generic schema)."""
    return await receive(request, request.path_params["source"])


@router.post("/v1/traces", status_code=202)
async def otlp_traces(request: Request) -> Response:
    """OTLP/HTTP JSON traces, so an OpenTelemetry collector or SDK can export straight in."""
    return await receive(request, otel.SOURCE)
