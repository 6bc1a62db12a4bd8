"""Google Drive audit activity (Admin SDK Reports API, ``activities.list`` for the ``drive``
application): documents, spreadsheets and presentations created, and who else viewed them.

A page is ``{"kind": "admin#reports#activities", "items": [activity…], "nextPageToken"}`` (no
``items`` when empty); an activity is ``{"id": {"time", "uniqueQualifier", "applicationName":
"drive", "customerId"}, "actor": {"email", "profileId", "callerType"}, "events": [{"type",
"name", "parameters": [{"name", "value" | "boolValue" | "intValue" | "multiValue"}…]}…]}``.

- ``create`` or ``upload`` of a native Google file → ``artifact.created`` keyed ``created:<doc_id>``
  by its owner (the ``owner`` parameter; in a shared drive, whose owner is the drive, the actor),
  titled ``doc_title``, with ``ArtifactTraits(author=<owner>)``. Kinds: ``document`` → ``doc``,
  ``presentation`` → ``deck``, ``spreadsheet`` → ``report`` (a sheet shared to be read is a
  report; its label stays "spreadsheet"). Other files (PDFs, images, Office files kept as
  such, forms, folders) are not documents written in Drive and are skipped.
- ``view`` by an actor whose email is not the owner's → ``artifact.viewed`` keyed
  ``viewer/<doc_id>/email/<viewer>/<ISO week>``, stored once: each distinct viewer counts once a
  week. The owner's own views, and views by nobody identifiable (no actor email: anonymous
  link visitors), are skipped.

Every other Drive event (edit, download, permission changes…) is not an outcome this source
tracks and is skipped. Identities are email addresses (lower case).
"""

from __future__ import annotations

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
from bot.ingest.adapters.common import (
    Records,
    as_list,
    as_object,
    decode_document,
    email_actor,
    is_email,
    label,
    make_key,
    required_text,
    rfc3339,
)

SOURCE = "google-drive"
TOOL = "google-drive"
VIEW_KEY_PREFIX = "viewer"
EXPECTED = (
    'a Reports API activities page: {"kind": "admin#reports#activities", "items": [{"id": '
    '{"time", "applicationName": "drive"}, "actor": {"email"}, "events": [...]}]}'
)
KINDS = {"document": "doc", "presentation": "deck", "spreadsheet": "report"}
CREATE_EVENTS = frozenset({"create", "upload"})


def parse(body: bytes, content_type: str | None) -> ParseResult:
    return records(body, content_type).parse()


def records(body: bytes, content_type: str | None) -> Records:
    document = decode_document(body)
    if not isinstance(document, dict) or document.get("kind") != "admin#reports#activities":
        raise PayloadError(f"expected {EXPECTED}")
    items = document.get("items", [])
    if not isinstance(items, list):
        raise PayloadError(f"expected {EXPECTED}: items must be a list")
    return Records(items, parse_activity)


def week_of(moment: datetime) -> str:
    year, week, _ = moment.isocalendar()
    return f"{year}-W{week:02d}"


def view_key(doc_id: str, viewer: Actor, week: str) -> str:
    return make_key(VIEW_KEY_PREFIX, doc_id, viewer.kind, viewer.value, week)


def parameters(event: dict[str, Any]) -> dict[str, Any]:
    """An event's parameters by name: ``value``, ``boolValue``, ``intValue`` or ``multiValue``."""
    found: dict[str, Any] = {}
    for parameter in as_list(event.get("parameters", []), "events[].parameters"):
        if not isinstance(parameter, dict) or not isinstance(parameter.get("name"), str):
            continue
        for kind in ("value", "boolValue", "intValue", "multiValue"):
            if kind in parameter:
                found[parameter["name"]] = parameter[kind]
                break
    return found


def parse_activity(item: Any) -> Iterator[NormalizedEvent]:
    if not isinstance(item, dict):
        raise EventError("an activity must be a JSON object")
    ids = as_object(item.get("id"), "id")
    if ids.get("applicationName") not in (None, "drive"):
        raise EventError(f"id.applicationName {ids.get('applicationName')!r} is not drive")
    occurred_at = rfc3339(ids.get("time"), "id.time")
    actor_email = as_object(item.get("actor", {}), "actor").get("email")
    actor = email_actor(actor_email, "actor.email") if actor_email else None
    events: list[NormalizedEvent] = []
    for event in as_list(item.get("events", []), "events"):
        if not isinstance(event, dict):
            raise EventError("events[] must be JSON objects")
        name = event.get("name")
        if not isinstance(name, str):
            raise EventError("events[].name must be a string (create, view, upload …)")
        params = parameters(event)
        kind = KINDS.get(str(params.get("doc_type")))
        if kind is None or name not in CREATE_EVENTS | {"view"}:
            continue
        doc_id = required_text(params.get("doc_id"), "doc_id")
        owner = _person_owner(params)
        if name in CREATE_EVENTS:
            owner = owner or actor
            if owner is None:
                raise EventError("owner and actor.email are missing: the document names no owner")
            events.append(
                NormalizedEvent(
                    key=f"created:{doc_id}",
                    type=EventType.ARTIFACT_CREATED,
                    occurred_at=occurred_at,
                    actor=owner,
                    tool=TOOL,
                    artifact=ArtifactRef(
                        external_id=doc_id,
                        kind=kind,
                        kind_label=str(params["doc_type"]),
                        title=label(params.get("doc_title"), "doc_title"),
                        traits=ArtifactTraits(author=owner.value),
                    ),
                )
            )
        elif actor is not None and actor != owner:
            events.append(
                NormalizedEvent(
                    key=view_key(doc_id, actor, week_of(occurred_at)),
                    type=EventType.ARTIFACT_VIEWED,
                    occurred_at=occurred_at,
                    actor=actor,
                    tool=TOOL,
                    artifact=ArtifactRef(external_id=doc_id, kind=kind),
                )
            )
    yield from events


def _person_owner(params: dict[str, Any]) -> Actor | None:
    """The ``owner`` parameter when it is a person (an email); ``None`` in a shared drive
    (``owner_is_shared_drive``: the owner is the drive), where the creator is the actor who
    created it and a view by anyone else is kept (the store never counts the creator's own)."""
    owner = params.get("owner")
    shared = (
        params.get("owner_is_shared_drive") is True or params.get("owner_is_team_drive") is True
    )
    if isinstance(owner, str) and is_email(owner.strip()) and not shared:
        return Actor("email", owner.strip().lower())
    return None
