"""Files of any size (``ai-roi ingest``): parsed a batch at a time, one transaction per batch.

A file of a source in ``RECORD_STREAMS`` (NDJSON, a top-level JSON array) is read a record at a
time: what is held at once is a batch, whatever the size of the file. A file of another source
is read whole, as its vendor sends it, and parsed a batch at a time.

Parsing and writing take about as long as each other, so a large file is parsed in a child
process while this one writes: the child reads the file, parses and prepares one batch after
another (``event_rows.prepare_batch``: plain rows, cheap to send), and this process resolves
people and artifacts, inserts and commits. The child is forked, so it reads the file this one
opened; where forking is not safe (another thread is running, or the platform has no fork) the
same batches are produced here, one after the other. Either way the outcome is the same.
"""

from __future__ import annotations

import functools
import io
import json
import marshal
import multiprocessing
import pickle
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime
from multiprocessing.connection import Connection
from typing import IO, Any, cast

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bot.domain.events import ParseResult, Rejection
from bot.errors import AiRoiError, PayloadError
from bot.ingest.adapters import RECORD_READERS, RECORD_STREAMS, adapter_for
from bot.ingest.adapters.common import RecordStream, parse_records
from bot.ingest.decoding import Line, Tally
from bot.ingest.gc_pause import gc_paused, gc_paused_for
from bot.ingest.pipeline import IngestOutcome
from bot.store.db import transaction
from bot.store.event_rows import PreparedBatch, TimeBinder, prepare_batch, time_binder
from bot.store.events import StoreResult, write_batches
from bot.store.models import utcnow

BATCH_SIZE = 5000  # records per transaction: a commit costs an fsync, and the fewer the better
PARALLEL_BYTES = 1024 * 1024  # smaller bodies are parsed here: forking a child costs a few ms


@dataclass(slots=True)
class Batch:
    """One slice of a file: its events ready to write (if any), its rejected records, how
    many records it covered, and how much of the file has been read (a fraction, when the
    file's size is known)."""

    prepared: PreparedBatch | None
    rejected: list[Rejection]
    records: int
    done: float | None


Progress = Callable[[int, float | None], None]


class ParserFailed(AiRoiError):
    """The process parsing a file ended before it had parsed all of it."""


class ImportStopped(PayloadError):
    """A file broke off, or broke, after some of its records: those before are stored
    (``outcome``), and the message says so."""

    def __init__(self, message: str, outcome: IngestOutcome) -> None:
        super().__init__(message)
        self.outcome = outcome


def ingest_in_batches(
    engine: Engine,
    source: str,
    body: bytes,
    content_type: str | None,
    *,
    now: datetime | None = None,
    batch_size: int = BATCH_SIZE,
    progress: Progress | None = None,
) -> IngestOutcome:
    """``ingest_file`` for a body already in memory."""
    return ingest_file(
        engine,
        source,
        io.BytesIO(body),
        content_type,
        size=len(body),
        now=now,
        batch_size=batch_size,
        progress=progress,
    )


def ingest_file(
    engine: Engine,
    source: str,
    stream: IO[bytes],
    content_type: str | None,
    *,
    size: int | None,
    now: datetime | None = None,
    batch_size: int = BATCH_SIZE,
    progress: Progress | None = None,
) -> IngestOutcome:
    """Store a file ``batch_size`` records per transaction; the counts of all of it.

    ``stream`` is read from where it stands; ``size`` is its length in bytes, ``None`` when
    unknown (standard input). Each batch is committed before it is counted, so what is reported
    as accepted is durable; an error stops the import after the batches already committed, and
    a file that breaks off raises ``ImportStopped`` after storing the records before the break.
    ``progress(records, done)`` is called after each batch.
    """
    adapter_for(source)  # UnknownSourceError before anything is read
    produce = functools.partial(
        batches_of_file,
        source,
        stream,
        content_type,
        size,
        batch_size,
        now or utcnow(),
        time_binder(engine.dialect.name),
    )
    parallel = size is None or size >= PARALLEL_BYTES
    outcome = IngestOutcome()
    records = 0
    known_people: dict[tuple[str, str], int] = {}  # the people of email actors, found once
    try:
        with _produced(produce, parallel=parallel) as parsed:
            for batch in parsed:
                outcome.rejected.extend(batch.rejected)
                if batch.prepared is not None:
                    result = _write(engine, batch.prepared, outcome, known_people)
                    outcome.accepted += result.accepted
                    outcome.duplicates += result.duplicates
                records += batch.records
                if progress is not None and batch.records:
                    progress(batch.records, batch.done)
    except PayloadError as exc:
        if not records:
            raise
        raise ImportStopped(
            f"{exc}; the {records:,} records before it were read and stored "
            f"({outcome.accepted:,} events accepted, {outcome.duplicates:,} duplicates, "
            f"{len(outcome.rejected):,} rejected): running the import again once the file is "
            "whole stores only what is missing",
            outcome,
        ) from None
    if engine.dialect.name == "sqlite":
        _checkpoint(engine)
    return outcome


def _checkpoint(engine: Engine) -> None:
    """Copy what the import left in SQLite's write-ahead log into the database file, as far as
    no reader holds it back (a passive checkpoint waits for nobody). The WAL is checkpointed
    every 64 MiB (``bot.store.db``); without this the last of an import's pages would wait for
    the next writer, which would pay for copying them."""
    with engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")


class StoreFailed(AiRoiError):
    """A batch could not be stored. The message holds the database's reason, never the
    statement or the events' values."""


def _write(
    engine: Engine,
    prepared: PreparedBatch,
    so_far: IngestOutcome,
    known_people: dict[tuple[str, str], int] | None = None,
) -> StoreResult:
    try:
        with transaction(engine) as session:
            (result,) = write_batches(session, [prepared], known_people)
    except sa.exc.DBAPIError as exc:
        cause = exc.orig if exc.orig is not None else exc
        reason = (str(cause).strip().splitlines() or [type(cause).__name__])[0][:200]
        raise StoreFailed(
            f"the database refused a batch ({type(cause).__name__}: {reason}); "
            f"{so_far.accepted} events stored before it are kept, and running the same "
            "import again stores the rest"
        ) from None
    return result


def batches_of_file(
    source: str,
    stream: IO[bytes],
    content_type: str | None,
    length: int | None,
    size: int,
    received_at: datetime,
    to_db: TimeBinder,
) -> Iterator[Batch]:
    """The file in batches of ``size`` records: read a record at a time when its source
    streams, else read whole (``batches``)."""
    reader = RECORD_STREAMS.get(source)
    if reader is None:
        body = stream.read()
        with gc_paused_for(body):
            yield from batches(source, body, content_type, size, received_at, to_db)
        return
    tally = Tally()
    records = reader(stream, content_type, tally)
    with gc_paused():  # a batch's objects hold no cycles: freed as soon as it is sent
        yield from _streamed(source, records, tally, length, size, received_at, to_db)


def _streamed(
    source: str,
    records: RecordStream,
    tally: Tally,
    length: int | None,
    size: int,
    received_at: datetime,
    to_db: TimeBinder,
) -> Iterator[Batch]:
    for lines, first in _held(records, size):
        items = [line.value for line in lines]
        errors = {index: line.error for index, line in enumerate(lines) if line.error}
        parsed = parse_records(items, records.parse_one, errors)
        rejected = [Rejection(first + r.index, r.error) for r in parsed.rejected]
        prepared = (
            prepare_batch(source, parsed.events, received_at, to_db) if parsed.events else None
        )
        done = min(1.0, tally.bytes / length) if length else None
        yield Batch(prepared, rejected, len(lines), done)


def _held(records: RecordStream, size: int) -> Iterator[tuple[list[Line], int]]:
    """The records in slices of ``size`` (with the index of each slice's first record).

    When the source has a shape to check, records are held until one has it; if none has,
    ``records.check`` refuses them all, as it refuses such a body whole. A file that breaks off
    first gives the slice of the records before the break, then its error.
    """
    looks_right = records.looks_right
    held: list[Line] = []
    chunk: list[Line] = []
    first = 0

    def ready() -> Iterator[tuple[list[Line], int]]:
        nonlocal chunk, first, looks_right
        if looks_right is not None:
            held.extend(chunk)
            chunk = []
            if not any(looks_right(line.value) for line in held[-size:]):
                return
            looks_right = None
            chunk = held.copy()
            held.clear()
        for start in range(0, len(chunk), size):
            part = chunk[start : start + size]
            yield part, first
            first += len(part)
        chunk = []

    try:
        for line in records.lines:
            chunk.append(line)
            if len(chunk) >= size:
                yield from ready()
    except PayloadError:
        if looks_right is None:
            yield from ready()
        raise
    yield from ready()
    if held:  # no record had the source's shape
        assert records.check is not None
        records.check([line.value for line in held])
        looks_right = None
        chunk = held.copy()
        held.clear()
        yield from ready()


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

    def batch(parsed: ParseResult, records: int, done: int, total: int) -> Batch:
        prepared = (
            prepare_batch(source, parsed.events, received_at, to_db) if parsed.events else None
        )
        return Batch(prepared, parsed.rejected, records, done / total if total else 1.0)

    reader = RECORD_READERS.get(source)
    if reader is not None:
        records = reader(body, content_type)
        for start in range(0, len(records), size):
            count = min(size, len(records) - start)
            parsed = records.parse(start, start + size)
            yield batch(parsed, count, start + count, len(records))
        return
    parsed = adapter_for(source)(body, content_type)
    events = parsed.events
    if parsed.rejected:
        yield Batch(None, parsed.rejected, 0, 0.0)
    for start in range(0, len(events), size):
        chunk = events[start : start + size]
        yield batch(ParseResult(chunk, []), len(chunk), start + len(chunk), len(events))


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
            sender.send(_packed(batch))
        sender.send(("end", None))
    except BaseException as exc:  # the parent raises it; the child has nobody else to tell
        sender.send(("error", _picklable(exc)))
    finally:
        sender.close()


def _received(receiver: Connection, child: multiprocessing.process.BaseProcess) -> Iterator[Batch]:
    while True:
        try:
            with gc_paused():  # unpickling a batch builds many objects, none in a cycle
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
        yield _unpacked(kind, value)


def _packed(batch: Batch) -> tuple[str, Any]:
    """A batch as sent to the parent: its rows as one ``marshal`` string when they hold only
    plain values (SQLite's: times are text), which is several times cheaper than pickling
    them one by one; the rest pickled."""
    prepared = batch.prepared
    if prepared is None or not prepared.rows:
        return "batch", batch
    try:
        rows = marshal.dumps(prepared.rows)
    except ValueError:  # a value marshal does not know (PostgreSQL's datetimes)
        return "batch", batch
    return "packed", (rows, replace(batch, prepared=replace(prepared, rows=[])))


def _unpacked(kind: str, value: Any) -> Batch:
    if kind == "batch":
        return cast(Batch, value)
    rows, batch = value
    with gc_paused():  # thousands of new tuples, none in a cycle
        batch.prepared.rows = marshal.loads(rows)
    return cast(Batch, batch)


def _picklable(exc: BaseException) -> BaseException:
    """``exc`` if it survives the trip to the parent, else the same message as ``ParserFailed``."""
    try:
        pickle.loads(pickle.dumps(exc))
    except Exception:
        return ParserFailed(f"{type(exc).__name__}: {exc}")
    return exc


# Files: their content type, from their name or their first line ---------------------------------

SNIFF_BYTES = 1024 * 1024  # a first line longer than this is not one NDJSON record


def sniffed(name: str, stream: IO[bytes]) -> tuple[str, IO[bytes]]:
    """The content type of a file, and the file to read from its start.

    NDJSON for ``.ndjson``/``.jsonl`` names, or when the first non-blank line is a whole JSON
    value and more follows it; JSON otherwise (a file that starts with ``[`` is a JSON array).
    At most the first line or two are read to tell, and handed back in front of the rest.
    """
    if name.endswith((".ndjson", ".jsonl")):
        return "application/x-ndjson", stream
    head = stream.readline(SNIFF_BYTES)
    kind = "application/json"
    first = head.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    if first == b"{" and head.endswith(b"\n") and _whole_json(head):
        while (more := stream.readline(SNIFF_BYTES)) and not more.strip():
            head += more
        head += more
        if more:
            kind = "application/x-ndjson"
    return kind, io.BufferedReader(_Rejoined(head, stream), buffer_size=1 << 16)


def _whole_json(line: bytes) -> bool:
    try:
        json.loads(line.decode("utf-8-sig"))
    except ValueError:
        return False
    return True


class _Rejoined(io.RawIOBase):
    """``head`` (already read from ``rest``), then the rest of ``rest``."""

    def __init__(self, head: bytes, rest: IO[bytes]) -> None:
        self._head = head
        self._rest = rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self._head:
            count = min(len(buffer), len(self._head))
            buffer[:count] = self._head[:count]
            self._head = self._head[count:]
            return count
        data = self._rest.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)
