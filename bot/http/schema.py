"""The generic event format (DESIGN §3.4) as a JSON Schema, served at ``GET /schemas/usage-event.json``
and used by ``/openapi.json`` to describe the body of ``POST /webhooks/usage``.

The schema describes what ``bot.ingest.adapters.generic`` accepts; the tests hold the two together
(every event the schema accepts is stored, every one it refuses is rejected). Limits that only a
parser can check (a calendar date that does not exist, an implausible cost) are left to it.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.responses import JSONResponse

from bot.domain.events import ARTIFACT_KINDS, EventType
from bot.ingest.adapters.generic import MAX_ID_LENGTH, MAX_TAG_LENGTH, MAX_TAGS

SCHEMA_PATH = "/schemas/usage-event.json"
SCHEMA_MEDIA_TYPE = "application/schema+json"

_NON_BLANK = r"\S"
_RFC3339 = r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([Zz]|[+-]\d{2}:?\d{2})\s*$"
_DOLLARS = r"^\s*[0-9]+(\.[0-9]+)?\s*$"
_COUNT = {"type": "integer", "minimum": 0}

EVENT: dict[str, Any] = {
    "type": "object",
    "required": ["id", "type", "occurred_at", "actor"],
    "properties": {
        "id": {
            "type": "string",
            "minLength": 1,
            "maxLength": MAX_ID_LENGTH,
            "pattern": _NON_BLANK,
            "description": "Idempotency key, unique per sender: a re-sent id is a duplicate.",
        },
        "type": {"enum": [t.value for t in EventType]},
        "occurred_at": {
            "type": "string",
            "pattern": _RFC3339,
            "description": "RFC 3339 with an offset (Z or +hh:mm); a time without one is refused.",
            "examples": ["2026-11-18T09:12:00Z"],
        },
        "actor": {"$ref": "#/$defs/actor"},
        "tool": {
            "type": "string",
            "description": "e.g. chatgpt, claude-code, cursor. On artifact.created, the AI tool "
            "that made the artifact: it marks the artifact AI-assisted unless ai_assisted is false.",
        },
        "ai_assisted": {
            "type": "boolean",
            "description": "On artifact.created: true marks the artifact AI-assisted (with or "
            "without a tool), false says it is not; absent, a tool marks it, else the admins' "
            "rules decide.",
        },
        "model": {"type": "string"},
        "usage": {"$ref": "#/$defs/usage"},
        "artifact": {"$ref": "#/$defs/artifact"},
    },
    "allOf": [
        {
            "if": {"properties": {"type": {"const": EventType.USAGE.value}}},
            "then": {"required": ["usage"]},
            "else": {"required": ["artifact"]},
        }
    ],
    "additionalProperties": True,
    "description": "One event. Extra fields are ignored; prompt or completion text is dropped.",
}

DEFS: dict[str, Any] = {
    "event": EVENT,
    "actor": {
        "type": "object",
        "description": 'Who: "email", else "slack_user_id", else "external_id" with "source".',
        "properties": {
            "email": {"type": "string", "maxLength": 320, "pattern": r"^\s*[^@\s]+@\S+\s*$"},
            "slack_user_id": {"type": "string", "pattern": _NON_BLANK},
            "external_id": {
                "anyOf": [{"type": "string", "pattern": _NON_BLANK}, {"type": "integer"}]
            },
            "source": {"type": "string", "pattern": _NON_BLANK},
        },
        "anyOf": [
            {"required": ["email"]},
            {"required": ["slack_user_id"], "not": {"required": ["email"]}},
            {
                "required": ["external_id", "source"],
                "not": {"anyOf": [{"required": ["email"]}, {"required": ["slack_user_id"]}]},
            },
        ],
    },
    "usage": {
        "type": "object",
        "description": "Input tokens include cached ones (cached_tokens ≤ input_tokens).",
        "properties": {
            "input_tokens": _COUNT,
            "cached_tokens": _COUNT,
            "output_tokens": _COUNT,
            "requests": {**_COUNT, "default": 1},
            "cost_usd": {
                "anyOf": [
                    {"type": "string", "pattern": _DOLLARS},
                    {"type": "number", "minimum": 0},
                ],
                "description": "US dollars; a decimal string keeps the amount exact.",
                "examples": ["0.0123"],
            },
        },
    },
    "artifact": {
        "type": "object",
        "required": ["id"],
        "properties": {
            "id": {
                "anyOf": [
                    {"type": "string", "pattern": _NON_BLANK, "maxLength": MAX_ID_LENGTH},
                    {"type": "integer"},
                ]
            },
            "kind": {
                "type": "string",
                "pattern": _NON_BLANK,
                "description": "One of "
                + ", ".join(sorted(ARTIFACT_KINDS))
                + "; another label is kept as other.",
                "examples": sorted(ARTIFACT_KINDS),
            },
            "title": {"type": "string"},
            "ai_assisted": {
                "type": "boolean",
                "description": "Same as the event's ai_assisted (they must not disagree).",
            },
            "tags": {
                "type": "array",
                "maxItems": MAX_TAGS,
                "items": {"type": "string", "maxLength": MAX_TAG_LENGTH},
                "description": "Short tags; the admins' tag rules read them (e.g. ai-generated).",
            },
        },
    },
}

USAGE_EVENT_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": SCHEMA_PATH,
    "title": "ai-roi generic usage events (POST /webhooks/usage)",
    "description": 'A body of {"events": [...]}, a JSON array of events, or one event; '
    "with Content-Type application/x-ndjson, each line is one event.",
    "oneOf": [
        {
            "type": "object",
            "required": ["events"],
            "properties": {"events": {"type": "array", "items": {"$ref": "#/$defs/event"}}},
        },
        {"type": "array", "items": {"$ref": "#/$defs/event"}},
        {"$ref": "#/$defs/event", "not": {"required": ["events"]}},
    ],
    "$defs": DEFS,
}

router = APIRouter()


@router.get(SCHEMA_PATH, include_in_schema=False)
async def usage_event_schema() -> JSONResponse:
    """The JSON Schema of the generic event format."""
    return JSONResponse(USAGE_EVENT_SCHEMA, media_type=SCHEMA_MEDIA_TYPE)


def openapi_components() -> dict[str, Any]:
    """The schema's parts under OpenAPI names (``#/components/schemas/UsageEvent…``)."""
    names = {key: f"UsageEvent{key.capitalize()}" for key in DEFS}

    def rewrite(node: Any) -> Any:
        if isinstance(node, dict):
            return {
                k: (
                    f"#/components/schemas/{names[v.removeprefix('#/$defs/')]}"
                    if k == "$ref" and isinstance(v, str) and v.startswith("#/$defs/")
                    else rewrite(v)
                )
                for k, v in node.items()
            }
        if isinstance(node, list):
            return [rewrite(item) for item in node]
        return node

    components = {names[key]: rewrite(value) for key, value in DEFS.items()}
    body = {k: v for k, v in USAGE_EVENT_SCHEMA.items() if k in ("title", "description", "oneOf")}
    components["UsageEventBody"] = rewrite(body)
    return components


def install(app: FastAPI) -> None:
    """Serve the schema, and describe ``POST /webhooks/usage`` with it in ``/openapi.json``."""
    app.include_router(router)
    base_openapi = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        document = base_openapi()
        document.setdefault("components", {}).setdefault("schemas", {}).update(openapi_components())
        body = {"$ref": "#/components/schemas/UsageEventBody"}
        event = {"$ref": "#/components/schemas/UsageEventEvent"}
        operation = (
            document["paths"].setdefault("/webhooks/usage", {}).setdefault("post", _USAGE_POST)
        )
        operation["requestBody"] = {
            "required": True,
            "content": {
                "application/json": {"schema": body},
                "application/x-ndjson": {"schema": event},
            },
        }
        app.openapi_schema = document
        return document

    app.openapi = openapi  # type: ignore[method-assign]


_USAGE_POST: dict[str, Any] = {
    "summary": "Post usage and artifact events in the generic format",
    "operationId": "post_usage_events",
    "description": "Authenticated with Standard Webhooks signatures or a bearer token from "
    f"WEBHOOK_TOKENS. The JSON Schema is also served at {SCHEMA_PATH}.",
    "responses": {
        "202": {"description": '{"accepted": n, "duplicates": d, "rejected": [...]}'},
        "400": {"description": "not JSON, or not one of the accepted shapes"},
        "401": {"description": "no or wrong credentials"},
        "413": {"description": "body over WEBHOOK_MAX_BODY_BYTES"},
        "415": {"description": "content type other than JSON or NDJSON"},
    },
}
