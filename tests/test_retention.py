"""Retention: raw events older than the retention period are purged, weekly totals stay, and the
digest baseline of a purged week does not move. On both databases."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.cli import main
from bot.context import AppContext
from bot.digest.weekly_facts import facts_for
from bot.domain.weeks import Week
from bot.ingest.pipeline import ingest_body
from bot.store.db import transaction
from bot.store.models import Artifact, AuditEntry, Event, WeeklyTotal
from bot.store.people import person_by_email
from bot.store.workspace import RETENTION_DAYS, set_setting
from jobs.retention import purge_events, run_retention
from tests.conftest import FROZEN_NOW
from tests.helpers import artifact_event, dumps, usage_event

ANA = "ana@example.com"
BOB = "bob@example.com"
# The purges run on 2026-12-01 00:00 UTC with 30 days of retention: the cutoff, Sunday
# 2026-11-01 00:00, is a month boundary inside 2026-W44 (Oct 26 – Nov 1), where SQLite (by the
# cutoff) and PostgreSQL (by whole months) purge the same events. How the two differ between
# month boundaries is tested below and in tests/test_partitions.py.
PURGED_AT = datetime(2026, 12, 1, tzinfo=UTC)
CUTOFF = PURGED_AT - timedelta(days=30)


def _events() -> list[dict[str, object]]:
    events: list[dict[str, object]] = []
    for week in range(40, 48):  # one usage event on the Tuesday of each week W40…W47
        tuesday = Week(2026, week).monday + timedelta(days=1)
        events.append(
            usage_event(
                f"u{week}",
                ANA,
                f"{tuesday.isoformat()}T10:00:00Z",
                input_tokens=1000 * week,
                output_tokens=week,
                cached_tokens=10 * week,
                cost_usd="0.50",
            )
        )
    # W44 straddles the cutoff: two events before it (Monday 08:00, Tuesday above), one after.
    events.append(
        usage_event("u44-early", ANA, "2026-10-26T08:00:00Z", input_tokens=500, output_tokens=5)
    )
    events.append(
        usage_event("u44-late", ANA, "2026-11-01T08:00:00Z", input_tokens=300, output_tokens=3)
    )
    events += [
        artifact_event(
            "c1", "artifact.created", ANA, "2026-10-06T09:00:00Z", "dash-1", "dashboard"
        ),
        artifact_event(
            "c2", "artifact.created", ANA, "2026-10-06T09:05:00Z", "dash-2", "dashboard"
        ),
        artifact_event("c3", "artifact.created", ANA, "2026-10-06T09:10:00Z", "dash-3", "report"),
        artifact_event("v1", "artifact.viewed", BOB, "2026-10-07T09:00:00Z", "dash-1"),
        artifact_event("v1-own", "artifact.viewed", ANA, "2026-10-07T09:30:00Z", "dash-2"),
        artifact_event("v3", "artifact.viewed", BOB, "2026-11-17T09:00:00Z", "dash-3"),
        artifact_event("used1", "artifact.used", BOB, "2026-10-08T09:00:00Z", "dash-1"),
    ]
    # An identity nobody is mapped to, long ago: purged like any other raw event.
    events.append(
        {
            "id": "anon",
            "type": "ai.usage",
            "occurred_at": "2026-09-01T10:00:00Z",
            "actor": {"slack_user_id": "U0NOBODY1"},
            "usage": {"input_tokens": 7, "output_tokens": 1},
        }
    )
    return events


@pytest.fixture
def loaded(engine: Engine) -> Engine:
    outcome = ingest_body(
        engine, "usage", dumps({"events": _events()}), "application/json", now=FROZEN_NOW
    )
    assert outcome.accepted == len(_events()) and not outcome.rejected
    with transaction(engine) as session:
        set_setting(session, RETENTION_DAYS, 30, actor="UADMIN", now=FROZEN_NOW)
    return engine


def _facts(engine: Engine, week: Week) -> dict[str, object]:
    with Session(engine) as session:
        return facts_for(session, person_by_email(session, ANA), week, UTC).to_json()


def _baseline(engine: Engine, week: int) -> dict[str, object]:
    """The trailing baseline of a week's facts (the sparkline's last bar is the week itself)."""
    baseline = dict(_facts(engine, Week(2026, week))["baseline"])  # type: ignore[arg-type]
    baseline.pop("sparkline")
    return baseline


def test_purge_keeps_weekly_totals_and_the_baseline(loaded: Engine) -> None:
    baselines = {week: _baseline(loaded, week) for week in (44, 45, 46, 47, 48)}
    assert baselines[45]["tokens_by_week"] == [41_041, 42_042, 43_043, 44_852]  # W41…W44

    report = purge_events(loaded, now=PURGED_AT, tz=UTC, batch_size=2)

    assert report.cutoff == CUTOFF
    assert report.weeks == ["2026-W36", "2026-W40", "2026-W41", "2026-W42", "2026-W43", "2026-W44"]
    assert report.events == 13 and report.artifacts == 2 and report.person_weeks == 5
    with Session(loaded) as session:
        left = session.exec(select(Event.key).order_by(col(Event.key))).all()
        assert left == ["u44-late", "u45", "u46", "u47", "v3"]
        assert sorted(session.exec(select(Artifact.external_id)).all()) == ["dash-3"]
        ana = person_by_email(session, ANA)
        totals = {
            t.week: t
            for t in session.exec(select(WeeklyTotal).where(WeeklyTotal.person_id == ana.id))
        }
        assert sorted(totals) == ["2026-W40", "2026-W41", "2026-W42", "2026-W43", "2026-W44"]
        w41 = totals["2026-W41"]
        assert (w41.input_tokens, w41.cached_tokens, w41.output_tokens) == (41_000, 410, 41)
        assert (w41.cost_nanos, w41.requests) == (500_000_000, 1)
        # dash-1 opened and used by Bob within the week; dash-2 only by Ana; dash-3 weeks later.
        assert (w41.artifacts_created, w41.artifacts_viewed_by_others, w41.artifacts_used) == (
            3,
            1,
            1,
        )
        assert totals["2026-W44"].input_tokens == 44_500  # only the part before the cutoff so far
        audit = session.exec(select(AuditEntry).where(AuditEntry.action == "retention.purge")).one()
        details = json.loads(audit.details or "{}")
        assert details["events"] == 13 and details["artifacts"] == 2
        assert ANA not in (audit.details or "")
    for week, baseline in baselines.items():
        assert _baseline(loaded, week) == baseline, week

    # Idempotent: nothing older than the cutoff is left, nothing changes, nothing is audited.
    again = purge_events(loaded, now=PURGED_AT, tz=UTC)
    assert again.events == 0 and again.weeks == []
    with Session(loaded) as session:
        assert len(session.exec(select(AuditEntry)).all()) == 2  # the setting and one purge

    # A month later the rest of W44 goes too; its totals add up, the baselines stay.
    later = purge_events(loaded, now=PURGED_AT + timedelta(days=31), tz=UTC)
    assert later.weeks == ["2026-W44", "2026-W45", "2026-W46", "2026-W47"] and later.events == 5
    with Session(loaded) as session:
        w44 = session.get(WeeklyTotal, (person_by_email(session, ANA).id, "2026-W44"))
        assert w44 is not None and (w44.input_tokens, w44.output_tokens) == (44_800, 52)
    for week, baseline in baselines.items():
        assert _baseline(loaded, week) == baseline, week


def test_dry_run_counts_and_changes_nothing(loaded: Engine) -> None:
    report = purge_events(loaded, now=PURGED_AT, tz=UTC, dry_run=True)
    assert report.dry_run and report.events == 13 and report.artifacts == 2
    assert report.weeks[0] == "2026-W36" and report.weeks[-1] == "2026-W44"
    assert "would purge 13 events" in report.summary()
    with Session(loaded) as session:
        assert len(session.exec(select(Event)).all()) == len(_events())
        assert session.exec(select(WeeklyTotal)).all() == []
        assert (
            session.exec(select(AuditEntry).where(AuditEntry.action != "setting.change")).all()
            == []
        )


def test_default_retention_is_180_days(engine: Engine, context: AppContext) -> None:
    events = [
        usage_event("old", ANA, "2026-04-30T10:00:00Z"),  # 209 days before FROZEN_NOW
        usage_event("kept", ANA, "2026-06-01T10:00:00Z"),  # 177 days before
    ]
    ingest_body(engine, "usage", dumps(events), "application/json", now=FROZEN_NOW)
    report = run_retention(context)
    assert report.retention_days == 180 and report.events == 1
    with Session(engine) as session:
        assert session.exec(select(Event.key)).all() == ["kept"]


def test_forget_erases_weekly_totals_too(loaded: Engine) -> None:
    from bot.store.forget import forget_person

    purge_events(loaded, now=PURGED_AT, tz=UTC)
    with transaction(loaded) as session:
        forget_person(session, ANA, actor="cli", now=FROZEN_NOW)
    with Session(loaded) as session:
        assert session.exec(select(WeeklyTotal)).all() == []


def test_cli_db_purge(
    engine: Engine, database_url: str, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:  # type: ignore[no-untyped-def]
    long_ago = datetime.now(UTC) - timedelta(days=400)
    ingest_body(
        engine,
        "usage",
        dumps([usage_event("ancient", ANA, long_ago.isoformat())]),
        "application/json",
    )
    monkeypatch.setenv("DATABASE_URL", database_url)
    assert main(["db", "purge", "--dry-run"]) == 0
    assert "would purge 1 events" in capsys.readouterr().out
    with Session(engine) as session:
        assert len(session.exec(select(Event)).all()) == 1
    assert main(["db", "purge"]) == 0
    assert "purged 1 events" in capsys.readouterr().out
    with Session(engine) as session:
        assert session.exec(select(Event)).all() == []


def test_purge_folds_the_ai_assisted_counts_too(engine: Engine) -> None:
    def made(key: str, artifact: str, tool: str | None) -> dict[str, object]:
        event = artifact_event(
            key, "artifact.created", ANA, "2026-09-08T09:00:00Z", artifact, "doc"
        )
        if tool:
            event["tool"] = tool  # the source marks it AI-assisted
        return event

    events = [
        made("c-ai1", "ai-1", "chatgpt"),
        made("c-ai2", "ai-2", "chatgpt"),
        made("c-plain", "plain", None),
        artifact_event("v-ai1", "artifact.viewed", BOB, "2026-09-09T09:00:00Z", "ai-1"),
        artifact_event("v-ai2", "artifact.viewed", ANA, "2026-09-09T09:00:00Z", "ai-2"),  # own
        artifact_event("v-plain", "artifact.viewed", BOB, "2026-09-09T09:00:00Z", "plain"),
        artifact_event("u-ai1", "artifact.used", BOB, "2026-09-10T09:00:00Z", "ai-1"),
    ]
    ingest_body(engine, "usage", dumps(events), "application/json", now=FROZEN_NOW)
    with transaction(engine) as session:
        set_setting(session, RETENTION_DAYS, 30, actor="UADMIN", now=FROZEN_NOW)
    assert _facts(engine, Week(2026, 37))["artifacts"]["ai"]["created"] == 2  # type: ignore[index]
    report = purge_events(engine, now=FROZEN_NOW, tz=UTC)
    assert report.events == len(events)
    with Session(engine) as session:
        total = session.get(WeeklyTotal, (person_by_email(session, ANA).id, "2026-W37"))
        assert total is not None
        assert (
            total.artifacts_created,
            total.artifacts_viewed_by_others,
            total.artifacts_used,
        ) == (
            3,
            2,
            1,
        )
        assert (
            total.ai_artifacts_created,
            total.ai_artifacts_viewed_by_others,
            total.ai_artifacts_used,
        ) == (2, 1, 1)


def test_between_month_boundaries_sqlite_purges_by_the_cutoff_postgresql_by_whole_months(
    loaded: Engine,
) -> None:
    """On the Wednesday of W48 the 30-day cutoff is Mon 2026-10-26 12:00. SQLite purges to it;
    PostgreSQL drops only the months wholly before it (September), and keeps October until
    November's purges, never purging an event younger than the retention period."""
    report = purge_events(loaded, now=FROZEN_NOW, tz=UTC)
    cutoff = FROZEN_NOW - timedelta(days=30)
    sqlite = loaded.dialect.name == "sqlite"
    assert report.cutoff == (cutoff if sqlite else datetime(2026, 10, 1, tzinfo=UTC))
    with Session(loaded) as session:
        left = set(session.exec(select(Event.key)).all())
    assert "anon" not in left and "u40" not in left  # September: gone on both
    assert ("u44-early" in left) is not sqlite  # Oct 26 08:00, before the cutoff
    assert "u44" in left  # Oct 27, after the cutoff: kept on both
    assert report.events == (12 if sqlite else 2)
