"""The bulk store binds plain values itself: they must be what SQLAlchemy would have bound."""

from __future__ import annotations

import gc
import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy.dialects import sqlite
from sqlmodel import Session, func, select

from bot.domain.events import Actor, EventType, NormalizedEvent
from bot.ingest.gc_pause import gc_paused
from bot.store.db import create_engine, transaction, upgrade
from bot.store.event_rows import prepare_batch, sqlite_utc_text, time_binder
from bot.store.events import StoreResult, _statement_rows, write_batches
from bot.store.models import Event, UTCDateTime, utcnow


def store_events(
    session: Session, source: str, events: Sequence[NormalizedEvent], now: datetime | None = None
) -> StoreResult:
    """One batch through the bulk store, in the session's transaction (as the pipeline does)."""
    to_db = time_binder(session.connection().dialect.name)
    return write_batches(session, [prepare_batch(source, events, now or utcnow(), to_db)])[0]


TIMES = [
    datetime(2026, 11, 2, tzinfo=UTC),
    datetime(2026, 11, 2, 9, 12, 5, 7, tzinfo=UTC),
    datetime(2026, 11, 2, 23, 30, tzinfo=timezone(timedelta(hours=-5, minutes=-30))),
    datetime(2026, 1, 1, 0, 15, 0, 999999, tzinfo=timezone(timedelta(hours=2))),
    datetime(999, 3, 4, 5, 6, 7, tzinfo=UTC),
]


@pytest.mark.parametrize("value", TIMES)
def test_sqlite_times_are_stored_as_sqlalchemy_stores_them(value: datetime) -> None:
    dialect = sqlite.dialect()
    process = UTCDateTime().dialect_impl(dialect).bind_processor(dialect)
    assert process is not None
    assert sqlite_utc_text(value) == process(value)


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        sqlite_utc_text(datetime(2026, 11, 2))


def test_large_bodies_pause_the_collector_and_restore_it() -> None:
    assert gc.isenabled()
    with gc_paused():
        assert not gc.isenabled()
        with gc_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()
    gc.disable()
    try:
        with gc_paused():
            pass
        assert not gc.isenabled()  # left as it was found
    finally:
        gc.enable()


@pytest.mark.parametrize("variables", [999, 32766])
def test_sqlite_inserts_many_rows_per_statement_within_the_parameter_limit(
    tmp_path: Path, variables: int
) -> None:
    """Rows go in statements of a power of two rows, as many as SQLite lets one statement bind
    (999 parameters before SQLite 3.32); every row is stored once and counted right."""
    engine = create_engine(f"sqlite:///{tmp_path / 'limit.db'}")
    upgrade(engine)
    events = [
        NormalizedEvent(
            key=f"k{i}",
            type=EventType.USAGE,
            occurred_at=datetime(2026, 11, 18, 9, tzinfo=UTC) + timedelta(seconds=i),
            actor=Actor("email", f"p{i % 7}@example.com"),
            input_tokens=i,
        )
        for i in range(1500)
    ]
    with transaction(engine) as session:
        raw = session.connection().connection.driver_connection
        raw.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, variables)
        assert _statement_rows(raw, 1500) == (32 if variables == 999 else 1024)
        first = store_events(session, "usage", events[:700])
        second = store_events(session, "usage", events)  # 700 already there
    assert (first.accepted, first.duplicates) == (700, 0)
    assert (second.accepted, second.duplicates) == (800, 700)
    with Session(engine) as session:
        count, tokens = session.exec(select(func.count(), func.sum(Event.input_tokens))).one()
    assert (count, tokens) == (1500, sum(range(1500)))
    engine.dispose()
