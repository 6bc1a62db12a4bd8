"""Claude Code analytics report → per-model and per-day aggregates."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.domain.events import Actor, EventType, NormalizedEvent
from bot.errors import PayloadError
from bot.ingest.adapters import claude_code

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "vendors"
JSON = "application/json"
DAY = datetime(2026, 11, 18, tzinfo=UTC)
ANA = Actor("email", "ana.lima@example.com")
CI = Actor("anthropic_api_key", "ci-code-review")


def report() -> dict[str, Any]:
    return json.loads((FIXTURES / "claude-code-analytics-report.json").read_text())


def body(value: Any) -> bytes:
    return json.dumps(value).encode()


EXPECTED = [
    NormalizedEvent(
        key="day/2026-11-18/email/ana.lima@example.com/vscode",
        type=EventType.USAGE,
        occurred_at=DAY,
        actor=ANA,
        tool="claude-code",
        replace=True,
        metrics={
            "sessions": 5,
            "lines_added": 1543,
            "lines_removed": 892,
            "commits": 12,
            "pull_requests": 2,
            "edit_accepted": 45,
            "edit_rejected": 5,
            "multi_edit_accepted": 12,
            "multi_edit_rejected": 2,
            "write_accepted": 8,
            "write_rejected": 1,
            "notebook_edit_accepted": 3,
        },
    ),
    NormalizedEvent(
        key="model/2026-11-18/email/ana.lima@example.com/vscode/claude-sonnet-4-5-20250929",
        type=EventType.USAGE,
        occurred_at=DAY,
        actor=ANA,
        tool="claude-code",
        model="claude-sonnet-4-5-20250929",
        input_tokens=115000,  # 100,000 input + 10,000 read + 5,000 written
        cached_tokens=15000,
        output_tokens=35000,
        cost_nanos=10_250_000_000,  # 1025 cents = $10.25
        replace=True,
    ),
    NormalizedEvent(
        key="model/2026-11-18/email/ana.lima@example.com/vscode/claude-haiku-4-5-20251001",
        type=EventType.USAGE,
        occurred_at=DAY,
        actor=ANA,
        tool="claude-code",
        model="claude-haiku-4-5-20251001",
        input_tokens=2000,
        output_tokens=800,
        cost_nanos=6_000_000,  # 0.6 cents
        replace=True,
    ),
    NormalizedEvent(
        key="day/2026-11-18/anthropic_api_key/ci-code-review/non-interactive",
        type=EventType.USAGE,
        occurred_at=DAY,  # an RFC 3339 midnight reads as the same day
        actor=CI,
        tool="claude-code",
        replace=True,
        metrics={"sessions": 40},
    ),
    NormalizedEvent(
        key="model/2026-11-18/anthropic_api_key/ci-code-review/non-interactive/claude-sonnet-4-5-20250929",
        type=EventType.USAGE,
        occurred_at=DAY,
        actor=CI,
        tool="claude-code",
        model="claude-sonnet-4-5-20250929",
        input_tokens=710000,
        cached_tokens=310000,
        output_tokens=20000,
        cost_nanos=3_125_000_000,
        replace=True,
    ),
]


def test_each_record_becomes_a_day_event_and_one_event_per_model() -> None:
    result = claude_code.parse(body(report()), JSON)
    assert result.rejected == []
    assert result.events == EXPECTED


def test_a_list_of_records_and_one_record_are_accepted() -> None:
    records = report()["data"]
    assert claude_code.parse(body(records), JSON).events == EXPECTED
    assert claude_code.parse(body(records[1]), JSON).events == EXPECTED[3:]


def test_reparsing_yields_the_same_keys() -> None:
    first = [e.key for e in claude_code.parse(body(report()), JSON).events]
    assert [e.key for e in claude_code.parse(body(report()), JSON).events] == first


def test_a_restated_day_keeps_its_keys_with_new_numbers() -> None:
    restated = report()
    record = restated["data"][0]
    record["core_metrics"]["num_sessions"] = 6
    record["core_metrics"]["commits_by_claude_code"] = 13
    record["model_breakdown"][0]["tokens"]["output"] = 36000
    record["model_breakdown"][0]["estimated_cost"]["amount"] = 1100
    events = claude_code.parse(body(restated), JSON).events
    assert [e.key for e in events] == [e.key for e in EXPECTED]
    assert events[0].metrics["sessions"] == 6 and events[0].metrics["commits"] == 13
    assert (events[1].output_tokens, events[1].cost_nanos) == (36000, 11_000_000_000)
    assert all(e.replace for e in events)


def test_bad_records_are_rejected_whole_and_good_ones_kept() -> None:
    document = report()
    good = document["data"][0]
    no_actor = {**good, "actor": None}
    no_email = {**good, "actor": {"type": "user_actor"}}
    euros = json.loads(json.dumps(good))
    euros["actor"]["email_address"] = "eve@example.com"
    euros["model_breakdown"][1]["estimated_cost"]["currency"] = "EUR"
    negative = json.loads(json.dumps(good))
    negative["actor"]["email_address"] = "neg@example.com"
    negative["core_metrics"]["num_sessions"] = -1
    twice = json.loads(json.dumps(good))
    twice["model_breakdown"].append(twice["model_breakdown"][0])
    no_date = {**good}
    del no_date["date"]
    document["data"] = [good, no_actor, no_email, euros, negative, twice, no_date, []]

    result = claude_code.parse(body(document), JSON)
    assert result.events == EXPECTED[:3]
    reasons = {r.index: r.error for r in result.rejected}
    assert set(reasons) == {1, 2, 3, 4, 5, 6, 7}
    assert "actor is missing" in reasons[1]
    assert "actor.email_address is missing" in reasons[2]
    assert "'EUR' is not supported" in reasons[3]
    assert "core_metrics.num_sessions must not be negative" in reasons[4]
    assert "twice" in reasons[5]
    assert "date is missing" in reasons[6]
    assert "JSON object" in reasons[7]


def test_cost_in_the_billions_is_rejected() -> None:
    record = report()["data"][0]
    record["model_breakdown"][0]["estimated_cost"]["amount"] = 300_000_000_000  # cents
    result = claude_code.parse(body(record), JSON)
    assert result.events == []
    assert "not plausible" in result.rejected[0].error


@pytest.mark.parametrize(
    "payload",
    [
        {"usageEvents": []},
        [{"day": "2026-11-18", "user_login": "ana"}],
        {"object": "page", "data": [{"start_time": 1, "results": []}]},
    ],
)
def test_another_vendors_shape_is_refused(payload: Any) -> None:
    with pytest.raises(PayloadError, match="Claude Code analytics"):
        claude_code.parse(body(payload), JSON)


def test_a_half_truncated_report_is_refused() -> None:
    raw = body(report())
    with pytest.raises(PayloadError, match="not valid JSON"):
        claude_code.parse(raw[:-3], JSON)
