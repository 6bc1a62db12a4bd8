"""The ingest pipeline: parse with the source's adapter, store what is valid, report the rest."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Engine

from bot.domain.events import NormalizedEvent, ParseResult, Rejection
from bot.ingest.adapters import adapter_for
from bot.store.db import transaction
from bot.store.events import store_events

BATCH_SIZE = 1000


@dataclass
class IngestOutcome:
    accepted: int = 0
    duplicates: int = 0
    rejected: list[Rejection] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "accepted": self.accepted,
            "duplicates": self.duplicates,
            "rejected": [{"index": r.index, "error": r.error} for r in self.rejected],
        }


def parse_body(source: str, body: bytes, content_type: str | None) -> ParseResult:
    """Parse with the adapter of ``source`` (``UnknownSourceError``, ``PayloadError`` on failure)."""
    return adapter_for(source)(body, content_type)


def store_parsed(
    engine: Engine,
    source: str,
    parsed: ParseResult,
    *,
    now: datetime | None = None,
    batch_size: int = BATCH_SIZE,
    progress: Callable[[int], None] | None = None,
) -> IngestOutcome:
    """Store the valid events in batches of ``batch_size``, one transaction each.

    Each batch is committed before the next starts, so what has been reported as accepted is
    durable. ``progress`` is called with the number of events handled after each batch.
    """
    outcome = IngestOutcome(rejected=list(parsed.rejected))
    events: list[NormalizedEvent] = parsed.events
    for start in range(0, len(events), batch_size):
        batch = events[start : start + batch_size]
        with transaction(engine) as session:
            stored = store_events(session, source, batch, now)
        outcome.accepted += stored.accepted
        outcome.duplicates += stored.duplicates
        if progress:
            progress(len(batch))
    return outcome


def ingest_body(
    engine: Engine,
    source: str,
    body: bytes,
    content_type: str | None,
    *,
    now: datetime | None = None,
) -> IngestOutcome:
    """One request body through the whole pipeline, committed in one transaction."""
    parsed = parse_body(source, body, content_type)
    return store_parsed(engine, source, parsed, now=now, batch_size=max(1, len(parsed.events)))
