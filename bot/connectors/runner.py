"""Run pull connectors: plan from the checkpoint, fetch, store through the ingest pipeline,
record the outcome in ``source_state``.

A run that fails keeps its checkpoint and watermark and records a one-line error admins see
(``ai-roi sources``, the App Home); what it stored before failing stays stored (it upserts). A
refused credential (401/403) is recorded like any failure and is not retried within the run;
the scheduler waits longer after each failure (``plan.is_due``).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import col

from bot.connectors.base import Adjust, Connector, PullRun
from bot.connectors.plan import Window, checkpoint_through, next_checkpoint, plan_window
from bot.context import AppContext
from bot.domain.directory import DirectoryRow
from bot.domain.events import EventType, NormalizedEvent, Rejection
from bot.errors import AiRoiError, CredentialRefusedError, UsageError
from bot.ingest.adapters import RECORD_READERS
from bot.ingest.bulk import ingest_in_batches
from bot.ingest.pipeline import IngestOutcome
from bot.store import source_state
from bot.store.db import transaction
from bot.store.directory import apply_directory
from bot.store.event_rows import prepare_batch, time_binder
from bot.store.events import write_batches
from bot.store.models import Event

log = logging.getLogger(__name__)

Progress = Callable[[str, int], None]  # (source, pages stored so far)
MAX_REJECTIONS_KEPT = 5


@dataclass
class SourceOutcome:
    """What one run of one source did."""

    source: str
    window: Window | None = None
    ok: bool = False
    pages: int = 0
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    rejections: list[str] = field(default_factory=list)
    identities_learned: int = 0
    requests: int = 0
    rate_limited: int = 0
    watermark: datetime | None = None
    error: str | None = None

    def summary(self) -> str:
        if self.window is None:
            return f"{self.source}: failed: {self.error}"
        span = f"{self.window.first.isoformat()} to {self.window.last.isoformat()}"
        counts = (
            f"{self.pages} page{'' if self.pages == 1 else 's'}, {self.accepted} records stored, {self.duplicates} unchanged, "
            f"{self.rejected} rejected; {self.requests} request{'' if self.requests == 1 else 's'}"
            + (f" ({self.rate_limited} rate limited)" if self.rate_limited else "")
        )
        if not self.ok:
            return f"{self.source}: {span}: failed: {self.error} ({counts})"
        through = self.watermark.strftime("%Y-%m-%d %H:%M UTC") if self.watermark else "-"
        return f"{self.source}: {span}: {counts}; complete through {through}"


class _Sink:
    """Stores a run's pages through the ingest pipeline and its identities in the directory."""

    def __init__(self, context: AppContext, outcome: SourceOutcome, progress: Progress | None):
        self.context = context
        self.outcome = outcome
        self.progress = progress

    def ingest(self, source: str, document: Any, adjust: Adjust | None = None) -> None:
        body = json.dumps(document, separators=(",", ":")).encode()
        if adjust is None:
            self.ingest_body(source, body, "application/json")
        else:
            self._count(source, self._ingest_adjusted(source, body, adjust))

    def ingest_body(self, source: str, body: bytes, content_type: str) -> None:
        result = ingest_in_batches(
            self.context.engine, source, body, content_type, now=self.context.clock()
        )
        self._count(source, result)

    def _count(self, source: str, result: IngestOutcome) -> None:
        self.outcome.pages += 1
        self.outcome.accepted += result.accepted
        self.outcome.duplicates += result.duplicates
        self.outcome.rejected += len(result.rejected)
        for rejection in result.rejected:
            log.warning("%s: a record was rejected: %s", source, rejection.error)
            if len(self.outcome.rejections) < MAX_REJECTIONS_KEPT:
                self.outcome.rejections.append(rejection.error)
        if self.progress is not None:
            self.progress(self.outcome.source, self.outcome.pages)

    def _ingest_adjusted(self, source: str, body: bytes, adjust: Adjust) -> IngestOutcome:
        """Parse each record with the adapter, adjust the events it yields, store them."""
        records = RECORD_READERS[source](body, "application/json")
        events: list[NormalizedEvent] = []
        rejected: list[Rejection] = []
        for index, record in enumerate(records.items):
            parsed = records.parse(index, index + 1)
            rejected.extend(parsed.rejected)
            events.extend(adjust(record, event) for event in parsed.events)
        outcome = IngestOutcome(rejected=rejected)
        if events:
            engine = self.context.engine
            batch = prepare_batch(
                source, events, self.context.clock(), time_binder(engine.dialect.name)
            )
            with transaction(engine) as session:
                (stored,) = write_batches(session, [batch])
            outcome.accepted, outcome.duplicates = stored.accepted, stored.duplicates
        return outcome

    def requests_stored(
        self, source: str, window: Window, *, except_keys: str | None = None
    ) -> dict[tuple[date, str, str], int]:
        query = (
            sa.select(
                col(Event.occurred_at),
                col(Event.actor_kind),
                col(Event.actor_value),
                col(Event.requests),
            )
            .where(
                col(Event.source) == source,
                col(Event.type) == EventType.USAGE.value,
                col(Event.occurred_at) >= window.start,
                col(Event.occurred_at) < window.end,
                col(Event.actor_kind).is_not(None),
            )
            .execution_options(yield_per=5_000)
        )
        if except_keys:
            query = query.where(sa.not_(col(Event.key).startswith(except_keys, autoescape=True)))
        stored: dict[tuple[date, str, str], int] = {}
        with transaction(self.context.engine) as session:
            for row in session.execute(query):
                occurred_at, kind, value, requests = row
                if not isinstance(occurred_at, datetime) or kind is None or value is None:
                    continue
                key = (occurred_at.astimezone(UTC).date(), str(kind), str(value))
                stored[key] = stored.get(key, 0) + max(int(str(requests or 0)), 1)
        return stored

    def learn_identities(self, kind: str, emails: Mapping[str, str]) -> None:
        rows = [
            DirectoryRow(line=0, email=email.strip().lower(), identities={kind: value})
            for value, email in sorted(emails.items())
            if "@" in email
        ]
        with transaction(self.context.engine) as session:
            result = apply_directory(session, rows)
        self.outcome.identities_learned += result.identities_added
        for problem in result.problems or []:
            log.warning("%s: %s", self.outcome.source, problem.error)


def pull_source(
    context: AppContext,
    connector: Connector,
    *,
    since: date | None = None,
    until: date | None = None,
    progress: Progress | None = None,
) -> SourceOutcome:
    """One run of ``connector``, recorded in ``source_state``; never raises for a vendor's
    answer (the outcome says what failed)."""
    outcome = SourceOutcome(connector.source)
    now = context.clock()
    with transaction(context.engine) as session:
        state = source_state.status(session, connector.source)
    checkpoint = state.checkpoint if state else None
    settings = context.settings
    try:
        outcome.window = plan_window(
            today=now.date(),
            through=checkpoint_through(checkpoint),
            trailing_days=settings.trailing_days(connector.source),
            backfill_days=settings.pull_backfill_days,
            since=since,
            until=until,
        )
    except ValueError as exc:
        raise UsageError(f"{connector.source}: {exc}") from None
    outbound = connector.outbound(settings)
    run = PullRun(
        source=connector.source,
        window=outcome.window,
        now=now,
        outbound=outbound,
        checkpoint=checkpoint,
        sink=_Sink(context, outcome, progress),
        settings=settings,
    )
    try:
        with outbound.client:
            result = connector.pull(run)
    except CredentialRefusedError as exc:
        outcome.error = f"{exc}; check {connector.credential} and its scope"
    except AiRoiError as exc:
        outcome.error = str(exc)
    except Exception as exc:  # a bug or a vendor surprise: this source fails, the others go on
        log.exception("%s: the pull failed unexpectedly", connector.source)
        outcome.error = f"unexpected {type(exc).__name__} (see the log)"
    else:
        outcome.ok = True
        outcome.watermark = result.watermark
    outcome.requests = outbound.requests_made
    outcome.rate_limited = outbound.rate_limited
    with transaction(context.engine) as session:
        if outcome.ok:
            source_state.record_success(
                session,
                connector.source,
                now=now,
                checkpoint=next_checkpoint(checkpoint, outcome.window, **result.checkpoint),
                watermark=outcome.watermark,
                rows=outcome.accepted,
            )
        else:
            assert outcome.error is not None
            log.info("%s: pull failed: %s", connector.source, outcome.error)
            source_state.record_failure(
                session, connector.source, now=now, error=outcome.error, rows=outcome.accepted
            )
    return outcome


def select_connectors(context: AppContext, names: Sequence[str]) -> list[Connector]:
    """The connectors named (each must exist and be configured), or every configured one."""
    from bot.connectors import CONNECTORS

    by_name = {connector.source: connector for connector in CONNECTORS}
    if not names:
        return [c for c in CONNECTORS if c.configured(context.settings)]
    chosen: list[Connector] = []
    for name in names:
        connector = by_name.get(name)
        if connector is None:
            raise UsageError(f"unknown source {name!r}; pull sources: {', '.join(sorted(by_name))}")
        if not connector.configured(context.settings):
            raise UsageError(f"{name} is not configured: set {connector.credential}")
        if connector not in chosen:
            chosen.append(connector)
    return chosen
