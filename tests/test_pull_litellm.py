"""``ai-roi pull litellm`` against the fake LiteLLM proxy: Bearer auth, users and daily activity
paged, 401 and 429, restated days, and each request counted once beside the webhook's events.

Hand calculation of Ana's week 2026-W47 (Ana.Lima@Example.com, LiteLLM user ``u-ana``):
  webhook 2026-11-18  claude-sonnet-4-5: prompt 12,600 (9,000 cache read + 3,000 cache write
                      included) → input 12,600 (12,000 cached), output 410, $0.0312, 1 request;
                      a failed gpt-4o request: 1 request
  daily   2026-11-17  claude-sonnet-4-5: prompt 12,000 (4,000 + 1,000 cache) → input 12,000
                      (5,000 cached), output 500, $0.05, 5 requests; gpt-4o: input 1,000,
                      output 200, $0.004, 2 requests (the webhook missed this day)
  daily   2026-11-18  the same two requests the webhook delivered: counted once, by the webhook
  week                input 12,600 + 12,000 + 1,000 = 25,600; cached 12,000 + 5,000 = 17,000;
                      output 410 + 500 + 200 = 1,110; requests 2 + 5 + 2 = 9;
                      cost $0.0312 + $0.05 + $0.004 = $0.0852
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from bot.cli import main
from bot.connectors import litellm as connector
from bot.store.db import create_engine
from fakes.vendors import litellm as fake_litellm
from fakes.vendors.litellm import FakeLiteLLM

WEBHOOK_BATCH = Path(__file__).parent / "fixtures" / "vendors" / "litellm-generic-api-batch.json"
WEEK = ["--since", "2026-11-16", "--until", "2026-11-22"]
EXPECTED = {
    "tokens": {"input": 25600, "cached": 17000, "output": 1110},
    "requests": 9,
    "cost_usd": "0.0852",
}


def metrics(
    prompt: int,
    completion: int,
    spend: float,
    requests: int,
    *,
    cache_read: int = 0,
    cache_write: int = 0,
    failed: int = 0,
) -> dict[str, Any]:
    return {
        "spend": spend,
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "cache_read_input_tokens": cache_read,
        "cache_creation_input_tokens": cache_write,
        "total_tokens": prompt + completion,
        "api_requests": requests,
        "successful_requests": requests - failed,
        "failed_requests": failed,
    }


@pytest.fixture
def proxy() -> Iterator[FakeLiteLLM]:
    with FakeLiteLLM() as fake:
        fake.users = [
            {
                "user_id": "u-ana",
                "user_email": "Ana.Lima@Example.com",
                "user_role": "internal_user",
            },
            {"user_id": "u-ben", "user_email": None, "user_role": "internal_user"},
        ]
        fake.activity = {
            "u-ana": {
                "2026-11-17": {
                    "claude-sonnet-4-5": metrics(
                        12000, 500, 0.05, 5, cache_read=4000, cache_write=1000
                    ),
                    "gpt-4o": metrics(1000, 200, 0.004, 2),
                },
                "2026-11-18": {
                    "claude-sonnet-4-5": metrics(
                        12600, 410, 0.0312, 1, cache_read=9000, cache_write=3000
                    ),
                    "gpt-4o": metrics(0, 0, 0.0, 1, failed=1),
                },
            },
            "u-ben": {"2026-11-18": {"gpt-4o": metrics(10, 20, 0.000225, 1)}},
        }
        yield fake


@pytest.fixture
def env(
    monkeypatch: pytest.MonkeyPatch, database_url: str, proxy: FakeLiteLLM
) -> pytest.MonkeyPatch:
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("LITELLM_API_KEY", fake_litellm.MASTER_KEY)
    monkeypatch.setenv("LITELLM_BASE_URL", proxy.url)
    return monkeypatch


def ana_week(capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    capsys.readouterr()
    assert main(["facts", "--user", "ana.lima@example.com", "--week", "2026-W47", "--json"]) == 0
    facts: dict[str, Any] = json.loads(capsys.readouterr().out)
    return {name: facts[name] for name in EXPECTED}


def webhook_delivers() -> None:
    assert main(["ingest", "--source", "litellm", str(WEBHOOK_BATCH)]) == 0


def test_the_pull_fills_the_days_the_webhook_missed_and_counts_the_rest_once(
    env: pytest.MonkeyPatch, proxy: FakeLiteLLM, capsys: pytest.CaptureFixture[str]
) -> None:
    webhook_delivers()
    assert main(["pull", "litellm", *WEEK]) == 0
    assert ana_week(capsys) == EXPECTED

    activity = proxy.requests_to("/user/daily/activity")
    assert [r.query["user_id"] for r in activity] == [["u-ana"], ["u-ben"]]
    assert activity[0].query["start_date"] == ["2026-11-16"]
    assert activity[0].query["end_date"] == ["2026-11-22"]
    assert all(r.headers["authorization"] == f"Bearer {fake_litellm.MASTER_KEY}" for r in activity)

    assert main(["pull", "litellm", *WEEK]) == 0  # again: nothing doubles
    assert ana_week(capsys) == EXPECTED


def test_a_day_pulled_before_the_webhook_caught_up_is_counted_once_after_the_next_pull(
    env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["pull", "litellm", *WEEK]) == 0
    assert ana_week(capsys) == EXPECTED  # 2026-11-18 from the daily aggregate alone

    webhook_delivers()  # the same two requests arrive late, one by one
    assert main(["pull", "litellm", *WEEK]) == 0
    assert ana_week(capsys) == EXPECTED


def test_a_restated_day_replaces_what_was_pulled(
    env: pytest.MonkeyPatch, proxy: FakeLiteLLM, capsys: pytest.CaptureFixture[str]
) -> None:
    webhook_delivers()
    assert main(["pull", "litellm", *WEEK]) == 0
    proxy.activity["u-ana"]["2026-11-17"]["gpt-4o"] = metrics(1000, 300, 0.005, 3)
    assert main(["pull", "litellm", *WEEK]) == 0
    restated = ana_week(capsys)
    assert restated["requests"] == 10
    assert restated["tokens"]["output"] == 1210
    assert restated["cost_usd"] == "0.0862"


def test_users_and_days_are_paged(
    env: pytest.MonkeyPatch, proxy: FakeLiteLLM, capsys: pytest.CaptureFixture[str]
) -> None:
    env.setattr(connector, "PAGE_SIZE", 1)
    env.setattr(connector, "USERS_PAGE_SIZE", 1)
    webhook_delivers()
    assert main(["pull", "litellm", *WEEK]) == 0
    assert ana_week(capsys) == EXPECTED
    assert [r.query["page"] for r in proxy.requests_to("/user/list")] == [["1"], ["2"]]
    pages = [
        (r.query["user_id"], r.query["page"]) for r in proxy.requests_to("/user/daily/activity")
    ]
    assert pages == [(["u-ana"], ["1"]), (["u-ana"], ["2"]), (["u-ben"], ["1"])]


def test_retry_after_is_honoured(
    env: pytest.MonkeyPatch, proxy: FakeLiteLLM, capsys: pytest.CaptureFixture[str]
) -> None:
    proxy.fail(429, retry_after=1, path="/user/daily/activity")
    webhook_delivers()
    assert main(["pull", "litellm", *WEEK]) == 0
    assert ana_week(capsys) == EXPECTED
    assert len(proxy.requests_to("/user/daily/activity")) == 3  # one refused, then both users
    assert proxy.early_requests == []


def test_a_refused_key_is_a_visible_error(
    env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    env.setenv("LITELLM_API_KEY", "sk-litellm-revoked-91f")
    assert main(["pull", "litellm", *WEEK]) == 1
    out = capsys.readouterr().out
    assert "refused the credential (401: Authentication Error" in out
    assert "LITELLM_API_KEY" in out and "revoked" not in out


def test_a_user_known_only_by_id_is_counted_once_too(
    env: pytest.MonkeyPatch, database_url: str
) -> None:
    # Ben's key has no email: the webhook names him u-ben, and so does the daily activity.
    webhook_delivers()
    assert main(["pull", "litellm", *WEEK]) == 0
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            requests, output = connection.execute(
                sa.text(
                    "SELECT SUM(requests), SUM(output_tokens) FROM events "
                    "WHERE source = 'litellm' AND actor_kind = 'litellm' AND actor_value = 'u-ben'"
                )
            ).one()
    finally:
        engine.dispose()
    assert (requests, output) == (1, 20)


def test_a_day_the_webhook_delivered_only_in_part_is_reported(
    env: pytest.MonkeyPatch, proxy: FakeLiteLLM, caplog: pytest.LogCaptureFixture
) -> None:
    webhook_delivers()  # two of Ana's requests on 2026-11-18
    proxy.activity["u-ana"]["2026-11-18"]["gpt-4o"] = metrics(0, 0, 0.0, 4, failed=1)
    with caplog.at_level(logging.WARNING, logger="bot.connectors.litellm"):
        assert main(["pull", "litellm", *WEEK]) == 0
    assert [r.getMessage() for r in caplog.records if r.name == "bot.connectors.litellm"] == [
        "litellm: 2026-11-18: the webhook delivered 2 of the proxy's 5 requests of one person; "
        "the day counts the webhook's (replay the proxy's logs to add the rest)"
    ]


def test_the_proxy_s_email_maps_its_user_id_and_both_names_count_once(
    env: pytest.MonkeyPatch, proxy: FakeLiteLLM, capsys: pytest.CaptureFixture[str]
) -> None:
    # The webhook names Ben by his LiteLLM id; /user/list gives his email: his webhook request
    # becomes his, and his daily aggregate of that day (named by email) is not added to it.
    proxy.users[1]["user_email"] = "Ben.Okafor@example.com"
    webhook_delivers()
    assert main(["pull", "litellm", *WEEK]) == 0
    capsys.readouterr()
    assert main(["facts", "--user", "ben.okafor@example.com", "--week", "2026-W47", "--json"]) == 0
    ben = json.loads(capsys.readouterr().out)
    assert (ben["requests"], ben["tokens"], ben["cost_usd"]) == (
        1,
        {"input": 10, "cached": 0, "output": 20},
        "0.000225",
    )
