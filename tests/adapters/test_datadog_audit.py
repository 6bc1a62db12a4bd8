"""Datadog Audit Trail search pages → artifact.created and one artifact.viewed per (dashboard,
viewer, week), on the ``datadog`` source beside its dashboard usage shape."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.domain.events import Actor, ArtifactRef, ArtifactTraits, EventType, NormalizedEvent
from bot.errors import PayloadError
from bot.ingest.adapters import ADAPTERS, datadog_audit

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "vendors"
JSON = "application/json"
PAGE = (FIXTURES / "datadog-audit-events-search.json").read_bytes()


def viewed(viewer: str, at: datetime) -> NormalizedEvent:
    return NormalizedEvent(
        key=f"audit-viewer/abc-def-ghi/email/{viewer}/2026-W47",
        type=EventType.ARTIFACT_VIEWED,
        occurred_at=at,
        actor=Actor("email", viewer),
        tool="datadog",
        artifact=ArtifactRef("abc-def-ghi", kind="dashboard"),
    )


def test_the_fixture_page() -> None:
    result = ADAPTERS["datadog"](PAGE, JSON)
    assert result.rejected == []
    assert result.events == [
        NormalizedEvent(
            key="created:abc-def-ghi",
            type=EventType.ARTIFACT_CREATED,
            occurred_at=datetime(2026, 11, 16, 9, 0, tzinfo=UTC),
            actor=Actor("email", "ana@example.com"),
            tool="datadog",
            artifact=ArtifactRef(
                "abc-def-ghi",
                kind="dashboard",
                title="Churn by region",
                traits=ArtifactTraits(
                    author="ana@example.com", labels=("team:data", "ai-generated")
                ),
            ),
        ),
        viewed("ana@example.com", datetime(2026, 11, 16, 9, 5, tzinfo=UTC)),
        viewed("ben@example.com", datetime(2026, 11, 17, 10, 0, tzinfo=UTC)),
        viewed(
            "ben@example.com", datetime(2026, 11, 19, 10, 0, tzinfo=UTC)
        ),  # same key: stored once
        viewed("cal@example.com", datetime(2026, 11, 18, 11, 0, tzinfo=UTC)),
        viewed("dan@example.com", datetime(2026, 11, 20, 12, 0, tzinfo=UTC)),
        # the 403 request is nobody's view
    ]


def test_a_handle_that_is_not_an_email_is_a_datadog_identity() -> None:
    page = json.loads(PAGE)
    page["data"][2]["attributes"]["attributes"]["usr"] = {"handle": "svc-reader"}
    events = datadog_audit.parse(json.dumps(page).encode(), JSON).events
    assert events[2].actor == Actor("datadog", "svc-reader")


def test_a_status_that_is_not_a_number_rejects_that_event_only() -> None:
    page = json.loads(PAGE)
    page["data"][3]["attributes"]["attributes"]["http"]["status_code"] = "ok"
    result = datadog_audit.parse(json.dumps(page).encode(), JSON)
    assert [r.index for r in result.rejected] == [3]
    assert "http.status_code" in result.rejected[0].error
    assert len(result.events) == 5


def test_not_a_page() -> None:
    with pytest.raises(PayloadError, match="Audit Trail events"):
        datadog_audit.parse(b'{"events": []}', JSON)
