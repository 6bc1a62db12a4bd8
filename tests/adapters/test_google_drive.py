"""Reports API Drive activities → documents created by their owner and viewed by others."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.domain.events import Actor, ArtifactRef, ArtifactTraits, EventType, NormalizedEvent
from bot.errors import PayloadError
from bot.ingest.adapters import ADAPTERS, google_drive

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "vendors"
JSON = "application/json"
PAGE = (FIXTURES / "google-drive-activities.json").read_bytes()
DOC = "1Q4planAbCdEfGhIjKlMnOpQrStUvWxYz0123456789"


def test_the_fixture_page() -> None:
    result = ADAPTERS["google-drive"](PAGE, JSON)
    assert result.rejected == []
    assert result.events == [
        NormalizedEvent(
            key=f"created:{DOC}",
            type=EventType.ARTIFACT_CREATED,
            occurred_at=datetime(2026, 11, 16, 9, 0, tzinfo=UTC),
            actor=Actor("email", "ana@example.com"),
            tool="google-drive",
            artifact=ArtifactRef(
                DOC,
                kind="doc",
                kind_label="document",
                title="Q4 plan",
                traits=ArtifactTraits(author="ana@example.com"),
            ),
        ),
        # the edit, Ana's own view and the PDF upload are skipped
        NormalizedEvent(
            key=f"viewer/{DOC}/email/ben@example.com/2026-W47",
            type=EventType.ARTIFACT_VIEWED,
            occurred_at=datetime(2026, 11, 19, 10, 0, tzinfo=UTC),
            actor=Actor("email", "ben@example.com"),
            tool="google-drive",
            artifact=ArtifactRef(DOC, kind="doc"),
        ),
        NormalizedEvent(
            key="created:1PipelineSheet",
            type=EventType.ARTIFACT_CREATED,
            occurred_at=datetime(2026, 11, 17, 9, 0, tzinfo=UTC),
            actor=Actor("email", "cal@example.com"),
            tool="google-drive",
            artifact=ArtifactRef(
                "1PipelineSheet",
                kind="report",
                kind_label="spreadsheet",
                title="Pipeline",
                traits=ArtifactTraits(author="cal@example.com"),
            ),
        ),
    ]


def test_another_application_s_activity_is_rejected() -> None:
    page = json.loads(PAGE)
    page["items"][0]["id"]["applicationName"] = "login"
    result = google_drive.parse(json.dumps(page).encode(), JSON)
    assert [r.index for r in result.rejected] == [0]
    assert "applicationName" in result.rejected[0].error


@pytest.mark.parametrize(
    "body", [b"[]", b'{"items": []}', b'{"kind": "admin#reports#activities", "items": {}}']
)
def test_not_a_page(body: bytes) -> None:
    with pytest.raises(PayloadError, match="activities page"):
        google_drive.parse(body, JSON)
