"""Standard Webhooks verification against the specification's published test vector, secret
rotation, several signatures in one header; and the body limit against a lying Content-Length."""

from __future__ import annotations

import json
import socket
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlmodel import Session, func, select
from starlette.requests import Request

from bot.context import AppContext
from bot.errors import AuthError, PayloadError, PayloadTooLargeError
from bot.http.webhooks import read_limited
from bot.ingest.signatures import (
    authenticate,
    github_signature,
    verify_github_signature,
    verify_signature,
)
from bot.store.models import Event
from tests.conftest import WEBHOOK_TOKEN, make_settings, serve_app
from tests.helpers import dumps, usage_event

# The test vector of the Standard Webhooks reference libraries
# (standard-webhooks/standard-webhooks, libraries/*/tests: "test_sign_function").
VECTOR_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
VECTOR_MSG_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
VECTOR_TIMESTAMP = 1614265330
VECTOR_PAYLOAD = b'{"test": 2432232314}'
VECTOR_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
VECTOR_TIME = datetime.fromtimestamp(VECTOR_TIMESTAMP, UTC)
OTHER_SECRET = "whsec_" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo="  # base64 of A…Z
TOLERANCE = timedelta(minutes=5)


def vector_headers(signature: str = VECTOR_SIGNATURE) -> dict[str, str]:
    return {
        "webhook-id": VECTOR_MSG_ID,
        "webhook-timestamp": str(VECTOR_TIMESTAMP),
        "webhook-signature": signature,
    }


def test_published_vector_is_accepted_at_its_timestamp() -> None:
    verify_signature([VECTOR_SECRET], vector_headers(), VECTOR_PAYLOAD, VECTOR_TIME)


def test_the_secret_works_with_and_without_the_whsec_prefix() -> None:
    bare = VECTOR_SECRET.removeprefix("whsec_")
    verify_signature([bare], vector_headers(), VECTOR_PAYLOAD, VECTOR_TIME)


@pytest.mark.parametrize("offset", [-TOLERANCE, TOLERANCE], ids=["5-min-early", "5-min-late"])
def test_within_five_minutes_either_way_is_accepted(offset: timedelta) -> None:
    verify_signature([VECTOR_SECRET], vector_headers(), VECTOR_PAYLOAD, VECTOR_TIME + offset)


@pytest.mark.parametrize(
    ("offset", "message"),
    [
        (TOLERANCE + timedelta(seconds=1), "too old"),
        (-TOLERANCE - timedelta(seconds=1), "too far in the future"),
    ],
    ids=["stale", "future"],
)
def test_five_minutes_and_a_second_away_is_refused(offset: timedelta, message: str) -> None:
    with pytest.raises(AuthError, match=message):
        verify_signature([VECTOR_SECRET], vector_headers(), VECTOR_PAYLOAD, VECTOR_TIME + offset)


@pytest.mark.parametrize(
    ("payload", "headers"),
    [
        (VECTOR_PAYLOAD + b" ", vector_headers()),
        (VECTOR_PAYLOAD, {**vector_headers(), "webhook-id": "msg_other"}),
        (VECTOR_PAYLOAD, vector_headers("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OA=")),
    ],
    ids=["body-changed", "id-changed", "signature-changed"],
)
def test_any_change_breaks_the_signature(payload: bytes, headers: dict[str, str]) -> None:
    with pytest.raises(AuthError, match="does not match"):
        verify_signature([VECTOR_SECRET], headers, payload, VECTOR_TIME)


def test_rotation_any_configured_secret_may_match() -> None:
    for secrets in ([OTHER_SECRET, VECTOR_SECRET], [VECTOR_SECRET, OTHER_SECRET]):
        verify_signature(secrets, vector_headers(), VECTOR_PAYLOAD, VECTOR_TIME)
    with pytest.raises(AuthError, match="does not match any configured secret"):
        verify_signature([OTHER_SECRET], vector_headers(), VECTOR_PAYLOAD, VECTOR_TIME)


def test_several_signatures_in_the_header_v1_among_others() -> None:
    wrong = "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc="
    header = " ".join(
        [wrong, "v2,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=", VECTOR_SIGNATURE, wrong]
    )
    verify_signature([VECTOR_SECRET], vector_headers(header), VECTOR_PAYLOAD, VECTOR_TIME)
    # The right value under another version is not a v1 signature.
    other_versions = "v1a,xyz v2," + VECTOR_SIGNATURE.removeprefix("v1,")
    with pytest.raises(AuthError, match="no v1 signature"):
        verify_signature(
            [VECTOR_SECRET], vector_headers(other_versions), VECTOR_PAYLOAD, VECTOR_TIME
        )


@pytest.mark.parametrize("secret", ["whsec_not*base64!", "whsec_abc", "whsec_"])
def test_a_malformed_secret_is_never_told_to_the_caller(secret: str) -> None:
    """Settings refuse it at start; should one get here, callers learn nothing about it."""
    with pytest.raises(AuthError) as refused:
        verify_signature([secret], vector_headers(), VECTOR_PAYLOAD, VECTOR_TIME)
    assert str(refused.value) == "webhook signature does not match any configured secret"


@pytest.mark.parametrize("secret", ["whsec_not*base64!", "whsec_abc", "whsec_"])
def test_a_valid_secret_beside_a_malformed_one_still_verifies(secret: str) -> None:
    verify_signature([secret, VECTOR_SECRET], vector_headers(), VECTOR_PAYLOAD, VECTOR_TIME)


@pytest.mark.parametrize(
    ("drop", "replace", "message"),
    [
        ("webhook-id", None, "missing webhook-id"),
        ("webhook-signature", None, "missing"),
        (None, ("webhook-timestamp", "yesterday"), "Unix seconds"),
    ],
)
def test_incomplete_headers_are_refused(
    drop: str | None, replace: tuple[str, str] | None, message: str
) -> None:
    headers = vector_headers()
    if drop:
        del headers[drop]
    if replace:
        headers[replace[0]] = replace[1]
    with pytest.raises(AuthError, match=message):
        authenticate(
            secrets=[VECTOR_SECRET],
            tokens=[],
            headers=headers,
            body=VECTOR_PAYLOAD,
            now=VECTOR_TIME,
        )


# The body limit ----------------------------------------------------------------------------


def asgi_request(declared_length: int, chunks: list[bytes]) -> Request:
    """A request whose Content-Length says one thing while its body stream sends another."""
    messages: list[dict[str, Any]] = [
        {"type": "http.request", "body": chunk, "more_body": True} for chunk in chunks
    ]
    messages.append({"type": "http.request", "body": b"", "more_body": False})

    async def receive() -> dict[str, Any]:
        return messages.pop(0)

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/webhooks/usage",
        "headers": [(b"content-length", str(declared_length).encode())],
    }
    return Request(scope, receive)


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_read_limited_counts_the_bytes_not_the_header(anyio_backend: str) -> None:
    lying = asgi_request(declared_length=10, chunks=[b"x" * 600, b"x" * 600])
    with pytest.raises(PayloadTooLargeError, match="over the limit of 1024 bytes"):
        await read_limited(lying, 1024)
    honest = asgi_request(declared_length=1000, chunks=[b"x" * 500, b"x" * 500])
    assert await read_limited(honest, 1024) == b"x" * 1000


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_read_limited_refuses_a_body_cut_short_by_a_disconnect(anyio_backend: str) -> None:
    messages: list[dict[str, Any]] = [
        {"type": "http.request", "body": b'{"id": ', "more_body": True},
        {"type": "http.disconnect"},
    ]

    async def receive() -> dict[str, Any]:
        return messages.pop(0)

    request = Request({"type": "http", "method": "POST", "headers": []}, receive)
    with pytest.raises(PayloadError, match="the client disconnected"):
        await read_limited(request, 1024)


def read_response(connection: socket.socket) -> tuple[int, str, bytes]:
    """The first HTTP response on a raw connection: status, content type and body."""
    data = b""
    while b"\r\n\r\n" not in data:
        data += connection.recv(65536)
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    fields = dict(line.lower().split(": ", 1) for line in lines[1:])
    while len(rest) < int(fields["content-length"]):
        rest += connection.recv(65536)
    body = rest[: int(fields["content-length"])]
    return int(lines[0].split(" ")[1]), fields.get("content-type", ""), body


def test_a_lying_content_length_never_gets_more_than_the_limit_in(
    context: AppContext, database_url: str
) -> None:
    """Over a raw socket: the header claims 100 bytes, the client sends 40 events (~5 KiB)."""
    small = AppContext(
        make_settings(database_url, webhook_max_body_bytes=1024), context.engine, context.clock
    )
    body = dumps(
        [usage_event(f"lie{i}", "ana@example.com", "2026-11-18T09:12:00Z") for i in range(40)]
    )
    assert len(body) > 4 * 1024
    head = (
        "POST /webhooks/usage HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Authorization: Bearer {WEBHOOK_TOKEN}\r\nContent-Type: application/json\r\n"
        "Content-Length: 100\r\n\r\n"
    ).encode()
    with serve_app(small) as live:
        port = int(live.url.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=5) as connection:
            connection.sendall(head + body)
            status, content_type, answer = read_response(connection)
    # Either the app answers first (the 100 bytes are not a JSON body), or uvicorn's HTTP
    # parser does (what follows those 100 bytes is not an HTTP request) and closes.
    assert status in (400, 413)
    if content_type.startswith("application/json"):
        assert json.loads(answer)["error"]
    else:
        assert answer.decode() == "Invalid HTTP request received."
    with Session(context.engine) as session:
        assert session.exec(select(func.count()).select_from(Event)).one() == 0


def test_github_signatures_match_githubs_documented_example() -> None:
    # docs.github.com, "Validating webhook deliveries": this secret and payload give this header.
    secret, body = "It's a Secret to Everybody", b"Hello, World!"
    header = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    assert github_signature(secret, body) == header
    verify_github_signature(secret, header, body)
    verify_github_signature(secret, header.upper().replace("SHA256=", "sha256="), body)
    with pytest.raises(AuthError, match="does not match"):
        verify_github_signature(secret, header, body + b" ")
    with pytest.raises(AuthError, match="does not match"):
        verify_github_signature("another secret", header, body)
    with pytest.raises(AuthError, match="sha256="):
        verify_github_signature(secret, header.replace("sha256", "sha1"), body)
    with pytest.raises(AuthError, match="set GITHUB_WEBHOOK_SECRET"):
        verify_github_signature(None, header, body)
    with pytest.raises(AuthError, match="does not match"):
        verify_github_signature(secret, "sha256=\udcff", body)  # never a crash
