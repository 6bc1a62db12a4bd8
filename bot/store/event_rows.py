"""Normalised events as rows of the ``events`` table, ready to write: pure, no database.

``prepare_batch`` does everything that needs no database: one copy per key, the row tuples
with their times bound as the driver takes them, the artifacts to upsert, the actors to
resolve. What is left (the ids of people and artifacts) is filled in by ``events.write_batches``
inside the transaction. A prepared batch holds only plain values, so it is cheap to hand to
another thread or process.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bot.domain.ai_rules import traits_to_json
from bot.domain.events import EventType, NormalizedEvent

# Columns a restated aggregate may change.
VALUE_COLUMNS = (
    "occurred_at",
    "person_id",
    "actor_kind",
    "actor_value",
    "tool",
    "model",
    "input_tokens",
    "cached_tokens",
    "output_tokens",
    "cost_nanos",
    "requests",
    "artifact_id",
    "metrics",
)
# Every column an insert writes, in the order of a ``Row``.
COLUMNS = ("source", "key", "type", "occurred_at", "received_at", *VALUE_COLUMNS[1:])
SOURCE, KEY = COLUMNS.index("source"), COLUMNS.index("key")
OCCURRED_AT, RECEIVED_AT = COLUMNS.index("occurred_at"), COLUMNS.index("received_at")
PERSON_ID, ACTOR_KIND, ACTOR_VALUE = (
    COLUMNS.index("person_id"),
    COLUMNS.index("actor_kind"),
    COLUMNS.index("actor_value"),
)
ARTIFACT_ID = COLUMNS.index("artifact_id")

CREATED = EventType.ARTIFACT_CREATED.value
TYPE = COLUMNS.index("type")
# Key of a described artifact's (source says AI-assisted?, tool, ArtifactTraits | None).
AI_INPUT = "ai_input"

Row = tuple[Any, ...]  # one value per name of ``COLUMNS``
TimeBinder = Callable[[datetime], Any]


@dataclass(slots=True)
class PreparedBatch:
    """One batch of events (a request, or a slice of a file) as rows.

    ``rows`` are the per-request records, one per key, their times bound; ``aggregates`` the
    records a newer copy replaces, as Python values (they are compared with what is stored).
    In both, ``person_id`` and ``artifact_id`` are still empty: the actor of a row is in its
    ``actor_kind``/``actor_value``, its artifact in ``row_artifacts``/``aggregate_artifacts``
    (external ids, one per row, empty lists when the batch refers to no artifact).
    """

    source: str
    events: int  # as received, duplicates within the batch included
    received_at: datetime
    rows: list[Row]
    aggregates: list[Row]
    row_artifacts: list[str | None]
    aggregate_artifacts: list[str | None]
    # external id → fields to upsert, a "described" flag and, when described, ``AI_INPUT``
    artifacts: dict[str, dict[str, Any]]
    actors: set[tuple[str, str]]


def prepare_batch(
    source: str, events: Sequence[NormalizedEvent], received_at: datetime, to_db: TimeBinder
) -> PreparedBatch:
    """Within a batch the first copy of a per-request record wins, the last of an aggregate."""
    unique: dict[str, NormalizedEvent] = {}
    for event in events:
        if event.replace or event.key not in unique:
            unique[event.key] = event
    received = to_db(received_at)
    rows: list[Row] = []
    aggregates: list[Row] = []
    row_artifacts: list[str | None] = []
    aggregate_artifacts: list[str | None] = []
    artifacts: dict[str, dict[str, Any]] = {}
    actors: set[tuple[str, str]] = set()
    for event in unique.values():
        actor = event.actor
        if actor is not None:
            actors.add((actor.kind, actor.value))
        artifact = event.artifact
        if artifact is not None:
            _add_artifact(artifacts, source, event, received_at)
        if event.replace:
            aggregates.append(_row(source, event, received_at, event.occurred_at))
            aggregate_artifacts.append(artifact.external_id if artifact else None)
        else:
            rows.append(_row(source, event, received, to_db(event.occurred_at)))
            row_artifacts.append(artifact.external_id if artifact else None)
    return PreparedBatch(
        source=source,
        events=len(events),
        received_at=received_at,
        rows=rows,
        aggregates=aggregates,
        row_artifacts=row_artifacts if artifacts else [],
        aggregate_artifacts=aggregate_artifacts if artifacts else [],
        artifacts=artifacts,
        actors=actors,
    )


def _row(source: str, event: NormalizedEvent, received_at: Any, occurred_at: Any) -> Row:
    actor = event.actor
    return (
        source,
        event.key,
        event.type.value,
        occurred_at,
        received_at,
        None,  # person_id
        actor.kind if actor else None,
        actor.value if actor else None,
        event.tool,
        event.model,
        event.input_tokens,
        event.cached_tokens,
        event.output_tokens,
        event.cost_nanos,
        event.requests,
        None,  # artifact_id
        json.dumps(event.metrics, sort_keys=True) if event.metrics else None,
    )


def _add_artifact(
    artifacts: dict[str, dict[str, Any]], source: str, event: NormalizedEvent, now: datetime
) -> None:
    """The artifact an event refers to; a ``created`` event describes it (kind, title, time),
    any other only makes sure it exists."""
    ref = event.artifact
    assert ref is not None
    described = event.type is EventType.ARTIFACT_CREATED
    if ref.external_id in artifacts and not described:
        return
    fields: dict[str, Any] = {
        "source": source,
        "external_id": ref.external_id,
        "kind": ref.kind,
        "kind_label": ref.kind_label,
        "title": ref.title,
        "created_at": event.occurred_at if described else now,
        "described": described,
    }
    if described:
        # What the AI-assisted mark is decided from, in the store, against the admins' rules
        # (``events.write_batches``): the source's own word and tool, and the traits.
        fields["traits"] = traits_to_json(ref.traits)
        fields[AI_INPUT] = (event.ai_assisted, event.tool, ref.traits)
    artifacts[ref.external_id] = fields


def with_ids(
    rows: list[Row],
    refs: list[str | None],
    people: dict[tuple[str, str], int | None],
    artifact_ids: dict[str, int],
) -> list[Row]:
    """The rows with the ids of their person and artifact filled in."""
    if not refs:
        return [
            (*row[:PERSON_ID], people.get(row[ACTOR_KIND : ACTOR_VALUE + 1]), *row[ACTOR_KIND:])
            for row in rows
        ]
    return [
        (
            *row[:PERSON_ID],
            people.get(row[ACTOR_KIND : ACTOR_VALUE + 1]),
            *row[ACTOR_KIND:ARTIFACT_ID],
            artifact_ids.get(ref) if ref is not None else None,
            *row[ARTIFACT_ID + 1 :],
        )
        for row, ref in zip(rows, refs, strict=True)
    ]


def with_times_bound(row: Row, to_db: TimeBinder) -> Row:
    occurred_at, received_at = to_db(row[OCCURRED_AT]), to_db(row[RECEIVED_AT])
    return (*row[:OCCURRED_AT], occurred_at, received_at, *row[RECEIVED_AT + 1 :])


# Times ----------------------------------------------------------------------------------------


def time_binder(database: str) -> TimeBinder:
    """What ``UTCDateTime`` binds for an aware datetime on ``database`` (a dialect name)."""
    return sqlite_utc_text if database == "sqlite" else aware_utc


def sqlite_utc_text(value: datetime) -> str:
    """The text ``UTCDateTime`` stores on SQLite (naive UTC, SQLAlchemy's ``DATETIME`` format),
    without its two processors per value."""
    if value.tzinfo is not UTC:
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
    return value.isoformat(" ", "microseconds")[:-6]  # without its "+00:00"


def aware_utc(value: datetime) -> datetime:
    """What ``UTCDateTime`` binds on PostgreSQL: the same instant, in UTC."""
    if value.tzinfo is None:
        raise ValueError("naive datetime given to a UTC column")
    return value.astimezone(UTC)
