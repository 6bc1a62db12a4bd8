"""The pull tick of ``serve``: checkpoints across runs, intervals, back-off after a refused key,
and one puller per source (an advisory lock on PostgreSQL)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.connectors import connector_for
from bot.context import AppContext
from bot.store.source_state import status
from fakes.vendors import openai as fake_openai
from fakes.vendors.openai import FakeOpenAIAdmin, usage_row, user
from jobs.pull import pull_tick, source_lock
from jobs.scheduler import PULL_TICK_ID, add_pull_tick, build_scheduler
from tests.conftest import make_settings

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


@pytest.fixture
def openai_api() -> Iterator[FakeOpenAIAdmin]:
    with FakeOpenAIAdmin() as fake:
        fake.add_key("proj_app", "key_ana", owner=user("user-ana", "ana@example.com"))
        fake.usage[date(2026, 11, 24)] = [
            usage_row(api_key_id="key_ana", model="gpt-4.1", input_tokens=10, output_tokens=1)
        ]
        yield fake


@pytest.fixture
def clock() -> dict[str, datetime]:
    return {"now": NOW}


@pytest.fixture
def pull_context(
    database_url: str, engine: Engine, openai_api: FakeOpenAIAdmin, clock: dict[str, datetime]
) -> AppContext:
    settings = make_settings(
        database_url,
        openai_admin_key=fake_openai.ADMIN_KEY,
        openai_admin_base_url=openai_api.base_url,
        pull_trailing_days_by_source="openai=2",
    )
    return AppContext(settings=settings, engine=engine, clock=lambda: clock["now"])


def starts(fake: FakeOpenAIAdmin) -> list[str]:
    return [
        r.query["start_time"][0] for r in fake.requests_to("/v1/organization/usage/completions")
    ]


def day(value: date) -> str:
    return str(int(datetime(value.year, value.month, value.day, tzinfo=UTC).timestamp()))


def test_the_tick_backfills_then_refetches_the_trailing_window_when_due(
    pull_context: AppContext, openai_api: FakeOpenAIAdmin, clock: dict[str, datetime]
) -> None:
    [outcome] = pull_tick(pull_context)
    assert outcome.ok and outcome.accepted == 1
    assert starts(openai_api) == [day(date(2026, 10, 26))]  # 30 days back
    with Session(pull_context.engine) as session:
        state = status(session, "openai")
    assert state is not None
    assert state.checkpoint is not None and state.checkpoint["through"] == "2026-11-25"
    assert state.watermark == datetime(2026, 11, 25, tzinfo=UTC)
    assert state.rows_pulled == 1

    clock["now"] = NOW + timedelta(minutes=30)
    assert pull_tick(pull_context) == []  # hourly: not due yet
    clock["now"] = NOW + timedelta(hours=1)
    [again] = pull_tick(pull_context)
    assert again.ok and again.accepted == 0 and again.duplicates == 1
    assert starts(openai_api)[-1] == day(date(2026, 11, 23))  # the trailing 2 days


def test_a_refused_key_backs_off_instead_of_a_retry_storm(
    pull_context: AppContext, openai_api: FakeOpenAIAdmin, clock: dict[str, datetime]
) -> None:
    openai_api.admin_key = "sk-admin-rotated"
    [failed] = pull_tick(pull_context)
    assert not failed.ok and "refused the credential (401" in (failed.error or "")
    assert len(openai_api.requests) == 1
    for minutes in range(5, 60, 5):  # ticks every 5 minutes in the first hour
        clock["now"] = NOW + timedelta(minutes=minutes)
        assert pull_tick(pull_context) == []
    clock["now"] = NOW + timedelta(hours=1)
    assert not pull_tick(pull_context)[0].ok
    clock["now"] = NOW + timedelta(hours=2, minutes=55)  # now two hours after the second
    assert pull_tick(pull_context) == []
    assert len(openai_api.requests) == 2
    with Session(pull_context.engine) as session:
        state = status(session, "openai")
    assert state is not None and state.consecutive_failures == 2 and state.watermark is None


def test_a_source_being_pulled_elsewhere_is_skipped(
    pull_context: AppContext, openai_api: FakeOpenAIAdmin
) -> None:
    held, release = threading.Event(), threading.Event()

    def other_replica() -> None:
        with source_lock(pull_context.engine, "openai") as got:
            assert got
            held.set()
            release.wait(10)

    thread = threading.Thread(target=other_replica)
    thread.start()
    try:
        assert held.wait(10)
        assert pull_tick(pull_context) == []
        assert openai_api.requests == []
    finally:
        release.set()
        thread.join()
    assert [o.source for o in pull_tick(pull_context)] == ["openai"]


def test_serve_schedules_the_tick_only_with_a_connector(
    pull_context: AppContext, database_url: str, engine: Engine
) -> None:
    scheduler = build_scheduler()
    bare = AppContext(settings=make_settings(database_url), engine=engine)
    assert not add_pull_tick(scheduler, bare)
    assert add_pull_tick(scheduler, pull_context)
    job = scheduler.get_job(PULL_TICK_ID)
    assert job is not None and job.max_instances == 1 and job.coalesce
    assert connector_for("claude-code") is not None
    assert connector_for("claude-code").interval == timedelta(hours=6)  # type: ignore[union-attr]
