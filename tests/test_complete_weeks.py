"""No week lost (DESIGN §4 "Complete data first"), end to end on real databases: the hourly tick
waits for every enabled source, sends once the data is in or the grace period is over (naming
late sources), never records "no activity" while data can still arrive, treats the console as a
preview, and ``ai-roi digest --resend`` repairs one person-week, audited."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from freezegun import freeze_time
from sqlmodel import Session, col, select

from bot.cli import main
from bot.context import AppContext
from bot.ingest.pipeline import ingest_body
from bot.store import deliveries, source_state
from bot.store.db import alembic_config, create_engine, transaction, upgrade
from bot.store.models import AuditEntry, Delivery, Person
from bot.store.workspace import DIGEST_GRACE_HOURS, set_setting
from fakes.slack_api import FakeSlack
from jobs.digest_tick import TickReport, digest_tick
from tests.conftest import WEBHOOK_TOKEN, make_settings, serve_app
from tests.helpers import dumps, usage_event

WEEK = "2026-W47"  # Nov 16–22; its digests fall due on Monday Nov 23, 09:00 UTC
MONDAY = datetime(2026, 11, 23, 9, 5, tzinfo=UTC)
WEEK_END = datetime(2026, 11, 23, tzinfo=UTC)
DIRECTORY = """email,name,slack_user_id
ana@example.com,Ana Lopez,UANA
ben@example.com,Ben Okafor,UBEN
cal@example.com,Cal Weber,UCAL
"""
LATE_NOTE = "Cursor data for this week had not arrived when this was sent."


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        for user, email in (("UANA", "ana"), ("UBEN", "ben"), ("UCAL", "cal")):
            fake.add_user(id=user, email=f"{email}@example.com", tz="UTC")
        yield fake


class App:
    """One database seen through the settings ``serve`` would have, on a clock the test moves."""

    def __init__(self, url: str, slack: FakeSlack) -> None:
        self.url = url
        self.slack = slack
        self.engine = create_engine(url)
        self.now = MONDAY
        self.console = io.StringIO()

    def context(self, *, with_slack: bool) -> AppContext:
        tokens = (
            {
                "slack_bot_token": self.slack.token,
                "slack_signing_secret": "test-signing-secret",
                "slack_api_url": self.slack.base_url,
            }
            if with_slack
            else {}
        )
        return AppContext(make_settings(self.url, **tokens), self.engine, lambda: self.now)

    def tick(self, at: datetime, *, with_slack: bool = True) -> TickReport:
        """The hourly tick with the deliverer the settings choose (Slack, or the console)."""
        self.now = at
        return digest_tick(self.context(with_slack=with_slack), out=self.console)

    def rows(self) -> list[tuple[str, str, str]]:
        # Only columns every revision has: a test may look at the table under an older one.
        query = select(Person.email, Delivery.status, Delivery.channel).join(
            Person, col(Person.id) == col(Delivery.person_id)
        )
        with Session(self.engine) as session:
            return sorted((str(e), str(s), str(c)) for e, s, c in session.exec(query).all())

    def dms(self, user: str) -> list[str]:
        return [message.text or "" for message in self.slack.dms_to(user)]

    def ingest(self, events: list[dict[str, object]]) -> None:
        ingest_body(self.engine, "usage", dumps(events), "application/json")


@pytest.fixture
def app(database_url: str, slack: FakeSlack) -> Iterator[App]:
    found = App(database_url, slack)
    with transaction(found.engine) as session:
        from bot.domain.directory import parse_directory
        from bot.store.directory import apply_directory

        apply_directory(session, parse_directory(DIRECTORY).rows)
    yield found
    found.engine.dispose()


def sent(report: TickReport) -> list[str]:
    return sorted(o.email for o in report.outcomes if o.status == "sent")


@pytest.fixture
def first_run_url(database_url: str, tmp_path: Path) -> str:
    """SQLite: a database file nobody has migrated yet. PostgreSQL: the test's own database."""
    if database_url.startswith("sqlite"):
        return f"sqlite:///{tmp_path / 'first-run.db'}"
    return database_url


def test_a_server_started_before_the_data_still_sends_that_weeks_digest(
    first_run_url: str,
    slack: FakeSlack,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("DATABASE_URL", first_run_url)
    assert main(["db", "upgrade"]) == 0
    (tmp_path / "people.csv").write_text(DIRECTORY)
    assert main(["directory", "import", str(tmp_path / "people.csv")]) == 0
    capsys.readouterr()

    app = App(first_run_url, slack)
    try:
        # serve starts on Monday morning: its start-up tick finds no data at all, and waits
        early = app.tick(MONDAY)
        assert early.outcomes == [] and early.waiting == {WEEK: ()}
        assert app.rows() == [] and slack.messages == []

        # the week's data arrives over HTTP a little later, up to this morning
        events = [
            usage_event("a1", "ana@example.com", "2026-11-18T10:00:00Z", input_tokens=4000),
            usage_event("b1", "ben@example.com", "2026-11-20T10:00:00Z", input_tokens=2500),
            usage_event("b2", "ben@example.com", "2026-11-23T08:30:00Z"),  # this morning
        ]
        with serve_app(app.context(with_slack=True)) as live:
            response = live.client.post(
                "/webhooks/usage",
                content=json.dumps(events),
                headers={
                    "authorization": f"Bearer {WEBHOOK_TOKEN}",
                    "content-type": "application/json",
                },
            )
        assert response.status_code == 202 and response.json()["accepted"] == 3

        later = app.tick(MONDAY + timedelta(hours=1))
        assert sent(later) == ["ana@example.com", "ben@example.com"]
        assert len(app.dms("UANA")) == 1 and len(app.dms("UBEN")) == 1
        assert "Your AI week, Nov 16–22" in app.dms("UANA")[0]
        assert "had not arrived" not in app.dms("UANA")[0]  # the week was complete
        assert app.dms("UCAL") == []
        assert app.rows() == [  # the week is complete: Cal's "no activity" is now final
            ("ana@example.com", "sent", "slack"),
            ("ben@example.com", "sent", "slack"),
            ("cal@example.com", "skipped", "none"),
        ]
        assert app.tick(MONDAY + timedelta(hours=2)).outcomes == []
        assert len(slack.messages) == 2
    finally:
        app.engine.dispose()


def test_a_console_preview_never_blocks_the_slack_dm(app: App, slack: FakeSlack) -> None:
    app.ingest(
        [
            usage_event("a1", "ana@example.com", "2026-11-18T10:00:00Z", input_tokens=4000),
            usage_event("a2", "ana@example.com", "2026-11-23T00:10:00Z"),  # complete through
        ]
    )
    # serve without Slack tokens: the digest is printed, as a preview
    assert sent(app.tick(MONDAY, with_slack=False)) == ["ana@example.com"]
    assert app.console.getvalue().count("DM to Ana Lopez <ana@example.com>") == 1
    assert ("ana@example.com", "preview", "console") in app.rows()
    assert app.tick(MONDAY + timedelta(hours=1), with_slack=False).outcomes == []  # printed once

    # Slack connected: the DM goes out, once
    assert sent(app.tick(MONDAY + timedelta(hours=2))) == ["ana@example.com"]
    assert len(app.dms("UANA")) == 1
    assert ("ana@example.com", "sent", "slack") in app.rows()
    assert app.tick(MONDAY + timedelta(hours=3)).outcomes == []
    assert app.tick(MONDAY + timedelta(hours=4), with_slack=False).outcomes == []
    assert len(slack.messages) == 1
    assert app.console.getvalue().count("DM to ") == 1


def test_a_late_source_holds_the_digest_then_it_goes_out_naming_the_source(
    app: App, slack: FakeSlack
) -> None:
    app.ingest(
        [
            usage_event("a1", "ana@example.com", "2026-11-18T10:00:00Z", input_tokens=4000),
            usage_event("a2", "ana@example.com", "2026-11-23T07:00:00Z"),  # the webhook is current
        ]
    )
    with transaction(app.engine) as session:  # the Cursor connector is complete through Saturday
        source_state.record_success(
            session,
            "cursor",
            now=MONDAY,
            checkpoint=None,
            watermark=datetime(2026, 11, 22, tzinfo=UTC),
            rows=10,
        )

    waiting = app.tick(MONDAY)
    assert waiting.outcomes == [] and waiting.waiting == {WEEK: ("cursor",)}
    assert app.tick(datetime(2026, 11, 24, 23, 0, tzinfo=UTC)).waiting == {WEEK: ("cursor",)}
    assert slack.messages == [] and app.rows() == []

    # 48 hours after the week's end: out it goes, saying which source is late
    overdue = app.tick(WEEK_END + timedelta(hours=48))
    assert sent(overdue) == ["ana@example.com"]
    [dm] = app.dms("UANA")
    assert LATE_NOTE in dm
    # nobody is told "no activity" for good while Cursor may still bring their week
    assert {(o.email, o.status) for o in overdue.outcomes} >= {
        ("ben@example.com", "skipped"),
        ("cal@example.com", "skipped"),
    }
    assert app.rows() == [("ana@example.com", "sent", "slack")]

    # Cursor catches up, with Cal's week in it
    app.ingest([usage_event("c1", "cal@example.com", "2026-11-19T10:00:00Z", input_tokens=900)])
    with transaction(app.engine) as session:
        source_state.record_success(
            session,
            "cursor",
            now=WEEK_END + timedelta(hours=49),
            checkpoint=None,
            watermark=WEEK_END + timedelta(hours=24),
            rows=1,
        )
    caught_up = app.tick(WEEK_END + timedelta(hours=50))
    assert sent(caught_up) == ["cal@example.com"]
    [cal_dm] = app.dms("UCAL")
    assert "had not arrived" not in cal_dm
    assert len(app.dms("UANA")) == 1  # Ana's digest is not sent twice
    assert app.rows() == [
        ("ana@example.com", "sent", "slack"),
        ("ben@example.com", "skipped", "none"),  # now complete: final
        ("cal@example.com", "sent", "slack"),
    ]


def test_the_grace_period_is_a_workspace_setting(app: App, slack: FakeSlack) -> None:
    app.ingest([usage_event("a1", "ana@example.com", "2026-11-18T10:00:00Z")])
    with transaction(app.engine) as session:
        set_setting(session, DIGEST_GRACE_HOURS, 24, actor="UADMIN", now=MONDAY)
    # the usage webhook itself is the late source: nothing since Wednesday
    assert app.tick(datetime(2026, 11, 23, 23, 0, tzinfo=UTC)).waiting == {WEEK: ("usage",)}
    assert sent(app.tick(datetime(2026, 11, 24, 0, 0, tzinfo=UTC))) == ["ana@example.com"]
    assert "Usage webhook data for this week had not arrived" in app.dms("UANA")[0]


def test_ai_roi_digest_waits_too_and_says_for_what(
    app: App, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    app.ingest([usage_event("a1", "ana@example.com", "2026-11-18T10:00:00Z")])
    monkeypatch.setenv("DATABASE_URL", app.url)
    with freeze_time(MONDAY, tick=False):
        assert main(["digest", "--week", WEEK]) == 0
    out = capsys.readouterr().out
    assert f"{WEEK}: waiting for the week's data (usage)" in out
    assert "2026-11-25 00:00 UTC" in out
    assert app.rows() == []
    with freeze_time(MONDAY, tick=False):  # a dry run previews regardless, naming what is late
        assert main(["digest", "--week", WEEK, "--dry-run"]) == 0
    assert "Usage webhook data for this week had not arrived" in capsys.readouterr().out
    with freeze_time(WEEK_END + timedelta(hours=48), tick=False):
        assert main(["digest", "--week", WEEK]) == 0
    out = capsys.readouterr().out
    assert "Usage webhook data for this week had not arrived" in out
    assert "ben@example.com: skipped (no AI activity yet;" in out
    assert app.rows() == [("ana@example.com", "preview", "console")]


def test_resend_sends_one_digest_again_once_per_invocation_and_audits_it(
    app: App, slack: FakeSlack, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    app.ingest(
        [
            usage_event("a1", "ana@example.com", "2026-11-18T10:00:00Z", input_tokens=4000),
            usage_event("a2", "ana@example.com", "2026-11-23T00:10:00Z"),
        ]
    )
    assert sent(app.tick(MONDAY)) == ["ana@example.com"]
    monkeypatch.setenv("DATABASE_URL", app.url)
    monkeypatch.setenv("SLACK_BOT_TOKEN", slack.token)
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "test-signing-secret")
    monkeypatch.setenv("SLACK_API_URL", slack.base_url)
    capsys.readouterr()

    resend = ["digest", "--resend", "--user", "ana@example.com", "--week", WEEK]
    assert main(resend) == 0
    assert capsys.readouterr().out == f"{WEEK}: resent to ana@example.com (slack); audited\n"
    assert len(app.dms("UANA")) == 2
    assert main(resend) == 0
    assert len(app.dms("UANA")) == 3 and len(slack.messages) == 3  # nobody else got anything
    assert app.dms("UANA")[2] == app.dms("UANA")[0]
    with Session(app.engine) as session:
        ana = session.exec(select(Person).where(Person.email == "ana@example.com")).one()
        row = session.exec(select(Delivery).where(Delivery.person_id == ana.id)).one()
        audits = session.exec(select(AuditEntry).where(AuditEntry.action == "digest.resend")).all()
    assert (row.status, row.channel, row.attempts) == ("sent", "slack", 3)
    assert row.slack_ts == slack.dms_to("UANA")[2].ts
    assert [(a.actor, a.target) for a in audits] == [("cli", "ana@example.com")] * 2
    assert json.loads(audits[0].details or "{}") == {
        "channel": "slack",
        "outcome": "sent",
        "reason": None,
        "week": WEEK,
    }
    # the normal tick still sends nothing more
    assert app.tick(MONDAY + timedelta(hours=1)).outcomes == []

    # a repair needs a person; one with nothing to say is refused, in one line
    assert main(["digest", "--resend", "--week", WEEK]) == 2
    assert "--resend needs --user" in capsys.readouterr().err
    assert main(["digest", "--resend", "--user", "cal@example.com", "--week", WEEK]) == 1
    assert capsys.readouterr().err == (
        f"ai-roi: cal@example.com has no AI activity in {WEEK}; nothing to resend\n"
    )
    assert main(["digest", "--resend", "--user", "nobody@example.com", "--week", WEEK]) == 1
    assert len(slack.messages) == 3


def test_a_failed_resend_is_audited_and_exits_one(
    app: App, slack: FakeSlack, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    app.ingest([usage_event("a1", "ana@example.com", "2026-11-18T10:00:00Z")])
    slack.set_user("UANA", deleted=True)
    monkeypatch.setenv("DATABASE_URL", app.url)
    monkeypatch.setenv("SLACK_BOT_TOKEN", slack.token)
    monkeypatch.setenv("SLACK_API_URL", slack.base_url)
    assert main(["digest", "--resend", "--user", "ana@example.com", "--week", WEEK]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"ai-roi: resending {WEEK} to ana@example.com failed:")
    assert slack.token not in err
    with Session(app.engine) as session:
        audit = session.exec(select(AuditEntry).where(AuditEntry.action == "digest.resend")).one()
        assert session.exec(select(Delivery)).all() == []
    assert json.loads(audit.details or "{}")["outcome"] == "failed"


def test_migration_0008_turns_console_sends_into_previews(app: App) -> None:
    """Before it, the console marked people ``sent``; after it, those rows are previews that a
    Slack delivery takes over. Slack sends stay sent; downgrading restores the old meaning."""
    with transaction(app.engine) as session:
        people = {p.email: p.id for p in session.exec(select(Person)).all()}
        for email, status, channel in (
            ("ana@example.com", "sent", "console"),  # what the old console run recorded
            ("ben@example.com", "sent", "slack"),
            ("cal@example.com", "preview", "console"),
        ):
            person_id = people[email]
            assert person_id is not None
            session.add(Delivery(person_id=person_id, week=WEEK, status=status, channel=channel))
    config = alembic_config(app.engine)
    before = ScriptDirectory.from_config(config).get_revision("0008").down_revision
    assert isinstance(before, str)
    command.downgrade(config, before)
    try:
        assert app.rows() == [
            ("ana@example.com", "sent", "console"),
            ("ben@example.com", "sent", "slack"),
            ("cal@example.com", "sent", "console"),
        ]
    finally:
        upgrade(app.engine)
    assert app.rows() == [
        ("ana@example.com", "preview", "console"),
        ("ben@example.com", "sent", "slack"),
        ("cal@example.com", "preview", "console"),
    ]


def test_a_claim_is_taken_only_when_free_expired_or_a_preview_for_slack(app: App) -> None:
    with Session(app.engine) as session:
        ana = session.exec(select(Person).where(Person.email == "ana@example.com")).one()
    assert ana.id is not None
    with transaction(app.engine) as session:
        assert deliveries.claim(session, ana.id, WEEK, "slack", MONDAY) is not None
        assert deliveries.claim(session, ana.id, WEEK, "slack", MONDAY) is None  # held
        expired = MONDAY + deliveries.LEASE + timedelta(seconds=1)
        taken = deliveries.claim(session, ana.id, WEEK, "slack", expired)
        assert taken is not None and taken.attempts == 2
        deliveries.finish(session, taken, status="preview", now=expired)
    with transaction(app.engine) as session:
        assert deliveries.claim(session, ana.id, WEEK, "console", MONDAY) is None
        promoted = deliveries.claim(session, ana.id, WEEK, "slack", MONDAY)
        assert promoted is not None and (promoted.status, promoted.channel) == ("pending", "slack")
        deliveries.finish(session, promoted, status="sent", now=MONDAY)
    with transaction(app.engine) as session:
        assert deliveries.claim(session, ana.id, WEEK, "slack", MONDAY) is None
        assert deliveries.record_skip(session, ana.id, WEEK, "opted out", MONDAY) is False
        assert deliveries.record_skip(session, ana.id, "2026-W46", "opted out", MONDAY) is True
