"""``POST /slack/events``: Slack's signed requests handed to the Bolt app."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from slack_bolt import App, BoltRequest
from starlette.concurrency import run_in_threadpool

router = APIRouter()


@router.post("/slack/events")
async def slack_events(request: Request) -> Response:
    bolt: App | None = getattr(request.app.state, "bolt", None)
    if bolt is None:
        return Response(
            '{"error": "Slack is not configured: set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET"}',
            status_code=404,
            media_type="application/json",
        )
    body = (await request.body()).decode("utf-8", errors="replace")
    bolt_request = BoltRequest(body=body, query=request.url.query, headers=dict(request.headers))
    bolt_response = await run_in_threadpool(bolt.dispatch, bolt_request)
    return Response(
        content=bolt_response.body,
        status_code=bolt_response.status,
        headers={
            k: v[0] for k, v in bolt_response.headers.items() if k.lower() != "content-length"
        },
    )
