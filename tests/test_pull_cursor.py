"""``ai-roi pull cursor`` against the fake Cursor Admin API: Basic auth, 30-day calls, paging,
calls paced under the team's per-minute limit, and the right person's facts.

Hand calculation from tests/fixtures/vendors (2026-W47), Ana (Ana.Lima@example.com):
  daily row 2026-11-17     requests 45 composer + 128 chat + 12 agent = 185
  usage events 2026-11-18  126 + 6,112 + 11,964 = 18,202 input (18,076 cached), 450 output,
                           20.18232 cents; 5,805 + 11,964 = 17,769 input (11,964 cached), 311
                           output, 40.167 cents (their requests are in the daily rows)
  week                     input 35,971, cached 30,040, output 761, requests 185,
                           cost $0.2018232 + $0.40167 = $0.6034932
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.cli import main
from fakes.vendors import cursor as fake_cursor
from fakes.vendors.cursor import FakeCursor

VENDORS = Path(__file__).parent / "fixtures" / "vendors"
PER_MINUTE = 600  # the fake's limit and the client's pace, scaled down from 20 for speed


@pytest.fixture
def cursor() -> Iterator[FakeCursor]:
    with FakeCursor(per_minute=PER_MINUTE) as fake:
        fake.daily = json.loads((VENDORS / "cursor-daily-usage-data.json").read_text())["data"]
        fake.events = json.loads((VENDORS / "cursor-filtered-usage-events.json").read_text())[
            "usageEvents"
        ]
        yield fake


@pytest.fixture
def env(
    monkeypatch: pytest.MonkeyPatch, database_url: str, cursor: FakeCursor
) -> pytest.MonkeyPatch:
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("CURSOR_ADMIN_KEY", fake_cursor.API_KEY)
    monkeypatch.setenv("CURSOR_API_URL", cursor.base_url)
    monkeypatch.setenv("CURSOR_CALLS_PER_MINUTE", str(PER_MINUTE))
    return monkeypatch


def ana_week(capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    capsys.readouterr()
    assert main(["facts", "--user", "ana.lima@example.com", "--week", "2026-W47", "--json"]) == 0
    result: dict[str, Any] = json.loads(capsys.readouterr().out)
    return result


def test_cursor_usage_reaches_the_person_exactly_and_paced(
    env: pytest.MonkeyPatch, cursor: FakeCursor, capsys: pytest.CaptureFixture[str]
) -> None:
    # 45 days: two calls of at most 30 days for each report.
    assert main(["pull", "cursor", "--since", "2026-10-09", "--until", "2026-11-22"]) == 0
    ana = ana_week(capsys)
    assert ana["tokens"] == {"input": 35971, "cached": 30040, "output": 761}
    assert ana["requests"] == 185
    assert ana["cost_usd"] == "0.6034932"
    spans = [json.loads(r.body) for r in cursor.requests]
    assert all(s["endDate"] - s["startDate"] < 30 * 86_400_000 for s in spans)
    assert {r.path for r in cursor.requests} == {
        "/teams/daily-usage-data",
        "/teams/filtered-usage-events",
    }
    assert len(cursor.requests) == 4
    gaps = [b.at - a.at for a, b in zip(cursor.requests, cursor.requests[1:], strict=False)]
    assert min(gaps) >= 60 / PER_MINUTE * 0.5  # paced through the gate, never a burst
    assert cursor.throttled == 0

    assert main(["pull", "cursor", "--since", "2026-11-16", "--until", "2026-11-22"]) == 0
    assert ana_week(capsys)["requests"] == 185  # again: nothing doubles


def test_events_are_paged(
    env: pytest.MonkeyPatch, cursor: FakeCursor, capsys: pytest.CaptureFixture[str]
) -> None:
    base = cursor.events[0]
    cursor.events = [
        {
            **base,
            "timestamp": str(int(base["timestamp"]) + i),
            "tokenUsage": {**base["tokenUsage"], "outputTokens": 1},
        }
        for i in range(250)
    ]
    assert main(["pull", "cursor", "--since", "2026-11-16", "--until", "2026-11-22"]) == 0
    pages = [json.loads(r.body)["page"] for r in cursor.requests_to("/teams/filtered-usage-events")]
    assert pages == [1, 2, 3]
    assert ana_week(capsys)["tokens"]["output"] == 250


def test_a_refused_key_is_a_visible_error(
    env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    env.setenv("CURSOR_ADMIN_KEY", "key_cursor_revoked")
    assert main(["pull", "cursor"]) == 1
    out = capsys.readouterr().out
    assert "refused the credential (401: Invalid API key)" in out and "revoked" not in out
