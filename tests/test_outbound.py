"""The outbound layer against a real HTTP server on loopback: Retry-After, backoff, typed errors,
budgets, signed download links, and no credential in any message."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from bot.errors import (
    BudgetExhaustedError,
    CredentialRefusedError,
    CursorExpiredError,
    RateLimitedError,
    RequestFailedError,
    UnavailableError,
)
from bot.outbound.clients import http_client
from bot.outbound.gate import RateGate
from bot.outbound.http import Outbound
from bot.outbound.retry import RetryPolicy, call_with_retries, retry_after_seconds

SECRET = "sk-admin-do-not-log"


@dataclass
class Scripted:
    """Answers in order; each is (status, headers, body). Records what arrived."""

    answers: list[tuple[int, dict[str, str], Any]]
    seen: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)


@pytest.fixture
def server() -> Iterator[tuple[str, Scripted]]:
    script = Scripted(answers=[])

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            script.seen.append((self.command, self.path, dict(self.headers.items())))
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            status, headers, body = script.answers.pop(0) if script.answers else (200, {}, {})
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = _answer

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", script
    finally:
        httpd.shutdown()
        httpd.server_close()


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def outbound(base: str, time: FakeTime, **kwargs: Any) -> Outbound:
    gate = RateGate(min_interval=0, clock=time.clock, sleep=time.sleep)
    client = http_client(base, headers={"Authorization": f"Bearer {SECRET}"})
    return Outbound("vendor", client, gate=gate, sleep=time.sleep, **kwargs)


def test_a_429_waits_its_retry_after_at_the_gate_then_succeeds(
    server: tuple[str, Scripted],
) -> None:
    base, script = server
    script.answers = [(429, {"Retry-After": "7"}, {}), (200, {}, {"data": [1]})]
    time = FakeTime()
    out = outbound(base, time)
    assert out.get_json("/v1/usage", params={"page": "a"}) == {"data": [1]}
    assert time.slept == [7.0] and out.rate_limited == 1 and out.requests_made == 2
    assert [path for _, path, _ in script.seen] == ["/v1/usage?page=a"] * 2


def test_5xx_backs_off_with_growing_jittered_waits_and_gives_up_after_the_policy(
    server: tuple[str, Scripted],
) -> None:
    base, script = server
    script.answers = [(503, {}, {})] * 4
    time = FakeTime()
    out = outbound(base, time, policy=RetryPolicy(max_attempts=4, backoff_base=1, backoff_cap=3))
    with pytest.raises(UnavailableError, match="answered 503"):
        out.get_json("/v1/usage")
    assert len(script.seen) == 4 and len(time.slept) == 3
    assert all(0 <= wait <= cap for wait, cap in zip(time.slept, [1, 2, 3], strict=True))


def test_a_refused_credential_is_not_retried_and_never_named(server: tuple[str, Scripted]) -> None:
    base, script = server
    script.answers = [(401, {}, {"error": {"message": "invalid x-api-key"}})]
    out = outbound(base, FakeTime())
    with pytest.raises(CredentialRefusedError) as refused:
        out.get_json("/v1/organizations/usage_report/messages", params={"key": SECRET})
    assert len(script.seen) == 1
    message = str(refused.value)
    assert "invalid x-api-key" in message and "401" in message and SECRET not in message
    assert "/v1/organizations/usage_report/messages" in message


def test_410_is_an_expired_cursor_and_other_4xx_carry_the_vendors_reason(
    server: tuple[str, Scripted],
) -> None:
    base, script = server
    script.answers = [(410, {}, {"message": "cursor expired"}), (422, {}, {"message": "bad day"})]
    out = outbound(base, FakeTime())
    with pytest.raises(CursorExpiredError, match="cursor expired"):
        out.get_json("/page")
    with pytest.raises(RequestFailedError, match="422: bad day") as failed:
        out.post_json("/query", json={"day": "x"})
    assert failed.value.status == 422


def test_the_budget_stops_a_run_before_the_request_that_would_exceed_it(
    server: tuple[str, Scripted],
) -> None:
    base, script = server
    out = outbound(base, FakeTime(), budget=2)
    out.get_json("/a")
    out.get_json("/b")
    with pytest.raises(BudgetExhaustedError, match="budget of 2"):
        out.get_json("/c")
    assert len(script.seen) == 2


def test_a_signed_link_on_another_host_gets_no_credential_and_an_expired_one_is_said_so(
    server: tuple[str, Scripted],
) -> None:
    base, script = server
    api = base.replace("127.0.0.1", "localhost")  # the API "host"; the link points elsewhere
    script.answers = [(200, {}, b'{"a":1}\n'), (403, {}, b"<Error>Request has expired</Error>")]
    out = outbound(api, FakeTime())
    assert out.download(f"{base}/report.ndjson?sig=abc") == b'{"a":1}\n'
    with pytest.raises(CursorExpiredError, match="expired"):
        out.download(f"{base}/report.ndjson?sig=old")
    assert all("Authorization" not in headers for _, _, headers in script.seen)


def test_a_post_is_not_repeated_after_a_network_error_unless_marked_safe() -> None:
    time = FakeTime()
    out = outbound("http://127.0.0.1:9", time)  # discard port: the connection is refused
    with pytest.raises(Exception) as refused:
        out.post_json("/q", json={})
    assert not isinstance(refused.value, UnavailableError) and out.requests_made == 1
    with pytest.raises(UnavailableError):
        out.post_json("/q", json={}, safe_to_repeat=True)
    assert out.requests_made == 1 + RetryPolicy().max_attempts


def test_retry_after_reads_seconds_and_http_dates_and_refuses_nonsense() -> None:
    now = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
    assert retry_after_seconds({"retry-after": "30"}) == 30.0
    assert retry_after_seconds({"Retry-After": "Wed, 02 Dec 2026 12:00:45 GMT"}, now=now) == 45.0
    assert retry_after_seconds({"Retry-After": "Wed, 02 Dec 2026 11:00:00 GMT"}, now=now) == 0.0
    assert retry_after_seconds({"Retry-After": "9" * 400}) is None
    assert retry_after_seconds({"Retry-After": "soon"}) is None
    assert retry_after_seconds({"Retry-After": "99999"}) == 15 * 60.0  # capped
    assert retry_after_seconds({}) is None


def test_a_rate_limit_seen_by_one_caller_holds_every_caller_of_the_gate() -> None:
    time = FakeTime()
    gate = RateGate(min_interval=0, clock=time.clock, sleep=time.sleep)
    answers: list[Exception | str] = [RateLimitedError("slow down", retry_after=5), "ok"]

    def attempt() -> str:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    assert call_with_retries(attempt, gate=gate, sleep=time.sleep) == "ok"
    assert time.slept == [5.0]
    gate.retry_after(3)
    assert gate.blocked_for() == 3.0  # another caller of the same gate now waits too


# GitHub's rate-limit headers (ratelimit_headers) ------------------------------------------------

EPOCH = 1_800_000_000.0


def github_like(base: str, time: FakeTime, **kwargs: Any) -> Outbound:
    time.now = EPOCH
    return outbound(base, time, ratelimit_headers=True, wall_clock=time.clock, **kwargs)


def spent(reset_in: int) -> dict[str, str]:
    return {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(EPOCH) + reset_in)}


def test_the_last_request_before_a_reset_holds_the_next_until_the_reset(
    server: tuple[str, Scripted],
) -> None:
    base, script = server
    script.answers = [(200, spent(30), [1]), (200, {"x-ratelimit-remaining": "4999"}, [2])]
    time = FakeTime()
    out = github_like(base, time)
    assert out.get_json("/orgs/acme/repos") == [1]
    assert time.slept == []  # the answer came back; only the next request waits
    assert out.get_json("/orgs/acme/repos") == [2]
    assert time.slept == [31.0]  # until the reset, and a second for clock skew


@pytest.mark.parametrize("status", [403, 429])
def test_a_secondary_limit_waits_its_retry_after_and_is_not_a_refused_credential(
    server: tuple[str, Scripted], status: int
) -> None:
    base, script = server
    message = {"message": "You have exceeded a secondary rate limit. Please wait."}
    script.answers = [(status, {"retry-after": "12"}, message), (200, {}, [1])]
    time = FakeTime()
    out = github_like(base, time)
    assert out.get_json("/repos/acme/api/pulls") == [1]
    assert time.slept == [12.0] and out.rate_limited == 1


def test_a_secondary_limit_without_a_time_waits_a_minute_and_a_spent_limit_its_reset(
    server: tuple[str, Scripted],
) -> None:
    base, script = server
    script.answers = [
        (403, {}, {"message": "You have exceeded a secondary rate limit."}),
        (403, spent(100), {"message": "API rate limit exceeded for user ID 1."}),
        (200, {}, [1]),
    ]
    time = FakeTime()
    out = github_like(base, time)
    assert out.get_json("/repos/acme/api/pulls") == [1]
    # a minute, then (60 s later) the 40 s left before the reset, and a second for clock skew
    assert time.slept == [60.0, 41.0] and out.rate_limited == 2


def test_a_reset_beyond_the_longest_wait_stops_the_run_without_sending_more(
    server: tuple[str, Scripted],
) -> None:
    base, script = server
    script.answers = [(403, spent(3000), {"message": "API rate limit exceeded for user ID 1."})]
    time = FakeTime()
    out = github_like(base, time, max_wait=600)
    with pytest.raises(BudgetExhaustedError, match="rate limit is spent until"):
        out.get_json("/repos/acme/api/pulls")
    with pytest.raises(BudgetExhaustedError):
        out.get_json("/repos/acme/web/pulls")
    assert len(script.seen) == 1 and time.slept == []


def test_a_403_without_a_limit_is_still_a_refused_credential(
    server: tuple[str, Scripted],
) -> None:
    base, script = server
    script.answers = [
        (
            403,
            {"x-ratelimit-remaining": "4990"},
            {"message": "Resource not accessible by personal access token"},
        )
    ]
    out = github_like(base, FakeTime())
    with pytest.raises(CredentialRefusedError, match="Resource not accessible"):
        out.get_json("/orgs/acme/repos")
    assert len(script.seen) == 1
