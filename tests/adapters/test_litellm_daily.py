"""LiteLLM ``/user/daily/activity`` pages (with the user beside them) → day aggregates, read
under the ``litellm`` source beside the webhook's payloads."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.domain.events import Actor, EventType, NormalizedEvent
from bot.errors import PayloadError
from bot.ingest.adapters import ADAPTERS, RECORD_READERS, litellm, litellm_daily

JSON = "application/json"
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "vendors"

PAGE: dict[str, Any] = json.loads((FIXTURES / "litellm-user-daily-activity.json").read_text())


def body(value: Any) -> bytes:
    return json.dumps(value).encode()


def test_each_model_of_each_day_is_one_replaceable_aggregate() -> None:
    result = litellm_daily.parse(body(PAGE), JSON)

    assert result.rejected == []
    midnight = datetime(2026, 11, 17, tzinfo=UTC)
    ana = Actor("email", "ana.lima@example.com")
    assert result.events == [
        NormalizedEvent(
            key="litellm-daily/2026-11-17/u-ana/claude-sonnet-4-5",
            type=EventType.USAGE,
            occurred_at=midnight,
            actor=ana,
            tool="litellm",
            model="claude-sonnet-4-5",
            input_tokens=12000,
            cached_tokens=5000,
            output_tokens=500,
            cost_nanos=50_000_000,
            requests=5,
            replace=True,
        ),
        NormalizedEvent(
            key="litellm-daily/2026-11-17/u-ana/gpt-4o",
            type=EventType.USAGE,
            occurred_at=midnight,
            actor=ana,
            tool="litellm",
            model="gpt-4o",
            input_tokens=1000,
            output_tokens=200,
            cost_nanos=4_000_000,
            requests=2,
            replace=True,
            metrics={"failed_requests": 1},
        ),
    ]


def test_without_an_email_the_user_id_names_the_person() -> None:
    page = {**PAGE, "user_email": None}
    events = litellm_daily.parse(body(page), JSON).events
    assert {event.actor for event in events} == {Actor("litellm", "u-ana")}


def test_a_day_without_a_model_breakdown_is_one_aggregate() -> None:
    page = {
        "user_id": "u-ben",
        "results": [{"date": "2026-11-18", "metrics": {"spend": "0.000225", "api_requests": 1}}],
    }
    (event,) = litellm_daily.parse(body(page), JSON).events
    assert (event.key, event.model, event.requests, event.cost_nanos) == (
        "litellm-daily/2026-11-18/u-ben/",
        None,
        1,
        225_000,
    )


def test_a_bad_day_is_rejected_with_its_reason_and_the_others_kept() -> None:
    page = {**PAGE, "results": [{"date": "18/11/2026"}, PAGE["results"][0]]}
    result = litellm_daily.parse(body(page), JSON)
    assert len(result.events) == 2
    assert [r.index for r in result.rejected] == [0]
    assert "YYYY-MM-DD" in result.rejected[0].error


@pytest.mark.parametrize(
    "document",
    [
        {"results": PAGE["results"]},  # whose days?
        {"user_id": "u-ana", "data": []},  # another shape
        [PAGE],
    ],
)
def test_a_page_that_names_no_user_or_has_no_results_is_refused(document: Any) -> None:
    with pytest.raises(PayloadError):
        litellm_daily.parse(body(document), JSON)


def test_the_litellm_source_reads_a_page_and_the_webhook_payloads_alike() -> None:
    assert ADAPTERS["litellm"] is litellm_daily.parse_either
    assert RECORD_READERS["litellm"] is litellm_daily.records_either
    page = litellm_daily.parse_either(body(PAGE), JSON)
    assert [e.key for e in page.events] == [
        e.key for e in litellm_daily.parse(body(PAGE), JSON).events
    ]
    batch = (FIXTURES / "litellm-generic-api-batch.json").read_bytes()
    assert litellm_daily.parse_either(batch, JSON) == litellm.parse(batch, JSON)
    single = json.dumps(json.loads(batch)[0]).encode()
    assert litellm_daily.parse_either(single, JSON) == litellm.parse(single, JSON)


@pytest.mark.parametrize(
    "who",
    [{"user_id": ["u-ana"]}, {"user_id": "u-ana", "user_email": "not-an-address"}],
)
def test_a_page_about_a_malformed_user_is_refused_with_the_field(who: dict[str, Any]) -> None:
    page = {"results": PAGE["results"], **who}
    with pytest.raises(PayloadError, match="user_"):
        litellm_daily.parse(body(page), JSON)
