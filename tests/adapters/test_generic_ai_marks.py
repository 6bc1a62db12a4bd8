"""The generic schema's AI-assisted fields on ``artifact.created``: ``tool``, ``ai_assisted``
(on the event or its artifact) and ``artifact.tags``; and vendor adapters that name their own
system in ``tool`` leave the decision to the rules."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bot.domain.events import ArtifactTraits, EventType
from bot.ingest.adapters import adapter_for, generic


def event(**fields: Any) -> dict[str, Any]:
    artifact = {"id": "dash-42", "kind": "dashboard", "title": "Churn"}
    artifact.update(fields.pop("artifact", {}))
    return {
        "id": "evt-1",
        "type": "artifact.created",
        "occurred_at": "2026-11-18T09:12:00Z",
        "actor": {"email": "Ana@Example.com"},
        "artifact": artifact,
        **fields,
    }


def parse_one(item: dict[str, Any]) -> Any:
    result = generic.parse(json.dumps(item).encode(), "application/json")
    assert result.rejected == []
    (parsed,) = result.events
    return parsed


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"tool": "chatgpt"}, True),
        ({"tool": "chatgpt", "ai_assisted": False}, False),
        ({"ai_assisted": True}, True),
        ({"artifact": {"ai_assisted": True}}, True),
        ({"tool": "cursor", "artifact": {"ai_assisted": False}}, False),
        ({"tool": "   "}, None),  # a blank tool names nothing
        ({}, None),  # the admins' rules decide
        ({"ai_assisted": None}, None),
    ],
)
def test_tool_and_ai_assisted_mark_a_created_artifact(
    fields: dict[str, Any], expected: bool | None
) -> None:
    assert parse_one(event(**fields)).ai_assisted is expected


def test_tags_become_labels_and_the_creator_is_the_author() -> None:
    parsed = parse_one(event(artifact={"tags": [" ai-generated ", "churn", "churn", ""]}))
    assert parsed.artifact.traits == ArtifactTraits(
        author="ana@example.com", labels=("ai-generated", "churn")
    )


def test_other_artifact_events_carry_no_mark() -> None:
    viewed = parse_one(
        {
            **event(tool="chatgpt", ai_assisted=True),
            "type": "artifact.viewed",
            "artifact": {"id": "d"},
        }
    )
    assert viewed.type is EventType.ARTIFACT_VIEWED
    assert viewed.ai_assisted is None and viewed.artifact.traits is None


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"ai_assisted": "yes"}, "ai_assisted must be true or false"),
        ({"ai_assisted": True, "artifact": {"ai_assisted": False}}, "disagree"),
        ({"artifact": {"tags": "ai-generated"}}, "artifact.tags must be a list of strings"),
        ({"artifact": {"tags": [1]}}, "artifact.tags must be a list of strings"),
        ({"artifact": {"tags": ["x"] * 51}}, "more than 50 tags"),
        ({"artifact": {"tags": ["x" * 101]}}, "longer than 100 characters"),
    ],
)
def test_bad_ai_fields_are_rejected_with_a_reason(fields: dict[str, Any], error: str) -> None:
    result = generic.parse(json.dumps(event(**fields)).encode(), "application/json")
    assert result.events == []
    (rejection,) = result.rejected
    assert error in rejection.error


def test_vendor_adapters_naming_their_own_system_leave_the_mark_to_the_rules() -> None:
    """Datadog sets tool="datadog" (where the dashboard lives, not an AI tool)."""
    body = json.dumps(
        {
            "data": {
                "id": "abc-123",
                "type": "dashboards-usages",
                "attributes": {
                    "title": "Churn",
                    "created_at": "2026-11-17T14:40:27Z",
                    "author": {"handle": "svc-reports"},
                    "total_views": 0,
                },
            }
        }
    ).encode()
    (created,) = adapter_for("datadog")(body, "application/json").events
    assert created.tool == "datadog" and created.ai_assisted is None
    assert created.artifact.traits == ArtifactTraits(author="svc-reports")
