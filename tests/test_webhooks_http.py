"""POST /webhooks/usage through the real app on a loopback port: auth, errors, partial acceptance."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from sqlmodel import Session, func, select

from bot.context import AppContext
from bot.store.models import Event
from tests.conftest import (
    FROZEN_NOW,
    WEBHOOK_SECRET,
    WEBHOOK_TOKEN,
    LiveServer,
    make_settings,
    serve_app,
)
from tests.helpers import artifact_event, dumps, signed_headers, usage_event

BEARER = {"authorization": f"Bearer {WEBHOOK_TOKEN}", "content-type": "application/json"}


def stored(context: AppContext) -> int:
    with Session(context.engine) as session:
        return session.exec(select(func.count()).select_from(Event)).one()


def post(
    live: LiveServer, body: bytes, headers: dict[str, str], source: str = "usage"
) -> httpx.Response:
    return live.client.post(f"/webhooks/{source}", content=body, headers=headers)


def test_batch_is_accepted_with_per_event_reasons_for_the_bad_ones(
    live: LiveServer, context: AppContext
) -> None:
    body = dumps(
        {
            "events": [
                usage_event("e1", "ana@example.com", "2026-11-18T09:12:00Z"),
                {
                    "id": "e2",
                    "type": "ai.usage",
                    "occurred_at": "2026-11-18T09:12:00Z",
                    "usage": {},
                },
                usage_event("e3", "ana@example.com", "2026-11-18T09:12:00"),
                usage_event("e4", "ana@example.com", "yesterday"),
                usage_event("e5", "ana@example.com", "2026-11-18T09:12:00Z", input_tokens=-5),
                usage_event("e6", "ana@example.com", "2026-11-18T09:12:00Z", output_tokens=1.5),  # type: ignore[arg-type]
                {
                    **usage_event("e7", "ana@example.com", "2026-11-18T09:12:00Z"),
                    "type": "ai.magic",
                },
                usage_event("e8", "ben@example.com", "2026-11-18T10:00:00+01:00"),
            ]
        }
    )
    response = post(live, body, BEARER)
    assert response.status_code == 202
    result = response.json()
    assert result["accepted"] == 2
    assert result["duplicates"] == 0
    reasons = {r["index"]: r["error"] for r in result["rejected"]}
    assert set(reasons) == {1, 2, 3, 4, 5, 6}
    assert "actor" in reasons[1]
    assert "no UTC offset" in reasons[2]
    assert "not an RFC 3339" in reasons[3]
    assert "negative" in reasons[4]
    assert "whole number" in reasons[5]
    assert "unknown type 'ai.magic'" in reasons[6]
    assert stored(context) == 2


def test_resending_is_idempotent_on_event_id(live: LiveServer, context: AppContext) -> None:
    events = [usage_event(f"e{i}", "ana@example.com", "2026-11-18T09:12:00Z") for i in range(3)]
    first = post(live, dumps(events), BEARER).json()
    second = post(
        live, dumps([*events, usage_event("e9", "ana@example.com", "2026-11-18T09:12:00Z")]), BEARER
    ).json()
    assert first == {"accepted": 3, "duplicates": 0, "rejected": []}
    assert second == {"accepted": 1, "duplicates": 3, "rejected": []}
    assert stored(context) == 4


def test_duplicates_inside_one_batch_are_stored_once(live: LiveServer, context: AppContext) -> None:
    event = usage_event("same", "ana@example.com", "2026-11-18T09:12:00Z")
    assert post(live, dumps([event, event]), BEARER).json() == {
        "accepted": 1,
        "duplicates": 1,
        "rejected": [],
    }
    assert stored(context) == 1


@pytest.mark.parametrize(
    "shape",
    [
        lambda e: {"events": [e]},
        lambda e: [e],
        lambda e: e,
    ],
    ids=["envelope", "array", "single"],
)
def test_every_json_shape_is_accepted(live: LiveServer, shape) -> None:  # type: ignore[no-untyped-def]
    body = dumps(shape(usage_event("x1", "ana@example.com", "2026-11-18T09:12:00Z")))
    assert post(live, body, BEARER).json()["accepted"] == 1


def test_ndjson_keeps_good_lines_and_reports_broken_ones(
    live: LiveServer, context: AppContext
) -> None:
    good = dumps(usage_event("n1", "ana@example.com", "2026-11-18T09:12:00Z"))
    body = (
        good
        + b"\n{not json\n\n"
        + dumps(usage_event("n2", "ana@example.com", "2026-11-18T09:13:00Z"))
        + b"\n"
    )
    response = post(live, body, {**BEARER, "content-type": "application/x-ndjson"})
    assert response.status_code == 202
    assert response.json()["accepted"] == 2
    [rejection] = response.json()["rejected"]
    assert rejection["index"] == 1 and "line 2 is not valid JSON" in rejection["error"]
    assert stored(context) == 2


def test_artifact_events_are_accepted(live: LiveServer) -> None:
    body = dumps(
        [
            artifact_event(
                "a1",
                "artifact.created",
                "ana@example.com",
                "2026-11-18T09:00:00Z",
                "dash-1",
                "dashboard",
            ),
            artifact_event(
                "a2", "artifact.viewed", "ben@example.com", "2026-11-18T10:00:00Z", "dash-1"
            ),
            {
                "id": "a3",
                "type": "artifact.viewed",
                "occurred_at": "2026-11-18T10:00:00Z",
                "actor": {"email": "ben@example.com"},
            },
        ]
    )
    result = post(live, body, BEARER).json()
    assert result["accepted"] == 2
    assert result["rejected"] == [
        {"index": 2, "error": '"artifact" object with an "id" is required for artifact events'}
    ]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{not json", "not valid JSON"),
        (b"", "empty"),
        (b'{"hello": "world"}', "expected"),
        (b"42", "expected"),
        (b'{"events": {"id": 1}}', "must be a JSON array"),
        (b"\xff\xfe", "UTF-8"),
    ],
)
def test_unusable_bodies_get_400_with_a_reason(
    live: LiveServer, context: AppContext, body: bytes, message: str
) -> None:
    response = post(live, body, BEARER)
    assert response.status_code == 400
    assert message in response.json()["error"]
    assert stored(context) == 0


def test_wrong_content_type_is_415(live: LiveServer) -> None:
    response = post(live, b"id=1", {**BEARER, "content-type": "application/x-www-form-urlencoded"})
    assert response.status_code == 415
    assert "application/json" in response.json()["error"]
    missing = live.client.post(
        "/webhooks/usage", content=b"{}", headers={"authorization": BEARER["authorization"]}
    )
    assert missing.status_code == 415


def test_unknown_source_is_404(live: LiveServer) -> None:
    response = post(live, b"[]", BEARER, source="myspace")
    assert response.status_code == 404
    assert "unknown source 'myspace'" in response.json()["error"]


def test_body_over_the_limit_is_413_and_nothing_is_stored(
    context: AppContext, database_url: str
) -> None:
    small = AppContext(
        make_settings(database_url, webhook_max_body_bytes=1024), context.engine, context.clock
    )
    events = [usage_event(f"big{i}", "ana@example.com", "2026-11-18T09:12:00Z") for i in range(40)]
    with serve_app(small) as live:
        response = post(live, dumps(events), BEARER)
        assert response.status_code == 413

        def chunks() -> Iterator[bytes]:  # no Content-Length: sent chunked
            body = dumps(events)
            for start in range(0, len(body), 100):
                yield body[start : start + 100]

        chunked = live.client.post("/webhooks/usage", content=chunks(), headers=BEARER)
        assert chunked.status_code == 413
    assert stored(context) == 0


class TestAuthentication:
    def test_bearer_token_must_match(self, live: LiveServer) -> None:
        body = dumps([usage_event("t1", "ana@example.com", "2026-11-18T09:12:00Z")])
        wrong = post(live, body, {**BEARER, "authorization": "Bearer nope"})
        assert wrong.status_code == 401
        assert "WEBHOOK_TOKENS" in wrong.json()["error"]
        assert WEBHOOK_TOKEN not in wrong.text
        assert post(live, body, {"content-type": "application/json"}).status_code == 401

    def test_standard_webhooks_signature(self, live: LiveServer, context: AppContext) -> None:
        body = dumps([usage_event("s1", "ana@example.com", "2026-11-18T09:12:00Z")])
        now = int(FROZEN_NOW.timestamp())
        ok = post(live, body, signed_headers(WEBHOOK_SECRET, body, timestamp=now))
        assert ok.status_code == 202, ok.text
        tampered = post(live, body + b" ", signed_headers(WEBHOOK_SECRET, body, timestamp=now))
        assert tampered.status_code == 401
        stale = post(live, body, signed_headers(WEBHOOK_SECRET, body, timestamp=now - 301))
        assert stale.status_code == 401 and "too old" in stale.json()["error"]
        future = post(live, body, signed_headers(WEBHOOK_SECRET, body, timestamp=now + 301))
        assert future.status_code == 401 and "future" in future.json()["error"]
        other_key = post(
            live, body, signed_headers("whsec_" + "QUJDREVGR0hJSktMTU5PUA==", body, timestamp=now)
        )
        assert other_key.status_code == 401
        assert stored(context) == 1

    def test_no_credentials_configured_refuses_everything(
        self, context: AppContext, database_url: str
    ) -> None:
        bare = AppContext(
            make_settings(database_url, webhook_tokens=None, webhook_secrets=None),
            context.engine,
            context.clock,
        )
        with serve_app(bare) as live:
            response = post(live, dumps([]), BEARER)
        assert response.status_code == 401
        assert "webhooks are disabled" in response.json()["error"]
