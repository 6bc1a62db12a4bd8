"""The digest's buttons, pressed through signed requests into the real app, against the fake
Slack Web API: feedback is stored, snooze holds the next digest, sharing reaches only the
person's leads and only by their press, details opens a valid modal."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import Session, select

from bot.context import AppContext
from bot.digest.deliverers import ConsoleDeliverer
from bot.domain.directory import parse_directory
from bot.domain.weeks import Week
from bot.ingest.pipeline import ingest_body
from bot.slack import ids
from bot.slack.digest_delivery import run_digest
from bot.store.db import transaction
from bot.store.directory import apply_directory
from bot.store.models import AuditEntry, Delivery, Person
from fakes.blockkit import assert_valid_view
from fakes.slack_api import FakeSlack
from fakes.slack_requests import block_actions
from tests.conftest import FROZEN_NOW, LiveServer
from tests.helpers import artifact_event, dumps, usage_event
from tests.support.slack_app import SECRET, eventually, serve_with_slack, slack_digest

W47 = Week(2026, 47)
DIRECTORY = """email,name,team,lead_of,slack_user_id
ana@example.com,Ana Lopez,Data,,UANA
lee@example.com,Lee Park,Data,Data,ULEE
other@example.com,Oli Other,Sales,Sales,UOTHER
"""


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        fake.add_user(id="UANA", email="ana@example.com", real_name="Ana Lopez")
        fake.add_user(id="ULEE", email="lee@example.com", real_name="Lee Park")
        fake.add_user(id="UOTHER", email="other@example.com", real_name="Oli Other")
        yield fake


@pytest.fixture
def app(context: AppContext, database_url: str, slack: FakeSlack) -> Iterator[LiveServer]:
    with transaction(context.engine) as session:
        apply_directory(session, parse_directory(DIRECTORY).rows)
    events = [
        usage_event(
            "u1", "ana@example.com", "2026-11-18T09:00:00Z", input_tokens=5000, output_tokens=500
        ),
        artifact_event(
            "a1", "artifact.created", "ana@example.com", "2026-11-18T09:00:00Z", "d1", "dashboard"
        ),
    ]
    ingest_body(context.engine, "usage", dumps(events), "application/json")
    with Session(context.engine) as session:
        ana = session.exec(select(Person).where(Person.email == "ana@example.com")).one()
    slack_digest(context, ana, W47, slack)
    with serve_with_slack(context, database_url, slack) as live:
        yield live


def press(
    live: LiveServer, slack: FakeSlack, action_id: str, user: str = "UANA", **extra: Any
) -> int:
    request = block_actions(
        user_id=user,
        action_id=action_id,
        value=str(W47),
        channel_id=slack.dm_channel(user),
        response_url=slack.new_response_url(),
        **extra,
    )
    return live.client.post(
        "/slack/events", content=request.body, headers=request.headers(SECRET)
    ).status_code


def delivery(context: AppContext) -> Delivery:
    with Session(context.engine) as session:
        return session.exec(select(Delivery)).one()


def test_feedback_is_stored(app: LiveServer, context: AppContext, slack: FakeSlack) -> None:
    assert press(app, slack, ids.DIGEST_NOT_USEFUL) == 200
    assert eventually(lambda: delivery(context).feedback == "not_useful")
    assert press(app, slack, ids.DIGEST_USEFUL) == 200
    assert eventually(lambda: delivery(context).feedback == "useful")
    assert eventually(lambda: len(slack.responses) == 2)


def test_snooze_holds_the_next_four_weeks(
    app: LiveServer, context: AppContext, slack: FakeSlack
) -> None:
    assert press(app, slack, ids.DIGEST_SNOOZE) == 200

    def snoozed() -> Any:
        with Session(context.engine) as session:
            return (
                session.exec(select(Person).where(Person.email == "ana@example.com"))
                .one()
                .snoozed_until
            )

    assert eventually(snoozed) == FROZEN_NOW + timedelta(weeks=4)
    with Session(context.engine) as session:
        ana = session.exec(select(Person).where(Person.email == "ana@example.com")).one()
    later = run_digest(
        context.engine,
        [ana],
        week=Week(2026, 48),
        tz=context.settings.timezone,
        deliverer=ConsoleDeliverer(io.StringIO()),
        now=FROZEN_NOW + timedelta(days=7),
    )
    assert later[0].status == "skipped" and "snoozed" in (later[0].reason or "")


def test_share_reaches_only_the_persons_lead_and_is_audited(
    app: LiveServer, context: AppContext, slack: FakeSlack
) -> None:
    assert slack.dms_to("ULEE") == []  # nothing is shared without the press
    assert press(app, slack, ids.DIGEST_SHARE) == 200
    shared = eventually(lambda: slack.dms_to("ULEE"))
    assert len(shared) == 1 and shared[0].text.startswith(
        "Ana Lopez shared their AI week (2026-W47)"
    )
    assert slack.dms_to("UOTHER") == []

    def shares() -> list[AuditEntry]:  # committed by the listener before the DMs go out
        with Session(context.engine) as session:
            return list(
                session.exec(
                    select(AuditEntry).where(AuditEntry.action == "digest.share_with_lead")
                ).all()
            )

    audit = eventually(shares)
    assert [entry.actor for entry in audit] == ["UANA"]
    assert eventually(lambda: delivery(context).shared_with_lead_at) is not None


def test_a_share_is_audited_before_the_lead_is_messaged(
    app: LiveServer, context: AppContext, slack: FakeSlack
) -> None:
    slack.fail_next("chat.postMessage", "channel_not_found")  # the lead's DM is refused
    assert press(app, slack, ids.DIGEST_SHARE) == 200
    assert eventually(lambda: slack.responses)
    assert "did not deliver it to your lead" in slack.responses[0]["text"]
    assert slack.dms_to("ULEE") == []
    with Session(context.engine) as session:
        audited = session.exec(
            select(AuditEntry).where(AuditEntry.action == "digest.share_with_lead")
        ).all()
    assert [entry.actor for entry in audited] == ["UANA"]  # the attempt is on record
    assert delivery(context).shared_with_lead_at is None  # but it is not marked shared


def test_a_lead_pressing_share_on_someone_elses_week_shares_nothing(
    app: LiveServer, slack: FakeSlack
) -> None:
    assert press(app, slack, ids.DIGEST_SHARE, user="UOTHER") == 200  # Oli has no digest that week
    assert eventually(lambda: slack.responses)
    assert "could not find that digest" in slack.responses[0]["text"]
    assert slack.responses[0]["response_type"] == "ephemeral"
    assert slack.dms_to("ULEE") == [] and slack.dms_to("UOTHER") == []


def test_details_opens_a_valid_modal_with_my_numbers(app: LiveServer, slack: FakeSlack) -> None:
    assert press(app, slack, ids.DIGEST_DETAILS, trigger_id=slack.new_trigger_id()) == 200
    opened = eventually(lambda: [v for v in slack.views if v.method == "views.open"])
    view = opened[0].view
    assert_valid_view(view)
    assert "dashboard: 1 created" in str(view)
