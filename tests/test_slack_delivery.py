"""Digests as Slack DMs: the rate gate, error mapping, and ingest → digest → DMs end to end
through a fake Slack Web API on loopback (429s, permanent errors, a kill -9 mid-run)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.context import AppContext
from bot.digest.deliverers import Receipt, Recipient
from bot.domain.weeks import Week
from bot.ingest.pipeline import ingest_body
from bot.outbound.gate import RateGate
from bot.slack.digest_delivery import run_digest
from bot.slack.dm import SlackAuthError, UserDirectory, slack_deliverer
from bot.store.models import Delivery, Person
from bot.store.people import all_people
from fakes.blockkit import assert_valid_message
from tests.conftest import FROZEN_NOW, make_settings
from tests.helpers import artifact_event, dumps, usage_event

ROOT = Path(__file__).resolve().parents[1]

# The rate gate -----------------------------------------------------------------------------


class FakeTime:
    """A monotonic clock that only moves when someone sleeps."""

    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []
        self.on_sleep: list[object] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(round(seconds, 6))
        self.now += seconds
        if self.on_sleep:
            action = self.on_sleep.pop(0)
            assert callable(action)
            action()


def test_the_gate_paces_messages() -> None:
    t = FakeTime()
    gate = RateGate(min_interval=1.0, clock=t.clock, sleep=t.sleep)
    for _ in range(3):
        gate.wait()
    assert t.sleeps == [1.0, 1.0]
    t.now += 5  # idle time counts: no wait after a pause
    gate.wait()
    assert t.sleeps == [1.0, 1.0]


def test_retry_after_holds_every_request_and_a_shorter_one_does_not_shorten_it() -> None:
    t = FakeTime()
    gate = RateGate(min_interval=0.5, clock=t.clock, sleep=t.sleep)
    gate.wait()
    gate.retry_after(30)
    gate.retry_after(2)
    assert gate.blocked_for() == 30
    gate.wait(paced=False)  # look-ups are not paced, but Retry-After holds them too
    assert t.sleeps == [30.0]
    assert gate.blocked_for() == 0
    gate.wait()
    assert t.sleeps == [30.0]  # 30 s passed since the last message: no pacing wait


def test_a_retry_after_that_arrives_while_waiting_is_honoured() -> None:
    t = FakeTime()
    gate = RateGate(min_interval=1.0, clock=t.clock, sleep=t.sleep)
    gate.wait()
    t.on_sleep.append(lambda: gate.retry_after(4))  # another sender got a 429 meanwhile
    gate.wait()
    assert t.sleeps == [1.0, 4.0]


def test_absurd_retry_after_values_are_bounded() -> None:
    t = FakeTime()
    gate = RateGate(clock=t.clock, sleep=t.sleep)
    gate.retry_after(-3)
    assert gate.blocked_for() == 0
    gate.retry_after(10**9)
    assert gate.blocked_for() == 15 * 60
    with pytest.raises(ValueError):
        RateGate(min_interval=-1)


def test_the_gate_is_shared_safely_between_threads() -> None:
    gate = RateGate(min_interval=0.02)
    stamps: list[float] = []
    lock = threading.Lock()

    def sender() -> None:
        for _ in range(5):
            gate.wait()
            with lock:
                stamps.append(time.monotonic())

    threads = [threading.Thread(target=sender) for _ in range(4)]
    gate.retry_after(0.1)
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    stamps.sort()
    assert len(stamps) == 20
    assert stamps[0] - started >= 0.09  # nobody went before the Retry-After
    # One slot every 20 ms from the first: a thread that woke late lets the next go sooner, so
    # it is the whole run that keeps to the rate (stamps are taken just after each pass).
    assert stamps[-1] - stamps[0] >= 19 * 0.02 - 0.005


# End to end through the fake Slack ---------------------------------------------------------

W47 = Week(2026, 47)  # Nov 16–22, 2026
NOW = FROZEN_NOW  # Wednesday of the following week
# email → (Slack user id or None when Slack does not know them, dashboards they built)
PEOPLE: dict[str, tuple[str | None, int]] = {
    "ana@example.com": ("U0ANA00001", 3),
    "ben@example.com": ("U0BEN00002", 5),
    "cal@example.com": ("U0CAL00003", 7),
    "dan@example.com": ("U0DAN00004", 9),
    "eve@example.com": (None, 11),  # not in the Slack workspace
}


def load_usage(engine: Engine, people: dict[str, tuple[str | None, int]] = PEOPLE) -> None:
    """A week of usage and dashboards for each person, through the real ingest pipeline."""
    events: list[dict[str, Any]] = []
    for n, (email, (_, dashboards)) in enumerate(people.items()):
        events.append(
            usage_event(f"u-{n}", email, "2026-11-18T09:00:00Z", input_tokens=1000 * (n + 1))
        )
        events += [
            artifact_event(
                f"a-{n}-{i}",
                "artifact.created",
                email,
                "2026-11-18T10:00:00Z",
                f"d-{n}-{i}",
                "dashboard",
            )
            for i in range(dashboards)
        ]
    outcome = ingest_body(engine, "usage", dumps(events), "application/json", now=NOW)
    assert outcome.accepted == len(events) and not outcome.rejected


@pytest.fixture
def slack() -> Iterator[Any]:
    fake_slack = pytest.importorskip("fakes.slack_api")
    with fake_slack.FakeSlack() as fake:
        for email, (user_id, _) in PEOPLE.items():
            if user_id:
                fake.add_user(id=user_id, email=email)
        yield fake


def slack_context(database_url: str, engine: Engine, slack: Any, **overrides: Any) -> AppContext:
    settings = make_settings(
        database_url,
        slack_bot_token=overrides.pop("token", slack.token),
        slack_api_url=slack.base_url,
        digest_delivery="slack",
        **overrides,
    )
    return AppContext(settings=settings, engine=engine, clock=lambda: NOW)


def everyone(engine: Engine) -> list[Person]:
    with Session(engine) as session:
        return all_people(session)


def run(context: AppContext, *, now: datetime = NOW, gate: RateGate | None = None) -> list[Any]:
    deliverer = slack_deliverer(context, gate=gate or RateGate(min_interval=0.005))
    deliverer.directory = UserDirectory()  # a fresh process: nothing cached yet
    return run_digest(
        context.engine,
        everyone(context.engine),
        week=W47,
        tz=context.settings.timezone,
        deliverer=deliverer,
        now=now,
    )


def delivery_rows(engine: Engine) -> dict[str, Delivery]:
    with Session(engine) as session:
        found = session.exec(select(Delivery, Person).join(Person)).all()
    return {person.email: delivery for delivery, person in found}


def assert_each_got_exactly_one_dm_with_their_own_numbers(slack: Any, engine: Engine) -> None:
    rows = delivery_rows(engine)
    for email, (user_id, dashboards) in PEOPLE.items():
        if user_id is None:
            continue
        dms = slack.dms_to(user_id)
        assert len(dms) == 1, f"{email} got {len(dms)} DMs"
        message = dms[0]
        assert message.text and message.blocks
        assert_valid_message(message.blocks, message.text)
        assert f"{dashboards} dashboards created" in message.text
        blocks_text = json.dumps(message.blocks)
        assert f"{dashboards} dashboards created" in blocks_text
        others = [n for e, (_, n) in PEOPLE.items() if e != email]
        assert not any(f"{n} dashboards created" in message.text for n in others)
        assert not any(e in blocks_text for e in PEOPLE if e != email)
        assert rows[email].status == "sent"
        assert rows[email].text == message.text
        assert rows[email].slack_ts


def test_ingest_digest_dm_each_person_exactly_one_dm_with_their_own_numbers(
    database_url: str, engine: Engine, slack: Any
) -> None:
    load_usage(engine)
    context = slack_context(database_url, engine, slack)
    outcomes = {o.email: o for o in run(context)}
    assert {e: o.status for e, o in outcomes.items()} == {
        "ana@example.com": "sent",
        "ben@example.com": "sent",
        "cal@example.com": "sent",
        "dan@example.com": "sent",
        "eve@example.com": "skipped",
    }
    assert outcomes["eve@example.com"].reason == "no Slack user for this email"
    assert_each_got_exactly_one_dm_with_their_own_numbers(slack, engine)
    rows = delivery_rows(engine)
    assert (rows["eve@example.com"].status, rows["eve@example.com"].reason) == (
        "skipped",
        "no Slack user for this email",
    )
    # the ids found by email are stored on the people, so the next run needs no look-up
    stored = {p.email: p.slack_user_id for p in everyone(engine)}
    assert stored == {email: user_id for email, (user_id, _) in PEOPLE.items()}
    assert all(call.args.get("unfurl_links") in (False, "0", "false") for call in posts(slack))
    lookups = len(slack.calls_to("users.lookupByEmail"))
    assert {o.status for o in run(context, now=NOW + timedelta(hours=1))} == {"already"}
    assert len(slack.calls_to("users.lookupByEmail")) == lookups
    assert len(posts(slack)) == 4
    assert slack.violations == []


def posts(slack: Any) -> list[Any]:
    return [call for call in slack.calls_to("chat.postMessage") if call.ok]


def test_with_429_a_quarter_of_the_time_everyone_still_gets_exactly_one(
    database_url: str, engine: Engine, slack: Any
) -> None:
    load_usage(engine)
    slack.inject_429("*", probability=0.25, retry_after=1, seed=7)
    context = slack_context(database_url, engine, slack)
    started = time.monotonic()
    statuses: dict[str, str] = {}
    for attempt in range(3):  # a person who met 5 429s in a row is retried by the next run
        for outcome in run(context, now=NOW + timedelta(minutes=10 * attempt)):
            if outcome.status != "already":
                statuses[outcome.email] = outcome.status
        if "failed" not in statuses.values():
            break
    assert sorted(statuses.values()) == ["sent", "sent", "sent", "sent", "skipped"]
    assert_each_got_exactly_one_dm_with_their_own_numbers(slack, engine)
    limited = [call for call in slack.calls if call.status == 429]
    assert limited, "the fake answered no 429 (seed)"
    assert slack.violations == []  # nothing went out before its Retry-After had passed
    assert time.monotonic() - started < 30


def test_retry_after_is_honoured_across_senders(
    database_url: str, engine: Engine, slack: Any
) -> None:
    load_usage(engine)
    slack.fail_next("chat.postMessage", "ratelimited", times=2, retry_after=1)
    context = slack_context(database_url, engine, slack)
    gate = RateGate(min_interval=0.005)
    started = time.monotonic()
    run(context, gate=gate)
    assert time.monotonic() - started >= 2.0  # two Retry-After: 1 waits
    assert slack.violations == []
    assert_each_got_exactly_one_dm_with_their_own_numbers(slack, engine)


def test_permanent_errors_are_recorded_and_not_retried(
    database_url: str, engine: Engine, slack: Any
) -> None:
    load_usage(engine)
    slack.set_user("U0BEN00002", deleted=True)  # deactivated: the DM is refused
    slack.fail_next("chat.postMessage", "msg_too_long")  # ana's, the first post
    context = slack_context(database_url, engine, slack)
    outcomes = {o.email: (o.status, o.reason) for o in run(context)}
    assert outcomes["ana@example.com"] == ("failed", "msg_too_long")
    assert outcomes["ben@example.com"] == ("skipped", "no Slack user for this email")
    assert outcomes["cal@example.com"] == ("sent", None)
    posts_before = len(slack.calls_to("chat.postMessage"))
    later = {o.email: o.status for o in run(context, now=NOW + timedelta(hours=2))}
    assert set(later.values()) == {"already"}
    assert len(slack.calls_to("chat.postMessage")) == posts_before
    rows = delivery_rows(engine)
    assert (rows["ana@example.com"].status, rows["ana@example.com"].reason) == (
        "failed",
        "msg_too_long",
    )


def test_a_known_slack_id_of_a_deactivated_user_fails_permanently(
    database_url: str, engine: Engine, slack: Any
) -> None:
    load_usage(engine)
    context = slack_context(database_url, engine, slack)
    with Session(engine) as session:
        dan = session.exec(select(Person).where(Person.email == "dan@example.com")).one()
        dan.slack_user_id = "U0DAN00004"
        session.add(dan)
        session.commit()
    slack.set_user("U0DAN00004", deleted=True)
    outcomes = {o.email: (o.status, o.reason) for o in run(context)}
    assert outcomes["dan@example.com"] == ("failed", "is_archived")
    assert len([c for c in slack.calls_to("chat.postMessage") if c.error == "is_archived"]) == 1


def test_a_server_error_is_transient_and_the_next_run_delivers(
    database_url: str, engine: Engine, slack: Any
) -> None:
    load_usage(engine)
    slack.fail_next("chat.postMessage", "internal_error", status=500)
    context = slack_context(database_url, engine, slack)
    first = {o.email: (o.status, o.reason) for o in run(context)}
    assert first["ana@example.com"][0] == "failed"
    assert delivery_rows(engine)["ana@example.com"].status == "pending"
    second = {o.email: o.status for o in run(context, now=NOW + timedelta(hours=1))}
    assert second["ana@example.com"] == "sent"
    assert_each_got_exactly_one_dm_with_their_own_numbers(slack, engine)


def test_a_refused_token_stops_the_run_and_never_shows_the_token(
    database_url: str, engine: Engine, slack: Any
) -> None:
    load_usage(engine)
    wrong = "xoxb-1000000001-2000000002-NotTheRightToken"
    context = slack_context(database_url, engine, slack, token=wrong)
    with pytest.raises(SlackAuthError) as raised:
        run(context)
    assert raised.value.code == "invalid_auth"
    assert wrong not in str(raised.value) and "SLACK_BOT_TOKEN" in str(raised.value)
    assert len(slack.calls) == 1  # nobody after the first refusal
    rows = delivery_rows(engine)
    # the claims, the refused one and those of the batch not yet sent, are released at once
    assert {row.status for row in rows.values()} == {"pending"}
    assert all(row.lease_until is not None and row.lease_until <= NOW for row in rows.values())
    assert all(wrong not in (row.reason or "") for row in rows.values())
    # with the right token, the next run delivers to everyone
    good = slack_context(database_url, engine, slack)
    run(good, now=NOW + timedelta(hours=1))
    assert_each_got_exactly_one_dm_with_their_own_numbers(slack, engine)


def test_killed_mid_run_the_next_run_resumes_without_losing_anyone(
    database_url: str, engine: Engine, slack: Any
) -> None:
    """``ai-roi digest`` killed with SIGKILL after two DMs; a second run finishes the job."""
    load_usage(engine)
    env = {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": str(ROOT),
        "DATABASE_URL": database_url,
        "SLACK_BOT_TOKEN": slack.token,
        "SLACK_API_URL": slack.base_url,
        "DIGEST_DELIVERY": "slack",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "digest", "--week", str(W47)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while len(slack.messages) < 2 and process.poll() is None:
            assert time.monotonic() < deadline, "the digest run sent nothing"
            time.sleep(0.01)
        process.send_signal(signal.SIGKILL)
    finally:
        if process.poll() is None:
            process.kill()
        _, stderr = process.communicate(timeout=30)
    assert process.returncode == -signal.SIGKILL, stderr.decode()
    sent_before = len(slack.messages)
    assert 2 <= sent_before < 4, "killed too late to test a resume"

    # The next run (after the dead sender's lease ran out) sends the rest.
    context = slack_context(database_url, engine, slack)
    run(context, now=datetime.now(NOW.tzinfo) + timedelta(minutes=6))
    for email, (user_id, _) in PEOPLE.items():
        if user_id:
            assert len(slack.dms_to(user_id)) >= 1, f"{email} lost their digest"
    duplicates = len(slack.messages) - 4
    assert duplicates <= 1  # at most the message in flight when the process died
    rows = delivery_rows(engine)
    assert sorted(row.status for row in rows.values()) == ["sent"] * 4 + ["skipped"]
    assert slack.violations == []


# A crash at each point of a batch, and two senders at once ---------------------------------

# A sender in its own process that dies (os._exit: no cleanup runs, as with SIGKILL) at a chosen
# point: before the Nth digest goes to Slack, or after Slack accepted the Nth and before the
# delivery row says so.
CRASHING_SENDER = """
import os, sys
from datetime import datetime
from bot.context import AppContext
from bot.domain.weeks import Week
from bot.outbound.gate import RateGate
from bot.settings import load_settings
from bot.slack.digest_delivery import run_digest
from bot.slack.dm import UserDirectory, slack_deliverer
from bot.store.db import create_engine
from bot.store.people import all_people
from sqlmodel import Session

point, at, now = sys.argv[1], int(sys.argv[2]), datetime.fromisoformat(sys.argv[3])
settings = load_settings(env_file=None)
engine = create_engine(settings.database_url)
context = AppContext(settings=settings, engine=engine, clock=lambda: now)
inner = slack_deliverer(context, gate=RateGate(min_interval=0.005))
inner.directory = UserDirectory()

class Crashing:
    channel = inner.channel
    sends = 0

    def send(self, recipient, blocks, text):
        Crashing.sends += 1
        if point == "before" and Crashing.sends == at:
            os._exit(9)
        receipt = inner.send(recipient, blocks, text)
        if point == "after" and Crashing.sends == at:
            os._exit(9)
        return receipt

with Session(engine) as session:
    people = all_people(session)
run_digest(engine, people, week=Week(2026, 47), tz=settings.timezone, deliverer=Crashing(), now=now)
sys.exit(3)  # the crash point was never reached
"""


def crash_a_sender(database_url: str, slack: Any, point: str, at: int) -> None:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": str(ROOT),
        "DATABASE_URL": database_url,
        "SLACK_BOT_TOKEN": slack.token,
        "SLACK_API_URL": slack.base_url,
        "DIGEST_DELIVERY": "slack",
    }
    done = subprocess.run(
        [sys.executable, "-c", CRASHING_SENDER, point, str(at), NOW.isoformat()],
        env=env,
        capture_output=True,
        timeout=120,
    )
    assert done.returncode == 9, done.stderr.decode()


@pytest.mark.parametrize(
    ("point", "at", "sent_before"),
    [
        ("before", 1, 0),  # the batch is claimed, nothing sent yet
        ("before", 3, 2),  # two sent and recorded, the third not yet handed to Slack
    ],
)
def test_a_sender_that_dies_between_messages_causes_no_duplicate(
    database_url: str, engine: Engine, slack: Any, point: str, at: int, sent_before: int
) -> None:
    load_usage(engine)
    crash_a_sender(database_url, slack, point, at)
    assert len(slack.messages) == sent_before
    rows = delivery_rows(engine)
    assert len(rows) == 5  # the whole batch was claimed in one go
    assert (
        sorted(row.status for row in rows.values())
        == ["pending"] * (5 - sent_before) + ["sent"] * sent_before
    )

    # While the dead sender's lease lasts, its claims are not taken: nothing is sent.
    context = slack_context(database_url, engine, slack)
    early = {o.email: o.status for o in run(context, now=NOW + timedelta(minutes=1))}
    assert set(early.values()) == {"already"}
    assert len(slack.messages) == sent_before

    # Once it has run out, the next run sends what the dead sender had not, each once.
    later = {o.email: o.status for o in run(context, now=NOW + timedelta(minutes=6))}
    assert list(later.values()).count("sent") == 4 - sent_before
    assert_each_got_exactly_one_dm_with_their_own_numbers(slack, engine)
    assert slack.violations == []


def test_a_sender_that_dies_after_slack_took_a_message_resends_only_that_one(
    database_url: str, engine: Engine, slack: Any
) -> None:
    """The one window left: Slack accepted the message and the sender died before recording
    it. chat.postMessage has no idempotency key, so the next run cannot tell it went out and
    sends it again; every other person of the batch still gets exactly one."""
    load_usage(engine)
    crash_a_sender(database_url, slack, "after", 2)
    assert len(slack.messages) == 2
    in_flight = slack.messages[-1].user
    rows = delivery_rows(engine)
    assert sorted(row.status for row in rows.values()) == ["pending"] * 4 + ["sent"]

    context = slack_context(database_url, engine, slack)
    run(context, now=NOW + timedelta(minutes=6))
    for email, (user_id, _) in PEOPLE.items():
        if user_id:
            assert len(slack.dms_to(user_id)) == (2 if user_id == in_flight else 1), email
    rows = delivery_rows(engine)
    assert sorted(row.status for row in rows.values()) == ["sent"] * 4 + ["skipped"]
    assert slack.violations == []


def test_two_senders_at_once_send_each_digest_once(
    database_url: str, engine: Engine, slack: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two runs over the same people at the same time, claiming small batches: each person's
    digest goes out once, whichever run claims it."""
    monkeypatch.setattr("bot.digest.run.CLAIM_BATCH", 3)
    crowd = {f"p{n:02d}@example.com": (f"U0CROWD{n:03d}", n + 1) for n in range(24)}
    load_usage(engine, crowd)
    for email, (user_id, _) in crowd.items():
        assert user_id is not None
        slack.add_user(id=user_id, email=email)
    context = slack_context(database_url, engine, slack)
    gate = RateGate(min_interval=0.002)
    results: list[list[Any]] = []
    errors: list[BaseException] = []

    def sender() -> None:
        try:
            results.append(run(context, gate=gate))
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=sender) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert errors == []
    sent = [o.email for outcomes in results for o in outcomes if o.status == "sent"]
    assert sorted(sent) == sorted(crowd)  # each once, between the two runs
    for email, (user_id, _) in crowd.items():
        assert user_id is not None
        assert len(slack.dms_to(user_id)) == 1, email
    rows = delivery_rows(engine)
    assert all(rows[email].status == "sent" for email in crowd)
    assert slack.violations == []


def test_claims_held_through_a_long_run_never_outlive_their_lease(
    database_url: str, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each DM takes two minutes here (Retry-After waits, a slow writer): claims still unsent
    when half their lease has passed are released and claimed again, so no row this run holds
    ever looks abandoned to another sender, and each digest still goes out once."""
    load_usage(engine)
    elapsed = [0.0]
    monkeypatch.setattr("bot.digest.run.monotonic", lambda: elapsed[0])
    sent: list[str] = []
    stale: list[str] = []

    class SlowDeliverer:
        channel = "slack"

        def send(self, recipient: Recipient, blocks: list[dict[str, Any]], text: str) -> Receipt:
            clock = NOW + timedelta(seconds=elapsed[0])
            for email, row in delivery_rows(engine).items():
                if row.status == "pending" and (row.lease_until is None or row.lease_until < clock):
                    stale.append(email)
            sent.append(recipient.email)
            elapsed[0] += 120.0
            return Receipt(channel="D0", ts=f"{len(sent)}.0")

    outcomes = run_digest(
        engine, everyone(engine), week=W47, tz=UTC, deliverer=SlowDeliverer(), now=NOW
    )
    assert sorted(sent) == sorted(PEOPLE)  # each once
    assert {o.status for o in outcomes} == {"sent"}
    assert stale == []
    rows = delivery_rows(engine)
    assert {row.status for row in rows.values()} == {"sent"}
    assert max(row.attempts for row in rows.values()) > 1  # some were claimed again
