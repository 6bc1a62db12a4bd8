"""Each vendor's payload, posted to /webhooks/{source} of the live app, yields the right facts for
the right person and week; posting it again changes nothing; a restated day replaces the old
numbers; and no prompt or completion text reaches the database."""

from __future__ import annotations

import json
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from sqlmodel import Session, SQLModel

from bot.context import AppContext
from bot.digest.weekly_facts import facts_for
from bot.domain.directory import parse_directory
from bot.domain.events import EventType, NormalizedEvent
from bot.domain.units import format_usd
from bot.domain.weeks import Week
from bot.ingest.pipeline import parse_body
from bot.store.db import transaction
from bot.store.directory import apply_directory
from bot.store.people import person_by_email
from tests.conftest import WEBHOOK_TOKEN, LiveServer

FIXTURES = Path(__file__).parent / "fixtures" / "vendors"
ANA, BEN = "ana.lima@example.com", "ben@example.com"
W47 = Week(2026, 47)
DIRECTORY = f"""email,name,openai_user_id,anthropic_account_id,github_login,datadog_handle
{ANA},Ana Lima,user-Ana0x7QnLkT3pV,user_01WCz1FkmYMm4gnmykNKUu3Q,analima,
{BEN},Ben,,,ben-dev,9919ec9b-ebc7-49ee-8dc8-03626e717cca
"""
CASES = [
    ("litellm", "litellm-generic-api-batch.json"),
    ("otel", "otel-genai-traces.json"),
    ("openai", "openai-usage-completions-by-user.json"),
    ("anthropic", "anthropic-messages-usage-report.json"),
    ("claude-code", "claude-code-analytics-report.json"),
    ("cursor", "cursor-daily-usage-data.json"),
    ("cursor", "cursor-filtered-usage-events.json"),
    ("copilot", "copilot-users-1-day.ndjson"),
    ("datadog", "datadog-dashboards-usage.json"),
]
# Identities the directory above maps to Ana.
ANA_IDENTITIES = {
    ("email", ANA),
    ("openai", "user-Ana0x7QnLkT3pV"),
    ("anthropic", "user_01WCz1FkmYMm4gnmykNKUu3Q"),
    ("github", "analima"),
}


def content_type(name: str) -> str:
    return "application/x-ndjson" if name.endswith(".ndjson") else "application/json"


def post(live: LiveServer, source: str, body: bytes, name: str) -> dict:  # type: ignore[type-arg]
    response = live.client.post(
        f"/webhooks/{source}",
        content=body,
        headers={"authorization": f"Bearer {WEBHOOK_TOKEN}", "content-type": content_type(name)},
    )
    assert response.status_code == 202, response.text
    return dict(response.json())


def anas_usage(events: list[NormalizedEvent]) -> dict[str, int]:
    """What Ana's W47 facts must add up to, from the adapter's own reading of the payload."""
    start, end = W47.bounds(ZoneInfo("UTC"))
    mine = [
        e
        for e in events
        if e.type is EventType.USAGE
        and e.actor
        and e.actor.key in ANA_IDENTITIES
        and start <= e.occurred_at < end
    ]
    return {
        "input": sum(e.input_tokens for e in mine),
        "cached": sum(e.cached_tokens for e in mine),
        "output": sum(e.output_tokens for e in mine),
        "cost_nanos": sum(e.cost_nanos for e in mine),
        "requests": sum(e.requests for e in mine),
    }


def facts(context: AppContext, email: str = ANA) -> dict:  # type: ignore[type-arg]
    with Session(context.engine) as session:
        return facts_for(session, person_by_email(session, email), W47, ZoneInfo("UTC")).to_json()


@pytest.fixture
def directory(context: AppContext) -> None:
    with transaction(context.engine) as session:
        apply_directory(session, parse_directory(DIRECTORY).rows)


@pytest.mark.parametrize(("source", "name"), CASES, ids=[name for _, name in CASES])
def test_payload_gives_the_right_facts_once(
    live: LiveServer, context: AppContext, directory: None, source: str, name: str
) -> None:
    body = (FIXTURES / name).read_bytes()
    parsed = parse_body(source, body, content_type(name))
    first = post(live, source, body, name)
    assert first["rejected"] == [] and first["accepted"] == len({e.key for e in parsed.events})
    expected = anas_usage(parsed.events)
    if source != "datadog":  # an artifact source: no usage
        assert expected["input"] + expected["requests"] > 0  # the payload has usage of Ana's
    got = facts(context)
    assert got["tokens"] == {
        "input": expected["input"],
        "cached": expected["cached"],
        "output": expected["output"],
    }
    assert got["requests"] == expected["requests"]
    assert got["cost_usd"] == format_usd(expected["cost_nanos"])
    again = post(live, source, body, name)
    assert again["accepted"] == 0 and again["duplicates"] == first["accepted"]
    assert facts(context) == got


def test_datadog_dashboards_count_as_artifacts_opened_by_others(
    live: LiveServer, context: AppContext, directory: None
) -> None:
    name = "datadog-dashboards-usage.json"
    post(live, "datadog", (FIXTURES / name).read_bytes(), name)
    created = facts(context)["artifacts"]["created"] + facts(context, BEN)["artifacts"]["created"]
    assert created >= 1
    assert facts(context)["artifacts"]["by_kind"].keys() <= {"dashboard"}


def test_a_restated_day_replaces_the_old_numbers(
    live: LiveServer, context: AppContext, directory: None
) -> None:
    name = "openai-usage-completions-by-user.json"
    page = json.loads((FIXTURES / name).read_bytes())
    post(live, "openai", json.dumps(page).encode(), name)
    before = facts(context)["tokens"]["input"]
    result = page["data"][0]["results"][0]
    assert result["user_id"] == "user-Ana0x7QnLkT3pV"
    result["input_tokens"] += 1000  # the vendor restates that bucket
    restated = post(live, "openai", json.dumps(page).encode(), name)
    assert restated["accepted"] == 1  # the one changed aggregate
    assert facts(context)["tokens"]["input"] == before + 1000  # replaced, not added


def test_prompt_and_completion_text_never_reach_the_database(
    live: LiveServer, context: AppContext
) -> None:
    secrets = [
        "Summarise the churn dashboard",
        "Churn rose 2% in EMEA",
        "Tell me a joke about OpenTelemetry",
    ]
    for source, name in [
        ("litellm", "litellm-generic-api-batch.json"),
        ("otel", "otel-genai-traces.json"),
    ]:
        body = (FIXTURES / name).read_text()
        assert any(text in body for text in secrets)
        post(live, source, body.encode(), name)
    generic = {
        "id": "g1",
        "type": "ai.usage",
        "occurred_at": "2026-11-18T09:00:00Z",
        "actor": {"email": ANA},
        "usage": {"input_tokens": 1},
        "prompt": "Tell me a joke about OpenTelemetry",
        "messages": [{"role": "user", "content": "Summarise the churn dashboard"}],
    }
    post(live, "usage", json.dumps([generic]).encode(), "x.json")
    with context.engine.connect() as connection:
        for table in SQLModel.metadata.sorted_tables:
            for row in connection.execute(sa.select(table)):
                dumped = " ".join(str(value) for value in row)
                assert not any(text in dumped for text in secrets), table.name
