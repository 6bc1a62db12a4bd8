"""Structured logs and request ids: JSON lines from a real server, an id per request (the
caller's when sane), refused webhooks logged with their reason and never a secret."""

from __future__ import annotations

import io
import json
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.context import AppContext
from bot.observability.logs import configure_logging, redact
from bot.observability.progress import tty_progress
from bot.observability.requests import sane_request_id
from tests.conftest import WEBHOOK_TOKEN, LiveServer, make_settings, serve_app
from tests.helpers import dumps, usage_event
from tests.test_metrics import parse


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    """The process's logging set up as ``serve`` does with LOG_FORMAT=json, into a buffer."""
    root = logging.getLogger()
    level = root.level
    stream = io.StringIO()
    handler = configure_logging("INFO", "json", stream=stream)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


@pytest.fixture
def context(database_url: str, context: AppContext) -> AppContext:
    settings = make_settings(database_url, webhook_tokens=WEBHOOK_TOKEN)
    return AppContext(settings, context.engine, context.clock)


def test_json_lines_carry_the_request_id_and_refusals_their_reason(
    context: AppContext, json_log: io.StringIO
) -> None:
    wrong = "Bearer sk-live-0123456789abcdef-not-a-real-token"
    with serve_app(context) as live:
        refused = live.client.post(
            "/webhooks/usage",
            content=dumps([usage_event("e1", "ana@example.com", "2026-11-18T09:00:00Z")]),
            headers={
                "authorization": wrong,
                "content-type": "application/json",
                "x-request-id": "deploy-check.42",
            },
        )
        too_big = live.client.post(
            "/webhooks/usage",
            content=b"[" + b" " * (6 * 1024 * 1024) + b"]",
            headers={
                "authorization": f"Bearer {WEBHOOK_TOKEN}",
                "content-type": "application/json",
            },
        )
        not_json = live.client.post(
            "/webhooks/usage",
            content=b"{nope",
            headers={
                "authorization": f"Bearer {WEBHOOK_TOKEN}",
                "content-type": "application/json",
                "x-request-id": "bad id with spaces",
            },
        )
    assert (refused.status_code, too_big.status_code, not_json.status_code) == (401, 413, 400)
    assert refused.headers["x-request-id"] == "deploy-check.42"
    generated = not_json.headers["x-request-id"]
    assert generated != "bad id with spaces" and len(generated) == 32
    assert too_big.headers["x-request-id"] not in (generated, "deploy-check.42")

    logged = lines(json_log)
    for entry in logged:
        assert {"time", "level", "logger", "message"} <= entry.keys()
        assert entry["time"].endswith("Z")
    warnings = [e for e in logged if e["level"] == "WARNING" and e["logger"] == "bot.http.app"]
    by_id = {e.get("request_id"): e for e in warnings}
    auth = by_id["deploy-check.42"]
    assert (
        "401" in auth["message"] and "bearer token is not one of WEBHOOK_TOKENS" in auth["message"]
    )
    assert auth["source"] == "usage" and auth["outcome"] == "refused 401"
    assert "413" in by_id[too_big.headers["x-request-id"]]["message"]
    assert "not valid JSON" in by_id[generated]["message"]
    everything = json_log.getvalue()
    assert "sk-live" not in everything and WEBHOOK_TOKEN not in everything
    assert "nope" not in everything  # never the body


def test_a_sane_request_id_is_kept_and_anything_else_replaced() -> None:
    assert sane_request_id("abc-123_x.y:z") == "abc-123_x.y:z"
    for bad in (None, "", "x" * 129, "a b", "é", "id\r\nX-Evil: 1", "<script>"):
        replaced = sane_request_id(bad)
        assert replaced != bad and len(replaced) == 32 and replaced.isalnum()


def test_secrets_are_masked_in_any_line(json_log: io.StringIO) -> None:
    log = logging.getLogger("bot.test")
    bot_token = "xoxb-1000000001-2000000002-aIrOiFaKeSlAcKtOkEn0001"
    try:
        raise RuntimeError(f"call failed with token={bot_token}")
    except RuntimeError:
        log.exception(
            "sending with %s and whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw, Authorization: Bearer abc.def.ghi",
            "xapp-1-A0AIROI0001-3000000003-secret",
        )
    (entry,) = lines(json_log)
    text = json.dumps(entry)
    for secret in (bot_token, "xapp-1-A0AIROI0001", "MfKQ9r8GKYqr", "abc.def"):
        assert secret not in text
    assert "[redacted slack]" in entry["message"] and "[redacted whsec]" in entry["message"]
    assert "Bearer [redacted]" in entry["message"]
    assert "RuntimeError" in entry["exception"] and "[redacted slack]" in entry["exception"]
    assert redact("sk-proj-AbCdEf0123456789 used") == "[redacted key] used"
    assert redact("token github_pat_11AAAAAA0example_x9") == "token [redacted github]"
    assert redact("ghp_16C7e42F292c6912E7710c838347Ae178B4a!") == "[redacted github]!"
    for plain in ("no secrets in 2026-W47, 12 sent", "bearer token is not one of WEBHOOK_TOKENS"):
        assert redact(plain) == plain


def test_text_format_is_one_plain_line_with_the_request_id() -> None:
    from bot.observability.logs import request_id

    root = logging.getLogger()
    level = root.level
    stream = io.StringIO()
    handler = configure_logging("INFO", "text", stream=stream)
    token = request_id.set("req-7")
    try:
        logging.getLogger("bot.x").info("digest tick: %d sent", 3)
    finally:
        request_id.reset(token)
        root.removeHandler(handler)
        root.setLevel(level)
    (line,) = stream.getvalue().splitlines()
    assert line.endswith("INFO bot.x [req-7]: digest tick: 3 sent")


def test_configure_logging_replaces_its_own_handler_only() -> None:
    root = logging.getLogger()
    level = root.level
    others = list(root.handlers)
    first = configure_logging("WARNING", "text", stream=io.StringIO())
    second = configure_logging("INFO", "json", stream=io.StringIO())
    try:
        assert first not in root.handlers and second in root.handlers
        assert all(h in root.handlers for h in others)
        assert root.level == logging.INFO
    finally:
        root.removeHandler(second)
        root.setLevel(level)


def test_progress_redraws_in_place_and_ends_the_line() -> None:
    stream = io.StringIO()
    ticks = iter([0.0, 0.01, 0.5, 0.51])
    update = tty_progress(stream, "people", clock=lambda: next(ticks))
    for done in range(1, 5):
        update(done, 4)
    drawn = stream.getvalue()
    assert drawn.count("\r") == 3  # the second update came too soon; the last always shows
    assert drawn.endswith("] 4/4 people\n")
    assert "1/4 people" in drawn and "2/4" not in drawn


def test_serve_with_log_format_json_writes_only_json_lines(tmp_path: Path) -> None:
    from tests.test_serve import free_port

    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "serve", "--port", str(port)],
        cwd=tmp_path,
        env={
            "PATH": os.environ.get("PATH", ""),
            "DATABASE_URL": f"sqlite:///{tmp_path / 'serve.db'}",
            "WEBHOOK_TOKENS": WEBHOOK_TOKEN,
            "LOG_FORMAT": "json",
            "LOG_LEVEL": "INFO",
        },
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=5) as client:
            deadline = time.monotonic() + 30
            while True:
                try:
                    if client.get("/healthz").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert process.poll() is None and time.monotonic() < deadline, (
                    "serve did not come up"
                )
                time.sleep(0.1)
            refused = client.post(
                "/webhooks/usage",
                content=b"[]",
                headers={"content-type": "application/json", "x-request-id": "probe-1"},
            )
            assert refused.status_code == 401 and refused.headers["x-request-id"] == "probe-1"
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=20)
    entries = [json.loads(line) for line in stderr.splitlines()]  # every line is one object
    assert any(e["logger"] == "bot.wiring" and "listening" in e["message"] for e in entries)
    mine = [e for e in entries if e.get("request_id") == "probe-1"]
    assert {e["logger"] for e in mine} >= {"bot.http.app", "uvicorn.access"}


def test_a_digest_run_reports_progress_after_each_person(
    database_url: str, engine: Any, clock: Any
) -> None:
    from bot.digest.service import digest_now
    from bot.domain.weeks import Week
    from bot.ingest.pipeline import ingest_body
    from bot.slack.digest_delivery import deliverer_for, render_digest

    events = [
        usage_event(f"p-{n}", f"person{n}@example.com", "2026-11-18T09:00:00Z") for n in range(3)
    ]
    assert ingest_body(engine, "usage", dumps(events), "application/json").accepted == 3
    context = AppContext(make_settings(database_url), engine, lambda: clock["now"])
    seen: list[tuple[int, int]] = []
    run = digest_now(
        context,
        week=Week(2026, 47),
        user=None,
        dry_run=True,
        deliverer=deliverer_for(context, io.StringIO()),
        render=render_digest,
        progress=lambda done, total: seen.append((done, total)),
    )
    assert len(run.outcomes) == 3 and seen == [(1, 3), (2, 3), (3, 3)]


def test_an_unexpected_failure_is_logged_with_its_request_id(
    context: AppContext, json_log: io.StringIO
) -> None:
    from bot.wiring import build_app

    app = build_app(context)

    async def boom() -> None:
        raise RuntimeError("a bug")

    app.add_api_route("/boom", boom)
    with LiveServer(app) as live:
        before = live.client.get("/metrics").text
        answer = live.client.get("/boom", headers={"x-request-id": "bug-report-1"})
        scraped = httpx.get(f"{live.url}/metrics").text  # uvicorn closed the failed connection
    assert answer.status_code == 500
    assert answer.json() == {"error": "internal error; the event was not stored"}
    assert answer.headers["x-request-id"] == "bug-report-1"  # quotable, like every other answer
    (entry,) = [e for e in lines(json_log) if e["message"].startswith("unhandled error")]
    assert entry["request_id"] == "bug-report-1" and "RuntimeError: a bug" in entry["exception"]
    failed = (
        "ai_roi_http_responses_total",
        frozenset({("method", "GET"), ("route", "/boom"), ("status", "500")}),
    )
    assert (
        parse(scraped).get(failed, 0) - parse(before).get(failed, 0) == 1
    )  # counters are per process
