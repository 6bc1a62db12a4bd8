"""Connection limits of ``ai-roi serve`` against a real uvicorn on 127.0.0.1 (``server_config``):
bounded reads before authentication, header and body timeouts, a cap on connections."""

from __future__ import annotations

import re
import select
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from bot.context import AppContext
from bot.http.server import server_config
from bot.wiring import build_app
from fakes.slack_api import FakeSlack
from tests.conftest import WEBHOOK_TOKEN, make_settings
from tests.support.slack_app import SECRET as SLACK_SECRET

MIB = 1024 * 1024


class Served:
    """The app under ``server_config``, in a thread, on a port the OS chose."""

    def __init__(self, context: AppContext) -> None:
        config = server_config(build_app(context), context.settings, host="127.0.0.1", port=0)
        config.log_level = "warning"
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> Served:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.01)
        self.port = self.server.servers[0].sockets[0].getsockname()[1]
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)

    def connect(self) -> socket.socket:
        return socket.create_connection(("127.0.0.1", self.port), timeout=10)


@contextmanager
def served(context: AppContext, database_url: str, **settings: Any) -> Iterator[Served]:
    with FakeSlack() as slack:
        configured = make_settings(
            database_url,
            slack_bot_token=slack.token,
            slack_signing_secret=SLACK_SECRET,
            slack_api_url=slack.base_url,
            **settings,
        )
        with Served(AppContext(configured, context.engine, context.clock)) as server:
            yield server


def rss_bytes() -> int:
    match = re.search(r"VmRSS:\s+(\d+) kB", Path("/proc/self/status").read_text())
    assert match is not None
    return int(match.group(1)) * 1024


def status_of(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1])


def read_answer(sock: socket.socket, timeout: float = 10) -> bytes:
    sock.settimeout(timeout)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


@pytest.mark.parametrize("route", ["/slack/events", "/webhooks/usage"])
def test_a_300_mib_unsigned_stream_is_refused_without_growing_memory(
    context: AppContext, database_url: str, route: str
) -> None:
    """Chunked, so no Content-Length warns the server: it must count and stop. The server runs
    in this process, and the sender reuses one 1 MiB buffer, so any growth is the server's."""
    if database_url.startswith("postgresql"):
        pytest.skip("the body never reaches the database; once is enough")
    chunk = b"x" * MIB
    framed = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
    peak = 0
    with served(context, database_url) as server, server.connect() as sock:
        baseline = rss_bytes()
        sock.sendall(
            f"POST {route} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            "Transfer-Encoding: chunked\r\n\r\n".encode()
        )
        sent, answer = 0, b""
        sock.setblocking(False)
        while sent < 300 * MIB:
            readable, writable, _ = select.select([sock], [sock], [], 10)
            if readable:
                answer = sock.recv(65536)
                break
            assert writable, "the server neither read nor answered for 10 s"
            try:
                sent += sock.send(framed)
            except (BlockingIOError, ConnectionError):
                break
            peak = max(peak, rss_bytes())
        if not answer:
            answer = read_answer(sock)
    assert status_of(answer) == 413, answer[:300]
    assert sent < 64 * MIB  # refused long before the end
    assert peak - baseline < 24 * MIB, (peak - baseline) // MIB


def test_a_declared_300_mib_body_is_refused_unread(context: AppContext, database_url: str) -> None:
    if database_url.startswith("postgresql"):
        pytest.skip("the body never reaches the database; once is enough")
    with served(context, database_url) as server, server.connect() as sock:
        sock.sendall(
            b"POST /slack/events HTTP/1.1\r\nHost: x\r\nContent-Length: 314572800\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\n\r\n"
        )
        answer = read_answer(sock)
    assert status_of(answer) == 413
    assert b"the limit is 1048576" in answer


def test_a_slack_body_within_the_limit_still_reaches_the_signature_check(
    context: AppContext, database_url: str
) -> None:
    if database_url.startswith("postgresql"):
        pytest.skip("no database involved")
    body = b"token=x&" + b"a" * 1000
    with served(context, database_url) as server, server.connect() as sock:
        sock.sendall(
            b"POST /slack/events HTTP/1.1\r\nHost: x\r\nContent-Type: "
            b"application/x-www-form-urlencoded\r\nContent-Length: "
            + str(len(body)).encode()
            + b"\r\n\r\n"
            + body
        )
        answer = read_answer(sock)
    assert status_of(answer) == 401


# Timeouts and the connection cap ----------------------------------------------------------------


def closed_within(sock: socket.socket, seconds: float) -> bool:
    """Whether the server closes ``sock`` within ``seconds`` (reading whatever it sends)."""
    sock.settimeout(seconds)
    deadline = time.monotonic() + seconds
    try:
        while time.monotonic() < deadline:
            if not sock.recv(65536):
                return True
    except TimeoutError:
        return False
    except ConnectionError:
        return True
    return False


def test_a_connection_that_never_sends_a_request_is_closed(
    context: AppContext, database_url: str
) -> None:
    if database_url.startswith("postgresql"):
        pytest.skip("no database involved")
    with (
        served(context, database_url, http_header_timeout_seconds=0.5) as server,
        server.connect() as idle,
        server.connect() as half,
    ):
        half.sendall(b"POST /webhooks/usage HTTP/1.1\r\nHost: x\r\n")  # and stops
        assert closed_within(idle, 5)
        assert closed_within(half, 5)


def test_a_slow_body_gets_408_and_a_prompt_one_is_served(
    context: AppContext, database_url: str
) -> None:
    with served(context, database_url, http_body_timeout_seconds=0.5) as server:
        with server.connect() as slow:
            slow.sendall(
                b"POST /webhooks/usage HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                b"Authorization: Bearer " + WEBHOOK_TOKEN.encode() + b"\r\n"
                b"Content-Length: 100\r\n\r\n[{"
            )
            answer = read_answer(slow)
        assert status_of(answer) == 408, answer
        with server.connect() as prompt:
            prompt.sendall(
                b"POST /webhooks/usage HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                b"Authorization: Bearer " + WEBHOOK_TOKEN.encode() + b"\r\n"
                b"Content-Length: 2\r\n\r\n[]"
            )
            assert status_of(read_answer(prompt)) == 202


def test_past_the_connection_cap_requests_get_503_and_idle_ones_are_dropped(
    context: AppContext, database_url: str
) -> None:
    if database_url.startswith("postgresql"):
        pytest.skip("no database involved")
    with served(
        context, database_url, http_max_connections=3, http_header_timeout_seconds=1
    ) as server:
        idle = [server.connect() for _ in range(3)]
        try:
            time.sleep(0.2)
            with server.connect() as extra:
                extra.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
                assert status_of(read_answer(extra)) == 503
            assert all(closed_within(sock, 5) for sock in idle)
            with server.connect() as later:
                later.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
                assert status_of(read_answer(later)) == 200
        finally:
            for sock in idle:
                sock.close()
