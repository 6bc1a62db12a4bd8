"""The ingest pipeline: parse with the source's adapter, store what is valid, report the rest."""

from __future__ import annotations

import asyncio
import gc
import logging
import queue
import threading
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Engine

from bot.domain.events import NormalizedEvent, ParseResult, Rejection
from bot.ingest.adapters import adapter_for
from bot.store.db import transaction
from bot.store.events import StoreResult, store_event_batches, store_events

log = logging.getLogger(__name__)

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
    adapter = adapter_for(source)
    if len(body) < PAUSE_GC_BYTES:
        return adapter(body, content_type)
    with _gc_paused():
        return adapter(body, content_type)


# A large body becomes hundreds of thousands of new objects (its JSON tree, then the events),
# none of them in a reference cycle. The cycle collector would traverse them again and again as
# they pile up (a third of the parse time of a bulk import), so it waits until they are built.
PAUSE_GC_BYTES = 1024 * 1024
_gc_pauses = 0
_gc_pauses_lock = threading.Lock()


@contextmanager
def _gc_paused() -> Iterator[None]:
    """No automatic cycle collection while any thread is inside; restored as it was after."""
    global _gc_pauses, _gc_was_enabled
    with _gc_pauses_lock:
        if _gc_pauses == 0:
            _gc_was_enabled = gc.isenabled()
            gc.disable()
        _gc_pauses += 1
    try:
        yield
    finally:
        with _gc_pauses_lock:
            _gc_pauses -= 1
            if _gc_pauses == 0 and _gc_was_enabled:
                gc.enable()


_gc_was_enabled = True


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
    """One request body through the whole pipeline, committed before this returns.

    Bodies that arrive together share one commit (see ``GroupCommit``); each gets its own
    counts, and a body that cannot be stored fails alone.
    """
    parsed = parse_body(source, body, content_type)
    stored = group_commit(engine).store(source, parsed.events, now) if parsed.events else None
    return _outcome(parsed, stored)


async def ingest_body_async(
    engine: Engine,
    source: str,
    body: bytes,
    content_type: str | None,
    *,
    now: datetime | None = None,
) -> IngestOutcome:
    """``ingest_body`` for the event loop: small bodies are parsed in place, large ones in a
    worker thread, and the commit is awaited without holding a thread."""
    if len(body) > INLINE_PARSE_BYTES:
        parsed = await asyncio.to_thread(parse_body, source, body, content_type)
    else:
        parsed = parse_body(source, body, content_type)
    if not parsed.events:
        return _outcome(parsed, None)
    loop = asyncio.get_running_loop()
    future: asyncio.Future[StoreResult] = loop.create_future()

    def done(pending: _Pending) -> None:
        loop.call_soon_threadsafe(_settle, future, pending)

    group_commit(engine).submit(_Pending(source, parsed.events, now, done))
    return _outcome(parsed, await future)


def _settle(future: asyncio.Future[StoreResult], pending: _Pending) -> None:
    if future.done():  # the request was cancelled; what was stored stays stored
        return
    if pending.error is not None:
        future.set_exception(pending.error)
    else:
        assert pending.result is not None
        future.set_result(pending.result)


def _outcome(parsed: ParseResult, stored: StoreResult | None) -> IngestOutcome:
    outcome = IngestOutcome(rejected=list(parsed.rejected))
    if stored is not None:
        outcome.accepted, outcome.duplicates = stored.accepted, stored.duplicates
    return outcome


# Group commit ---------------------------------------------------------------------------------

INLINE_PARSE_BYTES = 16 * 1024
MAX_GROUP = 256  # requests per shared transaction
IDLE_SECONDS = 1.0  # the writer thread ends after this long without work


@dataclass
class _Pending:
    source: str
    events: list[NormalizedEvent]
    now: datetime | None
    done: Callable[[_Pending], None]
    result: StoreResult | None = None
    error: BaseException | None = None


class GroupCommit:
    """One writer thread per engine stores what requests hand it, many requests per transaction.

    Requests that arrive while a commit is under way share the next transaction and its one
    commit (one fsync), as databases do with their logs; each request gets its own counts, and
    is told only after the commit that holds its events, so what is acknowledged is durable.
    If a shared transaction fails, its requests are stored again one per transaction, so one
    bad body cannot fail the others. Writing from one thread also spares SQLite's busy-wait.
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = weakref.ref(engine)  # the registry below must not keep engines alive
        self._queue: queue.SimpleQueue[_Pending] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._running = False

    def store(
        self, source: str, events: list[NormalizedEvent], now: datetime | None
    ) -> StoreResult:
        """Store and wait for the commit (from any thread but the writer's)."""
        finished = threading.Event()
        pending = _Pending(source, events, now, lambda _pending: finished.set())
        self.submit(pending)
        finished.wait()
        if pending.error is not None:
            raise pending.error
        assert pending.result is not None
        return pending.result

    def submit(self, pending: _Pending) -> None:
        """Queue ``pending``; ``pending.done`` is called from the writer after its commit."""
        self._queue.put(pending)
        with self._lock:
            if not self._running:
                self._running = True
                threading.Thread(target=self._run, name="ai-roi-writer", daemon=True).start()

    def _run(self) -> None:
        while True:
            try:
                group = [self._queue.get(timeout=IDLE_SECONDS)]
            except queue.Empty:
                with self._lock:
                    if self._queue.empty():
                        self._running = False
                        return
                continue
            while len(group) < MAX_GROUP:
                try:
                    group.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            self._store_group(group)
            for pending in group:
                pending.done(pending)

    def _store_group(self, group: list[_Pending]) -> None:
        engine = self._engine()
        if engine is None:
            for pending in group:
                pending.error = RuntimeError("the database engine was closed")
            return
        if len(group) > 1:
            try:
                with transaction(engine) as session:
                    for source in dict.fromkeys(p.source for p in group):
                        same = [p for p in group if p.source == source]
                        batches = [(p.events, p.now) for p in same]
                        results = store_event_batches(session, source, batches)
                        for pending, result in zip(same, results, strict=True):
                            pending.result = result
            except Exception:
                log.debug("shared ingest transaction failed; storing one by one", exc_info=True)
                for pending in group:
                    pending.result = None
            else:
                return
        for pending in group:
            try:
                with transaction(engine) as session:
                    pending.result = store_events(
                        session, pending.source, pending.events, pending.now
                    )
            except BaseException as exc:
                pending.error = exc


_GROUP_COMMITS: weakref.WeakKeyDictionary[Engine, GroupCommit] = weakref.WeakKeyDictionary()
_GROUP_COMMITS_LOCK = threading.Lock()


def group_commit(engine: Engine) -> GroupCommit:
    """The one ``GroupCommit`` of ``engine`` in this process."""
    with _GROUP_COMMITS_LOCK:
        committer = _GROUP_COMMITS.get(engine)
        if committer is None:
            committer = _GROUP_COMMITS[engine] = GroupCommit(engine)
        return committer
