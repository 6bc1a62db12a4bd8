"""Cursor Admin API daily usage data and filtered usage events → normalised events."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.domain.events import Actor, EventType, NormalizedEvent
from bot.errors import PayloadError
from bot.ingest.adapters import cursor

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "vendors"
JSON = "application/json"
ANA = Actor("email", "ana.lima@example.com")
BEN = Actor("email", "ben@example.com")


def daily() -> dict[str, Any]:
    return json.loads((FIXTURES / "cursor-daily-usage-data.json").read_text())


def usage_events() -> dict[str, Any]:
    return json.loads((FIXTURES / "cursor-filtered-usage-events.json").read_text())


def body(value: Any) -> bytes:
    return json.dumps(value).encode()


DAILY = [
    NormalizedEvent(
        key="daily/2026-11-17/ana.lima@example.com",
        type=EventType.USAGE,
        occurred_at=datetime(2026, 11, 17, tzinfo=UTC),  # epoch milliseconds
        actor=ANA,
        tool="cursor",
        model="gpt-5",
        requests=185,  # 45 composer + 128 chat + 12 agent
        replace=True,
        metrics={
            "lines_added": 1543,
            "lines_deleted": 892,
            "accepted_lines_added": 1102,
            "accepted_lines_deleted": 645,
            "applies": 87,
            "accepts": 73,
            "rejects": 14,
            "tabs_shown": 342,
            "tabs_accepted": 289,
            "composer_requests": 45,
            "chat_requests": 128,
            "agent_requests": 12,
            "cmdk_usages": 67,
            "subscription_included_requests": 180,
            "usage_based_requests": 5,
            "bugbot_usages": 3,
            "active_days": 1,
        },
    ),
    NormalizedEvent(
        key="daily/2026-11-18/ben@example.com",
        type=EventType.USAGE,
        occurred_at=datetime(2026, 11, 18, tzinfo=UTC),
        actor=BEN,
        tool="cursor",
        replace=True,
    ),
]


def test_daily_usage_rows_become_per_person_day_aggregates() -> None:
    result = cursor.parse(body(daily()), JSON)
    assert result.rejected == []
    assert result.events == DAILY


def test_usage_events_become_one_event_per_request() -> None:
    result = cursor.parse(body(usage_events()), JSON)
    assert result.rejected == []
    first, second, third = result.events
    assert first == NormalizedEvent(
        key=first.key,
        type=EventType.USAGE,
        occurred_at=datetime(2026, 11, 18, 9, 12, 3, 500000, tzinfo=UTC),  # ms as a string
        actor=ANA,
        tool="cursor",
        model="claude-4-opus",
        input_tokens=18202,  # 126 + 6,112 written + 11,964 read
        cached_tokens=18076,
        output_tokens=450,
        cost_nanos=201_823_200,  # 20.18232 cents
        requests=1,
        metrics={"max_mode_requests": 1},
    )
    assert second.cost_nanos == 401_670_000  # 40.16699999999999 cents, no float drift
    assert (second.input_tokens, second.cached_tokens) == (17769, 11964)
    assert third == NormalizedEvent(
        key=third.key,
        type=EventType.USAGE,
        occurred_at=datetime(2026, 11, 18, 10, tzinfo=UTC),
        actor=BEN,
        tool="cursor",
        model="claude-4-sonnet-thinking",
        requests=1,  # not billed by tokens: no tokenUsage, no cost
    )
    assert all(not e.replace for e in result.events)
    assert len({e.key for e in result.events}) == 3
    assert first.key.startswith("event/2026-11-18T09:12:03.500000+00:00/sha256:")


def test_reparsing_yields_the_same_keys() -> None:
    for document in (daily(), usage_events()):
        first = [e.key for e in cursor.parse(body(document), JSON).events]
        assert [e.key for e in cursor.parse(body(document), JSON).events] == first


def test_an_event_key_does_not_depend_on_how_the_timestamp_or_email_is_written() -> None:
    document = usage_events()
    key = cursor.parse(body(document), JSON).events[0].key
    event = document["usageEvents"][0]
    event["timestamp"] = int(event["timestamp"])
    event["userEmail"] = "ana.lima@EXAMPLE.com"
    assert cursor.parse(body(document), JSON).events[0].key == key


def test_a_restated_day_keeps_its_key_with_new_numbers() -> None:
    document = daily()
    document["data"][0].update(chatRequests=130, totalTabsAccepted=300)
    event = cursor.parse(body(document), JSON).events[0]
    assert event.key == DAILY[0].key
    assert (event.requests, event.metrics["tabs_accepted"]) == (187, 300)


def test_bad_rows_and_events_are_rejected_and_good_ones_kept() -> None:
    document = daily()
    good = document["data"][0]
    document["data"] += [
        {**good, "email": None},
        {**good, "email": "ana"},
        {**good, "date": "next tuesday"},
        {**good, "chatRequests": -4},
    ]
    result = cursor.parse(body(document), JSON)
    assert result.events == DAILY
    reasons = {r.index: r.error for r in result.rejected}
    assert "email is missing" in reasons[2]
    assert "not an email address" in reasons[3]
    assert "date 'next tuesday' is not a timestamp" in reasons[4]
    assert "chatRequests must not be negative" in reasons[5]

    document = usage_events()
    event = document["usageEvents"][0]
    document["usageEvents"] += [
        {**event, "userEmail": ""},
        {**event, "tokenUsage": {**event["tokenUsage"], "totalCents": 3e11}},
        {**event, "tokenUsage": {**event["tokenUsage"], "outputTokens": -1}},
        {**event, "tokenUsage": {**event["tokenUsage"], "totalCents": -2}},
    ]
    result = cursor.parse(body(document), JSON)
    assert len(result.events) == 3
    reasons = {r.index: r.error for r in result.rejected}
    assert set(reasons) == {3, 4, 5, 6}
    assert "userEmail is missing" in reasons[3]
    assert "not plausible" in reasons[4]
    assert "tokenUsage.outputTokens must not be negative" in reasons[5]
    assert "tokenUsage.totalCents must not be negative" in reasons[6]


def test_bare_lists_are_told_apart_by_their_records() -> None:
    assert cursor.parse(body(daily()["data"]), JSON).events == DAILY
    assert len(cursor.parse(body(usage_events()["usageEvents"]), JSON).events) == 3


@pytest.mark.parametrize(
    "payload",
    [
        {"teamMemberSpend": [{"email": "a@example.com", "spendCents": 2450}]},
        {"object": "page", "data": [{"start_time": 1, "results": []}]},
        [{"day": "2026-11-18", "user_login": "ana"}],
        {"usageEvents": {"timestamp": "1"}},
    ],
)
def test_another_shape_is_refused(payload: Any) -> None:
    with pytest.raises(PayloadError, match=r"Cursor|usageEvents"):
        cursor.parse(body(payload), JSON)


def test_a_half_truncated_export_is_refused() -> None:
    raw = body(usage_events())
    with pytest.raises(PayloadError, match="not valid JSON"):
        cursor.parse(raw[: len(raw) - 17], JSON)
