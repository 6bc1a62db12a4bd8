"""OpenAI Usage API completions pages → aggregate usage events."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.domain.events import Actor, EventType, NormalizedEvent
from bot.errors import PayloadError
from bot.ingest.adapters import openai_usage
from fakes.reference import VENDOR_EXAMPLES

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "vendors"
JSON = "application/json"
ANA = "user-Ana0x7QnLkT3pV"


def page() -> dict[str, Any]:
    return json.loads((FIXTURES / "openai-usage-completions-by-user.json").read_text())


def body(value: Any) -> bytes:
    return json.dumps(value).encode()


EXPECTED = [
    NormalizedEvent(
        # A partial first bucket (from 09:11) is keyed by its day, so the full day replaces it.
        key=f"completions/2026-11-17T00:00:00Z//{ANA}//gpt-4o-2024-08-06//",
        type=EventType.USAGE,
        occurred_at=datetime(2026, 11, 17, 9, 11, tzinfo=UTC),
        actor=Actor("openai", ANA),
        tool="openai",
        model="gpt-4o-2024-08-06",
        input_tokens=141201,  # OpenAI's input already includes the cached tokens
        cached_tokens=64000,
        output_tokens=9756,
        requests=470,
        replace=True,
    ),
    NormalizedEvent(
        key=f"completions/2026-11-18T00:00:00Z//{ANA}//gpt-4o-mini-2024-07-18//",
        type=EventType.USAGE,
        occurred_at=datetime(2026, 11, 18, tzinfo=UTC),
        actor=Actor("openai", ANA),
        tool="openai",
        model="gpt-4o-mini-2024-07-18",
        input_tokens=5000,
        cached_tokens=2000,  # 1,800 read + 200 written
        output_tokens=1000,
        requests=5,
        replace=True,
    ),
    NormalizedEvent(
        key="completions/2026-11-18T00:00:00Z////ft:gpt-4o-2024-08-06:acme::B1x2Y3z4//",
        type=EventType.USAGE,
        occurred_at=datetime(2026, 11, 18, tzinfo=UTC),
        actor=None,  # not grouped by user: org-level usage
        tool="openai",
        model="ft:gpt-4o-2024-08-06:acme::B1x2Y3z4",
        input_tokens=45949,
        output_tokens=282,
        requests=150,
        replace=True,
    ),
]


def test_each_result_becomes_one_aggregate() -> None:
    result = openai_usage.parse(body(page()), JSON)
    assert result.rejected == []
    assert result.events == EXPECTED


def test_a_bare_list_of_buckets_and_a_single_bucket_are_accepted() -> None:
    buckets = page()["data"]
    assert openai_usage.parse(body(buckets), JSON).events == EXPECTED
    assert openai_usage.parse(body(buckets[1]), JSON).events == EXPECTED[1:]


def test_reparsing_yields_the_same_keys() -> None:
    first = openai_usage.parse(body(page()), JSON).events
    assert [e.key for e in openai_usage.parse(body(page()), JSON).events] == [e.key for e in first]


def test_the_full_day_restates_the_partial_bucket_under_the_same_key() -> None:
    restated = page()
    first = restated["data"][0]
    first["start_time"] = 1794873600  # the same day, now fetched from midnight
    first["results"][0].update(input_tokens=150000, output_tokens=10000, num_model_requests=500)
    event = openai_usage.parse(body(restated), JSON).events[0]
    assert event.key == EXPECTED[0].key
    assert (event.input_tokens, event.output_tokens, event.requests) == (150000, 10000, 500)
    assert event.replace


def test_hour_buckets_keep_their_hour() -> None:
    bucket = {
        "object": "bucket",
        "start_time": 1794993120,  # 09:12, a partial first hour
        "end_time": 1794996000,  # 10:00
        "results": [{"input_tokens": 10, "output_tokens": 2, "num_model_requests": 1}],
    }
    (event,) = openai_usage.parse(body(bucket), JSON).events
    assert event.key.startswith("completions/2026-11-18T09:00:00Z/")


def test_other_usage_objects_do_not_collide_with_completions() -> None:
    bucket = page()["data"][1]
    bucket["results"][0]["object"] = "organization.usage.embeddings.result"
    keys = [e.key for e in openai_usage.parse(body(bucket), JSON).events]
    assert keys[0].startswith("embeddings/") and keys[1].startswith("completions/")


def test_bad_results_are_rejected_and_good_ones_kept() -> None:
    document = page()
    results = document["data"][1]["results"]
    results.append({**results[0], "user_id": "user-neg", "output_tokens": -1})
    results.append({**results[0], "user_id": "user-huge", "input_tokens": 10**15})
    results.append({**results[0], "user_id": "user-batch", "batch": "yes"})
    results.append("nonsense")
    document["data"].append({"object": "bucket", "results": []})  # no start_time

    result = openai_usage.parse(body(document), JSON)
    assert result.events == EXPECTED
    reasons = {r.index: r.error for r in result.rejected}
    assert set(reasons) == {3, 4, 5, 6, 7}
    assert "output_tokens must not be negative" in reasons[3]
    assert "not plausible" in reasons[4]
    assert "batch must be true, false or null" in reasons[5]
    assert "JSON object" in reasons[6]
    assert "data[3] is not a usage bucket" in reasons[7]


def test_the_documented_examples_parse() -> None:
    documented = (VENDOR_EXAMPLES / "openai-usage-completions.json").read_bytes()
    (event,) = openai_usage.parse(documented, JSON).events
    assert (event.input_tokens, event.cached_tokens, event.requests) == (1000, 500, 5)
    cookbook = (
        VENDOR_EXAMPLES / "openai-usage-completions-cookbook-output-excerpt.json"
    ).read_bytes()
    assert len(openai_usage.parse(cookbook, JSON).events) == 3  # the empty bucket adds nothing


def test_a_costs_page_is_refused() -> None:
    with pytest.raises(PayloadError, match="usage result"):
        openai_usage.parse((VENDOR_EXAMPLES / "openai-costs.json").read_bytes(), JSON)


@pytest.mark.parametrize(
    "payload",
    [{"data": {"id": "abc"}}, [{"user_login": "ana"}], {"usageEvents": []}, "page"],
)
def test_another_vendors_shape_is_refused(payload: Any) -> None:
    with pytest.raises(PayloadError, match="OpenAI Usage API page"):
        openai_usage.parse(body(payload), JSON)


def test_a_half_truncated_page_is_refused() -> None:
    raw = body(page())
    with pytest.raises(PayloadError, match="not valid JSON"):
        openai_usage.parse(raw[:-40], JSON)
