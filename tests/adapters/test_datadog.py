"""Datadog dashboard usage → artifact.created and artifact.viewed events."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.domain.events import Actor, ArtifactRef, ArtifactTraits, EventType, NormalizedEvent
from bot.errors import PayloadError
from bot.ingest.adapters import datadog
from fakes.reference import VENDOR_EXAMPLES

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "vendors"
JSON = "application/json"
ANA = Actor("email", "ana.lima@example.com")
BEN = Actor("email", "ben@example.com")
CI = Actor("datadog", "9919ec9b-ebc7-49ee-8dc8-03626e717cca")


def listing() -> dict[str, Any]:
    return json.loads((FIXTURES / "datadog-dashboards-usage.json").read_text())


def body(value: Any) -> bytes:
    return json.dumps(value).encode()


EXPECTED = [
    NormalizedEvent(
        key="created:abc-123-xyz",
        type=EventType.ARTIFACT_CREATED,
        occurred_at=datetime(2026, 11, 17, 14, 40, 27, 22358, tzinfo=UTC),
        actor=ANA,  # the handle is an email address
        tool="datadog",
        artifact=ArtifactRef(
            "abc-123-xyz",
            kind="dashboard",
            title="Churn by region (Q3 review)",
            traits=ArtifactTraits(author=ANA.value),  # creator rules read it
        ),
    ),
    NormalizedEvent(
        key="views:abc-123-xyz",
        type=EventType.ARTIFACT_VIEWED,
        occurred_at=datetime(2026, 11, 19, 8, 16, 27, 955000, tzinfo=UTC),
        actor=BEN,  # the last viewer
        tool="datadog",
        artifact=ArtifactRef("abc-123-xyz", kind="dashboard"),
        replace=True,
        metrics={"views": 14, "views_in_app": 12, "views_shared": 2},
    ),
    NormalizedEvent(
        key="viewer/abc-123-xyz/email/ben@example.com/2026-11-19",
        type=EventType.ARTIFACT_VIEWED,
        occurred_at=datetime(2026, 11, 19, 8, 16, 27, 955000, tzinfo=UTC),
        actor=BEN,
        tool="datadog",
        artifact=ArtifactRef("abc-123-xyz", kind="dashboard"),
        replace=True,
    ),
    NormalizedEvent(
        key="created:def-456-uvw",
        type=EventType.ARTIFACT_CREATED,
        occurred_at=datetime(2026, 11, 18, 8, 30, tzinfo=UTC),  # +01:00 → UTC
        actor=ANA,
        tool="datadog",
        artifact=ArtifactRef(
            "def-456-uvw",
            kind="dashboard",
            title="Weather in Lisbon (agent test)",
            traits=ArtifactTraits(author=ANA.value),
        ),
    ),  # never viewed: no view event at all
    NormalizedEvent(
        key="created:ghi-789-rst",
        type=EventType.ARTIFACT_CREATED,
        occurred_at=datetime(2026, 11, 16, 11, 21, 26, 907249, tzinfo=UTC),
        actor=CI,  # a service account's UUID handle stays a Datadog identity
        tool="datadog",
        artifact=ArtifactRef(
            "ghi-789-rst",
            kind="dashboard",
            title="CI pipeline health",
            traits=ArtifactTraits(author=CI.value),
        ),
    ),
    NormalizedEvent(
        key="views:ghi-789-rst",
        type=EventType.ARTIFACT_VIEWED,
        occurred_at=datetime(2026, 11, 18, 7, tzinfo=UTC),
        actor=CI,
        tool="datadog",
        artifact=ArtifactRef("ghi-789-rst", kind="dashboard"),
        replace=True,
        metrics={"views": 3, "views_api": 3},
    ),
    NormalizedEvent(
        key="viewer/ghi-789-rst/datadog/9919ec9b-ebc7-49ee-8dc8-03626e717cca/2026-11-18",
        type=EventType.ARTIFACT_VIEWED,
        occurred_at=datetime(2026, 11, 18, 7, tzinfo=UTC),
        actor=CI,
        tool="datadog",
        artifact=ArtifactRef("ghi-789-rst", kind="dashboard"),
        replace=True,
    ),
]


def test_dashboards_become_created_and_viewed_events() -> None:
    result = datadog.parse(body(listing()), JSON)
    assert result.rejected == []
    assert result.events == EXPECTED


def test_one_dashboard_and_a_bare_list_are_accepted() -> None:
    dashboards = listing()["data"]
    assert datadog.parse(body({"data": dashboards[0]}), JSON).events == EXPECTED[:3]
    assert datadog.parse(body(dashboards), JSON).events == EXPECTED


def test_the_recorded_responses_parse() -> None:
    single = (VENDOR_EXAMPLES / "datadog-dashboard-usage.json").read_bytes()
    (created,) = datadog.parse(single, JSON).events  # 0 views (no RUM): nothing viewed
    assert (created.key, created.actor) == (
        "created:cb5-47u-8yc",
        Actor("email", "frog@datadoghq.com"),
    )
    excerpt = (VENDOR_EXAMPLES / "datadog-dashboards-usage-list-excerpt.json").read_bytes()
    keys = [e.key for e in datadog.parse(excerpt, JSON).events]
    assert keys[:3] == ["created:22p-zw6-qia", "created:3f9-4ni-c37", "views:3f9-4ni-c37"]


def test_reparsing_yields_the_same_keys() -> None:
    first = [e.key for e in datadog.parse(body(listing()), JSON).events]
    assert [e.key for e in datadog.parse(body(listing()), JSON).events] == first


def test_the_next_poll_restates_the_views_and_keeps_the_earlier_viewer() -> None:
    later = listing()
    attributes = later["data"][0]["attributes"]
    attributes.update(total_views=20, viewed_at="2026-11-20T10:00:00Z")
    attributes["viewer"] = {"id": "1445416", "handle": "ana.lima@example.com"}
    events = {e.key: e for e in datadog.parse(body(later), JSON).events}
    views = events["views:abc-123-xyz"]
    assert (views.metrics["views"], views.actor) == (20, ANA)
    assert "viewer/abc-123-xyz/email/ana.lima@example.com/2026-11-20" in events
    # Ben's view from the first poll keeps its own key, so re-storing it changes nothing.
    assert EXPECTED[2].key not in events


def test_bad_dashboards_are_rejected_and_good_ones_kept() -> None:
    document = listing()
    good = document["data"][0]
    attrs = good["attributes"]
    document["data"] += [
        {**good, "id": ""},
        {**good, "id": "x1", "attributes": {**attrs, "author": None}},
        {**good, "id": "x2", "attributes": {**attrs, "created_at": "2026-11-17 14:40"}},
        {**good, "id": "x3", "attributes": {**attrs, "total_views": -1}},
        {**good, "id": "x4", "attributes": "?"},
    ]
    result = datadog.parse(body(document), JSON)
    assert result.events == EXPECTED
    reasons = {r.index: r.error for r in result.rejected}
    assert set(reasons) == {3, 4, 5, 6, 7}
    assert "id is missing" in reasons[3]
    assert "attributes.author.handle is missing" in reasons[4]
    assert "no UTC offset" in reasons[5]
    assert "attributes.total_views must not be negative" in reasons[6]
    assert "attributes must be a JSON object" in reasons[7]


@pytest.mark.parametrize(
    "payload",
    [
        {"data": {"id": "x", "type": "dashboards"}},
        {"usageEvents": []},
        [{"day": "2026-11-18", "user_login": "ana"}],
    ],
)
def test_another_shape_is_refused(payload: Any) -> None:
    with pytest.raises(PayloadError, match="Datadog dashboard usage"):
        datadog.parse(body(payload), JSON)


def test_a_half_truncated_page_is_refused() -> None:
    raw = body(listing())
    with pytest.raises(PayloadError, match="not valid JSON"):
        datadog.parse(raw[:-1], JSON)
