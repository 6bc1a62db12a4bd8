"""Datadog dashboard usage (``GET /api/v2/dashboards/usage`` and ``…/dashboards/{id}/usage``).

JSON:API bodies: ``{"data": [dashboard…], "meta", "links"}`` for the list, ``{"data":
dashboard}`` for one; also a bare list of dashboards. A dashboard is ``{"id", "type":
"dashboards-usages", "attributes": {"title", "created_at", "author", "total_views",
"total_views_by_type", "viewed_at", "viewer", …}}``. This is an artifact source:

- ``artifact.created`` keyed ``created:<id>`` at ``created_at`` by the author (re-sent
  dashboards are duplicates; the artifact's title and kind are refreshed by the store);
- when ``total_views`` > 0, ``artifact.viewed`` keyed ``views:<id>``: an aggregate replaced on
  every poll, with ``metrics.views`` (and per view type), at ``viewed_at`` by the last viewer;
- when the last viewer is known, ``artifact.viewed`` keyed ``viewer/<id>/<kind>/<viewer>/<day>`` at
  ``viewed_at``: Datadog exposes only the *last* viewer, so this keeps each poll's last viewer
  after a later poll has replaced the aggregate's.

Datadog handles are usually the user's email: such a handle is ``Actor("email", …)`` (lower
case); any other handle (service accounts have UUIDs) is ``Actor("datadog", …)``, which the
directory's ``datadog_handle`` column maps. A dashboard is AI-assisted only when an admin rule
says so (a creator service account, a title): the author's handle is its ``traits.author``. View counts depend on Datadog RUM: without it
``total_views`` is 0 and no view is recorded (0 may mean unknown, never "seen by nobody").
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from bot.domain.events import (
    Actor,
    ArtifactRef,
    ArtifactTraits,
    EventType,
    NormalizedEvent,
    ParseResult,
)
from bot.domain.units import MAX_REQUESTS_PER_RECORD, to_count
from bot.errors import EventError, PayloadError
from bot.ingest.adapters.common import (
    Records,
    as_object,
    count,
    day_of,
    decode_document,
    handle_actor,
    has_any,
    label,
    make_key,
    optional_object,
    require_some,
    required_text,
    rfc3339,
)

SOURCE = "datadog"
TOOL = "datadog"
EXPECTED = (
    'Datadog dashboard usage: {"data": [{"id", "type": "dashboards-usages", "attributes": '
    '{"created_at", "author", "total_views", ...}}]} or {"data": {...}} for one dashboard'
)
_VIEW_TYPE = re.compile(r"^[a-z][a-z0-9_]{0,31}$")


def parse(body: bytes, content_type: str | None) -> ParseResult:
    return records(body, content_type).parse()


def records(body: bytes, content_type: str | None) -> Records:
    dashboards = _dashboards(decode_document(body))
    require_some(dashboards, _looks_like_dashboard, "a Datadog dashboard usage record")
    return Records(dashboards, parse_dashboard)


def _dashboards(document: Any) -> list[Any]:
    data = document.get("data") if isinstance(document, dict) else document
    if isinstance(data, list):
        return data
    if _looks_like_dashboard(data):
        return [data]
    raise PayloadError(f"expected {EXPECTED}")


def _looks_like_dashboard(item: Any) -> bool:
    return isinstance(item, dict) and (
        item.get("type") == "dashboards-usages"
        or has_any(item.get("attributes"), "created_at", "author", "total_views")
    )


def parse_dashboard(item: Any) -> Iterator[NormalizedEvent]:
    if not isinstance(item, dict):
        raise EventError("dashboard must be a JSON object")
    dashboard_id = required_text(item.get("id"), "id")
    attributes = as_object(item.get("attributes"), "attributes")
    created_at = rfc3339(attributes.get("created_at"), "attributes.created_at")
    author = _person(attributes.get("author"), "attributes.author")
    if author is None:
        raise EventError("attributes.author.handle is missing: the dashboard names no creator")
    title = label(attributes.get("title"), "attributes.title")

    events = [
        NormalizedEvent(
            key=f"created:{dashboard_id}",
            type=EventType.ARTIFACT_CREATED,
            occurred_at=created_at,
            actor=author,
            tool=TOOL,
            artifact=ArtifactRef(
                external_id=dashboard_id,
                kind="dashboard",
                title=title,
                traits=ArtifactTraits(author=author.value),
            ),
            ai_assisted=None,  # "datadog" is where it lives, not an AI tool: the rules decide
        )
    ]
    views = count(attributes, "total_views", "attributes.total_views")
    if views:
        viewer = _person(attributes.get("viewer"), "attributes.viewer")
        viewed_at = attributes.get("viewed_at")
        seen_at = rfc3339(viewed_at, "attributes.viewed_at") if viewed_at else created_at
        artifact = ArtifactRef(external_id=dashboard_id, kind="dashboard")
        events.append(
            NormalizedEvent(
                key=f"views:{dashboard_id}",
                type=EventType.ARTIFACT_VIEWED,
                occurred_at=seen_at,
                actor=viewer,
                tool=TOOL,
                artifact=artifact,
                replace=True,
                metrics={"views": views, **_views_by_type(attributes.get("total_views_by_type"))},
            )
        )
        if viewer is not None and viewed_at:
            events.append(
                NormalizedEvent(
                    key=make_key(
                        "viewer", dashboard_id, viewer.kind, viewer.value, day_of(seen_at)
                    ),
                    type=EventType.ARTIFACT_VIEWED,
                    occurred_at=seen_at,
                    actor=viewer,
                    tool=TOOL,
                    artifact=artifact,
                    replace=True,
                )
            )
    yield from events


def _person(value: Any, field: str) -> Actor | None:
    person = optional_object(value, field)
    return handle_actor("datadog", person.get("handle"), f"{field}.handle")


def _views_by_type(value: Any) -> dict[str, int]:
    by_type = optional_object(value, "attributes.total_views_by_type")
    return {
        f"views_{name}": to_count(number, f"total_views_by_type.{name}", MAX_REQUESTS_PER_RECORD)
        for name, number in by_type.items()
        if number and _VIEW_TYPE.match(name)
    }
