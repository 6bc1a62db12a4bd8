"""People and time zones from Slack ``users.list``, through the fake Slack Web API on loopback."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.cli import main
from bot.context import AppContext
from bot.domain.directory import parse_directory
from bot.errors import SlackSyncError
from bot.ingest.pipeline import ingest_body
from bot.outbound.gate import RateGate
from bot.slack import directory_sync as slack_sync
from bot.slack.directory_sync import sync_slack
from bot.store.db import transaction
from bot.store.directory import apply_directory
from bot.store.models import Event, Person
from bot.store.slack_directory import member_from_api
from fakes.slack_api import FakeSlack
from jobs.scheduler import RETENTION_ID, SLACK_SYNC_ID, add_daily_jobs, build_scheduler
from tests.conftest import FROZEN_NOW, make_settings
from tests.helpers import dumps


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        fake.add_user(
            id="U0ANA0001", email="Ana@Example.com", real_name="Ana Slack", tz="Europe/Berlin"
        )
        fake.add_user(
            id="U0BOB0001",
            email="bob@example.com",
            real_name="Bob Builder",
            tz="America/New_York",
            is_admin=True,
        )
        fake.add_user(id="U0CAL0001", email="cal@example.com", real_name="Cal", tz="Asia/Tokyo")
        fake.add_user(id="U0GONE001", email="gone@example.com", deleted=True)
        fake.add_user(id="U0NOMAIL1", email=None, real_name="No Mail")
        fake.add_user(id="U0HELPER1", email="helper@example.com", is_bot=True)
        yield fake


@pytest.fixture
def slack_context(context: AppContext, database_url: str, slack: FakeSlack) -> AppContext:
    settings = make_settings(
        database_url, slack_bot_token=slack.token, slack_api_url=slack.base_url
    )
    return AppContext(settings, context.engine, context.clock)


def people(engine: Engine) -> dict[str, tuple[str | None, str | None, str | None, bool]]:
    with Session(engine) as session:
        return {
            p.email: (p.name, p.slack_user_id, p.tz, p.is_slack_admin)
            for p in session.exec(select(Person).order_by(col(Person.email)))
        }


def test_users_list_pages_people_time_zones_and_admins(
    slack_context: AppContext, slack: FakeSlack, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(slack_sync, "USERS_PAGE_SIZE", 2)
    report = sync_slack(slack_context)

    list_calls = slack.calls_to("users.list")
    assert len(list_calls) == 4  # Slackbot, the app's bot and six members, two at a time
    assert all(call.args.get("limit") == "2" for call in list_calls)
    assert people(slack_context.engine) == {
        "ana@example.com": ("Ana Slack", "U0ANA0001", "Europe/Berlin", False),
        "bob@example.com": ("Bob Builder", "U0BOB0001", "America/New_York", True),
        "cal@example.com": ("Cal", "U0CAL0001", "Asia/Tokyo", False),
    }
    assert report.people.people_created == 3
    assert report.people.skipped == 5  # Slackbot, the bot user, a bot, deactivated, no email
    assert "3 people created" in report.summary()

    # Idempotent: a second run changes nothing.
    again = sync_slack(slack_context)
    assert (again.people.people_created, again.people.people_updated) == (0, 0)
    assert len(people(slack_context.engine)) == 3

    # Changes in Slack follow: a new zone, an admin demoted, a member deactivated.
    slack.set_user("U0CAL0001", tz="Europe/Lisbon")
    slack.set_user("U0ANA0001", deleted=True)
    slack.set_user("U0BOB0001", is_admin=False)
    changed = sync_slack(slack_context)
    assert changed.people.people_updated == 2
    after = people(slack_context.engine)
    assert after["cal@example.com"][2] == "Europe/Lisbon"
    assert after["bob@example.com"][3] is False
    assert "ana@example.com" in after  # never deleted


def test_a_csv_name_is_kept_and_a_missing_one_filled(slack_context: AppContext) -> None:
    parsed = parse_directory(
        "email,name,team\nana@example.com,Ana López,Data\ncal@example.com,,Data\n"
    )
    with transaction(slack_context.engine) as session:
        apply_directory(session, parsed.rows)
    sync_slack(slack_context)
    found = people(slack_context.engine)
    assert found["ana@example.com"][:2] == ("Ana López", "U0ANA0001")
    assert found["cal@example.com"][:2] == ("Cal", "U0CAL0001")
    # An empty Slack name never blanks a name either.
    member = member_from_api(
        {"id": "U0ANA0001", "real_name": "", "profile": {"email": "ana@example.com"}}
    )
    assert member.name is None


def test_events_under_a_slack_id_are_attributed_once_slack_names_them(
    slack_context: AppContext,
) -> None:
    event = {
        "id": "evt-1",
        "type": "ai.usage",
        "occurred_at": "2026-11-24T10:00:00Z",
        "actor": {"slack_user_id": "U0BOB0001"},
        "usage": {"input_tokens": 120, "output_tokens": 30},
    }
    ingest_body(slack_context.engine, "usage", dumps([event]), "application/json", now=FROZEN_NOW)
    with Session(slack_context.engine) as session:
        assert session.exec(select(Event.person_id)).one() is None
    report = sync_slack(slack_context)
    assert report.people.events_attributed == 1
    with Session(slack_context.engine) as session:
        bob = session.exec(select(Person).where(Person.email == "bob@example.com")).one()
        assert session.exec(select(Event.person_id)).one() == bob.id


def test_a_slack_id_held_by_another_person_is_not_moved(slack_context: AppContext) -> None:
    parsed = parse_directory("email,slack_user_id\nana.old@example.com,U0ANA0001\n")
    with transaction(slack_context.engine) as session:
        apply_directory(session, parsed.rows)
        session.add(Person(email="ana@example.com"))
    report = sync_slack(slack_context)
    assert any("U0ANA0001" in problem for problem in report.problems)
    found = people(slack_context.engine)
    assert found["ana.old@example.com"][1] == "U0ANA0001"
    assert found["ana@example.com"][1] is None


def test_a_429_waits_for_retry_after_then_continues(
    slack_context: AppContext, slack: FakeSlack, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(slack_sync, "USERS_PAGE_SIZE", 3)
    slack.fail_next("users.list", "ratelimited", times=1, retry_after=1)
    report = sync_slack(slack_context, gate=RateGate(min_interval=0))
    assert report.people.people_created == 3
    assert slack.violations == []
    statuses = [call.status for call in slack.calls_to("users.list")]
    assert statuses[0] == 429 and statuses[1:] == [200] * (len(statuses) - 1)


def test_a_refused_token_is_a_clear_error(slack_context: AppContext, slack: FakeSlack) -> None:
    slack.fail_next("users.list", "invalid_auth")
    with pytest.raises(SlackSyncError, match=r"users\.list failed: invalid_auth"):
        sync_slack(slack_context, gate=RateGate(min_interval=0))


def test_cli_sync_slack(
    slack: FakeSlack, database_url: str, engine: Engine, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("SLACK_BOT_TOKEN", slack.token)
    monkeypatch.setenv("SLACK_API_URL", slack.base_url)
    assert main(["directory", "sync-slack"]) == 0
    assert "3 people created" in capsys.readouterr().out
    assert len(people(engine)) == 3


def test_cli_sync_slack_needs_a_token(
    database_url: str, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("DATABASE_URL", database_url)
    assert main(["directory", "sync-slack"]) == 1
    assert "SLACK_BOT_TOKEN" in capsys.readouterr().err


def test_daily_jobs_are_scheduled(slack_context: AppContext, context: AppContext) -> None:
    scheduler = build_scheduler()
    add_daily_jobs(scheduler, context)  # no bot token: no Slack sync
    assert [job.id for job in scheduler.get_jobs()] == [RETENTION_ID]
    add_daily_jobs(scheduler, slack_context)
    add_daily_jobs(scheduler, slack_context)  # replace_existing: still one of each
    jobs = {job.id: job for job in scheduler.get_jobs()}
    assert sorted(jobs) == sorted([RETENTION_ID, SLACK_SYNC_ID])
    assert all(job.max_instances == 1 and job.coalesce for job in jobs.values())
