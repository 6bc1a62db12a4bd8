"""``POST /webhooks/github``: GitHub's own webhook deliveries (DESIGN §3.2).

A delivery is verified with ``X-Hub-Signature-256`` (HMAC-SHA256 of the raw body with
``GITHUB_WEBHOOK_SECRET``, compared in constant time) before anything in it is read. GitHub
sends ``application/json`` or, when the hook is set up so, ``application/x-www-form-urlencoded``
with the JSON in a ``payload`` field; both are read. ``X-GitHub-Event`` says what arrived:

- ``ping`` (sent when the hook is created) → ``200``;
- ``pull_request``, ``pull_request_review``, ``issue_comment`` → the ``github`` adapter, ``202``
  with the usual counts;
- anything else → ``202`` with nothing stored and the reason in ``ignored`` (GitHub then shows
  the delivery as successful, and an organisation hook subscribed to more events does no harm).

``X-GitHub-Delivery`` (unique per delivery, kept on a redelivery) is remembered with the events,
so a delivery arriving twice, at any replica, is stored once; the events' own keys (one per pull
request, review, comment and merge) make a later redelivery change nothing either.
"""

from __future__ import annotations

from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from bot.context import AppContext
from bot.errors import AuthError, PayloadError, UnsupportedMediaError
from bot.http.limits import read_limited
from bot.http.routes import RawRoute
from bot.ingest.adapters import github
from bot.ingest.decoding import is_json, media_type
from bot.ingest.pipeline import ingest_body_async
from bot.ingest.signatures import verify_github_signature

router = APIRouter(route_class=RawRoute)

EVENTS = ("pull_request", "pull_request_review", "issue_comment")
FORM = "application/x-www-form-urlencoded"
MAX_DELIVERY_ID = 200


@router.post("/webhooks/github", status_code=202)
async def github_webhook(request: Request) -> JSONResponse:
    """A GitHub webhook delivery (pull requests, reviews, comments)."""
    context: AppContext = request.app.state.context
    settings = context.settings
    headers = {k.lower(): v for k, v in request.headers.items()}
    secret = settings.github_webhook_secret
    if not secret:
        raise AuthError("GitHub webhooks are disabled: set GITHUB_WEBHOOK_SECRET")
    if not headers.get("x-hub-signature-256"):
        raise AuthError("missing X-Hub-Signature-256 header: set the webhook's secret in GitHub")
    content_type = headers.get("content-type")
    if not (is_json(content_type) or media_type(content_type) == FORM):
        shown = media_type(content_type) or "none"
        raise UnsupportedMediaError(
            f"content type {shown!r} is not supported; set the webhook's content type to "
            "application/json"
        )
    body = await read_limited(
        request, settings.webhook_max_body_bytes, settings.http_body_timeout_seconds
    )
    verify_github_signature(secret, headers.get("x-hub-signature-256"), body)

    event = headers.get("x-github-event", "").strip()
    if not event:
        raise PayloadError("missing X-GitHub-Event header")
    if event == "ping":
        return JSONResponse({"ok": True, "event": "ping"}, status_code=200)
    if event not in EVENTS:
        return JSONResponse(
            {
                "accepted": 0,
                "duplicates": 0,
                "rejected": [],
                "ignored": f"event {event[:64]!r} is not used; subscribe to {', '.join(EVENTS)}",
            },
            status_code=202,
        )
    delivery = headers.get("x-github-delivery", "").strip()
    if not delivery:
        raise PayloadError("missing X-GitHub-Delivery header")
    if len(delivery) > MAX_DELIVERY_ID:
        raise PayloadError(f"X-GitHub-Delivery is longer than {MAX_DELIVERY_ID} characters")
    payload = _json_payload(body) if media_type(content_type) == FORM else body
    outcome = await ingest_body_async(
        context.engine,
        github.SOURCE,
        payload,
        "application/json",
        receipt=(f"github:{delivery}", context.clock()),
    )
    return JSONResponse(outcome.to_json(), status_code=202)


def _json_payload(body: bytes) -> bytes:
    """The JSON of a form-encoded delivery (its ``payload`` field)."""
    try:
        fields = parse_qs(body.decode("utf-8"), strict_parsing=True, max_num_fields=10)
    except (UnicodeDecodeError, ValueError):
        raise PayloadError("form body is not valid: expected payload=<JSON>") from None
    values = fields.get("payload")
    if not values:
        raise PayloadError("form body has no payload field")
    return values[0].encode("utf-8", "surrogatepass")
