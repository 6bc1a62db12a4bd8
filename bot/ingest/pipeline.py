"""The ingest pipeline for request bodies: parse with the source's adapter, store what is valid,
report the rest. (Files, however large, go through ``bulk.ingest_in_batches``.)"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Engine

from bot.domain.events import ParseResult, Rejection
from bot.ingest.adapters import adapter_for
from bot.ingest.gc_pause import gc_paused_for
from bot.ingest.group_commit import Pending, group_commit
from bot.observability import metrics
from bot.store.event_rows import PreparedBatch, prepare_batch, time_binder
from bot.store.events import StoreResult
from bot.store.models import utcnow

INLINE_PARSE_BYTES = 16 * 1024  # larger bodies are parsed off the event loop


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
    adapter = adapter_for(source)
    with gc_paused_for(body):
        return adapter(body, content_type)


def prepare(
    engine: Engine, source: str, parsed: ParseResult, now: datetime | None
) -> PreparedBatch:
    """The parsed events as rows for ``engine``'s database, received ``now``."""
    to_db = time_binder(engine.dialect.name)
    return prepare_batch(source, parsed.events, now or utcnow(), to_db)


def ingest_body(
    engine: Engine,
    source: str,
    body: bytes,
    content_type: str | None,
    *,
    now: datetime | None = None,
) -> IngestOutcome:
    """One request body through the whole pipeline, committed before this returns.

    Bodies that arrive together share one commit (see ``GroupCommit``); each gets its own
    counts, and a body that cannot be stored fails alone.
    """
    parsed, batch = _parsed(engine, source, body, content_type, now)
    return _outcome(
        source, parsed, group_commit(engine).store(batch) if batch is not None else None
    )


async def ingest_body_async(
    engine: Engine,
    source: str,
    body: bytes,
    content_type: str | None,
    *,
    now: datetime | None = None,
    receipt: tuple[str, datetime] | None = None,
) -> IngestOutcome:
    """``ingest_body`` for the event loop: small bodies are parsed in place, large ones in a
    worker thread, and the commit is awaited without holding a thread.

    ``receipt`` (a signed message's ``webhook-id`` and arrival time) is stored with the events;
    when it is already stored the message is a replay: nothing is written and every event
    counts as a duplicate.
    """
    if len(body) > INLINE_PARSE_BYTES:
        parsed, batch = await asyncio.to_thread(_parsed, engine, source, body, content_type, now)
    else:
        parsed, batch = _parsed(engine, source, body, content_type, now)
    if batch is None:
        return _outcome(source, parsed, None)
    future: asyncio.Future[StoreResult] = asyncio.get_running_loop().create_future()
    group_commit(engine).submit(Pending(batch, receipt=receipt, future=future))
    return _outcome(source, parsed, await future)


def _parsed(
    engine: Engine, source: str, body: bytes, content_type: str | None, now: datetime | None
) -> tuple[ParseResult, PreparedBatch | None]:
    parsed = parse_body(source, body, content_type)
    return parsed, prepare(engine, source, parsed, now) if parsed.events else None


def _outcome(source: str, parsed: ParseResult, stored: StoreResult | None) -> IngestOutcome:
    outcome = IngestOutcome(rejected=list(parsed.rejected))
    if stored is not None:
        outcome.accepted, outcome.duplicates = stored.accepted, stored.duplicates
    metrics.count_events(
        source,
        accepted=outcome.accepted,
        duplicates=outcome.duplicates,
        rejected=len(outcome.rejected),
    )
    return outcome
