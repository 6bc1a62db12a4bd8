"""The app served with the fake Slack Web API, and signed requests to it, as Slack sends them."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import httpx
from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.context import AppContext
from bot.domain.weeks import Week
from bot.outbound.gate import RateGate
from bot.slack.digest_delivery import run_digest
from bot.slack.dm import UserDirectory, slack_deliverer
from bot.store.models import Person
from bot.store.people import person_by_email
from fakes.blockkit import assert_valid_message
from fakes.slack_api import FakeSlack, Message
from fakes.slack_requests import SlackRequest, block_actions, view_dict
from tests.conftest import FROZEN_NOW, LiveServer, make_settings, serve_app

SECRET = "test-signing-secret"


@contextmanager
def serve_with_slack(
    context: AppContext, database_url: str, slack: FakeSlack, **settings: Any
) -> Iterator[LiveServer]:
    """The real app on a loopback port, talking to ``slack``, verifying with ``SECRET``."""
    configured = make_settings(
        database_url,
        slack_bot_token=slack.token,
        slack_signing_secret=SECRET,
        slack_api_url=slack.base_url,
        **settings,
    )
    with serve_app(AppContext(configured, context.engine, context.clock)) as live:
        yield live


def send(live: LiveServer, request: SlackRequest, *, secret: str = SECRET, **sign: Any) -> Any:
    """POST ``request`` to ``/slack/events``, signed with ``secret`` (``sign``: timestamp…)."""
    response: httpx.Response = live.client.post(
        "/slack/events", content=request.body, headers=request.headers(secret, **sign)
    )
    return response


def press_home(live: LiveServer, slack: FakeSlack, action_id: str, user: str, **sign: Any) -> Any:
    """A button pressed in the App Home."""
    request = block_actions(
        user_id=user,
        action_id=action_id,
        value="x",
        view=view_dict("home"),
        trigger_id=slack.new_trigger_id(),
    )
    return send(live, request, **sign)


def slack_digest(context: AppContext, person: Person, week: Week, slack: FakeSlack) -> None:
    """``person``'s digest for ``week``, sent as a DM through ``slack`` (a console preview would
    not count as a delivery)."""
    settings = make_settings(
        context.settings.database_url, slack_bot_token=slack.token, slack_api_url=slack.base_url
    )
    outcomes = run_digest(
        context.engine,
        [person],
        week=week,
        tz=context.settings.timezone,
        deliverer=slack_deliverer(AppContext(settings, context.engine, context.clock)),
        now=FROZEN_NOW,
    )
    assert [outcome.status for outcome in outcomes] == ["sent"], outcomes


def eventually(check: Callable[[], Any], seconds: float = 5) -> Any:
    """``check()`` once it is truthy, or its last answer after ``seconds``."""
    deadline = time.monotonic() + seconds
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(0.02)


def weekly_dm(engine: Engine, database_url: str, email: str, week: Week, now: datetime) -> Message:
    """The DM ``email`` gets for ``week`` through a fresh fake Slack, checked against Block Kit."""
    user = "U0DIGEST1"
    with FakeSlack() as slack:
        slack.add_user(id=user, email=email)
        settings = make_settings(
            database_url,
            slack_bot_token=slack.token,
            slack_api_url=slack.base_url,
            digest_delivery="slack",
        )
        context = AppContext(settings=settings, engine=engine, clock=lambda: now)
        deliverer = slack_deliverer(context, gate=RateGate(min_interval=0.005))
        deliverer.directory = UserDirectory()
        with Session(engine) as session:
            person = person_by_email(session, email)
        [outcome] = run_digest(
            engine, [person], week=week, tz=settings.timezone, deliverer=deliverer, now=now
        )
        assert outcome.status == "sent", outcome
        [dm] = slack.dms_to(user)
    assert_valid_message(dm.blocks, dm.text)
    return dm
