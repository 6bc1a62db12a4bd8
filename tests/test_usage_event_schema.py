"""The JSON Schema of the generic event format is served by the app, describes the body of
``POST /webhooks/usage`` in ``/openapi.json``, and agrees with the parser: every event it
accepts is stored, every event it refuses is rejected with a reason."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from bot.demo.synthetic import generate
from bot.demo.vendor_formats import via_gateway
from bot.domain.weeks import Week
from bot.http.schema import USAGE_EVENT_SCHEMA
from bot.ingest.adapters import generic
from tests.conftest import WEBHOOK_TOKEN, LiveServer
from tests.helpers import artifact_event, usage_event

FIXTURES = Path(__file__).parent / "fixtures" / "usage-events"
VALID: list[dict[str, Any]] = json.loads((FIXTURES / "valid.json").read_text())
INVALID: list[dict[str, Any]] = json.loads((FIXTURES / "invalid.json").read_text())
VALIDATOR = jsonschema.Draft202012Validator(USAGE_EVENT_SCHEMA)


def helper_events() -> list[dict[str, Any]]:
    return [
        usage_event("h1", "ana@example.com", "2026-11-18T09:00:00Z"),
        artifact_event(
            "h2", "artifact.created", "ana@example.com", "2026-11-18T09:00:00Z", "d1", "report"
        ),
        artifact_event("h3", "artifact.viewed", "ben@example.com", "2026-11-18T10:00:00Z", "d1"),
    ]


def test_the_schema_is_a_valid_json_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(USAGE_EVENT_SCHEMA)


@pytest.mark.parametrize("event", VALID + helper_events(), ids=lambda e: str(e.get("id")))
def test_valid_events_validate_and_are_accepted(event: dict[str, Any]) -> None:
    assert list(VALIDATOR.iter_errors(event)) == []
    result = generic.parse(json.dumps(event).encode(), "application/json")
    assert [r.error for r in result.rejected] == [] and len(result.events) == 1


@pytest.mark.parametrize("case", INVALID, ids=lambda c: str(c["why"]))
def test_invalid_events_fail_the_schema_and_are_rejected(case: dict[str, Any]) -> None:
    body = {"events": [case["event"]]}
    assert not VALIDATOR.is_valid(body), case["why"]
    result = generic.parse(json.dumps(body).encode(), "application/json")
    assert result.events == [] and len(result.rejected) == 1, case["why"]


def test_every_envelope_the_webhook_accepts_validates() -> None:
    assert VALIDATOR.is_valid({"events": VALID})
    assert VALIDATOR.is_valid(VALID)
    assert VALIDATOR.is_valid(VALID[0])
    assert not VALIDATOR.is_valid({"events": VALID[0]})  # "events" must be an array
    assert not VALIDATOR.is_valid("events")


def test_the_demos_generic_events_all_validate() -> None:
    """A few thousand events from the synthetic organisation: the schema fits real traffic."""
    events = [e for e in generate(42, Week(2026, 47)).events if not via_gateway(e)]
    assert len(events) > 1000
    assert [e.message for e in VALIDATOR.iter_errors({"events": events})][:3] == []


def test_the_app_serves_the_schema_and_uses_it_in_openapi(live: LiveServer) -> None:
    served = live.client.get("/schemas/usage-event.json")
    assert served.status_code == 200
    assert served.headers["content-type"].startswith("application/schema+json")
    assert served.json() == USAGE_EVENT_SCHEMA

    openapi = live.client.get("/openapi.json").json()
    body = openapi["paths"]["/webhooks/usage"]["post"]["requestBody"]["content"]
    assert body["application/json"]["schema"] == {"$ref": "#/components/schemas/UsageEventBody"}
    (source,) = openapi["paths"]["/webhooks/{source}"]["post"]["parameters"]
    assert (source["name"], source["in"], source["required"]) == ("source", "path", True)
    components = openapi["components"]["schemas"]
    assert components["UsageEventEvent"]["required"] == ["id", "type", "occurred_at", "actor"]
    # The OpenAPI copy is the same schema: resolve its references and validate with it.
    resolved = json.loads(
        json.dumps(components["UsageEventBody"]).replace("#/components/schemas/", "#/$defs/")
    )
    resolved["$defs"] = json.loads(
        json.dumps(components).replace("#/components/schemas/", "#/$defs/")
    )
    validator = jsonschema.Draft202012Validator(resolved)
    assert validator.is_valid({"events": VALID})
    assert not validator.is_valid({"events": [INVALID[0]["event"]]})

    posted = live.client.post(
        "/webhooks/usage",
        json={"events": VALID},
        headers={"authorization": f"Bearer {WEBHOOK_TOKEN}"},
    )
    assert posted.status_code == 202 and posted.json()["accepted"] == len(VALID)
