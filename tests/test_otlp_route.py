"""``POST /v1/traces``: OTLP/HTTP JSON straight from a collector or SDK, through the real app.

Same authentication, limits and answers as ``/webhooks/otel``; protobuf is refused with a 415
that says how to switch the exporter to JSON.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
from sqlmodel import Session, col, select

from bot.context import AppContext
from bot.store.models import Event
from fakes.reference import VENDOR_EXAMPLES
from tests.conftest import FROZEN_NOW, WEBHOOK_SECRET, WEBHOOK_TOKEN, LiveServer, make_settings
from tests.conftest import serve_app as serve
from tests.helpers import signed_headers

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "vendors"
GENAI_TRACES = (FIXTURES / "otel-genai-traces.json").read_bytes()
BEARER = {"authorization": f"Bearer {WEBHOOK_TOKEN}", "content-type": "application/json"}


def stored_keys(context: AppContext) -> list[tuple[str, str]]:
    with Session(context.engine) as session:
        rows = session.exec(select(Event.source, Event.key).order_by(col(Event.key))).all()
    return [(str(source), str(key)) for source, key in rows]


def test_genai_spans_are_stored_once_as_otel_events(live: LiveServer, context: AppContext) -> None:
    first = live.client.post("/v1/traces", content=GENAI_TRACES, headers=BEARER)
    assert first.status_code == 202, first.text
    assert first.json() == {"accepted": 4, "duplicates": 0, "rejected": []}
    keys = stored_keys(context)
    assert len(keys) == 4 and {source for source, _ in keys} == {"otel"}
    again = live.client.post("/v1/traces", content=GENAI_TRACES, headers=BEARER)
    assert again.json() == {"accepted": 0, "duplicates": 4, "rejected": []}
    # The same export through the vendor route is the same events.
    vendor = live.client.post("/webhooks/otel", content=GENAI_TRACES, headers=BEARER)
    assert vendor.json() == {"accepted": 0, "duplicates": 4, "rejected": []}
    assert stored_keys(context) == keys


def test_spans_without_genai_attributes_are_ignored(live: LiveServer, context: AppContext) -> None:
    envelope = (VENDOR_EXAMPLES / "otel-otlp-json-trace-envelope.json").read_bytes()
    response = live.client.post("/v1/traces", content=envelope, headers=BEARER)
    assert response.status_code == 202
    assert response.json() == {"accepted": 0, "duplicates": 0, "rejected": []}
    assert stored_keys(context) == []


def test_gzip_as_exporters_send_it(live: LiveServer, context: AppContext) -> None:
    response = live.client.post(
        "/v1/traces",
        content=gzip.compress(GENAI_TRACES),
        headers={**BEARER, "content-encoding": "gzip"},
    )
    assert response.status_code == 202, response.text
    assert response.json()["accepted"] == 4
    broken = live.client.post(
        "/v1/traces", content=b"not gzip", headers={**BEARER, "content-encoding": "gzip"}
    )
    assert broken.status_code == 400 and "gzip" in broken.json()["error"]
    brotli = live.client.post(
        "/v1/traces", content=GENAI_TRACES, headers={**BEARER, "content-encoding": "br"}
    )
    assert brotli.status_code == 415 and "gzip" in brotli.json()["error"]


@pytest.mark.parametrize("path", ["/v1/traces", "/webhooks/otel"])
def test_protobuf_gets_415_saying_to_use_json(live: LiveServer, path: str) -> None:
    response = live.client.post(
        path,
        content=b"\x0a\x02\x08\x01",
        headers={**BEARER, "content-type": "application/x-protobuf"},
    )
    assert response.status_code == 415
    error = response.json()["error"]
    assert "OTEL_EXPORTER_OTLP_PROTOCOL=http/json" in error
    assert "application/json" in error


def test_signed_export_is_accepted(live: LiveServer) -> None:
    now = int(FROZEN_NOW.timestamp())
    headers = signed_headers(WEBHOOK_SECRET, GENAI_TRACES, timestamp=now)
    assert live.client.post("/v1/traces", content=GENAI_TRACES, headers=headers).status_code == 202
    tampered = signed_headers(WEBHOOK_SECRET, GENAI_TRACES + b" ", timestamp=now)
    response = live.client.post("/v1/traces", content=GENAI_TRACES, headers=tampered)
    assert response.status_code == 401


@pytest.mark.parametrize(
    ("headers", "body", "status", "message"),
    [
        ({"content-type": "application/json"}, GENAI_TRACES, 401, "missing credentials"),
        ({**BEARER, "authorization": "Bearer nope"}, GENAI_TRACES, 401, "WEBHOOK_TOKENS"),
        (BEARER, b"{not json", 400, "not valid JSON"),
        (BEARER, b'{"hello": "world"}', 400, "resourceSpans"),
        ({**BEARER, "content-type": "text/plain"}, GENAI_TRACES, 415, "application/json"),
    ],
    ids=["no-credentials", "wrong-token", "broken-json", "wrong-shape", "text-plain"],
)
def test_same_refusals_as_the_webhooks(
    live: LiveServer,
    context: AppContext,
    headers: dict[str, str],
    body: bytes,
    status: int,
    message: str,
) -> None:
    response = live.client.post("/v1/traces", content=body, headers=headers)
    assert response.status_code == status
    assert message in response.json()["error"]
    assert stored_keys(context) == []


def test_body_limit_holds(context: AppContext, database_url: str) -> None:
    small = AppContext(
        make_settings(database_url, webhook_max_body_bytes=4096), context.engine, context.clock
    )
    padded = GENAI_TRACES + b" " * 100_000  # still valid JSON
    with serve(small) as live:
        plain = live.client.post("/v1/traces", content=padded, headers=BEARER)
        assert plain.status_code == 413
        # Compressed it fits the limit on the wire, but not once inflated.
        packed = gzip.compress(padded)
        assert len(packed) < 4096
        inflated = live.client.post(
            "/v1/traces", content=packed, headers={**BEARER, "content-encoding": "gzip"}
        )
        assert inflated.status_code == 413
        assert "decompressed" in inflated.json()["error"]
    assert stored_keys(context) == []


def test_without_credentials_configured_it_refuses(context: AppContext, database_url: str) -> None:
    bare = AppContext(
        make_settings(database_url, webhook_tokens=None, webhook_secrets=None),
        context.engine,
        context.clock,
    )
    with serve(bare) as live:
        response = live.client.post("/v1/traces", content=GENAI_TRACES, headers=BEARER)
    assert response.status_code == 401
    assert "webhooks are disabled" in response.json()["error"]
