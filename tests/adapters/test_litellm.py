"""LiteLLM ``generic_api`` callback bodies → normalised events."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.domain.events import Actor, EventType, NormalizedEvent
from bot.errors import PayloadError
from bot.ingest.adapters import litellm
from fakes.reference import VENDOR_EXAMPLES

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "vendors"
JSON = "application/json"
NDJSON = "application/x-ndjson"


def batch() -> list[dict[str, Any]]:
    return json.loads((FIXTURES / "litellm-generic-api-batch.json").read_text())


def body(value: Any) -> bytes:
    return json.dumps(value).encode()


def test_a_batch_becomes_one_event_per_request() -> None:
    result = litellm.parse(body(batch()), JSON)

    assert result.rejected == []
    assert result.events == [
        NormalizedEvent(
            key="chatcmpl-7f3a9c2e-1b4d-4e8a-9c61-2d5e8f0a1b3c",
            type=EventType.USAGE,
            occurred_at=datetime(2026, 11, 18, 9, 12, 3, 500000, tzinfo=UTC),
            actor=Actor("email", "ana.lima@example.com"),
            tool="litellm",
            model="claude-sonnet-4-5",
            input_tokens=12600,  # LiteLLM's prompt_tokens already include the 12,000 cached
            cached_tokens=12000,
            output_tokens=410,
            cost_nanos=31_200_000,
            requests=1,
        ),
        NormalizedEvent(
            key="chatcmpl-2d9b4e61-5a0c-4f7e-8b13-6c2a9d4e7f10",
            type=EventType.USAGE,
            occurred_at=datetime(2026, 11, 18, 10, 0, 1, 500000, tzinfo=UTC),  # naive → UTC
            actor=Actor("litellm", "u-ben"),
            tool="litellm",
            model="gpt-4o",
            input_tokens=10,
            output_tokens=20,
            cost_nanos=225_000,  # 0.00022500000000000002 USD, read exactly from its repr
            requests=1,
        ),
        NormalizedEvent(
            key="chatcmpl-end-user-1",
            type=EventType.USAGE,
            occurred_at=datetime(2026, 11, 18, 9, 13, 21, tzinfo=UTC),
            actor=Actor("litellm_end_user", "customer-4711"),
            tool="litellm",
            model="gpt-4o-mini",
            input_tokens=200,
            output_tokens=50,
            cost_nanos=100_000,
            requests=1,
        ),
        NormalizedEvent(
            key="chatcmpl-nightly-batch-1",
            type=EventType.USAGE,
            occurred_at=datetime(2026, 11, 18, 9, 15, 0, 500000, tzinfo=UTC),
            actor=None,  # no key user, no end user: org-level usage
            tool="litellm",
            model="text-embedding-3-small",
            input_tokens=1000,
            cost_nanos=20_000,
            requests=1,
        ),
        NormalizedEvent(
            key="chatcmpl-failed-1",
            type=EventType.USAGE,
            occurred_at=datetime(2026, 11, 18, 9, 16, 40, 200000, tzinfo=UTC),
            actor=Actor("email", "ana.lima@example.com"),
            tool="litellm",
            model="gpt-4o",
            requests=1,
            metrics={"failed_requests": 1},
        ),
    ]
    assert not any(event.replace for event in result.events)


def test_the_vendor_example_payload_parses() -> None:
    example = (VENDOR_EXAMPLES / "litellm-standard-logging-payload.json").read_bytes()
    (event,) = litellm.parse(example, JSON).events
    assert event.key == "chatcmpl-2299b6a2-82a3-465a-b47c-04e685a2227f"
    assert event.actor is None
    assert (event.input_tokens, event.output_tokens, event.cost_nanos) == (10, 20, 225_000)


def test_single_object_and_ndjson_are_accepted() -> None:
    records = batch()
    single = litellm.parse(body(records[1]), JSON)
    assert [e.key for e in single.events] == ["chatcmpl-2d9b4e61-5a0c-4f7e-8b13-6c2a9d4e7f10"]

    lines = "\n".join(json.dumps(r) for r in records[:2]) + '\n{"id": "chatcmpl-cut", "prom'
    result = litellm.parse(lines.encode(), NDJSON)
    assert [e.key for e in result.events] == [records[0]["id"], records[1]["id"]]
    assert len(result.rejected) == 1
    assert result.rejected[0].index == 2
    assert "line 3 is not valid JSON" in result.rejected[0].error


def test_reparsing_yields_the_same_keys() -> None:
    first = litellm.parse(body(batch()), JSON)
    again = litellm.parse(body(batch()), JSON)
    assert [e.key for e in again.events] == [e.key for e in first.events]
    assert again.events == first.events


def test_a_payload_without_id_gets_a_key_derived_from_its_content() -> None:
    record = batch()[2]
    del record["id"]
    key = litellm.parse(body([record]), JSON).events[0].key
    assert key.startswith("litellm/sha256:")
    assert litellm.parse(body([record]), JSON).events[0].key == key
    record["prompt_tokens"] = 201
    assert litellm.parse(body([record]), JSON).events[0].key != key


def test_input_includes_cache_tokens_reported_apart() -> None:
    record = batch()[0]
    # Older LiteLLM versions left the cache out of prompt_tokens.
    record["prompt_tokens"] = 600
    event = litellm.parse(body([record]), JSON).events[0]
    assert (event.input_tokens, event.cached_tokens) == (12600, 12000)


def test_bad_records_are_rejected_and_good_ones_kept() -> None:
    records = batch()
    negative = {**records[1], "id": "neg", "completion_tokens": -5}
    billions = {**records[1], "id": "rich", "response_cost": 3_000_000_000.0}
    bad_email = {**records[1], "id": "who", "metadata": {"user_api_key_user_email": "not-an-email"}}
    no_time = {**records[1], "id": "when"}
    del no_time["startTime"], no_time["endTime"]
    stringly = {**records[1], "id": "v1", "prompt_tokens": "10"}
    result = litellm.parse(
        body([records[0], negative, billions, bad_email, no_time, stringly, "text", records[2]]),
        JSON,
    )

    assert [e.key for e in result.events] == [records[0]["id"], records[2]["id"]]
    reasons = {r.index: r.error for r in result.rejected}
    assert set(reasons) == {1, 2, 3, 4, 5, 6}
    assert "completion_tokens must not be negative" in reasons[1]
    assert "not plausible" in reasons[2]
    assert "not an email address" in reasons[3]
    assert "endTime" in reasons[4]
    assert "prompt_tokens" in reasons[5]
    assert "StandardLoggingPayload" in reasons[6]


def test_prompt_and_completion_text_are_never_copied() -> None:
    result = litellm.parse(body(batch()), JSON)
    dumped = repr(result.events)
    for secret in ("churn dashboard", "Churn rose", "Hello, world", "hi'", "redacted-by-litellm"):
        assert secret not in dumped


def test_a_half_truncated_json_body_is_refused() -> None:
    raw = body(batch())
    with pytest.raises(PayloadError, match="not valid JSON"):
        litellm.parse(raw[: len(raw) // 2], JSON)


@pytest.mark.parametrize(
    "payload",
    [
        {"object": "page", "data": [], "has_more": False},
        [{"day": "2026-11-18", "user_login": "ana"}],
    ],
)
def test_another_vendors_shape_is_refused(payload: Any) -> None:
    with pytest.raises(PayloadError, match="StandardLoggingPayload"):
        litellm.parse(body(payload), JSON)


def test_a_spend_logs_row_is_named_as_such() -> None:
    row = (VENDOR_EXAMPLES / "litellm-spend-logs-row.json").read_bytes()
    with pytest.raises(PayloadError, match="SpendLogs"):
        litellm.parse(row, JSON)
