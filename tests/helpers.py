"""Small builders shared by tests."""

from __future__ import annotations

import json
import time
from typing import Any

from bot.ingest.signatures import sign


def usage_event(
    event_id: str,
    email: str,
    occurred_at: str,
    *,
    input_tokens: int = 100,
    output_tokens: int = 10,
    cached_tokens: int = 0,
    cost_usd: str = "0.01",
    tool: str = "chatgpt",
    model: str = "gpt-4.1",
    requests: int = 1,
) -> dict[str, Any]:
    return {
        "id": event_id,
        "type": "ai.usage",
        "occurred_at": occurred_at,
        "actor": {"email": email},
        "tool": tool,
        "model": model,
        "usage": {
            "input_tokens": input_tokens,
            "output_tokens": output_tokens,
            "cached_tokens": cached_tokens,
            "cost_usd": cost_usd,
            "requests": requests,
        },
    }


def artifact_event(
    event_id: str,
    type_: str,
    email: str,
    occurred_at: str,
    artifact_id: str,
    kind: str | None = None,
) -> dict[str, Any]:
    artifact: dict[str, Any] = {"id": artifact_id}
    if kind:
        artifact["kind"] = kind
        artifact["title"] = f"{kind} {artifact_id}"
    return {
        "id": event_id,
        "type": type_,
        "occurred_at": occurred_at,
        "actor": {"email": email},
        "artifact": artifact,
    }


def signed_headers(
    secret: str, body: bytes, *, msg_id: str = "msg_1", timestamp: int | None = None
) -> dict[str, str]:
    ts = int(time.time()) if timestamp is None else timestamp
    return {
        "content-type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": str(ts),
        "webhook-signature": sign(secret, msg_id, ts, body),
    }


def dumps(value: Any) -> bytes:
    return json.dumps(value).encode()
