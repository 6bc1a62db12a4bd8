"""Facts from a posted batch: exactly the numbers the events imply, in the org's time zone."""

from __future__ import annotations

import json

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.cli import main
from bot.digest.weekly_facts import facts_for
from bot.domain.weeks import parse_week
from bot.ingest.pipeline import ingest_body
from bot.store.people import person_by_email
from tests.helpers import artifact_event, dumps, usage_event

ANA, BEN, CAL = "ana@example.com", "ben@example.com", "cal@example.com"
BERLIN = "Europe/Berlin"


def week_batch() -> list[dict]:  # type: ignore[type-arg]
    """2026-W47 is Mon Nov 16 – Sun Nov 22 (Berlin is UTC+1 in November)."""
    return [
        usage_event(
            "u1",
            ANA,
            "2026-11-16T09:00:00+01:00",
            input_tokens=1000,
            cached_tokens=200,
            output_tokens=300,
            cost_usd="0.0123",
            requests=2,
        ),
        usage_event(
            "u2",
            ANA,
            "2026-11-18T15:30:00Z",
            input_tokens=500,
            output_tokens=50,
            cost_usd="1.5",
            tool="claude",
            model="claude-sonnet-4",
        ),
        # Just past midnight Monday in Berlin = Sunday 23:30 UTC: belongs to W48 in Berlin, W47 in UTC.
        usage_event(
            "u3",
            ANA,
            "2026-11-23T00:30:00+01:00",
            input_tokens=7000,
            output_tokens=700,
            cost_usd="2",
        ),
        # Just before midnight Monday in Berlin, written in UTC: W47 in both.
        usage_event(
            "u4", ANA, "2026-11-15T23:30:00Z", input_tokens=40, output_tokens=4, cost_usd="0"
        ),
        artifact_event(
            "a1", "artifact.created", ANA, "2026-11-17T10:00:00+01:00", "dash-1", "dashboard"
        ),
        artifact_event(
            "a2", "artifact.created", ANA, "2026-11-17T11:00:00+01:00", "dash-2", "dashboard"
        ),
        artifact_event(
            "a3", "artifact.created", ANA, "2026-11-18T11:00:00+01:00", "rep-1", "report"
        ),
        artifact_event(
            "a4", "artifact.created", ANA, "2026-11-19T11:00:00+01:00", "thing-1", "Spreadsheet"
        ),
        artifact_event(
            "v1", "artifact.viewed", ANA, "2026-11-17T12:00:00+01:00", "dash-1"
        ),  # self-view
        artifact_event("v2", "artifact.viewed", BEN, "2026-11-18T12:00:00+01:00", "rep-1"),
        artifact_event("v3", "artifact.viewed", CAL, "2026-11-18T13:00:00+01:00", "rep-1"),
        artifact_event("v4", "artifact.viewed", BEN, "2026-11-19T09:00:00+01:00", "dash-2"),
        artifact_event(
            "v5", "artifact.viewed", BEN, "2026-11-30T09:00:00+01:00", "dash-1"
        ),  # after the week
        artifact_event("x1", "artifact.used", ANA, "2026-11-20T09:00:00+01:00", "rep-1"),
        usage_event("b1", BEN, "2026-11-18T09:00:00Z", input_tokens=999, output_tokens=1),
        # Baseline weeks W43..W46 for Ana: 110, 0, 330, 220 tokens -> median 165.
        usage_event("p1", ANA, "2026-10-20T09:00:00Z", input_tokens=100, output_tokens=10),
        usage_event("p3", ANA, "2026-11-03T09:00:00Z", input_tokens=300, output_tokens=30),
        usage_event("p4", ANA, "2026-11-10T09:00:00Z", input_tokens=200, output_tokens=20),
    ]


@pytest.fixture
def loaded(engine: Engine) -> Engine:
    batch = week_batch()
    body = dumps({"events": [*batch, batch[0], batch[9]]})  # two duplicates inside the batch
    outcome = ingest_body(engine, "usage", body, "application/json")
    assert (outcome.accepted, outcome.duplicates, outcome.rejected) == (len(batch), 2, [])
    again = ingest_body(engine, "usage", dumps(batch), "application/json")
    assert (again.accepted, again.duplicates) == (0, len(batch))
    return engine


def facts_json(engine: Engine, email: str, week: str, tz: str) -> dict:  # type: ignore[type-arg]
    from zoneinfo import ZoneInfo

    with Session(engine) as session:
        return facts_for(
            session, person_by_email(session, email), parse_week(week), ZoneInfo(tz)
        ).to_json()


def test_facts_in_berlin(loaded: Engine) -> None:
    facts = facts_json(loaded, ANA, "2026-W47", BERLIN)
    assert facts["tokens"] == {"input": 1540, "cached": 200, "output": 354}
    assert facts["cost_usd"] == "1.5123"
    assert facts["requests"] == 4
    assert facts["artifacts"]["created"] == 4
    assert (
        facts["artifacts"]["viewed_by_others"] == 2
    )  # rep-1 and dash-2; dash-1 only by Ana in W47
    assert facts["artifacts"]["used"] == 1
    assert facts["artifacts"]["viewers"] == 2  # Ben and Cal
    assert facts["artifacts"]["by_kind"] == {
        "dashboard": {"created": 2, "viewed_by_others": 1, "used": 0},
        "other": {"created": 1, "viewed_by_others": 0, "used": 0},
        "report": {"created": 1, "viewed_by_others": 1, "used": 1},
    }
    assert facts["by_tool"] == {
        "chatgpt": {"tokens": 1344, "cost_usd": "0.0123"},
        "claude": {"tokens": 550, "cost_usd": "1.50"},
    }
    assert facts["by_model"] == {
        "gpt-4.1": {"tokens": 1344, "cost_usd": "0.0123"},
        "claude-sonnet-4": {"tokens": 550, "cost_usd": "1.50"},
    }
    assert facts["artifacts"]["unopened_last_4_weeks"] == 2  # dash-1 (self-view only) and thing-1
    assert facts["cost_per_opened_artifact_usd"] == "0.75615"
    assert facts["nudges"] == [
        {
            "rule": "praise",
            "level": "info",
            "message": "2 of 4 opened by others: that is work that landed.",
        }
    ]
    assert facts["baseline"]["tokens_by_week"] == [110, 0, 330, 220]
    assert facts["baseline"]["sparkline"] == "▁▁▂▁█"
    assert facts["baseline"]["tokens_median"] == 165


def test_the_midnight_event_moves_with_the_time_zone(loaded: Engine) -> None:
    berlin_w48 = facts_json(loaded, ANA, "2026-W48", BERLIN)
    assert berlin_w48["tokens"]["input"] == 7000
    utc_w47 = facts_json(loaded, ANA, "2026-W47", "UTC")
    # In UTC the early-Monday Berlin event is Sunday (W47) and the Sunday-23:30Z one is W46.
    assert utc_w47["tokens"]["input"] == 1000 + 500 + 7000
    assert utc_w47["cost_usd"] == "3.5123"


def test_other_people_are_not_in_my_facts(loaded: Engine) -> None:
    facts = facts_json(loaded, BEN, "2026-W47", BERLIN)
    assert facts["tokens"] == {"input": 999, "cached": 0, "output": 1}
    assert facts["artifacts"]["created"] == 0
    assert ANA not in json.dumps(facts)


def test_cli_facts_json_matches(
    loaded: Engine,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("ORG_TIMEZONE", BERLIN)
    assert main(["facts", "--user", ANA, "--week", "2026-W47", "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == facts_json(loaded, ANA, "2026-W47", BERLIN)
    assert main(["facts", "--user", ANA, "--week", "2026-W47"]) == 0
    text = capsys.readouterr().out
    assert "4 created · 2 viewed by others · 1 used" in text
    assert main(["facts", "--user", "nobody@example.com", "--week", "2026-W47"]) == 1
    assert "no person with email" in capsys.readouterr().err
    assert main(["facts", "--user", ANA, "--week", "2026-47"]) == 2
