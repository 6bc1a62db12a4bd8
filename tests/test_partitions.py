"""Events partitioned by month on PostgreSQL (``bot.store.partitions``): made ahead by the
scheduler's upkeep, rows moved out of the default partition, whole months folded into the weekly
totals and dropped by the retention purge, ``(source, key)`` unique across months, and a populated
database from before (revision 0009) migrated with its facts unchanged. SQLite keeps one table and
the same behaviour."""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session, col, select

from bot.context import AppContext
from bot.digest.weekly_facts import facts_for
from bot.domain.weeks import Week
from bot.ingest.pipeline import ingest_body, parse_body, prepare
from bot.store.db import create_engine, current_revision, head_revision, transaction, upgrade
from bot.store.events import write_batches
from bot.store.models import Artifact, Event, Person, WeeklyTotal
from bot.store.partitions import MONTHS_AHEAD, Month, months
from bot.store.people import person_by_email
from bot.store.workspace import RETENTION_DAYS, set_setting
from jobs.partitions import make_partitions, run_partition_upkeep
from jobs.retention import purge_events, run_retention
from jobs.scheduler import PARTITIONS_ID, add_partition_upkeep, build_scheduler
from tests.conftest import FROZEN_NOW
from tests.helpers import artifact_event, dumps, usage_event

ANA = "ana@example.com"
BOB = "bob@example.com"


def _ingest(engine: Engine, events: list[dict[str, object]]) -> tuple[int, int]:
    outcome = ingest_body(engine, "usage", dumps(events), "application/json", now=FROZEN_NOW)
    assert not outcome.rejected, outcome.rejected
    return outcome.accepted, outcome.duplicates


def _partition_tables(engine: Engine) -> set[str]:
    with engine.connect() as connection:
        return {month.table for month in months(connection)}


def _table_of(engine: Engine, key: str) -> str:
    """The partition that holds the event with ``key`` (PostgreSQL)."""
    with engine.connect() as connection:
        return str(
            connection.execute(
                sa.text("SELECT tableoid::regclass::text FROM events WHERE key = :key"),
                {"key": key},
            ).scalar_one()
        )


def _relation_exists(engine: Engine, name: str) -> bool:
    with engine.connect() as connection:
        return bool(
            connection.execute(
                sa.text("SELECT EXISTS (SELECT 1 FROM pg_class WHERE relname = :name)"),
                {"name": name},
            ).scalar()
        )


# Partitions are a PostgreSQL feature (SQLite keeps one events table): these run there only.
postgres_only = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)


# Shape and upkeep ------------------------------------------------------------------------------


@postgres_only
def test_events_is_partitioned_by_month_with_a_default_partition(engine: Engine) -> None:
    with engine.connect() as connection:
        strategy, key = connection.execute(
            sa.text(
                "SELECT p.partstrat, a.attname FROM pg_partitioned_table p "
                "JOIN pg_attribute a ON a.attrelid = p.partrelid AND a.attnum = p.partattrs[0] "
                "WHERE p.partrelid = 'events'::regclass"
            )
        ).one()
        primary_key = connection.execute(
            sa.text(
                "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = 'events_pkey'"
            )
        ).scalar_one()
        default = connection.execute(
            sa.text(
                "SELECT pg_get_expr(c.relpartbound, c.oid) FROM pg_class c "
                "WHERE c.relname = 'events_default'"
            )
        ).scalar_one()
        claims = connection.execute(
            sa.text("SELECT relpersistence FROM pg_class WHERE relname = 'event_claims'")
        ).scalar_one()
    assert (strategy, key) == ("r", "occurred_at")
    assert primary_key == "PRIMARY KEY (id, occurred_at)"
    assert default == "DEFAULT"
    assert claims == "u"  # unlogged: it only holds keys while a transaction inserts them


def test_the_upkeep_makes_this_month_and_the_next_ones_once(
    engine: Engine, context: AppContext
) -> None:
    made = run_partition_upkeep(context)
    if engine.dialect.name == "sqlite":
        assert made == []  # one table, nothing to make
        return
    # From the month of the retention cutoff (180 days back: May 2026) to three months ahead.
    current = Month.of(FROZEN_NOW)
    wanted = {current.shift(months).table for months in range(-6, MONTHS_AHEAD + 1)}
    assert current.shift(-6) == Month(2026, 5)
    assert wanted <= _partition_tables(engine)
    assert {m.table for m in made} <= wanted
    assert run_partition_upkeep(context) == []  # already there
    later = Month.of(FROZEN_NOW + timedelta(days=400))
    make_partitions(engine, now=FROZEN_NOW + timedelta(days=400))
    assert {later.shift(ahead).table for ahead in range(MONTHS_AHEAD + 1)} <= _partition_tables(
        engine
    )
    assert make_partitions(engine, now=FROZEN_NOW + timedelta(days=400)) == []


def test_the_scheduler_runs_the_upkeep_on_postgresql_only(
    engine: Engine, context: AppContext
) -> None:
    scheduler = build_scheduler()
    added = add_partition_upkeep(scheduler, context, first_run=FROZEN_NOW)
    assert added is (engine.dialect.name == "postgresql")
    assert [job.id for job in scheduler.get_jobs()] == ([PARTITIONS_ID] if added else [])


@postgres_only
def test_rows_waiting_in_the_default_partition_move_into_their_new_month(engine: Engine) -> None:
    with engine.begin() as connection:  # a month no upkeep has made yet, from an earlier test
        connection.exec_driver_sql("DROP TABLE IF EXISTS events_2026_08")
    _ingest(engine, [usage_event("aug", ANA, "2026-08-12T10:00:00Z", input_tokens=7)])
    assert _table_of(engine, "aug") == "events_default"
    with Session(engine) as session:
        before = facts_for(session, person_by_email(session, ANA), Week(2026, 33), UTC).to_json()
        (event_id,) = session.exec(select(Event.id).where(Event.key == "aug")).all()

    made = make_partitions(engine, now=FROZEN_NOW)

    assert Month(2026, 8) in made
    assert _table_of(engine, "aug") == "events_2026_08"
    with Session(engine) as session:
        assert session.exec(select(Event.id).where(Event.key == "aug")).all() == [event_id]
        after = facts_for(session, person_by_email(session, ANA), Week(2026, 33), UTC).to_json()
    assert after == before and after["tokens"]["input"] == 7  # type: ignore[index]
    # Its key is still taken, whatever the time it is sent with.
    assert _ingest(engine, [usage_event("aug", ANA, "2026-11-20T10:00:00Z")]) == (0, 1)


# Idempotency across months -----------------------------------------------------------------------


def test_a_key_sent_again_with_a_time_in_another_month_is_a_duplicate(
    engine: Engine, context: AppContext
) -> None:
    run_partition_upkeep(context)
    assert _ingest(engine, [usage_event("k1", ANA, "2026-11-20T10:00:00Z")]) == (1, 0)
    assert _ingest(engine, [usage_event("k1", ANA, "2026-12-20T10:00:00Z")]) == (0, 1)
    assert _ingest(engine, [usage_event("k1", ANA, "2025-01-20T10:00:00Z")]) == (0, 1)
    with Session(engine) as session:
        stored = session.exec(select(Event.occurred_at).where(Event.key == "k1")).all()
    assert stored == [datetime(2026, 11, 20, 10, tzinfo=UTC)]


@postgres_only
def test_a_key_claimed_by_an_open_transaction_waits_for_it(engine: Engine) -> None:
    """Two writers of one key in different months: the second waits for the first's claim and
    then finds the key stored (no unique constraint spans the months)."""
    first = parse_body("usage", dumps([usage_event("race", ANA, "2026-11-20T10:00:00Z")]), None)
    outcome: list[tuple[int, int]] = []

    def second_writer() -> None:
        event = usage_event("race", ANA, "2026-12-20T10:00:00Z")
        outcome.append(_ingest(engine, [event]))

    with transaction(engine) as session:
        (result,) = write_batches(session, [prepare(engine, "usage", first, FROZEN_NOW)])
        assert result.accepted == 1
        thread = threading.Thread(target=second_writer)
        thread.start()
        thread.join(timeout=1.0)
        assert thread.is_alive()  # waiting on the claim of "race"
    thread.join(timeout=30)
    assert outcome == [(0, 1)]
    with Session(engine) as session:
        assert len(session.exec(select(Event).where(Event.key == "race")).all()) == 1
    with engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT count(*) FROM event_claims").scalar() == 0


# Retention -------------------------------------------------------------------------------------


def _two_months() -> list[dict[str, object]]:
    """Ana's October and November 2026. 2026-W44 (Oct 26 – Nov 1) straddles the two months."""
    return [
        usage_event("oct-w41", ANA, "2026-10-06T10:00:00Z", input_tokens=1000, cost_usd="1.00"),
        usage_event("oct-w44", ANA, "2026-10-30T10:00:00Z", input_tokens=400, output_tokens=4),
        usage_event("nov-w44", ANA, "2026-11-01T10:00:00Z", input_tokens=60, output_tokens=6),
        usage_event("nov-w45", ANA, "2026-11-03T10:00:00Z", input_tokens=2000),
        artifact_event(
            "made", "artifact.created", ANA, "2026-10-29T09:00:00Z", "dash-9", "dashboard"
        ),
        artifact_event("seen", "artifact.viewed", BOB, "2026-11-01T09:00:00Z", "dash-9"),
        artifact_event("made-2", "artifact.created", ANA, "2026-11-03T09:00:00Z", "doc-1", "doc"),
    ]


def _week_facts(engine: Engine, weeks: list[Week]) -> dict[str, tuple[int, int, int, int, int]]:
    with Session(engine) as session:
        ana = person_by_email(session, ANA)
        found = {}
        for week in weeks:
            facts = facts_for(session, ana, week, UTC).to_json()
            tokens, artifacts = facts["tokens"], facts["artifacts"]
            found[str(week)] = (
                tokens["input"],  # type: ignore[index]
                tokens["output"],  # type: ignore[index]
                facts["requests"],
                artifacts["created"],  # type: ignore[index]
                artifacts["viewed_by_others"],  # type: ignore[index]
            )
    return found  # type: ignore[return-value]


def _totals(engine: Engine) -> dict[str, tuple[int, int, int, int, int]]:
    with Session(engine) as session:
        ana = person_by_email(session, ANA)
        rows = session.exec(select(WeeklyTotal).where(WeeklyTotal.person_id == ana.id)).all()
        return {
            t.week: (
                t.input_tokens,
                t.output_tokens,
                t.requests,
                t.artifacts_created,
                t.artifacts_viewed_by_others,
            )
            for t in rows
        }


def test_the_purge_drops_whole_months_and_the_weekly_totals_equal_the_facts(
    engine: Engine, context: AppContext, clock: dict[str, datetime]
) -> None:
    clock["now"] = datetime(2026, 10, 2, tzinfo=UTC)
    run_partition_upkeep(context)  # October and the months after it
    _ingest(engine, _two_months())
    with transaction(engine) as session:
        set_setting(session, RETENTION_DAYS, 30, actor="UADMIN", now=FROZEN_NOW)
    weeks = [Week(2026, n) for n in (41, 44, 45)]
    facts_before = _week_facts(engine, weeks)
    assert facts_before["2026-W44"] == (460, 10, 2, 1, 1)
    postgres = engine.dialect.name == "postgresql"
    if postgres:
        assert {_table_of(engine, "oct-w44"), _table_of(engine, "nov-w44")} == {
            "events_2026_10",
            "events_2026_11",
        }

    # 30 days before Dec 1 is Nov 1: October is past the horizon, November is not (on both).
    clock["now"] = datetime(2026, 12, 1, tzinfo=UTC)
    first = run_retention(context)

    assert first.weeks == ["2026-W41", "2026-W44"] and first.events == 3
    if postgres:
        assert not _relation_exists(engine, "events_2026_10")  # dropped, not emptied
        assert _relation_exists(engine, "events_2026_11")
    with Session(engine) as session:
        left = sorted(session.exec(select(Event.key)).all())
    assert left == ["made-2", "nov-w44", "nov-w45", "seen"]
    # W44's October part so far; its artifact was seen by Bob on Nov 1, still stored.
    assert _totals(engine) == {
        "2026-W41": (*facts_before["2026-W41"][:3], 0, 0),
        "2026-W44": (400, 4, 1, 1, 1),
    }

    clock["now"] = datetime(2027, 1, 5, tzinfo=UTC)
    second = run_retention(context)

    assert second.weeks == ["2026-W44", "2026-W45"] and second.events == 4
    if postgres:
        assert not _relation_exists(engine, "events_2026_11")
    with Session(engine) as session:
        assert session.exec(select(Event)).all() == []
        assert session.exec(select(Artifact)).all() == []
    assert _totals(engine) == facts_before  # each week counted once, across both months


def test_an_event_far_in_the_past_or_future_is_stored_and_purged_as_any_other(
    engine: Engine, context: AppContext
) -> None:
    accepted = _ingest(
        engine,
        [
            usage_event("ancient", ANA, "0001-01-01T00:00:00Z"),
            usage_event("distant", ANA, "9999-12-31T23:59:59Z"),
        ],
    )
    assert accepted == (2, 0)
    if engine.dialect.name == "postgresql":
        # No month is made for them: they wait in the default partition.
        assert _table_of(engine, "ancient") == _table_of(engine, "distant") == "events_default"
    made = run_partition_upkeep(context)
    assert all(Month(2026, 1) <= month <= Month(2027, 12) for month in made)
    report = purge_events(engine, now=FROZEN_NOW, tz=UTC)
    assert report.events == 1
    with Session(engine) as session:
        assert session.exec(select(Event.key)).all() == ["distant"]
        assert session.exec(select(sa.func.count()).select_from(WeeklyTotal)).one() == 1


def test_forget_and_attribution_reach_every_month(engine: Engine, context: AppContext) -> None:
    from bot.store.forget import forget_person
    from bot.store.identities import attribute_events

    run_partition_upkeep(context)
    _ingest(
        engine,
        [
            usage_event("a-nov", ANA, "2026-11-20T10:00:00Z"),
            usage_event("a-old", ANA, "2025-06-20T10:00:00Z"),  # default partition on PostgreSQL
            {
                "id": "u-dec",
                "type": "ai.usage",
                "occurred_at": "2026-12-02T10:00:00Z",
                "actor": {"slack_user_id": "U0ANA0001"},
                "usage": {"input_tokens": 5, "output_tokens": 1},
            },
        ],
    )
    with transaction(engine) as session:
        ana = person_by_email(session, ANA)
        ana.slack_user_id = "U0ANA0001"
        session.add(ana)
    with transaction(engine) as session:
        ana_id = person_by_email(session, ANA).id
        assert ana_id is not None
        assert attribute_events(session, "slack", "U0ANA0001", ana_id) == 1
    with transaction(engine) as session:
        erased = forget_person(session, ANA, actor="cli", now=FROZEN_NOW)
    assert erased["events"] == 3
    with Session(engine) as session:
        assert session.exec(select(Event)).all() == []
        assert session.exec(select(Person).where(col(Person.email) == ANA)).all() == []


# Migration ---------------------------------------------------------------------------------------


@pytest.fixture
def empty_postgres() -> Iterator[str]:
    base = os.environ.get("TEST_DATABASE_URL")
    if not base:
        pytest.skip(
            "PostgreSQL tests need TEST_DATABASE_URL (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test)"
        )
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    name = f"airoi_part_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    yield make_url(base).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as connection:
        connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


@pytest.mark.postgres
def test_a_populated_database_is_migrated_to_partitions_with_its_facts_unchanged(
    empty_postgres: str,
) -> None:
    engine = create_engine(empty_postgres)
    try:
        upgrade(engine, "0009")
        with transaction(engine) as session:  # as ai-roi at revision 0009 stored them
            ana, bob = Person(email=ANA), Person(email=BOB)
            dash = Artifact(source="usage", external_id="dash-1", kind="dashboard")
            session.add_all([ana, bob, dash])
            session.flush()
            rows = [
                ("u1", "ai.usage", datetime(2026, 9, 29, 10, tzinfo=UTC), ana.id, None, 900),
                ("u2", "ai.usage", datetime(2026, 10, 30, 10, tzinfo=UTC), ana.id, None, 80),
                ("u3", "ai.usage", datetime(2026, 11, 1, 10, tzinfo=UTC), ana.id, None, 7),
                ("c1", "artifact.created", datetime(2026, 10, 29, tzinfo=UTC), ana.id, dash.id, 0),
                ("v1", "artifact.viewed", datetime(2026, 11, 1, tzinfo=UTC), bob.id, dash.id, 0),
            ]
            for key, type_, at, person, artifact, tokens in rows:
                session.add(
                    Event(
                        source="usage",
                        key=key,
                        type=type_,
                        occurred_at=at,
                        person_id=person,
                        artifact_id=artifact,
                        input_tokens=tokens,
                        requests=1 if tokens else 0,
                        actor_kind="email",
                        actor_value=ANA if person == ana.id else BOB,
                    )
                )
        weeks = [Week(2026, n) for n in (40, 44, 45)]
        before = _week_facts(engine, weeks)
        with Session(engine) as session:
            ids_before = dict(session.exec(select(Event.key, Event.id)).all())

        upgrade(engine)

        assert current_revision(engine) == head_revision()
        assert _week_facts(engine, weeks) == before
        assert before["2026-W44"][:2] == (87, 0) and before["2026-W44"][3:] == (1, 1)
        with Session(engine) as session:
            assert dict(session.exec(select(Event.key, Event.id)).all()) == ids_before
        tables = _partition_tables(engine)
        assert {"events_2026_09", "events_2026_10", "events_2026_11"} <= tables
        assert _table_of(engine, "u2") == "events_2026_10"
        # The id sequence carries on, and the old keys are still taken in any month.
        assert _ingest(engine, [usage_event("u2", ANA, "2026-12-30T10:00:00Z")]) == (0, 1)
        assert _ingest(engine, [usage_event("new", ANA, "2026-11-30T10:00:00Z")]) == (1, 0)
        with Session(engine) as session:
            new_id = session.exec(select(Event.id).where(Event.key == "new")).one()
        assert new_id is not None and new_id > max(ids_before.values())
    finally:
        engine.dispose()
