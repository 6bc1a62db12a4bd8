"""Text from outside that may be stored: the one check every string passes at the boundary.

SQLite and PostgreSQL disagree about what a string may hold: PostgreSQL refuses NUL in text,
both refuse a lone surrogate (it cannot be encoded as UTF-8), and PostgreSQL refuses a value
longer than its ``VARCHAR(n)`` column while SQLite keeps it. So every string an adapter or the
directory import produces is checked here, against the length of the column it lands in
(``*_LENGTH`` below; ``tests/test_text.py`` holds them to the table models), and refused with a
reason, the same way on both databases. Pure: values in, a reason or ``None`` out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from bot.domain.events import NormalizedEvent

# Lengths of the columns the strings land in (bot/store/models.py).
KEY_LENGTH = 255  # events.key
SOURCE_LENGTH = 32  # events.source, events.actor_kind, identities.kind, artifacts.kind
IDENTITY_LENGTH = 320  # events.actor_value, identities.value, people.email
LABEL_LENGTH = 200  # events.tool/model, artifacts.external_id/kind_label/title, people.name
SLACK_USER_ID_LENGTH = 32  # people.slack_user_id
TEAM_NAME_LENGTH = 200  # teams.name
METRIC_NAME_LENGTH = 64  # a key of events.metrics (JSON text)

# C0 controls, DEL, C1 controls and the surrogate range (a lone surrogate is not encodable).
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_NAMES = {0: "a NUL character", 0x7F: "a DEL character"}
# Line breaks and tabs in a title are layout, not content: they become one space.
_LAYOUT = re.compile("[\t\n\r\x0b\x0c]+")


def text_problem(value: str, max_length: int) -> str | None:
    """Why ``value`` cannot be stored in a column of ``max_length`` characters, or ``None``."""
    found = _UNSAFE.search(value)
    if found is not None:
        code = ord(found.group())
        if 0xD800 <= code <= 0xDFFF:
            what = f"a lone surrogate (U+{code:04X})"
        else:
            what = _NAMES.get(code, f"a control character (U+{code:04X})")
        return f"contains {what} at position {found.start()}"
    if len(value) > max_length:
        return f"is longer than {max_length} characters"
    return None


def display_label(value: str, max_length: int) -> str:
    """A title as people see it: line breaks and tabs become spaces, and a title longer than its
    column is cut with an ellipsis (a long pull-request title is no reason to lose the event)."""
    value = _LAYOUT.sub(" ", value).strip()
    if len(value) > max_length:
        value = value[: max_length - 1].rstrip() + "…"
    return value


def with_display_title(event: NormalizedEvent) -> NormalizedEvent:
    """``event`` with its artifact's title made displayable (``display_label``); identifiers are
    never rewritten, only checked (``event_problem``)."""
    artifact = event.artifact
    if artifact is not None and artifact.title is not None:
        title = display_label(artifact.title, LABEL_LENGTH)
        if title != artifact.title:
            event.artifact = replace(artifact, title=title)
    return event


@dataclass(frozen=True)
class _Field:
    name: str
    value: str | None
    max_length: int


def _fields(event: NormalizedEvent) -> list[_Field]:
    fields = [
        _Field("id", event.key, KEY_LENGTH),
        _Field("tool", event.tool, LABEL_LENGTH),
        _Field("model", event.model, LABEL_LENGTH),
    ]
    if event.actor is not None:
        fields.append(_Field("actor source", event.actor.kind, SOURCE_LENGTH))
        fields.append(_Field("actor", event.actor.value, IDENTITY_LENGTH))
    artifact = event.artifact
    if artifact is not None:
        fields.extend(
            [
                _Field("artifact.id", artifact.external_id, LABEL_LENGTH),
                _Field("artifact.kind", artifact.kind, SOURCE_LENGTH),
                _Field("artifact.kind label", artifact.kind_label, LABEL_LENGTH),
                _Field("artifact.title", artifact.title, LABEL_LENGTH),
            ]
        )
        traits = artifact.traits
        if traits is not None:  # the requester becomes the created event's actor
            fields.append(_Field("artifact author", traits.author, IDENTITY_LENGTH))
            fields.append(_Field("artifact requested by", traits.requested_by, IDENTITY_LENGTH))
            fields.extend(_Field("artifact tag", tag, LABEL_LENGTH) for tag in traits.labels)
            fields.extend(
                _Field("artifact trailer", line, IDENTITY_LENGTH)
                for line in (*traits.trailers, *traits.markers)
            )
    fields.extend(_Field("metric name", name, METRIC_NAME_LENGTH) for name in event.metrics)
    return fields


def event_problem(event: NormalizedEvent) -> str | None:
    """The first string of ``event`` that cannot be stored, with the reason; else ``None``."""
    if event.artifact is None and not event.metrics and _plainly_fine(event):
        return None
    for field in _fields(event):
        if field.value is None:
            continue
        problem = text_problem(field.value, field.max_length)
        if problem is not None:
            return f"{field.name} {problem}"
    return None


def _plainly_fine(event: NormalizedEvent) -> bool:
    """Whether the strings ``_fields`` gives for an event without artifact or metrics (most
    usage events) all fit and hold no unsafe character: one search over them all, where the
    field-by-field check (which names the field) costs several times more."""
    key, tool, model, actor = event.key, event.tool, event.model, event.actor
    kind, value = (actor.kind, actor.value) if actor is not None else ("", "")
    return (
        len(key) <= KEY_LENGTH
        and (tool is None or len(tool) <= LABEL_LENGTH)
        and (model is None or len(model) <= LABEL_LENGTH)
        and len(kind) <= SOURCE_LENGTH
        and len(value) <= IDENTITY_LENGTH
        and _UNSAFE.search(f"{key}{tool or ''}{model or ''}{kind}{value}") is None
    )
