"""End to end: ``ai-roi pull`` against the fake vendor APIs → the right person's facts, exactly.

The fakes serve a small organisation: Ana (ana@example.com) uses OpenAI through her own API key
and as an OpenAI user, Anthropic through her own key, and Claude Code; a CI service account uses
both vendors' keys. The directory is empty: who is who comes from the vendors' own listings.

Hand calculation of Ana's week 2026-W47 (Nov 16-22):
  OpenAI      2026-11-17  key_ana (no user id)   input 1,000 (200 cached)  output 300  4 requests
              2026-11-17  user-ana, key_ana      input   500               output  50  2 requests
              2026-11-19  key_ana (no user id)   input 2,000               output 700  6 requests
  Anthropic   2026-11-18  apikey_ana   uncached 1,500 + cache read 200 + cache writes 500 + 1,000
                          = input 3,200 (1,700 cached), output 500
  Claude Code 2026-11-18  input 20,000 + cache read 3,000 + cache creation 1,000 = 24,000 (4,000
                          cached), output 5,000, 250 cents = $2.50
  total       input 30,700, cached 5,900, output 6,550, requests 12

OpenAI and Anthropic report tokens only: their cost is estimated from list prices (genai-prices,
per million tokens: gpt-4.1 $2 input, $0.50 cached input, $8 output; gpt-4.1-mini $0.40 / $1.60;
claude-sonnet-4-5 $3 input, $0.30 cache read, $3.75 cache write, $15 output):
  OpenAI      800 × 2 + 200 × 0.5 + 300 × 8 = $0.0041;  500 × 0.4 + 50 × 1.6 = $0.00028;
              2,000 × 2 + 700 × 8 = $0.0096
  Anthropic   1,500 × 3 + 200 × 0.3 + 1,500 × 3.75 + 500 × 15 = $0.017685
  cost        $2.50 + $0.0041 + $0.00028 + $0.0096 + $0.017685 = $2.531665
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest

from bot.cli import main
from fakes.vendors import anthropic as fake_anthropic
from fakes.vendors import openai as fake_openai
from fakes.vendors.anthropic import FakeAnthropicAdmin
from fakes.vendors.openai import FakeOpenAIAdmin, service_account, usage_row, user

SINCE, UNTIL = "2026-11-16", "2026-11-22"
PULL = ["pull", "--since", SINCE, "--until", UNTIL]


def organisation_openai(fake: FakeOpenAIAdmin) -> None:
    fake.add_key("proj_app", "key_ana", owner=user("user-ana", "ana@example.com"))
    fake.add_key("proj_app", "key_ci", owner=service_account("svc_ci"))
    fake.add_key("proj_empty", "key_bo", owner=user("user-bo", "bo@example.com"))
    fake.usage[date(2026, 11, 17)] = [
        usage_row(
            api_key_id="key_ana",
            project_id="proj_app",
            model="gpt-4.1",
            input_tokens=1000,
            input_cached_tokens=200,
            output_tokens=300,
            num_model_requests=4,
        ),
        usage_row(
            user_id="user-ana",
            api_key_id="key_ana",
            project_id="proj_app",
            model="gpt-4.1-mini",
            input_tokens=500,
            output_tokens=50,
            num_model_requests=2,
        ),
        usage_row(
            api_key_id="key_ci",
            project_id="proj_app",
            model="gpt-4.1",
            input_tokens=9000,
            output_tokens=100,
            num_model_requests=10,
        ),
    ]
    fake.usage[date(2026, 11, 19)] = [
        usage_row(
            api_key_id="key_ana",
            project_id="proj_app",
            model="gpt-4.1",
            input_tokens=2000,
            output_tokens=700,
            num_model_requests=6,
        ),
    ]
    fake.costs[date(2026, 11, 17)] = [0.25, 0.0625]
    fake.costs[date(2026, 11, 19)] = [0.125]


def organisation_anthropic(fake: FakeAnthropicAdmin) -> None:
    fake.add_user("user_01ana", "Ana@Example.com")
    fake.add_user("user_01bo", "bo@example.com")
    fake.add_key("apikey_ana", created_by="user_01ana")
    fake.add_key("apikey_ci", created_by=None)
    fake.usage[date(2026, 11, 18)] = [
        fake_anthropic.usage_row(
            api_key_id="apikey_ana",
            workspace_id="wrkspc_01",
            model="claude-sonnet-4-5-20250929",
            uncached_input_tokens=1500,
            cache_read_input_tokens=200,
            cache_5m=500,
            cache_1h=1000,
            output_tokens=500,
        ),
        fake_anthropic.usage_row(
            api_key_id="apikey_ci",
            workspace_id="wrkspc_01",
            model="claude-haiku-4-5-20251001",
            uncached_input_tokens=90000,
            output_tokens=12000,
        ),
    ]
    fake.costs[date(2026, 11, 18)] = ["150.5", "49.5"]
    fake.claude_code[date(2026, 11, 18)] = [
        claude_code_day("ana@example.com", 20000, 5000, 3000, 1000, 250)
    ]


def claude_code_day(
    email: str, input_: int, output: int, read: int, creation: int, cents: float
) -> dict[str, Any]:
    return {
        "actor": {"type": "user_actor", "email_address": email},
        "organization_id": "dc9f6c26-b22c-4831-8d01-0446bada88f1",
        "customer_type": "api",
        "terminal_type": "vscode",
        "core_metrics": {
            "num_sessions": 3,
            "lines_of_code": {"added": 120, "removed": 30},
            "commits_by_claude_code": 2,
            "pull_requests_by_claude_code": 1,
        },
        "tool_actions": {"edit_tool": {"accepted": 10, "rejected": 1}},
        "model_breakdown": [
            {
                "model": "claude-sonnet-4-5-20250929",
                "tokens": {
                    "input": input_,
                    "output": output,
                    "cache_read": read,
                    "cache_creation": creation,
                },
                "estimated_cost": {"currency": "USD", "amount": cents},
            }
        ],
    }


@pytest.fixture
def openai_api() -> Iterator[FakeOpenAIAdmin]:
    with FakeOpenAIAdmin() as fake:
        organisation_openai(fake)
        yield fake


@pytest.fixture
def anthropic_api() -> Iterator[FakeAnthropicAdmin]:
    with FakeAnthropicAdmin() as fake:
        organisation_anthropic(fake)
        yield fake


@pytest.fixture
def env(
    monkeypatch: pytest.MonkeyPatch,
    database_url: str,
    openai_api: FakeOpenAIAdmin,
    anthropic_api: FakeAnthropicAdmin,
) -> pytest.MonkeyPatch:
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("OPENAI_ADMIN_KEY", fake_openai.ADMIN_KEY)
    monkeypatch.setenv("OPENAI_ADMIN_BASE_URL", openai_api.base_url)
    monkeypatch.setenv("ANTHROPIC_ADMIN_KEY", fake_anthropic.ADMIN_KEY)
    monkeypatch.setenv("ANTHROPIC_BASE_URL", anthropic_api.base_url)
    return monkeypatch


def facts(capsys: pytest.CaptureFixture[str], email: str = "ana@example.com") -> dict[str, Any]:
    capsys.readouterr()
    assert main(["facts", "--user", email, "--week", "2026-W47", "--json"]) == 0
    result: dict[str, Any] = json.loads(capsys.readouterr().out)
    return result


def sources(capsys: pytest.CaptureFixture[str]) -> dict[str, dict[str, Any]]:
    capsys.readouterr()
    assert main(["sources", "--json"]) == 0
    return {entry["source"]: entry for entry in json.loads(capsys.readouterr().out)}


ANA_WEEK = {"input": 30700, "cached": 5900, "output": 6550}


def test_pull_brings_each_persons_usage_exactly(
    env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(PULL) == 0
    out = capsys.readouterr().out
    assert "3 of 3 sources pulled" in out
    ana = facts(capsys)
    assert ana["tokens"] == ANA_WEEK
    assert ana["requests"] == 12
    assert ana["cost_usd"] == "2.531665"
    assert set(ana["by_tool"]) == {"openai", "anthropic", "claude-code"}
    # Bo has keys but used none of them this week: known, with nothing.
    assert facts(capsys, "bo@example.com")["tokens"] == {"input": 0, "cached": 0, "output": 0}

    state = sources(capsys)
    for name in ("openai", "anthropic", "claude-code"):
        assert state[name]["configured"] and state[name]["last_error"] is None
        assert state[name]["watermark"] == "2026-11-23T00:00:00Z"  # --until's day is over
    # The CI key of Anthropic is nobody's: kept, shown, unattributed. OpenAI's service-account
    # usage is org-level (no user id at all).
    assert state["anthropic"]["unattributed_identities"] == [
        {"kind": "anthropic_api_key", "value": "apikey_ci", "events": 1}
    ]
    assert state["openai"]["org_level_events"] == 1
    # What the organisation was billed for those days, beside what is recorded per person.
    assert state["openai"]["billed_cost"] == {
        "first_day": SINCE,
        "last_day": UNTIL,
        "billed_usd": "0.4375",
        # Ana's $0.01398 and the CI key's 9,000 × 2 + 100 × 8 = $0.0188, both estimated
        "recorded_usd": "0.03278",
        "recorded_is_estimate": True,
    }
    assert state["anthropic"]["billed_cost"] == {
        "first_day": SINCE,
        "last_day": UNTIL,
        "billed_usd": "2",
        # Ana's $0.017685 and the CI key's haiku-4-5 90,000 × 1 + 12,000 × 5 = $0.15
        "recorded_usd": "0.167685",
        "recorded_is_estimate": True,
    }
    assert state["claude-code"]["billed_cost"] is None

    assert main(["sources"]) == 0
    text = capsys.readouterr().out
    assert "openai (pull)\n  last success" in text
    assert "  complete to    2026-11-23 00:00:00 UTC (lag " in text
    assert (
        "  billed cost    $2.00 from 2026-11-16 to 2026-11-22; recorded $0.17 "
        "(estimated from list prices)" in text
    )
    assert "    anthropic_api_key apikey_ci: 1 event" in text


def test_each_request_is_authenticated_and_paged_as_documented(
    env: pytest.MonkeyPatch, openai_api: FakeOpenAIAdmin, anthropic_api: FakeAnthropicAdmin
) -> None:
    assert main(PULL) == 0
    usage = openai_api.requests_to("/v1/organization/usage/completions")
    assert len(usage) == 1
    assert usage[0].query["group_by"] == ["user_id", "api_key_id", "model"]
    assert usage[0].query["bucket_width"] == ["1d"]
    assert usage[0].query["start_time"] == ["1794787200"]  # 2026-11-16T00:00Z
    assert usage[0].query["end_time"] == ["1795392000"]  # 2026-11-23T00:00Z, exclusive
    assert {r.path for r in openai_api.requests} >= {
        "/v1/organization/projects",
        "/v1/organization/projects/proj_app/api_keys",
        "/v1/organization/projects/proj_empty/api_keys",
        "/v1/organization/costs",
    }
    messages = anthropic_api.requests_to("/v1/organizations/usage_report/messages")
    assert messages[0].query["group_by[]"] == ["api_key_id", "model"]
    assert messages[0].query["starting_at"] == ["2026-11-16T00:00:00Z"]
    code = anthropic_api.requests_to("/v1/organizations/usage_report/claude_code")
    assert [r.query["starting_at"][0] for r in code] == [f"2026-11-{d}" for d in range(16, 23)]
    assert all(r.query["limit"] == ["1000"] for r in code)
    assert all(r.headers["anthropic-version"] == "2023-06-01" for r in anthropic_api.requests)


def test_pulled_twice_nothing_doubles_and_a_restated_day_replaces(
    env: pytest.MonkeyPatch,
    openai_api: FakeOpenAIAdmin,
    anthropic_api: FakeAnthropicAdmin,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(PULL) == 0
    assert main(PULL) == 0
    assert facts(capsys)["tokens"] == ANA_WEEK
    # The vendors restate Nov 19 (OpenAI) and Nov 18 (Claude Code) with new numbers.
    openai_api.usage[date(2026, 11, 19)] = [
        usage_row(
            api_key_id="key_ana",
            project_id="proj_app",
            model="gpt-4.1",
            input_tokens=2500,
            output_tokens=800,
            num_model_requests=7,
        ),
    ]
    anthropic_api.claude_code[date(2026, 11, 18)] = [
        claude_code_day("ana@example.com", 21000, 5000, 3000, 1000, 300)
    ]
    assert main(PULL) == 0
    ana = facts(capsys)
    assert ana["tokens"] == {"input": 30700 + 500 + 1000, "cached": 5900, "output": 6550 + 100}
    assert ana["requests"] == 13
    # $3.00 + $0.0041 + $0.00028 + (2,500 × 2 + 800 × 8 = $0.0114) + $0.017685
    assert ana["cost_usd"] == "3.033465"


def test_a_vendor_answering_429_half_the_time_is_waited_for(
    env: pytest.MonkeyPatch, openai_api: FakeOpenAIAdmin, capsys: pytest.CaptureFixture[str]
) -> None:
    openai_api.rate_limit_every = 2
    assert main(["pull", "openai", "--since", SINCE, "--until", UNTIL]) == 0
    out = capsys.readouterr().out
    assert "rate limited" in out
    assert sum(1 for _ in openai_api.requests) >= 8  # every other one was refused
    assert openai_api.early_requests == []  # none came before its Retry-After had passed
    assert facts(capsys)["tokens"] == {"input": 3500, "cached": 200, "output": 1050}


def test_a_refused_key_is_a_visible_source_error(
    env: pytest.MonkeyPatch, anthropic_api: FakeAnthropicAdmin, capsys: pytest.CaptureFixture[str]
) -> None:
    env.setenv("ANTHROPIC_ADMIN_KEY", "sk-ant-admin01-revoked-000")
    assert main(PULL) == 1
    captured = capsys.readouterr()
    assert "1 of 3 sources pulled; failed: anthropic, claude-code" in captured.out
    assert "refused the credential (401: invalid x-api-key)" in captured.out
    assert "revoked" not in captured.out + captured.err  # never the credential
    # One request each: a refusal is not retried.
    assert len(anthropic_api.requests) == 2
    state = sources(capsys)
    assert "ANTHROPIC_ADMIN_KEY" in state["anthropic"]["last_error"]
    assert state["anthropic"]["consecutive_failures"] == 1
    assert state["anthropic"]["watermark"] is None
    assert state["openai"]["last_error"] is None
    assert facts(capsys)["tokens"] == {"input": 3500, "cached": 200, "output": 1050}


def test_an_expired_cursor_restarts_the_listing(
    env: pytest.MonkeyPatch, openai_api: FakeOpenAIAdmin, capsys: pytest.CaptureFixture[str]
) -> None:
    # 53 days are two pages of 31 buckets; the second page's cursor has expired.
    openai_api.expire_next_cursor()
    assert main(["pull", "openai", "--since", "2026-10-01", "--until", UNTIL]) == 0
    pages = [r for r in openai_api.requests_to("/v1/organization/usage/completions")]
    assert ["page" in r.query for r in pages] == [False, True, False, True]
    assert facts(capsys)["tokens"] == {"input": 3500, "cached": 200, "output": 1050}


def test_server_errors_are_retried_with_backoff(
    env: pytest.MonkeyPatch, anthropic_api: FakeAnthropicAdmin, capsys: pytest.CaptureFixture[str]
) -> None:
    anthropic_api.fail(500, times=2, path="/v1/organizations/usage_report/messages")
    assert main(["pull", "anthropic", "--since", SINCE, "--until", UNTIL]) == 0
    assert len(anthropic_api.requests_to("/v1/organizations/usage_report/messages")) == 3


def test_a_source_that_is_not_configured_is_a_usage_error(
    env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    env.delenv("OPENAI_ADMIN_KEY")
    assert main(["pull", "openai"]) == 2
    assert "set OPENAI_ADMIN_KEY" in capsys.readouterr().err
    assert main(["pull", "nosuch"]) == 2
    assert main(["pull", "--since", "2026-11-20", "--until", "2026-11-10"]) == 2
