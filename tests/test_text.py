"""The one check for stored strings (``bot.domain.text``): what it refuses, that its limits are
the columns' lengths, and that the adapters and the directory import use it."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from bot.domain import text
from bot.domain.directory import parse_directory
from bot.domain.events import Actor, ArtifactRef, EventType, NormalizedEvent
from bot.ingest.adapters import ADAPTERS
from bot.store.models import Artifact, Event, Identity, Person, Team

HOSTILE = {
    "nul": "a\x00b",
    "surrogate": "a\ud800b",
    "low surrogate": "\udfff",
    "control": "a\x1bb",
    "newline": "a\nb",
    "del": "a\x7f",
    "c1 control": "a\x85b",
}


def length(table: type, column: str) -> int:
    column_type = table.__table__.c[column].type  # type: ignore[attr-defined]
    found = getattr(column_type, "length", None)
    assert isinstance(found, int), (table, column, column_type)
    return found


def test_the_limits_are_the_lengths_of_the_columns_they_land_in() -> None:
    assert length(Event, "key") == text.KEY_LENGTH
    assert text.SOURCE_LENGTH == length(Event, "source") == length(Event, "actor_kind")
    assert text.SOURCE_LENGTH == length(Identity, "kind") == length(Artifact, "kind")
    assert text.IDENTITY_LENGTH == length(Event, "actor_value") == length(Identity, "value")
    assert length(Person, "email") == text.IDENTITY_LENGTH
    for column in ("tool", "model"):
        assert length(Event, column) == text.LABEL_LENGTH
    for column in ("external_id", "kind_label", "title"):
        assert length(Artifact, column) == text.LABEL_LENGTH
    assert length(Person, "name") == text.LABEL_LENGTH
    assert length(Person, "slack_user_id") == text.SLACK_USER_ID_LENGTH
    assert length(Team, "name") == text.TEAM_NAME_LENGTH


@pytest.mark.parametrize("value", list(HOSTILE.values()), ids=list(HOSTILE))
def test_unstorable_characters_are_named(value: str) -> None:
    problem = text.text_problem(value, 100)
    assert problem is not None and problem.startswith("contains ")
    assert "position" in problem


def test_the_reason_names_the_character_without_repeating_the_value() -> None:
    assert text.text_problem("ab\x00", 10) == "contains a NUL character at position 2"
    assert text.text_problem("\ud800", 10) == "contains a lone surrogate (U+D800) at position 0"
    assert text.text_problem("x" * 11, 10) == "is longer than 10 characters"


@pytest.mark.parametrize("value", ["", "ana@example.com", "Ünïcødé ✓ 数据 🙂", "x" * 10, "a b"])
def test_ordinary_text_passes(value: str) -> None:
    assert text.text_problem(value, 10 if value == "x" * 10 else 100) is None


def event(**fields: object) -> NormalizedEvent:
    values: dict[str, object] = {
        "key": "k1",
        "type": EventType.USAGE,
        "occurred_at": datetime(2026, 11, 18, tzinfo=UTC),
        "actor": Actor("email", "ana@example.com"),
    }
    values.update(fields)
    return NormalizedEvent(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"key": "k\x00"}, "id contains a NUL character"),
        ({"tool": "t\ud800"}, "tool contains a lone surrogate"),
        ({"model": "m" * 201}, "model is longer than 200 characters"),
        ({"actor": Actor("s" * 33, "x")}, "actor source is longer than 32 characters"),
        ({"actor": Actor("slack", "U" * 321)}, "actor is longer than 320 characters"),
        ({"artifact": ArtifactRef("a\x01")}, "artifact.id contains a control character"),
        ({"artifact": ArtifactRef("a", title="\x00")}, "artifact.title contains a NUL"),
        ({"metrics": {"lines\x00": 1}}, "metric name contains a NUL"),
    ],
)
def test_every_stored_string_of_an_event_is_checked(fields: dict[str, object], reason: str) -> None:
    problem = text.event_problem(event(**fields))
    assert problem is not None and problem.startswith(reason)


def test_a_clean_event_has_no_problem() -> None:
    assert text.event_problem(event(tool="chatgpt", artifact=ArtifactRef("d-1", title="T"))) is None


# Every adapter: a record with a hostile string is rejected at its index, its neighbours kept --


def litellm_payload(model: str, call_id: str) -> dict[str, object]:
    return {
        "id": call_id,
        "call_type": "completion",
        "model": model,
        "startTime": 1763456000.0,
        "endTime": 1763456001.0,
        "prompt_tokens": 10,
        "completion_tokens": 5,
        "total_tokens": 15,
        "response_cost": 0.001,
        "metadata": {"user_api_key_user_email": "ana@example.com"},
    }


@pytest.mark.parametrize("value", list(HOSTILE.values()), ids=list(HOSTILE))
def test_a_vendor_adapter_rejects_the_record_and_keeps_its_neighbours(value: str) -> None:
    body = json.dumps(
        [
            litellm_payload("gpt-4.1", "c1"),
            litellm_payload(f"gpt{value}", "c2"),
            litellm_payload("gpt-4.1", "c3"),
        ]
    ).encode()
    parsed = ADAPTERS["litellm"](body, "application/json")
    assert len(parsed.events) == 2
    assert [r.index for r in parsed.rejected] == [1]
    assert parsed.rejected[0].error.startswith("model contains ")


def test_an_otel_span_with_a_nul_in_its_model_is_rejected() -> None:
    def span(span_id: str, model: str) -> dict[str, object]:
        return {
            "traceId": "0af7651916cd43dd8448eb211c80319c",
            "spanId": span_id,
            "name": "chat",
            "startTimeUnixNano": "1763456000000000000",
            "endTimeUnixNano": "1763456001000000000",
            "attributes": [
                {"key": "gen_ai.request.model", "value": {"stringValue": model}},
                {"key": "gen_ai.usage.input_tokens", "value": {"intValue": "10"}},
                {"key": "user.email", "value": {"stringValue": "ana@example.com"}},
            ],
        }

    document = {
        "resourceSpans": [
            {
                "scopeSpans": [
                    {
                        "spans": [
                            span("b7ad6b7169203331", "gpt\x00"),
                            span("b7ad6b7169203332", "gpt"),
                        ]
                    }
                ]
            }
        ]
    }
    parsed = ADAPTERS["otel"](json.dumps(document).encode(), "application/json")
    assert len(parsed.events) == 1
    assert [(r.index, r.error.split(" at ")[0]) for r in parsed.rejected] == [
        (0, "model contains a NUL character")
    ]


# The directory import --------------------------------------------------------------------------


def test_directory_rows_with_unstorable_cells_are_reported_and_the_rest_kept() -> None:
    csv_text = (
        "email,name,team,slack_user_id,github_login\n"
        "ana@example.com,Ana,Data,U1,ana\n"
        "ben@example.com,Ben\x00,Data,U2,ben\n"
        "cy@example.com,Cy,Da\ud800ta,U3,cy\n"
        f"dee@example.com,Dee,Data,{'U' * 33},dee\n"
        f"eve@example.com,Eve,Data,U5,{'e' * 321}\n"
        "fay@example.com,Fay,Data,U6,fay\n"
    )
    parsed = parse_directory(csv_text)
    assert [row.email for row in parsed.rows] == ["ana@example.com", "fay@example.com"]
    assert [(p.line, p.error.split(" at ")[0]) for p in parsed.problems] == [
        (3, "name contains a NUL character"),
        (4, "team contains a lone surrogate (U+D800)"),
        (5, "slack_user_id is longer than 32 characters"),
        (6, "github_login is longer than 320 characters"),
    ]


# Titles are for people: layout characters become spaces, a long title is cut, the event kept ---


def test_display_label_cuts_with_an_ellipsis_and_flattens_layout() -> None:
    assert text.display_label("a\r\nb\tc", 10) == "a b c"
    assert text.display_label("x" * 12, 10) == "x" * 9 + "…"


def test_a_title_with_line_breaks_or_over_its_column_is_made_displayable_not_refused() -> None:
    long_title = "Quarterly churn by region " * 12  # 300 characters: a long pull-request title
    body = json.dumps(
        [
            {
                "id": f"a-{n}",
                "type": "artifact.created",
                "occurred_at": "2026-11-18T09:00:00Z",
                "actor": {"email": "ana@example.com"},
                "artifact": {"id": f"d-{n}", "kind": "dashboard", "title": title},
            }
            for n, title in enumerate(["Churn\nby region\t(EU)", long_title, "Bad\x00title"])
        ]
    ).encode()
    parsed = ADAPTERS["usage"](body, "application/json")
    titles = [event.artifact.title for event in parsed.events if event.artifact]
    assert titles[0] == "Churn by region (EU)"
    assert len(titles[1] or "") == text.LABEL_LENGTH
    assert (titles[1] or "").startswith("Quarterly churn by region Quarterly")
    assert [(r.index, r.error) for r in parsed.rejected] == [
        (2, "artifact.title contains a NUL character at position 3")
    ]
