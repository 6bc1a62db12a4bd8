"""Files of any size (``ai-roi ingest``): parsed a batch at a time, one transaction per batch.

Parsing and writing take about as long as each other, so a large file is parsed in a child
process while this one writes: the child reads the body, parses and prepares one batch after
another (``event_rows.prepare_batch``: plain rows, cheap to send), and this process resolves
people and artifacts, inserts and commits. The child is forked, so it shares the body without
a copy; where forking is not safe (another thread is running, or the platform has no fork) the
same batches are produced here, one after the other. Either way the outcome is the same.
"""

from __future__ import annotations

import functools
import multiprocessing
import pickle
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from multiprocessing.connection import Connection

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bot.domain.events import ParseResult, Rejection
from bot.errors import AiRoiError
from bot.ingest.adapters import RECORD_READERS, adapter_for
from bot.ingest.gc_pause import gc_paused_for
from bot.ingest.pipeline import IngestOutcome
from bot.store.db import transaction
from bot.store.event_rows import PreparedBatch, TimeBinder, prepare_batch, time_binder
from bot.store.events import StoreResult, write_batches
from bot.store.models import utcnow

BATCH_SIZE = 5000  # records per transaction: a commit costs an fsync, and the fewer the better
PARALLEL_BYTES = 1024 * 1024  # smaller bodies are parsed here: forking a child costs a few ms


@dataclass(slots=True)
class Batch:
    """One slice of a body: its events ready to write (if any), its rejected records, how
    many records it covered, and how many the body holds."""

    prepared: PreparedBatch | None
    rejected: list[Rejection]
    records: int
    total: int


class ParserFailed(AiRoiError):
    """The process parsing a file ended before it had parsed all of it."""


def ingest_in_batches(
    engine: Engine,
    source: str,
    body: bytes,
    content_type: str | None,
    *,
    now: datetime | None = None,
    batch_size: int = BATCH_SIZE,
    progress: Callable[[int, int], None] | None = None,
) -> IngestOutcome:
    """Store a body ``batch_size`` records per transaction; the counts of all of it.

    Each batch is committed before it is counted, so what is reported as accepted is durable;
    an error stops the import after the batches already committed. ``progress(records, total)``
    is called after each batch.
    """
    adapter_for(source)  # UnknownSourceError before anything is read
    produce = functools.partial(
        batches,
        source,
        body,
        content_type,
        batch_size,
        now or utcnow(),
        time_binder(engine.dialect.name),
    )
    outcome = IngestOutcome()
    with gc_paused_for(body), _produced(produce, parallel=len(body) >= PARALLEL_BYTES) as parsed:
        for batch in parsed:
            outcome.rejected.extend(batch.rejected)
            if batch.prepared is not None:
                result = _write(engine, batch.prepared, outcome)
                outcome.accepted += result.accepted
                outcome.duplicates += result.duplicates
            if progress is not None and batch.records:
                progress(batch.records, batch.total)
    return outcome


class StoreFailed(AiRoiError):
    """A batch could not be stored. The message holds the database's reason, never the
    statement or the events' values."""


def _write(engine: Engine, prepared: PreparedBatch, so_far: IngestOutcome) -> StoreResult:
    try:
        with transaction(engine) as session:
            (result,) = write_batches(session, [prepared])
    except sa.exc.DBAPIError as exc:
        cause = exc.orig if exc.orig is not None else exc
        reason = (str(cause).strip().splitlines() or [type(cause).__name__])[0][:200]
        raise StoreFailed(
            f"the database refused a batch ({type(cause).__name__}: {reason}); "
            f"{so_far.accepted} events stored before it are kept, and running the same "
            "import again stores the rest"
        ) from None
    return result


def batches(
    source: str,
    body: bytes,
    content_type: str | None,
    size: int,
    received_at: datetime,
    to_db: TimeBinder,
) -> Iterator[Batch]:
    """The body in batches of ``size`` records, each parsed and prepared when it is asked for.

    Sources whose records parse on their own are parsed a batch at a time; the others (OTel,
    whose spans are read together) are parsed whole and their events split into batches.
    """

    def batch(parsed: ParseResult, records: int, total: int) -> Batch:
        prepared = (
            prepare_batch(source, parsed.events, received_at, to_db) if parsed.events else None
        )
        return Batch(prepared, parsed.rejected, records, total)

    reader = RECORD_READERS.get(source)
    if reader is not None:
        records = reader(body, content_type)
        for start in range(0, len(records), size):
            count = min(size, len(records) - start)
            yield batch(records.parse(start, start + size), count, len(records))
        return
    parsed = adapter_for(source)(body, content_type)
    events = parsed.events
    if parsed.rejected:
        yield Batch(None, parsed.rejected, 0, len(events))
    for start in range(0, len(events), size):
        chunk = events[start : start + size]
        yield batch(ParseResult(chunk, []), len(chunk), len(events))


# Parsing in a child process --------------------------------------------------------------------


@contextmanager
def _produced(
    produce: Callable[[], Iterator[Batch]], *, parallel: bool
) -> Iterator[Iterator[Batch]]:
    """``produce()``, run in a forked child when ``parallel`` and forking is safe, else here."""
    if not (parallel and _can_fork()):
        yield produce()
        return
    context = multiprocessing.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(
        target=_produce_into, args=(produce, sender), name="ai-roi-parse", daemon=True
    )
    child.start()
    sender.close()
    try:
        yield _received(receiver, child)
    finally:
        receiver.close()
        if child.is_alive():
            child.terminate()
        child.join()


def _can_fork() -> bool:
    """Forking copies only the calling thread: safe only while no other thread holds a lock."""
    return "fork" in multiprocessing.get_all_start_methods() and threading.active_count() == 1


def _produce_into(produce: Callable[[], Iterator[Batch]], sender: Connection) -> None:
    """The child: every batch, then ``("end", None)``; or ``("error", exc)`` if one stopped it."""
    try:
        for batch in produce():
            sender.send(("batch", batch))
        sender.send(("end", None))
    except BaseException as exc:  # the parent raises it; the child has nobody else to tell
        sender.send(("error", _picklable(exc)))
    finally:
        sender.close()


def _received(receiver: Connection, child: multiprocessing.process.BaseProcess) -> Iterator[Batch]:
    while True:
        try:
            kind, value = receiver.recv()
        except EOFError:
            child.join()
            raise ParserFailed(
                f"the process parsing the file ended before it finished (exit code "
                f"{child.exitcode}); the batches already stored are kept, and running the same "
                "import again stores the rest"
            ) from None
        if kind == "end":
            return
        if kind == "error":
            raise value
        yield value


def _picklable(exc: BaseException) -> BaseException:
    """``exc`` if it survives the trip to the parent, else the same message as ``ParserFailed``."""
    try:
        pickle.loads(pickle.dumps(exc))
    except Exception:
        return ParserFailed(f"{type(exc).__name__}: {exc}")
    return exc
