"""The pull tick inside ``ai-roi serve``: every few minutes, each configured pull source whose
interval has passed (``Connector.interval``; longer after failures) is pulled once.

On PostgreSQL each source is pulled under a session advisory lock, so two replicas never pull
one source at once: the one that does not get the lock skips the source this tick. SQLite runs
one process; a lock in the process keeps two threads apart.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from sqlalchemy.engine import Engine

from bot.connectors import CONNECTORS
from bot.connectors.base import Connector
from bot.connectors.plan import is_due
from bot.connectors.runner import SourceOutcome, pull_source
from bot.context import AppContext
from bot.store import source_state
from bot.store.db import transaction

log = logging.getLogger(__name__)

_local_locks: dict[str, threading.Lock] = {}
_local_locks_guard = threading.Lock()


def lock_key(source: str) -> int:
    """The advisory lock key of one source: a stable signed 64-bit number."""
    digest = hashlib.sha256(f"ai-roi:pull:{source}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


@contextmanager
def source_lock(engine: Engine, source: str) -> Iterator[bool]:
    """Yields whether this process now holds the pull lock of ``source`` (never waits)."""
    if engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            key = lock_key(source)
            got = bool(
                connection.exec_driver_sql("SELECT pg_try_advisory_lock(%s)", (key,)).scalar()
            )
            connection.commit()
            try:
                yield got
            finally:
                if got:
                    connection.exec_driver_sql("SELECT pg_advisory_unlock(%s)", (key,))
                    connection.commit()
        return
    with _local_locks_guard:
        lock = _local_locks.setdefault(f"{engine.url}:{source}", threading.Lock())
    got = lock.acquire(blocking=False)
    try:
        yield got
    finally:
        if got:
            lock.release()


def _due(context: AppContext, connector: Connector) -> bool:
    with transaction(context.engine) as session:
        state = source_state.status(session, connector.source)
    return is_due(
        now=context.clock(),
        interval=connector.interval,
        last_run_at=state.last_run_at if state else None,
        consecutive_failures=state.consecutive_failures if state else 0,
    )


def pull_tick(
    context: AppContext, *, connectors: Sequence[Connector] = CONNECTORS
) -> list[SourceOutcome]:
    """Pull every configured source that is due and not being pulled elsewhere."""
    outcomes: list[SourceOutcome] = []
    for connector in connectors:
        if not connector.configured(context.settings) or not _due(context, connector):
            continue
        with source_lock(context.engine, connector.source) as held:
            # Another replica may hold it, or have finished it while we waited to look.
            if not held or not _due(context, connector):
                log.info("%s: pulled by another replica; skipped", connector.source)
                continue
            outcome = pull_source(context, connector)
        log.log(logging.INFO if outcome.ok else logging.WARNING, "%s", outcome.summary())
        outcomes.append(outcome)
    return outcomes


def run_pull_tick_safely(context: AppContext) -> list[SourceOutcome]:
    """A tick that logs its failure with the traceback and lets the next tick try again."""
    try:
        return pull_tick(context)
    except Exception:
        log.exception("pull tick failed; the next tick retries")
        return []
