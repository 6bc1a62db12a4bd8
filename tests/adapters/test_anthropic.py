"""Anthropic Admin API messages usage report → aggregate usage events."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.domain.events import Actor, EventType, NormalizedEvent
from bot.errors import PayloadError
from bot.ingest.adapters import anthropic

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "vendors"
JSON = "application/json"
WORKSPACE = "wrkspc_01JwQvzr7rXLA5AGx3HKfFUJ"


def report() -> dict[str, Any]:
    return json.loads((FIXTURES / "anthropic-messages-usage-report.json").read_text())


def body(value: Any) -> bytes:
    return json.dumps(value).encode()


EXPECTED = [
    NormalizedEvent(
        key=(
            "messages/2026-11-17T00:00:00Z/user_01WCz1FkmYMm4gnmykNKUu3Q//"
            f"apikey_01Rj2N8SVvo6BePZj99NhmiT/{WORKSPACE}/claude-sonnet-4-5-20250929/standard/"
            "0-200k/global/"
        ),
        type=EventType.USAGE,
        occurred_at=datetime(2026, 11, 17, tzinfo=UTC),
        actor=Actor("anthropic", "user_01WCz1FkmYMm4gnmykNKUu3Q"),  # the account, not the key
        tool="anthropic",
        model="claude-sonnet-4-5-20250929",
        input_tokens=3200,  # 1,500 uncached + 1,500 written + 200 read
        cached_tokens=1700,
        output_tokens=500,
        replace=True,
        metrics={"web_search_requests": 10},
    ),
    NormalizedEvent(
        key=(
            f"messages/2026-11-17T00:00:00Z///apikey_01Ng7SyZVe5mnP6WbWvGzLaF/{WORKSPACE}/"
            "claude-haiku-4-5-20251001/batch/0-200k/global/"
        ),
        type=EventType.USAGE,
        occurred_at=datetime(2026, 11, 17, tzinfo=UTC),
        actor=Actor("anthropic_api_key", "apikey_01Ng7SyZVe5mnP6WbWvGzLaF"),
        tool="anthropic",
        model="claude-haiku-4-5-20251001",
        input_tokens=90000,
        output_tokens=12000,
        replace=True,
        metrics={"web_search_requests": 0},
    ),
    NormalizedEvent(
        key="messages/2026-11-18T00:00:00Z/////////",
        type=EventType.USAGE,
        occurred_at=datetime(2026, 11, 18, tzinfo=UTC),
        actor=None,  # not grouped: org-level usage
        tool="anthropic",
        input_tokens=34200,
        cached_tokens=30000,
        output_tokens=2100,
        replace=True,
        metrics={"web_search_requests": 0},
    ),
]


def test_each_result_becomes_one_aggregate_with_cache_added_to_input() -> None:
    result = anthropic.parse(body(report()), JSON)
    assert result.rejected == []
    assert result.events == EXPECTED


def test_a_list_of_buckets_and_one_bucket_are_accepted() -> None:
    buckets = report()["data"]
    assert anthropic.parse(body(buckets), JSON).events == EXPECTED
    assert anthropic.parse(body(buckets[1]), JSON).events == EXPECTED[2:]


def test_reparsing_yields_the_same_keys() -> None:
    first = [e.key for e in anthropic.parse(body(report()), JSON).events]
    assert [e.key for e in anthropic.parse(body(report()), JSON).events] == first


def test_the_rest_of_a_day_restates_the_partial_bucket() -> None:
    later = report()
    today = later["data"][1]
    today["ending_at"] = "2026-11-19T00:00:00Z"
    today["results"][0].update(uncached_input_tokens=9000, output_tokens=5000)
    event = anthropic.parse(body(later), JSON).events[2]
    assert event.key == EXPECTED[2].key
    assert (event.input_tokens, event.output_tokens) == (39000, 5000)


def test_bucket_times_with_offsets_are_utc() -> None:
    bucket = report()["data"][1]
    bucket["starting_at"] = "2026-11-18T01:00:00+01:00"
    (event,) = anthropic.parse(body(bucket), JSON).events
    assert event.occurred_at == datetime(2026, 11, 18, tzinfo=UTC)
    assert event.key == EXPECTED[2].key


def test_bad_results_are_rejected_and_good_ones_kept() -> None:
    document = report()
    results = document["data"][0]["results"]
    results.append({**results[0], "account_id": "user_neg", "cache_read_input_tokens": -10})
    results.append({**results[0], "account_id": "user_cc", "cache_creation": [1, 2]})
    results.append({**results[0], "account_id": "user_tools", "server_tool_use": {"x": 1.5}})
    document["data"].append({**document["data"][1], "starting_at": "2026-11-19T00:00:00"})

    result = anthropic.parse(body(document), JSON)
    assert result.events == EXPECTED
    reasons = {r.index: r.error for r in result.rejected}
    assert set(reasons) == {2, 3, 4, 6}
    assert "cache_read_input_tokens must not be negative" in reasons[2]
    assert "cache_creation must be a JSON object" in reasons[3]
    assert "server_tool_use.x must be a whole number" in reasons[4]
    assert "no UTC offset" in reasons[6]


@pytest.mark.parametrize(
    "payload",
    [
        {"object": "page", "data": [{"start_time": 1, "results": []}]},
        {"usageEvents": []},
        [{"date": "2026-11-18", "actor": {"type": "user_actor"}}],
    ],
)
def test_another_vendors_shape_is_refused(payload: Any) -> None:
    with pytest.raises(PayloadError, match="Anthropic"):
        anthropic.parse(body(payload), JSON)


def test_a_cost_report_is_refused() -> None:
    cost = {
        "data": [
            {
                "starting_at": "2026-11-17T00:00:00Z",
                "ending_at": "2026-11-18T00:00:00Z",
                "results": [{"amount": "123.45", "currency": "USD", "cost_type": "tokens"}],
            }
        ],
        "has_more": False,
        "next_page": None,
    }
    with pytest.raises(PayloadError, match="cost reports are not usage"):
        anthropic.parse(body(cost), JSON)


def test_a_half_truncated_report_is_refused() -> None:
    raw = body(report())
    with pytest.raises(PayloadError, match="not valid JSON"):
        anthropic.parse(raw[:100], JSON)
