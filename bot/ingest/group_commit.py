"""One writer thread per engine: requests that arrive together share one transaction."""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.store.db import transaction
from bot.store.event_rows import PreparedBatch
from bot.store.events import StoreResult, write_batches
from bot.store.webhook_receipts import claim

log = logging.getLogger(__name__)

MAX_GROUP = 256  # requests per shared transaction
IDLE_SECONDS = 1.0  # the writer thread ends after this long without work
# Under load a commit waits a moment for more requests to join it, as databases delay a commit
# while others are about to commit (PostgreSQL's commit_delay and commit_siblings): fewer,
# larger commits, and the request threads run meanwhile instead of contending with the writer.
# With 64 one-event webhook requests in flight (``bench.ingest``) it cut the server's CPU per
# request by about a sixth; each request waits at most this long more.
DELAY_FROM = 8  # requests in one commit: the sign of load; with fewer nothing waits
DELAY_SECONDS = 0.008


@dataclass
class Pending:
    """One request's batch, and what became of it once the writer is done with it.

    The writer tells whoever waits: ``done`` is called from the writer's thread, and ``future``
    is settled on its event loop, one wake-up of the loop for all its requests in a commit.
    """

    batch: PreparedBatch
    done: Callable[[Pending], None] | None = None
    # A signed message's ``webhook-id`` and when it arrived: stored with the events, and a
    # message whose id is already stored is a replay that changes nothing.
    receipt: tuple[str, datetime] | None = None
    future: asyncio.Future[StoreResult] | None = None
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
        self._queue: queue.SimpleQueue[Pending] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._running = False

    def store(
        self, batch: PreparedBatch, receipt: tuple[str, datetime] | None = None
    ) -> StoreResult:
        """Store and wait for the commit (from any thread but the writer's)."""
        finished = threading.Event()
        pending = Pending(batch, lambda _pending: finished.set(), receipt)
        self.submit(pending)
        finished.wait()
        if pending.error is not None:
            raise pending.error
        assert pending.result is not None
        return pending.result

    def submit(self, pending: Pending) -> None:
        """Queue ``pending``; the writer tells its waiter after the commit (see ``Pending``)."""
        self._queue.put(pending)
        with self._lock:
            if not self._running:
                self._running = True
                threading.Thread(target=self._run, name="ai-roi-writer", daemon=True).start()

    def _run(self) -> None:
        loaded = False
        while True:
            try:
                group = [self._queue.get(timeout=IDLE_SECONDS)]
            except queue.Empty:
                with self._lock:
                    if self._queue.empty():
                        self._running = False
                        return
                continue
            self._take_waiting(group)
            if len(group) >= DELAY_FROM or loaded:
                wait_for_more(DELAY_SECONDS)
                self._take_waiting(group)
            # A commit this large shows load: the next one waits too, though it may start with
            # a single request (the first of those answered by this commit to send again).
            loaded = len(group) >= DELAY_FROM
            self.store_group(group)
            notify(group)

    def _take_waiting(self, group: list[Pending]) -> None:
        while len(group) < MAX_GROUP:
            try:
                group.append(self._queue.get_nowait())
            except queue.Empty:
                return

    def store_group(self, group: list[Pending]) -> None:
        """Store the batches of ``group`` in one transaction, or else each in its own."""
        engine = self._engine()
        if engine is None:
            for pending in group:
                pending.error = RuntimeError("the database engine was closed")
            return
        if len(group) > 1:
            try:
                with transaction(engine) as session:
                    results = write_group(session, group)
            except Exception:
                log.debug("shared ingest transaction failed; storing one by one", exc_info=True)
            else:
                for pending, result in zip(group, results, strict=True):
                    pending.result = result
                return
        for pending in group:
            try:
                with transaction(engine) as session:
                    (pending.result,) = write_group(session, [pending])
            except BaseException as exc:
                pending.error = exc


def wait_for_more(seconds: float) -> None:
    """The commit delay (the writer's thread sleeps; requests go on arriving)."""
    time.sleep(seconds)


def notify(group: list[Pending]) -> None:
    """Tell the waiters of ``group``: callbacks at once, futures with one call per event loop."""
    loops: dict[asyncio.AbstractEventLoop, list[Pending]] = {}
    for pending in group:
        if pending.future is not None:
            loops.setdefault(pending.future.get_loop(), []).append(pending)
        elif pending.done is not None:
            pending.done(pending)
    for loop, waiting in loops.items():
        try:
            loop.call_soon_threadsafe(_settle, waiting)
        except RuntimeError:  # the loop is closed: nobody waits any more; what was stored stays
            log.debug("event loop closed before %d requests were answered", len(waiting))


def _settle(group: list[Pending]) -> None:
    """On the waiters' loop: each future gets its result or error."""
    for pending in group:
        future = pending.future
        assert future is not None
        if future.done():  # the request was cancelled; what was stored stays stored
            continue
        if pending.error is not None:
            future.set_exception(pending.error)
        else:
            assert pending.result is not None
            future.set_result(pending.result)


def write_group(session: Session, group: list[Pending]) -> list[StoreResult]:
    """The batches of ``group`` written in the session's transaction, with their receipts; a
    replayed message writes nothing and counts all its events as duplicates."""
    signed = [(index, p.receipt) for index, p in enumerate(group) if p.receipt is not None]
    replayed = claim(session, [receipt for _, receipt in signed])
    replays = {index for (index, _), again in zip(signed, replayed, strict=True) if again}
    fresh = [pending.batch for index, pending in enumerate(group) if index not in replays]
    written = iter(write_batches(session, fresh) if fresh else [])
    return [
        StoreResult(accepted=0, duplicates=pending.batch.events)
        if index in replays
        else next(written)
        for index, pending in enumerate(group)
    ]


_GROUP_COMMITS: weakref.WeakKeyDictionary[Engine, GroupCommit] = weakref.WeakKeyDictionary()
_GROUP_COMMITS_LOCK = threading.Lock()


def group_commit(engine: Engine) -> GroupCommit:
    """The one ``GroupCommit`` of ``engine`` in this process."""
    with _GROUP_COMMITS_LOCK:
        committer = _GROUP_COMMITS.get(engine)
        if committer is None:
            committer = _GROUP_COMMITS[engine] = GroupCommit(engine)
        return committer
