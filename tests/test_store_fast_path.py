"""The bulk store binds plain values itself: they must be what SQLAlchemy would have bound."""

from __future__ import annotations

import gc
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy.dialects import sqlite

from bot.ingest.gc_pause import gc_paused
from bot.store.event_rows import sqlite_utc_text
from bot.store.models import UTCDateTime

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
