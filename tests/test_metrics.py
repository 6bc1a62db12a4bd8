"""``GET /metrics`` scraped from a real server after real traffic: webhooks (accepted,
duplicate, rejected; 202, 401, 404, 415), a digest delivered through the fake Slack after a 429,
written by the fake OpenAI, and connector health read from ``source_state``."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.engine import Engine

from bot.context import AppContext
from bot.digest.service import digest_now
from bot.domain.weeks import Week
from bot.outbound.gate import shared_gate
from bot.slack.digest_delivery import deliverer_for, render_digest
from bot.store import source_state
from bot.store.db import transaction
from fakes.openai_api import GOOD_TEXT, FakeOpenAI
from fakes.slack_api import FakeSlack
from tests.conftest import FROZEN_NOW, WEBHOOK_TOKEN, LiveServer, make_settings, serve_app
from tests.helpers import dumps, usage_event

W47 = Week(2026, 47)
ANA = "ana@example.com"
ANA_SLACK = "U0ANAMETRIC"

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(live: LiveServer) -> Samples:
    response = live.client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=")
    return parse(response.text)


def parse(text: str) -> Samples:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def delta(before: Samples, after: Samples, name: str, **labels: str) -> float:
    return value(after, name, **labels) - value(before, name, **labels)


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        fake.add_user(id=ANA_SLACK, email=ANA)
        yield fake


@pytest.fixture
def openai() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as fake:
        fake.reply(GOOD_TEXT, prompt_tokens=321, completion_tokens=23)
        yield fake


@pytest.fixture
def context(database_url: str, engine: Engine, slack: FakeSlack, openai: FakeOpenAI) -> AppContext:
    settings = make_settings(
        database_url,
        webhook_tokens=WEBHOOK_TOKEN,
        slack_bot_token=slack.token,
        slack_api_url=slack.base_url,
        digest_delivery="slack",
        slack_messages_per_minute=600,
        openai_api_key=openai.api_key,
        openai_base_url=openai.base_url,
    )
    return AppContext(settings=settings, engine=engine, clock=lambda: FROZEN_NOW)


def post(live: LiveServer, path: str, body: Any, **headers: str) -> int:
    sent = {
        "authorization": f"Bearer {WEBHOOK_TOKEN}",
        "content-type": "application/json",
        **headers,
    }
    return live.client.post(path, content=dumps(body), headers=sent).status_code


def test_metrics_count_what_happened(
    context: AppContext, slack: FakeSlack, monkeypatch: pytest.MonkeyPatch
) -> None:
    gate = shared_gate()
    monkeypatch.setattr(gate, "min_interval", gate.min_interval)  # the digest re-paces it
    events = [
        usage_event("m-1", ANA, "2026-11-18T09:00:00Z", input_tokens=1200),
        usage_event("m-2", ANA, "2026-11-19T09:00:00Z", input_tokens=800),
        {"id": "m-3", "type": "ai.usage", "occurred_at": "not a time", "actor": {"email": ANA}},
    ]
    with serve_app(context) as live:
        before = scrape(live)
        assert post(live, "/webhooks/usage", events) == 202
        assert post(live, "/webhooks/usage", events) == 202  # the same again: duplicates
        assert post(live, "/webhooks/usage", events, authorization="Bearer wrong") == 401
        assert post(live, "/webhooks/usage", events, **{"content-type": "text/csv"}) == 415
        assert post(live, "/webhooks/no-such-vendor", events) == 404

        slack.fail_next("chat.postMessage", "ratelimited", times=1, retry_after=1)
        run = digest_now(
            context,
            week=W47,
            user=None,
            dry_run=False,
            deliverer=deliverer_for(context, io.StringIO()),
            render=render_digest,
        )
        assert [o.status for o in run.outcomes] == ["sent"]

        with transaction(context.engine) as session:
            source_state.record_success(
                session,
                "openai",
                now=FROZEN_NOW,
                checkpoint={"page": "x"},
                watermark=FROZEN_NOW - timedelta(hours=2),
                rows=40,
            )
            source_state.record_failure(
                session, "cursor", now=FROZEN_NOW, error="cursor: credential refused (401)"
            )
        text = live.client.get("/metrics").text
        after = parse(text)

    def events_delta(outcome: str) -> float:
        return delta(before, after, "ai_roi_events_total", source="usage", outcome=outcome)

    assert (events_delta("accepted"), events_delta("duplicate"), events_delta("rejected")) == (
        2,
        2,
        2,
    )

    def responses(status: int) -> float:
        return delta(
            before,
            after,
            "ai_roi_http_responses_total",
            route="/webhooks/{source}",
            method="POST",
            status=str(status),
        )

    assert [responses(s) for s in (202, 401, 404, 415)] == [2, 1, 1, 1]
    assert (
        delta(
            before,
            after,
            "ai_roi_http_responses_total",
            route="/metrics",
            method="GET",
            status="200",
        )
        == 1
    )

    assert delta(before, after, "ai_roi_digests_total", outcome="sent") == 1
    assert delta(before, after, "ai_roi_digests_total", outcome="failed") == 0
    assert (
        delta(
            before,
            after,
            "ai_roi_rate_limited_total",
            destination="slack",
            method="chat.postMessage",
        )
        == 1
    )
    assert delta(before, after, "ai_roi_rate_limit_wait_seconds_total", destination="slack") == 1
    assert delta(before, after, "ai_roi_summarizer_tokens_total", kind="input") == 321
    assert delta(before, after, "ai_roi_summarizer_tokens_total", kind="output") == 23

    assert value(after, "ai_roi_source_state_readable") == 1
    assert value(after, "ai_roi_source_lag_seconds", source="openai") == 7200
    assert value(after, "ai_roi_source_rows_pulled_total", source="openai") == 40
    assert value(after, "ai_roi_source_failing", source="openai") == 0
    assert value(after, "ai_roi_source_failing", source="cursor") == 1
    assert value(after, "ai_roi_source_consecutive_failures", source="cursor") == 1
    assert ("ai_roi_source_lag_seconds", frozenset({("source", "cursor")})) not in after
    assert (
        value(after, "ai_roi_source_last_success_timestamp_seconds", source="openai")
        == FROZEN_NOW.timestamp()
    )

    # Nobody is a label: no address, no Slack id, no name, anywhere in the exposition.
    assert "@" not in text and ANA_SLACK not in text and "ana" not in text
    labels = {name for (_, pairs) in after for name, _ in pairs}
    assert labels <= {"source", "outcome", "route", "method", "status", "destination", "kind", "le"}


def test_metrics_name_a_route_template_never_a_raw_path(context: AppContext) -> None:
    with serve_app(context) as live:
        for n in range(3):
            live.client.get(f"/no/such/page/{n}")
        after = scrape(live)
    assert (
        value(after, "ai_roi_http_responses_total", route="unmatched", method="GET", status="404")
        >= 3
    )
    assert not any("/no/such/page" in dict(pairs).get("route", "") for (_, pairs) in after)


def test_an_unreadable_source_state_is_reported_not_a_failed_scrape(
    context: AppContext, tmp_path: Any
) -> None:
    from bot.store.db import create_engine

    broken = create_engine(f"sqlite:///{tmp_path / 'no-such-dir' / 'x.db'}")
    with serve_app(AppContext(context.settings, broken, context.clock)) as live:
        after = scrape(live)
    broken.dispose()
    assert value(after, "ai_roi_source_state_readable") == 0


def test_metrics_are_documented() -> None:
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    operations = readme.split("## Operations", 1)[1].split("\n## ", 1)[0]
    for name in (
        "ai_roi_events_total",
        "ai_roi_http_responses_total",
        "ai_roi_http_request_duration_seconds",
        "ai_roi_digests_total",
        "ai_roi_rate_limited_total",
        "ai_roi_rate_limit_wait_seconds_total",
        "ai_roi_summarizer_tokens_total",
        "ai_roi_source_lag_seconds",
        "ai_roi_source_consecutive_failures",
        "ai_roi_source_failing",
        "ai_roi_source_last_success_timestamp_seconds",
        "ai_roi_source_rows_pulled_total",
        "ai_roi_source_state_readable",
    ):
        assert f"`{name}`" in operations, name
