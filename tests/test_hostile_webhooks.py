"""Hostile input over HTTP, on SQLite and PostgreSQL: unstorable strings, absurd timestamps,
replays, malformed secrets, an unreachable database, and ``ai-roi ingest`` on the same bytes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, col, func, select

from bot.context import AppContext
from bot.errors import ConfigError
from bot.settings import load_settings
from bot.store.db import create_engine
from bot.store.models import Event, WebhookReceipt
from bot.store.webhook_receipts import KEEP_FOR
from tests.conftest import (
    FROZEN_NOW,
    WEBHOOK_SECRET,
    WEBHOOK_TOKEN,
    LiveServer,
    make_settings,
    serve_app,
)
from tests.helpers import dumps, signed_headers, usage_event
from tests.support.slack_app import SECRET as SLACK_SECRET

BEARER = {"authorization": f"Bearer {WEBHOOK_TOKEN}", "content-type": "application/json"}
OCCURRED = "2026-11-18T09:12:00Z"
NOW = int(FROZEN_NOW.timestamp())


def stored(context: AppContext) -> list[str]:
    with Session(context.engine) as session:
        return sorted(session.exec(select(Event.key)).all())


def hostile_event(case: str) -> dict[str, Any]:
    event = usage_event("bad", "ana@example.com", OCCURRED)
    if case == "nul in model":
        event["model"] = "gpt\x00"
    elif case == "surrogate in tool":
        event["tool"] = "chat\ud800"
    elif case == "control in id":
        event["id"] = "bad\x07"
    elif case == "nul in email":
        event["actor"] = {"email": "an\x00a@example.com"}
    elif case == "long slack id":
        event["actor"] = {"slack_user_id": "U" * 321}
    elif case == "long external id":
        event["actor"] = {"external_id": "x" * 321, "source": "openai"}
    elif case == "long actor source":
        event["actor"] = {"external_id": "x", "source": "s" * 33}
    elif case == "surrogate in artifact title":
        event = {
            "id": "bad",
            "type": "artifact.created",
            "occurred_at": OCCURRED,
            "actor": {"email": "ana@example.com"},
            "artifact": {"id": "d-1", "kind": "dashboard", "title": "T\udc00"},
        }
    elif case == "nul in artifact tag":
        event = {
            "id": "bad",
            "type": "artifact.created",
            "occurred_at": OCCURRED,
            "actor": {"email": "ana@example.com"},
            "artifact": {"id": "d-2", "kind": "dashboard", "tags": ["ok", "a\x00b"]},
        }
    return event


CASES = [
    ("nul in model", "model contains a NUL character"),
    ("surrogate in tool", "tool contains a lone surrogate (U+D800)"),
    ("control in id", "id contains a control character (U+0007)"),
    ("nul in email", "actor contains a NUL character"),
    ("long slack id", "actor is longer than 320 characters"),
    ("long external id", "actor is longer than 320 characters"),
    ("long actor source", "actor source is longer than 32 characters"),
    ("surrogate in artifact title", "artifact.title contains a lone surrogate (U+DC00)"),
    ("nul in artifact tag", "artifact tag contains a NUL character"),
]


@pytest.mark.parametrize(("case", "reason"), CASES, ids=[case for case, _ in CASES])
def test_three_valid_and_one_hostile_event_store_three_and_reject_one(
    live: LiveServer, context: AppContext, case: str, reason: str
) -> None:
    events = [
        usage_event("e1", "ana@example.com", OCCURRED),
        usage_event("e2", "ben@example.com", OCCURRED),
        hostile_event(case),
        usage_event("e3", "ana@example.com", OCCURRED),
    ]
    # json.dumps escapes the characters (\u0000, \ud800), as any JSON sender may.
    response = live.client.post("/webhooks/usage", content=dumps(events), headers=BEARER)
    assert response.status_code == 202, response.text
    answer = response.json()
    assert (answer["accepted"], answer["duplicates"]) == (3, 0)
    assert [r["index"] for r in answer["rejected"]] == [2]
    assert answer["rejected"][0]["error"].startswith(reason)
    assert stored(context) == ["e1", "e2", "e3"]


def test_an_ndjson_line_with_raw_control_bytes_is_rejected_alone(
    live: LiveServer, context: AppContext
) -> None:
    good = json.dumps(usage_event("e1", "ana@example.com", OCCURRED))
    bad = json.dumps(usage_event("e2", "ana@example.com", OCCURRED), ensure_ascii=False)
    bad = bad.replace('"chatgpt"', '"chat\\u0000gpt"')
    body = f"{good}\n{bad}\n".encode()
    headers = {**BEARER, "content-type": "application/x-ndjson"}
    response = live.client.post("/webhooks/usage", content=body, headers=headers)
    assert response.status_code == 202, response.text
    assert response.json()["accepted"] == 1
    assert [r["index"] for r in response.json()["rejected"]] == [1]
    assert stored(context) == ["e1"]


def test_a_vendor_route_rejects_a_hostile_record_and_stores_the_rest(
    live: LiveServer, context: AppContext
) -> None:
    rows = [
        {"email": f"{who}@example.com", "date": 1763424000000, "isActive": True, "mostUsedModel": m}
        for who, m in (("ana", "gpt-4.1"), ("ben", "gpt\x00"), ("cy", "claude"))
    ]
    response = live.client.post("/webhooks/cursor", content=dumps({"data": rows}), headers=BEARER)
    assert response.status_code == 202, response.text
    answer = response.json()
    assert answer["accepted"] == 2
    assert [r["index"] for r in answer["rejected"]] == [1]
    assert "NUL" in answer["rejected"][0]["error"]


# Absurd timestamps -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "timestamp", ["1" + "0" * 400, "9" * 13, "-1", "+1764072000", "1e9", "12.5", "abc"]
)
def test_an_absurd_webhook_timestamp_is_401(live: LiveServer, timestamp: str) -> None:
    body = dumps([usage_event("e1", "ana@example.com", OCCURRED)])
    headers = signed_headers(WEBHOOK_SECRET, body, timestamp=NOW)
    headers["webhook-timestamp"] = timestamp
    response = live.client.post("/webhooks/usage", content=body, headers=headers)
    assert response.status_code == 401, response.text
    assert "Unix seconds" in response.json()["error"]


# Replays ------------------------------------------------------------------------------------


def aggregate(tokens: int) -> bytes:
    """One per-user-day record (Claude Code analytics), restated by its newer copy."""
    return dumps(
        {
            "data": [
                {
                    "date": "2026-11-18T00:00:00Z",
                    "actor": {"type": "user_actor", "email_address": "ana@example.com"},
                    "organization_id": "org-1",
                    "customer_type": "api",
                    "terminal_type": "vscode",
                    "core_metrics": {
                        "num_sessions": 1,
                        "lines_of_code": {"added": 10, "removed": 0},
                        "commits_by_claude_code": 0,
                        "pull_requests_by_claude_code": 0,
                    },
                    "tool_actions": {},
                    "model_breakdown": [
                        {
                            "model": "claude-sonnet-4",
                            "tokens": {
                                "input": tokens,
                                "output": 10,
                                "cache_read": 0,
                                "cache_creation": 0,
                            },
                            "estimated_cost": {"currency": "USD", "amount": 100},
                        }
                    ],
                }
            ],
            "has_more": False,
            "next_page": None,
        }
    )


def input_tokens(context: AppContext) -> int:
    with Session(context.engine) as session:
        return int(session.exec(select(func.sum(Event.input_tokens))).one() or 0)


def test_a_replayed_message_changes_nothing(live: LiveServer, context: AppContext) -> None:
    """An aggregate, its restatement, then the first message again with its own id and
    signature: the replay is answered 202, counted as duplicates, and the restated value stays."""
    first, restated = aggregate(100), aggregate(250)
    first_headers = signed_headers(WEBHOOK_SECRET, first, msg_id="msg_first", timestamp=NOW)
    answer = live.client.post("/webhooks/claude-code", content=first, headers=first_headers)
    assert answer.status_code == 202, answer.text
    events = answer.json()["accepted"]
    assert events > 0 and answer.json()["duplicates"] == 0
    assert input_tokens(context) == 100

    second = signed_headers(WEBHOOK_SECRET, restated, msg_id="msg_second", timestamp=NOW)
    answer = live.client.post("/webhooks/claude-code", content=restated, headers=second)
    assert answer.status_code == 202 and answer.json()["accepted"] >= 1, answer.text
    assert input_tokens(context) == 250

    replay = live.client.post("/webhooks/claude-code", content=first, headers=first_headers)
    assert replay.status_code == 202, replay.text
    assert replay.json() == {"accepted": 0, "duplicates": events, "rejected": []}
    assert input_tokens(context) == 250


def test_a_replay_of_new_events_stores_nothing_more(live: LiveServer, context: AppContext) -> None:
    body = dumps([usage_event(f"e{i}", "ana@example.com", OCCURRED) for i in range(3)])
    headers = signed_headers(WEBHOOK_SECRET, body, msg_id="msg_x", timestamp=NOW)
    assert (
        live.client.post("/webhooks/usage", content=body, headers=headers).json()["accepted"] == 3
    )
    with Session(context.engine) as session:
        for row in session.exec(select(Event)).all():
            session.delete(row)
        session.commit()
    again = live.client.post("/webhooks/usage", content=body, headers=headers)
    assert again.json() == {"accepted": 0, "duplicates": 3, "rejected": []}
    assert stored(context) == []


def test_bearer_requests_and_distinct_ids_are_not_replays(
    live: LiveServer, context: AppContext
) -> None:
    body = dumps([usage_event("e1", "ana@example.com", OCCURRED)])
    for msg_id in ("msg_a", "msg_b"):
        headers = signed_headers(WEBHOOK_SECRET, body, msg_id=msg_id, timestamp=NOW)
        response = live.client.post("/webhooks/usage", content=body, headers=headers)
        assert response.json()["duplicates"] == 1 - (msg_id == "msg_a")
    with Session(context.engine) as session:
        assert session.exec(select(func.count()).select_from(WebhookReceipt)).one() == 2


def test_a_signed_message_is_checked_remembered_and_received_at_one_moment(
    live: LiveServer, context: AppContext, clock: dict[str, Any]
) -> None:
    """The app's clock, read once the body is in: the signature's age is judged at it, the
    receipt remembers it, and the events are received at it."""
    clock["now"] = FROZEN_NOW + KEEP_FOR / 5  # the message was signed three minutes before
    body = dumps([usage_event("e1", "ana@example.com", OCCURRED)])
    headers = signed_headers(WEBHOOK_SECRET, body, msg_id="msg_at", timestamp=NOW)
    assert live.client.post("/webhooks/usage", content=body, headers=headers).status_code == 202
    with Session(context.engine) as session:
        event = session.exec(select(Event)).one()
        receipt = session.exec(select(WebhookReceipt)).one()
    assert event.received_at == receipt.received_at == clock["now"]


def test_old_receipts_are_purged_when_new_ones_are_stored(
    live: LiveServer, context: AppContext, clock: dict[str, Any]
) -> None:
    body = dumps([usage_event("e1", "ana@example.com", OCCURRED)])
    headers = signed_headers(WEBHOOK_SECRET, body, msg_id="msg_old", timestamp=NOW)
    live.client.post("/webhooks/usage", content=body, headers=headers)
    clock["now"] = FROZEN_NOW + KEEP_FOR * 2
    later = int(clock["now"].timestamp())
    body = dumps([usage_event("e2", "ana@example.com", OCCURRED)])
    headers = signed_headers(WEBHOOK_SECRET, body, msg_id="msg_new", timestamp=later)
    assert live.client.post("/webhooks/usage", content=body, headers=headers).status_code == 202
    with Session(context.engine) as session:
        times = session.exec(select(col(WebhookReceipt.received_at))).all()
    assert times == [clock["now"]]


# Secrets validated at start --------------------------------------------------------------------


def test_a_malformed_webhook_secret_stops_the_settings_naming_the_variable_not_the_value() -> None:
    with pytest.raises(ConfigError) as refused:
        load_settings(env_file=None, webhook_secrets=f"whsec_!!!notbase64,{WEBHOOK_SECRET}")
    message = str(refused.value)
    assert message.startswith("WEBHOOK_SECRETS: entry 1 of 2:")
    assert "notbase64" not in message and WEBHOOK_SECRET not in message
    assert "\n" not in message


def test_serve_refuses_to_start_with_a_malformed_secret(tmp_path: Path) -> None:
    env = {
        **{k: v for k, v in os.environ.items() if k.upper() not in ("DATABASE_URL",)},
        "DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}",
        "WEBHOOK_SECRETS": "whsec_!!!notbase64",
    }
    done = subprocess.run(
        [sys.executable, "-m", "bot", "serve", "--port", "0"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        cwd=tmp_path,
        check=False,
    )
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "WEBHOOK_SECRETS" in lines[0], done.stderr
    assert "notbase64" not in done.stderr


# The database unreachable ------------------------------------------------------------------------


@pytest.mark.parametrize("route", ["/webhooks/usage", "/v1/traces", "/webhooks/cursor"])
def test_an_unreachable_database_is_503_with_retry_after(route: str, unused_port: int) -> None:
    url = f"postgresql+psycopg://postgres@127.0.0.1:{unused_port}/nowhere?connect_timeout=2"
    engine = create_engine(url)
    context = AppContext(make_settings(url), engine, lambda: FROZEN_NOW)
    body = {
        "/webhooks/usage": dumps([usage_event("e1", "ana@example.com", OCCURRED)]),
        "/v1/traces": dumps(
            {
                "resourceSpans": [
                    {
                        "scopeSpans": [
                            {
                                "spans": [
                                    {
                                        "traceId": "0af7651916cd43dd8448eb211c80319c",
                                        "spanId": "b7ad6b7169203331",
                                        "name": "chat",
                                        "startTimeUnixNano": "1763456000000000000",
                                        "endTimeUnixNano": "1763456001000000000",
                                        "attributes": [
                                            {
                                                "key": "gen_ai.usage.input_tokens",
                                                "value": {"intValue": "10"},
                                            },
                                            {
                                                "key": "user.email",
                                                "value": {"stringValue": "ana@example.com"},
                                            },
                                        ],
                                    }
                                ]
                            }
                        ]
                    }
                ]
            }
        ),
        "/webhooks/cursor": dumps(
            {"data": [{"email": "ana@example.com", "date": 1763424000000, "isActive": True}]}
        ),
    }[route]
    try:
        with serve_app(context) as live:
            response = live.client.post(route, content=body, headers=BEARER)
    finally:
        engine.dispose()
    assert response.status_code == 503, response.text
    assert response.headers["retry-after"] == "5"
    assert "nothing was stored" in response.json()["error"]


def test_an_unreadable_sqlite_file_is_503_and_nothing_is_acknowledged(
    tmp_path: Path, sqlite_template: Path
) -> None:
    directory = tmp_path / "db"
    directory.mkdir()
    path = directory / "ai-roi.db"
    path.write_bytes(sqlite_template.read_bytes())
    url = f"sqlite:///{path}"
    engine = create_engine(url)
    context = AppContext(make_settings(url), engine, lambda: FROZEN_NOW)
    body = dumps([usage_event("e1", "ana@example.com", OCCURRED)])
    try:
        with serve_app(context) as live:
            path.unlink()
            directory.rmdir()  # the file and its folder are gone: SQLite cannot open it
            engine.dispose()
            response = live.client.post("/webhooks/usage", content=body, headers=BEARER)
    finally:
        engine.dispose()
    assert response.status_code == 503, response.text
    assert response.headers["retry-after"] == "5"


@pytest.fixture
def unused_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


# Slack: absurd timestamps and unparseable signed payloads ------------------------------------


def slack_signed(body: bytes, timestamp: str | None = None) -> dict[str, str]:
    import hashlib
    import hmac

    ts = timestamp or str(int(time.time()))
    digest = hmac.new(SLACK_SECRET.encode(), f"v0:{ts}:".encode() + body, hashlib.sha256)
    return {
        "x-slack-request-timestamp": ts,
        "x-slack-signature": f"v0={digest.hexdigest()}",
        "content-type": "application/x-www-form-urlencoded",
    }


@pytest.fixture
def slack_live(context: AppContext, database_url: str) -> Any:
    from fakes.slack_api import FakeSlack
    from tests.support.slack_app import serve_with_slack

    with FakeSlack() as fake, serve_with_slack(context, database_url, fake) as live:
        yield live


@pytest.mark.parametrize("timestamp", ["abc", "9" * 400, "1" + "0" * 400, "-5", ""])
def test_an_absurd_slack_timestamp_is_401(slack_live: LiveServer, timestamp: str) -> None:
    body = b"command=%2Fai-roi&text=help&user_id=U1&team_id=T1"
    headers = slack_signed(body)
    headers["x-slack-request-timestamp"] = timestamp
    response = slack_live.client.post("/slack/events", content=body, headers=headers)
    assert response.status_code == 401, response.text


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"payload=%7Bnot+json", "application/x-www-form-urlencoded"),
        (b"payload=%5B1%2C2%5D", "application/x-www-form-urlencoded"),
        (b"payload=null", "application/x-www-form-urlencoded"),
        (b"{not json", "application/json"),
        (b"[1, 2]", "application/json"),
        (b"\xff\xfe", "application/x-www-form-urlencoded"),
    ],
)
def test_a_signed_but_unparseable_slack_body_is_400(
    slack_live: LiveServer, body: bytes, content_type: str
) -> None:
    headers = {**slack_signed(body), "content-type": content_type}
    response = slack_live.client.post("/slack/events", content=body, headers=headers)
    assert response.status_code == 400, response.text
    assert response.json()["error"]


def test_an_unsigned_unparseable_slack_body_is_401_not_400(slack_live: LiveServer) -> None:
    body = b"payload=%7Bnot+json"
    headers = {**slack_signed(body), "x-slack-signature": "v0=" + "0" * 64}
    response = slack_live.client.post("/slack/events", content=body, headers=headers)
    assert response.status_code == 401


# ai-roi ingest --------------------------------------------------------------------------------


def test_ai_roi_ingest_stores_the_valid_records_and_prints_no_sql_or_data(
    database_url: str, tmp_path: Path
) -> None:
    events = [usage_event(f"e{i}", "ana@example.com", OCCURRED) for i in range(10)]
    events[4]["model"] = "secret-model-\x00-name"
    path = tmp_path / "events.json"
    path.write_bytes(dumps(events))
    env = {**os.environ, "DATABASE_URL": database_url}
    done = subprocess.run(
        [sys.executable, "-m", "bot", "ingest", "--source", "usage", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=tmp_path,
        check=False,
    )
    assert "INSERT" not in done.stderr and "secret-model" not in done.stderr, done.stderr
    assert "event 4 rejected: model contains a NUL character" in done.stderr
    engine = create_engine(database_url)
    try:
        with Session(engine) as session:
            assert session.exec(select(func.count()).select_from(Event)).one() == 9
    finally:
        engine.dispose()
