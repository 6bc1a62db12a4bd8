"""The generic event schema (DESIGN §3.4): ``{"events": [...]}``, a JSON array, one object, or NDJSON."""

from __future__ import annotations

from dataclasses import replace
from typing import IO, Any

from bot.domain.events import (
    ARTIFACT_KINDS,
    Actor,
    ArtifactRef,
    ArtifactTraits,
    EventType,
    NormalizedEvent,
    ParseResult,
)
from bot.domain.units import (
    MAX_REQUESTS_PER_RECORD,
    parse_rfc3339,
    to_count,
    usd_to_nanos,
)
from bot.errors import EventError, PayloadError
from bot.ingest.adapters.common import (
    Records,
    RecordStream,
    document_lines,
    read_records,
    stream_records,
)
from bot.ingest.decoding import Tally

SOURCE = "usage"
MAX_ID_LENGTH = 200
MAX_LABEL_LENGTH = 200
MAX_TAGS = 50
MAX_TAG_LENGTH = 100
_TYPES = ", ".join(t.value for t in EventType)
_TYPE_OF = {t.value: t for t in EventType}


def parse(body: bytes, content_type: str | None) -> ParseResult:
    """Parse a whole request body; per-event problems become rejections, not errors."""
    return records(body, content_type).parse()


def records(body: bytes, content_type: str | None) -> Records:
    """The events of a body, each still to be parsed (``Records.parse``)."""
    items, line_errors = read_records(body, content_type, envelope_items)
    return Records(items, _parse_one, line_errors)


def stream(body: IO[bytes], content_type: str | None, tally: Tally | None = None) -> RecordStream:
    """The events of a file as it is read: NDJSON, a JSON array, or ``{"events": [...]}`` stream;
    one event object is read whole."""
    lines, document = stream_records(body, content_type, tally, list_key="events")
    if lines is None:
        lines = document_lines(document, envelope_items)
    return RecordStream(lines, _parse_one)


def envelope_items(document: Any) -> list[Any]:
    """The list of events inside any accepted envelope; ``PayloadError`` for another shape."""
    if isinstance(document, list):
        return document
    if isinstance(document, dict):
        if "events" in document:
            events = document["events"]
            if not isinstance(events, list):
                raise PayloadError('"events" must be a JSON array of events')
            return events
        if "type" in document or "id" in document:
            return [document]
    raise PayloadError(
        'expected {"events": [...]}, a JSON array of events, or one event object '
        '(with "id", "type", "occurred_at", "actor")'
    )


def _parse_one(item: Any) -> tuple[NormalizedEvent]:
    return (parse_event(item),)


def parse_event(item: Any) -> NormalizedEvent:
    """One generic event → ``NormalizedEvent``; ``EventError`` says what is wrong."""
    if not isinstance(item, dict):
        raise EventError("event must be a JSON object")
    key = _event_id(item.get("id"))
    type_ = _event_type(item.get("type"))
    occurred_at = parse_rfc3339(item.get("occurred_at"), "occurred_at")
    actor = parse_actor(item.get("actor"))
    tool = _optional_label(item.get("tool"), "tool")
    model = _optional_label(item.get("model"), "model")

    if type_ is EventType.USAGE:
        usage = item.get("usage")
        if not isinstance(usage, dict):
            raise EventError('"usage" object is required for ai.usage events')
        input_tokens = to_count(usage.get("input_tokens", 0), "usage.input_tokens")
        cached_tokens = to_count(usage.get("cached_tokens", 0), "usage.cached_tokens")
        output_tokens = to_count(usage.get("output_tokens", 0), "usage.output_tokens")
        if cached_tokens > input_tokens:
            raise EventError(
                "usage.cached_tokens cannot exceed usage.input_tokens (input includes cached)"
            )
        cost = usage.get("cost_usd")
        cost_nanos = 0 if cost is None else usd_to_nanos(cost, "usage.cost_usd")
        requests = to_count(usage.get("requests", 1), "usage.requests", MAX_REQUESTS_PER_RECORD)
        return NormalizedEvent(
            key=key,
            type=type_,
            occurred_at=occurred_at,
            actor=actor,
            tool=tool,
            model=model,
            input_tokens=input_tokens,
            cached_tokens=cached_tokens,
            output_tokens=output_tokens,
            cost_nanos=cost_nanos,
            requests=requests,
        )

    created = type_ is EventType.ARTIFACT_CREATED
    artifact = parse_artifact(item.get("artifact"), with_kind=created)
    ai_assisted = None
    if created:
        ai_assisted = ai_mark(item, tool)
        labels = parse_tags(item["artifact"].get("tags"))
        # The creator (creator rules match service accounts) and the tags (tag rules).
        artifact = replace(artifact, traits=ArtifactTraits(author=actor.value, labels=labels))
    return NormalizedEvent(
        key=key,
        type=type_,
        occurred_at=occurred_at,
        actor=actor,
        tool=tool,
        model=model,
        artifact=artifact,
        ai_assisted=ai_assisted,
    )


def ai_mark(item: dict[str, Any], tool: str | None) -> bool | None:
    """Whether an ``artifact.created`` event marks its artifact AI-assisted (DESIGN §3.7): a
    ``tool`` names the AI tool that made it, unless ``"ai_assisted": false`` says otherwise;
    ``"ai_assisted": true`` marks it without a tool. ``None`` when the event says nothing (the
    admins' rules decide). The flag may sit on the event or on its artifact."""
    flags = [
        holder["ai_assisted"]
        for holder in (item, item["artifact"])
        if holder.get("ai_assisted") is not None
    ]
    if any(not isinstance(flag, bool) for flag in flags):
        raise EventError("ai_assisted must be true or false")
    if len(set(flags)) > 1:
        raise EventError("ai_assisted and artifact.ai_assisted disagree")
    if flags:
        return bool(flags[0])
    return True if tool else None


def parse_tags(value: Any) -> tuple[str, ...]:
    """``artifact.tags``: a list of short strings (the traits' labels the tag rules read)."""
    if value is None:
        return ()
    if not isinstance(value, list) or any(not isinstance(tag, str) for tag in value):
        raise EventError("artifact.tags must be a list of strings")
    if len(value) > MAX_TAGS:
        raise EventError(f"artifact.tags has more than {MAX_TAGS} tags")
    tags: list[str] = []
    for tag in value:
        text = tag.strip()
        if len(text) > MAX_TAG_LENGTH:
            raise EventError(f"artifact.tags: a tag is longer than {MAX_TAG_LENGTH} characters")
        if text and text not in tags:
            tags.append(text)
    return tuple(tags)


def parse_actor(value: Any) -> Actor:
    if not isinstance(value, dict):
        raise EventError(
            '"actor" is required: an object with "email", "slack_user_id", or "external_id" and "source"'
        )
    email = value.get("email")
    if email is not None:
        address = email.strip() if isinstance(email, str) else ""
        if "@" not in address[1:-1] or len(email) > 320:
            raise EventError(f"actor.email {email!r} is not an email address")
        return Actor("email", address.lower())
    slack_user_id = value.get("slack_user_id")
    if slack_user_id is not None:
        if not isinstance(slack_user_id, str) or not slack_user_id.strip():
            raise EventError("actor.slack_user_id must be a non-empty string")
        return Actor("slack", slack_user_id.strip())
    external_id, source = value.get("external_id"), value.get("source")
    if external_id is not None or source is not None:
        if (
            not isinstance(external_id, str | int)
            or isinstance(external_id, bool)
            or not str(external_id).strip()
        ):
            raise EventError("actor.external_id must be a non-empty string")
        if not isinstance(source, str) or not source.strip():
            raise EventError("actor.external_id needs actor.source (the system that id belongs to)")
        return Actor(source.strip().lower(), str(external_id).strip())
    raise EventError(
        '"actor" needs one of "email", "slack_user_id", or "external_id" with "source"'
    )


def parse_artifact(value: Any, *, with_kind: bool) -> ArtifactRef:
    if not isinstance(value, dict):
        raise EventError('"artifact" object with an "id" is required for artifact events')
    raw_id = value.get("id")
    if isinstance(raw_id, bool) or not isinstance(raw_id, str | int) or not str(raw_id).strip():
        raise EventError("artifact.id must be a non-empty string")
    external_id = str(raw_id).strip()
    if len(external_id) > MAX_ID_LENGTH:
        raise EventError(f"artifact.id is longer than {MAX_ID_LENGTH} characters")
    if not with_kind:
        return ArtifactRef(external_id=external_id)
    kind, label = normalize_kind(value.get("kind"))
    title = _optional_label(value.get("title"), "artifact.title")
    return ArtifactRef(external_id=external_id, kind=kind, kind_label=label, title=title)


def normalize_kind(value: Any) -> tuple[str, str | None]:
    """A known artifact kind, or ``other`` with the sender's label kept."""
    if value is None:
        return "other", None
    if not isinstance(value, str) or not value.strip():
        raise EventError("artifact.kind must be a string")
    label = value.strip()
    kind = label.lower().replace("-", "_").replace(" ", "_")
    if kind in ARTIFACT_KINDS:
        return kind, None
    return "other", label[:MAX_LABEL_LENGTH]


def _event_id(value: Any) -> str:
    key = value.strip() if isinstance(value, str) else ""
    if not key:
        raise EventError(
            '"id" is required: a non-empty string, unique per sender (the idempotency key)'
        )
    if len(value) > MAX_ID_LENGTH:
        raise EventError(f'"id" is longer than {MAX_ID_LENGTH} characters')
    return key


def _event_type(value: Any) -> EventType:
    if type(value) is str and value in _TYPE_OF:
        return _TYPE_OF[value]
    if value is None:
        raise EventError(f'"type" is required: one of {_TYPES}')
    try:
        return EventType(value)
    except ValueError:
        raise EventError(f"unknown type {value!r}; expected one of {_TYPES}") from None


def _optional_label(value: Any, field: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise EventError(f"{field} must be a string")
    text = value.strip()
    return text[:MAX_LABEL_LENGTH] or None
