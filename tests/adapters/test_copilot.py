"""GitHub Copilot user-level usage metrics (NDJSON or a JSON array) → per-user-day aggregates."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.domain.events import Actor, EventType, NormalizedEvent
from bot.errors import PayloadError
from bot.ingest.adapters import copilot
from fakes.reference import VENDOR_EXAMPLES

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "vendors"
NDJSON = "application/x-ndjson"
JSON = "application/json"
DAY = datetime(2026, 11, 18, tzinfo=UTC)


def report_text() -> str:
    return (FIXTURES / "copilot-users-1-day.ndjson").read_text()


def records() -> list[dict[str, Any]]:
    return [json.loads(line) for line in report_text().splitlines()]


def ndjson(items: list[Any]) -> bytes:
    return "\n".join(json.dumps(item) for item in items).encode()


EXPECTED = [
    NormalizedEvent(
        key="user-day/2026-11-18/583231",
        type=EventType.USAGE,
        occurred_at=DAY,
        actor=Actor("github", "analima"),
        tool="copilot",
        input_tokens=21400,  # Copilot CLI only; IDE use reports no tokens
        output_tokens=5000,
        requests=46,  # 40 code generations + 6 CLI requests
        replace=True,
        metrics={
            "interactions": 6,
            "code_generations": 40,
            "code_acceptances": 14,
            "lines_suggested_added": 410,
            "lines_suggested_deleted": 35,
            "lines_added": 120,
            "lines_deleted": 30,
            "cli_sessions": 2,
            "cli_prompts": 3,
            "cli_requests": 6,
        },
    ),
    NormalizedEvent(
        key="user-day/2026-11-18/1337",
        type=EventType.USAGE,
        occurred_at=DAY,
        actor=Actor("github", "ben-dev"),
        tool="copilot",
        requests=1,
        replace=True,
        metrics={
            "code_generations": 1,
            "code_acceptances": 1,
            "lines_suggested_added": 10,
            "lines_added": 8,
        },
    ),
]


def test_ndjson_report_files_become_one_aggregate_per_user_day() -> None:
    result = copilot.parse(report_text().encode(), NDJSON)
    assert result.rejected == []
    assert result.events == EXPECTED


def test_the_json_array_of_the_docs_and_a_single_record_are_accepted() -> None:
    assert copilot.parse(json.dumps(records()).encode(), JSON).events == EXPECTED
    assert copilot.parse(json.dumps(records()[1]).encode(), JSON).events == EXPECTED[1:]


def test_the_documented_example_record_parses() -> None:
    example = (VENDOR_EXAMPLES / "github-copilot-usage-metrics-user-level.json").read_bytes()
    (event,) = copilot.parse(example, JSON).events
    assert (event.key, event.actor) == ("user-day/2025-10-01/1", Actor("github", "login1"))
    assert (event.input_tokens, event.output_tokens, event.requests) == (3800, 5000, 3)


def test_reparsing_yields_the_same_keys() -> None:
    first = [e.key for e in copilot.parse(report_text().encode(), NDJSON).events]
    assert [e.key for e in copilot.parse(report_text().encode(), NDJSON).events] == first


def test_a_restated_day_keeps_its_key_with_new_numbers() -> None:
    restated = records()
    restated[0]["code_generation_activity_count"] = 44
    restated[0]["user_login"] = "ana-lima"  # a renamed login is still the same user id
    event = copilot.parse(ndjson(restated), NDJSON).events[0]
    assert event.key == EXPECTED[0].key
    assert (event.requests, event.actor) == (50, Actor("github", "ana-lima"))


def test_bad_lines_are_rejected_and_good_ones_kept() -> None:
    good = records()
    lines = [
        json.dumps(good[0]),
        json.dumps({**good[1], "user_login": ""}),
        '{"day": "2026-11-18", "user_login": "trunc',
        json.dumps({**good[1], "loc_added_sum": -8}),
        json.dumps({**good[1], "day": None}),
        json.dumps(good[1]),
    ]
    result = copilot.parse("\n".join(lines).encode(), NDJSON)
    assert result.events == EXPECTED
    reasons = {r.index: r.error for r in result.rejected}
    assert set(reasons) == {1, 2, 3, 4}
    assert "user_login is missing" in reasons[1]
    assert "line 3 is not valid JSON" in reasons[2]
    assert "loc_added_sum must not be negative" in reasons[3]
    assert "day is missing" in reasons[4]


@pytest.mark.parametrize(
    ("example", "reason"),
    [
        ("github-copilot-usage-metrics-enterprise-level.json", "enterprise-level report"),
        ("github-copilot-usage-metrics-report-links-1-day.json", "download_links"),
        ("openai-usage-completions.json", "Copilot"),
    ],
)
def test_other_reports_are_refused_with_what_to_send(example: str, reason: str) -> None:
    with pytest.raises(PayloadError, match=reason):
        copilot.parse((VENDOR_EXAMPLES / example).read_bytes(), JSON)


def test_a_half_truncated_json_array_is_refused() -> None:
    raw = json.dumps(records()).encode()
    with pytest.raises(PayloadError, match="not valid JSON"):
        copilot.parse(raw[:-10], JSON)
