"""Datadog Audit Trail events (``POST /api/v2/audit/events/search``), the ``datadog`` source's
second shape beside the dashboard usage of ``bot.ingest.adapters.datadog``.

A page is ``{"data": [event…], "meta": {"page": {"after"}}, "links"}``; an event is ``{"id",
"type": "audit", "attributes": {"timestamp", "service", "tags", "message", "attributes": {…}}}``,
whose inner ``attributes`` hold the audit fields, nested (``{"evt": {"name": …}}``) or dotted
(``{"evt.name": …}``); both are read. Two kinds of event matter, the rest of a page is skipped
(it is not an outcome this source tracks):

- a dashboard created (``evt.name`` Dashboard, ``asset.type`` dashboard, ``action`` created):
  ``artifact.created`` keyed ``created:<dashboard id>`` (the dashboard usage shape's key too,
  so the two shapes never count one dashboard twice), by ``usr.email`` (else ``usr.handle``),
  titled ``asset.name``, with ``ArtifactTraits(author=<creator>, labels=<the dashboard's tags>)``;
- a dashboard viewed: a successful (2xx) ``GET /api/v1/dashboard/<id>`` request (``evt.name``
  Request; what the Datadog app itself calls to show a dashboard, and what Datadog's guide
  "Track dashboard usage" searches for), or a Dashboard event with ``action`` accessed:
  ``artifact.viewed`` by that user, keyed ``audit-viewer/<id>/<kind>/<viewer>/<ISO week>`` and
  stored once, so each distinct viewer counts once a week however often they reload it.
  The ISO week is UTC's here; the pull connector re-keys it to ``ORG_TIMEZONE``'s week.

A request made with an API key and no user (``usr`` absent: Terraform, scripts) is nobody's
view and is skipped; so is a failed request. The creator's own views are stored like any other
and never count as "viewed by others" (``bot.store.aggregates``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from bot.domain.events import (
    Actor,
    ArtifactRef,
    ArtifactTraits,
    EventType,
    NormalizedEvent,
    ParseResult,
)
from bot.errors import EventError, PayloadError
from bot.ingest.adapters import datadog
from bot.ingest.adapters.common import (
    Records,
    as_object,
    decode_document,
    handle_actor,
    label,
    make_key,
    required_text,
    rfc3339,
)
from bot.ingest.decoding import is_ndjson

SOURCE = datadog.SOURCE
TOOL = datadog.TOOL
VIEW_KEY_PREFIX = "audit-viewer"
EXPECTED = (
    'Datadog Audit Trail events: {"data": [{"id", "type": "audit", "attributes": {"timestamp", '
    '"attributes": {"evt": {"name"}, "usr": {"email"}, ...}}}], "meta": {...}}'
)
DASHBOARD_PATH = re.compile(r"^/api/v1/dashboard/([A-Za-z0-9_-]{1,64})/?$")
MAX_TAGS = 50


def parse_either(body: bytes, content_type: str | None) -> ParseResult:
    """The ``datadog`` source: an Audit Trail search page, or dashboard usage."""
    return records_either(body, content_type).parse()


def records_either(body: bytes, content_type: str | None) -> Records:
    if not is_ndjson(content_type) and body.lstrip()[:1] == b"{":
        document = decode_document(body)
        if looks_like_audit_page(document):
            return _page_records(document)
    return datadog.records(body, content_type)


def looks_like_audit_page(document: Any) -> bool:
    data = document.get("data") if isinstance(document, dict) else None
    return isinstance(data, list) and any(
        isinstance(item, dict) and item.get("type") == "audit" for item in data
    )


def parse(body: bytes, content_type: str | None) -> ParseResult:
    return records(body, content_type).parse()


def records(body: bytes, content_type: str | None) -> Records:
    document = decode_document(body)
    data = document.get("data") if isinstance(document, dict) else None
    if not isinstance(data, list):
        raise PayloadError(f"expected {EXPECTED}")
    return _page_records(document)


def _page_records(document: dict[str, Any]) -> Records:
    return Records(list(document["data"]), parse_event)


def field(attributes: dict[str, Any], path: str) -> Any:
    """``attributes`` at a dotted path, nested (``{"usr": {"email"}}``) or flat (``"usr.email"``)."""
    if path in attributes:
        return attributes[path]
    head, _, rest = path.partition(".")
    inner = attributes.get(head)
    if rest and isinstance(inner, dict):
        return field(inner, rest)
    return None


def week_of(moment: datetime) -> str:
    year, week, _ = moment.isocalendar()
    return f"{year}-W{week:02d}"


def view_key(dashboard_id: str, viewer: Actor, week: str) -> str:
    return make_key(VIEW_KEY_PREFIX, dashboard_id, viewer.kind, viewer.value, week)


def parse_event(item: Any) -> Iterator[NormalizedEvent]:
    if not isinstance(item, dict):
        raise EventError("an audit event must be a JSON object")
    if item.get("type") not in (None, "audit"):
        return
    outer = as_object(item.get("attributes"), "attributes")
    inner = as_object(outer.get("attributes"), "attributes.attributes")
    name = str(field(inner, "evt.name") or "")
    action = str(field(inner, "action") or "")
    if name == "Dashboard" and field(inner, "asset.type") == "dashboard":
        if action == "created":
            yield _created(outer, inner)
        elif action == "accessed":
            dashboard_id = required_text(field(inner, "asset.id"), "asset.id")
            yield from _viewed(outer, inner, dashboard_id)
    elif name == "Request":
        requested = _requested_dashboard(inner)
        if requested is not None:
            yield from _viewed(outer, inner, requested)


def _user(inner: dict[str, Any]) -> Actor | None:
    email = field(inner, "usr.email")
    if email:
        return handle_actor("datadog", email, "usr.email")
    return handle_actor("datadog", field(inner, "usr.handle"), "usr.handle")


def _timestamp(outer: dict[str, Any]) -> datetime:
    return rfc3339(outer.get("timestamp"), "attributes.timestamp")


def _created(outer: dict[str, Any], inner: dict[str, Any]) -> NormalizedEvent:
    dashboard_id = required_text(field(inner, "asset.id"), "asset.id")
    creator = _user(inner)
    if creator is None:
        raise EventError("usr.email is missing: the dashboard's creation names no user")
    return NormalizedEvent(
        key=f"created:{dashboard_id}",
        type=EventType.ARTIFACT_CREATED,
        occurred_at=_timestamp(outer),
        actor=creator,
        tool=TOOL,
        artifact=ArtifactRef(
            external_id=dashboard_id,
            kind="dashboard",
            title=label(field(inner, "asset.name"), "asset.name"),
            traits=ArtifactTraits(author=creator.value, labels=_tags(inner)),
        ),
    )


def _tags(inner: dict[str, Any]) -> tuple[str, ...]:
    """The dashboard's own tags, where the event carries them (``asset.tags``, or the
    ``tags`` of the dashboard definition in ``asset.new_value``, an object or its JSON)."""
    tags = field(inner, "asset.tags")
    if tags is None:
        definition = field(inner, "asset.new_value")
        if isinstance(definition, str):
            try:
                definition = json.loads(definition)
            except ValueError:
                definition = None
        tags = definition.get("tags") if isinstance(definition, dict) else None
    if not isinstance(tags, list):
        return ()
    found = [label(tag, "asset.tags") for tag in tags[:MAX_TAGS] if isinstance(tag, str)]
    return tuple(tag for tag in found if tag)


def _requested_dashboard(inner: dict[str, Any]) -> str | None:
    """The dashboard a successful ``GET /api/v1/dashboard/<id>`` read, else ``None``."""
    if str(field(inner, "http.method") or "").upper() != "GET":
        return None
    path = field(inner, "http.url_details.path")
    match = DASHBOARD_PATH.match(path) if isinstance(path, str) else None
    if match is None:
        return None
    status = field(inner, "http.status_code")
    try:
        ok = 200 <= int(str(status)) < 300
    except ValueError:
        raise EventError(f"http.status_code {status!r} is not a status code") from None
    return match.group(1) if ok else None


def _viewed(
    outer: dict[str, Any], inner: dict[str, Any], dashboard_id: str
) -> Iterator[NormalizedEvent]:
    viewer = _user(inner)
    if viewer is None:
        return  # an API key's request: nobody's view
    seen_at = _timestamp(outer)
    yield NormalizedEvent(
        key=view_key(dashboard_id, viewer, week_of(seen_at)),
        type=EventType.ARTIFACT_VIEWED,
        occurred_at=seen_at,
        actor=viewer,
        tool=TOOL,
        artifact=ArtifactRef(external_id=dashboard_id, kind="dashboard"),
    )
