"""The hourly tick under a frozen clock: send times, DST, an outage, a restart; real databases."""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from datetime import date, datetime

import pytest
import sqlalchemy as sa
from freezegun import freeze_time
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.context import AppContext
from bot.digest.deliverers import ConsoleDeliverer
from bot.domain.weeks import week_of_date
from bot.ingest.pipeline import ingest_body
from bot.settings import Settings
from bot.store.db import transaction
from bot.store.models import Delivery, Person, WorkspaceSetting
from bot.store.workspace import default_schedule
from jobs.digest_tick import LEADER_LOCK_KEY, digest_tick
from jobs.scheduler import (
    DIGEST_TICK_ID,
    MISFIRE_GRACE_SECONDS,
    add_digest_tick,
    build_scheduler,
    start_scheduler,
    stop_scheduler,
)
from tests.helpers import dumps, usage_event

# Week 2026-W47 is Nov 16–22; its digests fall due from Monday Nov 23.
ZONES = {
    "ana@example.com": "Europe/Berlin",  # 09:00 CET = 08:00 UTC
    "cal@example.com": None,  # ORG_TIMEZONE (UTC): 09:00 UTC
    "ben@example.com": "America/New_York",  # 09:00 EST = 14:00 UTC
}


def load_week(
    engine: Engine, day: str = "2026-11-18", zones: dict[str, str | None] = ZONES
) -> None:
    """Usage for everyone on ``day``, and one event just after the week ends, so the source's
    watermark has passed the week's end: its data is complete and the digests need not wait."""
    events = [
        usage_event(f"u-{email}-{day}", email, f"{day}T10:00:00Z", input_tokens=1000 + n)
        for n, email in enumerate(zones)
    ]
    next_monday = week_of_date(date.fromisoformat(day)).shift(1).monday
    events.append(usage_event("u-after", "ana@example.com", f"{next_monday}T00:30:00Z"))
    ingest_body(engine, "usage", dumps(events), "application/json")
    with transaction(engine) as session:
        for person in session.exec(select(Person)).all():
            person.tz = zones.get(person.email)
            session.add(person)


@pytest.fixture
def ctx(settings: Settings, engine: Engine) -> AppContext:
    """The app context on the system clock, which freezegun controls."""
    return AppContext(settings=settings, engine=engine)


class Inbox:
    """Console delivery into a buffer: the real deliverer, read back per person."""

    def __init__(self) -> None:
        self.stream = io.StringIO()
        self.deliverer = ConsoleDeliverer(self.stream)

    def count(self, email: str | None = None) -> int:
        marker = f"<{email}>" if email else "DM to "
        return sum(1 for line in self.stream.getvalue().splitlines() if marker in line)


def tick_at(ctx: AppContext, inbox: Inbox, when: str) -> list[str]:
    with freeze_time(when, tick=False):
        report = digest_tick(ctx, deliverer=inbox.deliverer)
    return sorted(o.email for o in report.outcomes if o.status == "sent")


def rows(engine: Engine) -> list[tuple[str, str, str]]:
    with Session(engine) as session:
        found = session.exec(select(Delivery, Person).join(Person)).all()
    return sorted((p.email, d.week, d.status) for d, p in found)


def test_the_tick_sends_each_person_at_their_local_send_time(
    ctx: AppContext, engine: Engine
) -> None:
    load_week(engine)
    inbox = Inbox()
    assert tick_at(ctx, inbox, "2026-11-23 07:00:00+00:00") == []
    assert tick_at(ctx, inbox, "2026-11-23 07:59:59+00:00") == []
    assert tick_at(ctx, inbox, "2026-11-23 08:00:00+00:00") == ["ana@example.com"]
    assert tick_at(ctx, inbox, "2026-11-23 09:00:00+00:00") == ["cal@example.com"]
    assert tick_at(ctx, inbox, "2026-11-23 13:00:00+00:00") == []
    assert tick_at(ctx, inbox, "2026-11-23 14:00:00+00:00") == ["ben@example.com"]
    for hour in range(15, 24):
        assert tick_at(ctx, inbox, f"2026-11-23 {hour:02d}:00:00+00:00") == []
    assert inbox.count() == 3
    assert all(inbox.count(email) == 1 for email in ZONES)
    assert rows(engine) == [(email, "2026-W47", "preview") for email in sorted(ZONES)]


def test_the_send_time_follows_daylight_saving_time(ctx: AppContext, engine: Engine) -> None:
    # Berlin and New York both moved to summer time by Monday 2026-03-30 (W13 is Mar 23–29).
    load_week(engine, day="2026-03-25")
    inbox = Inbox()
    assert tick_at(ctx, inbox, "2026-03-30 06:00:00+00:00") == []
    assert tick_at(ctx, inbox, "2026-03-30 07:00:00+00:00") == ["ana@example.com"]  # 09:00 CEST
    assert tick_at(ctx, inbox, "2026-03-30 09:00:00+00:00") == ["cal@example.com"]
    assert tick_at(ctx, inbox, "2026-03-30 12:00:00+00:00") == []
    assert tick_at(ctx, inbox, "2026-03-30 13:00:00+00:00") == ["ben@example.com"]  # 09:00 EDT
    assert rows(engine) == [(email, "2026-W13", "preview") for email in sorted(ZONES)]


def test_a_two_hour_outage_is_caught_up_once(ctx: AppContext, engine: Engine) -> None:
    load_week(engine)
    inbox = Inbox()
    assert tick_at(ctx, inbox, "2026-11-23 07:00:00+00:00") == []
    assert tick_at(ctx, inbox, "2026-11-23 08:00:00+00:00") == ["ana@example.com"]
    # down from 08:30 to 10:40: the 09:00 and 10:00 ticks never happen
    assert tick_at(ctx, inbox, "2026-11-23 10:40:00+00:00") == ["cal@example.com"]
    assert tick_at(ctx, inbox, "2026-11-23 11:00:00+00:00") == []
    assert tick_at(ctx, inbox, "2026-11-23 14:00:00+00:00") == ["ben@example.com"]
    assert tick_at(ctx, inbox, "2026-11-23 15:00:00+00:00") == []
    assert all(inbox.count(email) == 1 for email in ZONES)


def test_an_outage_over_the_whole_send_day_is_caught_up_later_that_week(
    ctx: AppContext, engine: Engine
) -> None:
    load_week(engine)
    inbox = Inbox()
    assert tick_at(ctx, inbox, "2026-11-25 12:00:00+00:00") == sorted(ZONES)
    assert tick_at(ctx, inbox, "2026-11-25 13:00:00+00:00") == []
    assert inbox.count() == 3


def run_scheduler_once(ctx: AppContext, inbox: Inbox, when: str) -> list[str]:
    """Start a fresh scheduler at ``when`` (frozen), let its start-up tick run, stop it."""
    done = threading.Event()
    sent: list[str] = []

    def tick(stopping: threading.Event) -> None:
        try:
            report = digest_tick(ctx, deliverer=inbox.deliverer, stopping=stopping)
            sent.extend(o.email for o in report.outcomes if o.status == "sent")
        finally:
            done.set()

    with freeze_time(when, tick=False):
        running = start_scheduler(ctx, tick=tick)
        try:
            assert done.wait(20), "the start-up tick did not run"
            job = running.scheduler.get_job(DIGEST_TICK_ID)
            assert job is not None
            assert job.next_run_time > datetime.fromisoformat(when)
            assert job.next_run_time.minute == 0
        finally:
            stop_scheduler(running)
    return sorted(sent)


def test_a_restart_ticks_at_once_and_sends_nothing_twice(ctx: AppContext, engine: Engine) -> None:
    load_week(engine)
    inbox = Inbox()
    assert run_scheduler_once(ctx, inbox, "2026-11-23 09:05:00+00:00") == [
        "ana@example.com",
        "cal@example.com",
    ]
    # restarted: a new scheduler, the same database
    assert run_scheduler_once(ctx, inbox, "2026-11-23 09:06:00+00:00") == []
    assert run_scheduler_once(ctx, inbox, "2026-11-23 14:30:00+00:00") == ["ben@example.com"]
    assert run_scheduler_once(ctx, inbox, "2026-11-24 10:00:00+00:00") == []
    assert all(inbox.count(email) == 1 for email in ZONES)
    assert rows(engine) == [(email, "2026-W47", "preview") for email in sorted(ZONES)]


def test_a_stopping_tick_ends_between_claim_batches(ctx: AppContext, engine: Engine) -> None:
    load_week(engine)
    inbox = Inbox()
    stopping = threading.Event()
    stopping.set()
    with freeze_time("2026-11-25 12:00:00+00:00", tick=False):
        report = digest_tick(ctx, deliverer=inbox.deliverer, stopping=stopping)
        assert report.outcomes == [] and report.due == {"2026-W47": 3}
        assert tick_at(ctx, inbox, "2026-11-25 12:00:00+00:00") == sorted(ZONES)


def test_personal_and_workspace_schedules(ctx: AppContext, engine: Engine) -> None:
    load_week(engine)
    with transaction(engine) as session:
        session.add(WorkspaceSetting(key="digest_schedule", value='{"weekday": 1, "minute": 480}'))
        cal = session.exec(select(Person).where(Person.email == "cal@example.com")).one()
        cal.digest_weekday, cal.digest_minute = 0, 7 * 60  # Monday 07:00 UTC, his own choice
        session.add(cal)
    with Session(engine) as session:
        assert default_schedule(session).to_json() == {"weekday": 1, "minute": 480}
    inbox = Inbox()
    assert tick_at(ctx, inbox, "2026-11-23 07:00:00+00:00") == ["cal@example.com"]
    assert tick_at(ctx, inbox, "2026-11-24 06:00:00+00:00") == []
    assert tick_at(ctx, inbox, "2026-11-24 07:00:00+00:00") == ["ana@example.com"]  # 08:00 CET
    assert tick_at(ctx, inbox, "2026-11-24 13:00:00+00:00") == ["ben@example.com"]  # 08:00 EST


def test_a_broken_workspace_schedule_falls_back_to_monday_nine(engine: Engine) -> None:
    with transaction(engine) as session:
        session.add(WorkspaceSetting(key="digest_schedule", value='{"weekday": 9}'))
    with Session(engine) as session:
        assert default_schedule(session).to_json() == {"weekday": 0, "minute": 540}


def test_the_scheduler_is_configured_on_purpose() -> None:
    scheduler = build_scheduler()
    scheduler.start(paused=True)
    try:
        add_digest_tick(scheduler, lambda: None)
        add_digest_tick(scheduler, lambda: None)  # replace_existing: still one job
        jobs = scheduler.get_jobs()
    finally:
        scheduler.shutdown()
    assert [job.id for job in jobs] == [DIGEST_TICK_ID]
    job = jobs[0]
    assert job.coalesce is True
    assert job.max_instances == 1
    assert job.misfire_grace_time == MISFIRE_GRACE_SECONDS >= 10 * 60
    assert str(scheduler.timezone) == "UTC"
    assert "minute='0'" in str(job.trigger)


@pytest.fixture
def other_replica(engine: Engine) -> Iterator[None]:
    """Another process holding the tick's leadership lock (PostgreSQL only)."""
    if engine.dialect.name != "postgresql":
        pytest.skip("leadership is a PostgreSQL advisory lock")
    with engine.connect() as connection:
        connection.execute(sa.text("SELECT pg_advisory_lock(:k)"), {"k": LEADER_LOCK_KEY})
        connection.commit()
        try:
            yield
        finally:
            connection.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": LEADER_LOCK_KEY})
            connection.commit()


def test_only_one_replica_ticks_at_a_time(
    ctx: AppContext, engine: Engine, other_replica: None
) -> None:
    load_week(engine)
    inbox = Inbox()
    with freeze_time("2026-11-25 12:00:00+00:00", tick=False):
        report = digest_tick(ctx, deliverer=inbox.deliverer)
    assert report.leader is False and report.outcomes == []
    assert inbox.count() == 0
