"""OTLP/HTTP JSON traces with GenAI attributes → normalised events."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.domain.events import Actor, EventType, NormalizedEvent
from bot.errors import PayloadError, UnsupportedMediaError
from bot.ingest.adapters import otel
from fakes.reference import VENDOR_EXAMPLES

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "vendors"
JSON = "application/json"


def export() -> dict[str, Any]:
    return json.loads((FIXTURES / "otel-genai-traces.json").read_text())


def body(value: Any) -> bytes:
    return json.dumps(value).encode()


def spans(document: dict[str, Any], resource: int) -> list[dict[str, Any]]:
    return document["resourceSpans"][resource]["scopeSpans"][0]["spans"]


EXPECTED = [
    NormalizedEvent(
        key="4bf92f3577b34da6a3ce929d0e0e4736:00f067aa0ba902b7",
        type=EventType.USAGE,
        occurred_at=datetime(2026, 11, 18, 9, 12, 3, 500000, tzinfo=UTC),
        actor=Actor("email", "ana.lima@example.com"),  # the span's user.email wins
        tool="support-assistant",
        model="gpt-4-0613",  # the response model, not the requested alias
        input_tokens=52,  # the convention: input includes the 20 cached
        cached_tokens=20,
        output_tokens=47,
        requests=1,
    ),
    NormalizedEvent(
        key="5b8efff798038103d269b633813fc60c:eee19b7ec3c1b174",
        type=EventType.USAGE,
        occurred_at=datetime(2026, 11, 19, 14, 30, 30, tzinfo=UTC),
        actor=Actor("email", "ben@example.com"),
        tool="research-agent",
        model="claude-sonnet-4-5",
        input_tokens=2000,  # 100 reported apart from 1,500 read + 400 written: added back
        cached_tokens=1900,
        output_tokens=300,
        requests=1,
    ),
    NormalizedEvent(
        key="5b8efff798038103d269b633813fc60c:eee19b7ec3c1b176",
        type=EventType.USAGE,
        occurred_at=datetime(2026, 11, 19, 14, 30, 59, tzinfo=UTC),
        actor=Actor("email", "ben@example.com"),
        tool="research-agent",
        model="claude-sonnet-4-5",
        input_tokens=2100,
        cached_tokens=1800,
        output_tokens=400,
        requests=1,
    ),
    NormalizedEvent(
        key="000102030405060708090a0b0c0d0e0f:0001020304050607",  # base64 ids → hex
        type=EventType.USAGE,
        occurred_at=datetime(2026, 11, 19, 14, 20, 2, tzinfo=UTC),
        actor=None,  # a service with no user: org-level usage
        tool="nightly-summarizer",
        model="gpt-4o-mini",
        input_tokens=800,
        output_tokens=120,
        requests=1,
    ),
]


def test_genai_spans_become_usage_events_and_other_spans_are_ignored() -> None:
    result = otel.parse(body(export()), JSON)
    # The HTTP and execute_tool spans carry no usage; the agent span only sums its children.
    assert result.rejected == []
    assert result.events == EXPECTED


def test_reparsing_yields_the_same_keys() -> None:
    assert otel.parse(body(export()), JSON).events == otel.parse(body(export()), JSON).events


def test_an_agent_span_counts_when_its_model_calls_are_not_in_the_body() -> None:
    document = export()
    agent_only = spans(document, 1)[:1]
    document["resourceSpans"][1]["scopeSpans"][0]["spans"] = agent_only
    keys = [e.key for e in otel.parse(body(document), JSON).events]
    assert "5b8efff798038103d269b633813fc60c:eee19b7ec3c1b173" in keys


def test_identity_falls_back_to_resource_attributes() -> None:
    document = export()
    chat = spans(document, 0)[1]
    chat["attributes"] = [a for a in chat["attributes"] if a["key"] != "user.email"]
    event = otel.parse(body(document), JSON).events[0]
    assert event.actor == Actor("email", "team-bot@example.com")


def test_a_non_email_user_id_is_an_otel_identity() -> None:
    document = export()
    chat = spans(document, 1)[1]
    for attribute in chat["attributes"]:
        if attribute["key"] == "enduser.id":
            attribute["value"] = {"stringValue": "U-1234"}
    event = otel.parse(body(document), JSON).events[1]
    assert event.actor == Actor("otel", "u-1234")


def test_legacy_attribute_names_are_read() -> None:
    document = export()
    chat = spans(document, 0)[1]
    renamed = {
        "gen_ai.usage.input_tokens": "gen_ai.usage.prompt_tokens",
        "gen_ai.usage.output_tokens": "gen_ai.usage.completion_tokens",
    }
    for attribute in chat["attributes"]:
        attribute["key"] = renamed.get(attribute["key"], attribute["key"])
    event = otel.parse(body(document), JSON).events[0]
    assert (event.input_tokens, event.output_tokens) == (52, 47)


def test_bad_spans_are_rejected_by_position_and_good_ones_kept() -> None:
    document = export()
    service = spans(document, 1)
    negative = copy.deepcopy(service[1])
    negative["spanId"] = "eee19b7ec3c1b177"
    negative["attributes"][3] = {"key": "gen_ai.usage.input_tokens", "value": {"intValue": "-3"}}
    no_trace = copy.deepcopy(service[3])
    no_trace["traceId"] = ""
    no_end = copy.deepcopy(service[3])
    no_end["spanId"] = "eee19b7ec3c1b178"
    del no_end["endTimeUnixNano"], no_end["startTimeUnixNano"]
    service.extend([negative, no_trace, no_end, "not a span"])

    result = otel.parse(body(document), JSON)
    assert result.events == EXPECTED
    reasons = {r.index: r.error for r in result.rejected}
    # Spans count across resources in body order: 2 + 4 before these.
    assert set(reasons) == {6, 7, 8, 9}
    assert "gen_ai.usage.input_tokens must not be negative" in reasons[6]
    assert "traceId is missing" in reasons[7]
    assert "endTimeUnixNano is missing" in reasons[8]
    assert "span must be a JSON object" in reasons[9]


def test_prompt_and_completion_text_are_never_copied() -> None:
    dumped = repr(otel.parse(body(export()), JSON).events)
    for secret in ("joke", "trace the fun", "incidents", "OpenTelemetry to the party"):
        assert secret not in dumped


def test_ndjson_from_the_file_exporter_is_accepted() -> None:
    document = export()
    lines = [json.dumps({"resourceSpans": [rs]}) for rs in document["resourceSpans"]]
    lines.insert(1, '{"resourceSpans": [{"scopeSpans": [')
    result = otel.parse("\n".join(lines).encode(), "application/x-ndjson")
    assert result.events == EXPECTED
    assert [r.index for r in result.rejected] == [2]
    assert "line 2 is not valid JSON" in result.rejected[0].error


def test_the_official_envelope_without_genai_attributes_yields_nothing() -> None:
    example = (VENDOR_EXAMPLES / "otel-otlp-json-trace-envelope.json").read_bytes()
    result = otel.parse(example, JSON)
    assert (result.events, result.rejected) == ([], [])


def test_protobuf_is_refused_with_a_hint() -> None:
    with pytest.raises(UnsupportedMediaError, match="http/json"):
        otel.parse(b"\x0a\x02", "application/x-protobuf")


@pytest.mark.parametrize(
    "payload",
    [{"resourceMetrics": []}, [{"traceId": "x"}], {"data": []}],
)
def test_another_shape_is_refused(payload: Any) -> None:
    with pytest.raises(PayloadError, match="resourceSpans"):
        otel.parse(body(payload), JSON)


def test_a_half_truncated_export_is_refused() -> None:
    raw = body(export())
    with pytest.raises(PayloadError, match="not valid JSON"):
        otel.parse(raw[: len(raw) // 3], JSON)
