"""``POST /slack/events``: Slack's signed requests handed to the Bolt app.

The body is read within ``SLACK_MAX_BODY_BYTES`` (Slack's own requests are a few KiB) and its
signature checked here, before Bolt parses anything: an unsigned or oversized request costs
no more than the limit, an absurd ``X-Slack-Request-Timestamp`` is a 401, and a correctly
signed body that Bolt cannot parse is a 400.
"""

from __future__ import annotations

import hashlib
import hmac
import time

from fastapi import APIRouter, Request, Response
from slack_bolt import App, BoltRequest
from starlette.concurrency import run_in_threadpool

from bot.context import AppContext
from bot.errors import AuthError, PayloadError
from bot.http.limits import read_limited
from bot.http.routes import RawRoute

router = APIRouter(route_class=RawRoute)

TOLERANCE_SECONDS = 5 * 60  # as Slack and Bolt check it
MAX_TIMESTAMP_DIGITS = 12


def verify_slack_signature(
    signing_secret: str, timestamp: str | None, signature: str | None, body: bytes, now: float
) -> None:
    """Slack's ``v0`` signature of ``v0:{timestamp}:{body}``, within five minutes of ``now``;
    ``AuthError`` otherwise. The timestamp must be plain Unix seconds (never an overflow)."""
    if not timestamp or not signature:
        raise AuthError("missing X-Slack-Request-Timestamp or X-Slack-Signature header")
    timestamp = timestamp.strip()
    if not (timestamp.isascii() and timestamp.isdigit()) or len(timestamp) > MAX_TIMESTAMP_DIGITS:
        raise AuthError("X-Slack-Request-Timestamp must be Unix seconds")
    if abs(int(now) - int(timestamp)) > TOLERANCE_SECONDS:
        raise AuthError("X-Slack-Request-Timestamp is more than 5 minutes from now")
    content = b"v0:" + timestamp.encode() + b":" + body
    expected = "v0=" + hmac.new(signing_secret.encode(), content, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected.encode(), signature.strip().encode("utf-8", "replace")):
        raise AuthError("X-Slack-Signature does not match")


@router.post("/slack/events")
async def slack_events(request: Request) -> Response:
    bolt: App | None = getattr(request.app.state, "bolt", None)
    if bolt is None:
        return Response(
            '{"error": "Slack is not configured: set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET"}',
            status_code=404,
            media_type="application/json",
        )
    context: AppContext = request.app.state.context
    settings = context.settings
    raw = await read_limited(
        request, settings.slack_max_body_bytes, settings.http_body_timeout_seconds
    )
    # Slack signs with the wall clock, and so does Bolt's own check after this one.
    verify_slack_signature(
        settings.slack_signing_secret or "",
        request.headers.get("x-slack-request-timestamp"),
        request.headers.get("x-slack-signature"),
        raw,
        time.time(),
    )
    try:
        body = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise PayloadError("body is not UTF-8") from None
    try:
        bolt_request = BoltRequest(
            body=body, query=request.url.query, headers=dict(request.headers)
        )
    except (ValueError, TypeError, AttributeError, KeyError, IndexError):
        # Bolt parses form bodies and their JSON ``payload`` field as it builds the request.
        raise PayloadError(
            "body is not a Slack request: expected a form with a JSON 'payload', form fields, "
            "or a JSON event"
        ) from None
    if not isinstance(bolt_request.body, dict):
        raise PayloadError("body is not a Slack request: its JSON must be an object")
    bolt_response = await run_in_threadpool(bolt.dispatch, bolt_request)
    return Response(
        content=bolt_response.body,
        status_code=bolt_response.status,
        headers={
            k: v[0] for k, v in bolt_response.headers.items() if k.lower() != "content-length"
        },
    )
