"""Claiming many person-weeks at once: the same rows, with the same rules, as one claim at a
time (new, a lease that ran out, a console preview for Slack), and releasing unsent claims."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.store import deliveries
from bot.store.db import transaction
from bot.store.models import Delivery, Person
from tests.conftest import FROZEN_NOW

NOW = FROZEN_NOW
WEEK = "2026-W47"
# person (by email) → the row that exists before the claim: (status, lease ends in minutes)
BEFORE: dict[str, tuple[str, int | None] | None] = {
    "new@example.com": None,
    "held@example.com": ("pending", 3),  # another sender holds it
    "dead@example.com": ("pending", -1),  # its sender died: the lease ran out
    "sent@example.com": ("sent", None),
    "failed@example.com": ("failed", None),
    "skipped@example.com": ("skipped", None),
    "preview@example.com": ("preview", None),
}


def set_up(engine: Engine) -> dict[str, int]:
    """The people and rows of ``BEFORE``; email → person id."""
    ids: dict[str, int] = {}
    with transaction(engine) as session:
        for email, row in BEFORE.items():
            person = Person(email=email)
            session.add(person)
            session.flush()
            assert person.id is not None
            ids[email] = person.id
            if row is not None:
                status, minutes = row
                session.add(
                    Delivery(
                        person_id=person.id,
                        week=WEEK,
                        status=status,
                        channel="console" if status == "preview" else "slack",
                        attempts=1,
                        lease_until=None if minutes is None else NOW + timedelta(minutes=minutes),
                    )
                )
    return ids


def rows(engine: Engine) -> dict[int, Delivery]:
    with Session(engine) as session:
        return {row.person_id: row for row in session.exec(select(Delivery)).all()}


@pytest.mark.parametrize(
    ("channel", "taken"),
    [
        ("slack", {"new@example.com", "dead@example.com", "preview@example.com"}),
        ("console", {"new@example.com", "dead@example.com"}),
    ],
)
def test_a_batch_claim_takes_what_one_claim_at_a_time_would(
    engine: Engine, channel: str, taken: set[str]
) -> None:
    ids = set_up(engine)
    with transaction(engine) as session:
        claimed = deliveries.claim_many(session, list(ids.values()), WEEK, channel, NOW)
    by_person = {person_id: email for email, person_id in ids.items()}
    assert {by_person[person_id] for person_id in claimed} == taken
    after = rows(engine)
    for email, person_id in ids.items():
        row = after[person_id]
        if email in taken:
            assert claimed[person_id] == row.id
            assert row.status == "pending"
            # a lease taken over keeps its channel (as ``claim`` does); the rest take this one
            assert row.channel == ("slack" if email == "dead@example.com" else channel)
            assert row.lease_until == NOW + deliveries.LEASE
            assert row.attempts == (1 if BEFORE[email] is None else 2)
        else:  # untouched
            before = BEFORE[email]
            assert before is not None
            assert (row.status, row.attempts) == (before[0], 1)

    # Claiming again takes nothing: every row is now held or final.
    with transaction(engine) as session:
        assert deliveries.claim_many(session, list(ids.values()), WEEK, channel, NOW) == {}


def test_a_batch_claim_and_single_claims_agree(engine: Engine) -> None:
    """The same rows, claimed one at a time in a second week, give the same answer."""
    ids = set_up(engine)
    with transaction(engine) as session:
        for delivery in session.exec(select(Delivery)).all():
            session.add(
                Delivery(
                    person_id=delivery.person_id,
                    week="2026-W46",
                    status=delivery.status,
                    channel=delivery.channel,
                    attempts=delivery.attempts,
                    lease_until=delivery.lease_until,
                )
            )
    with transaction(engine) as session:
        batch = set(deliveries.claim_many(session, list(ids.values()), WEEK, "slack", NOW))
    single = set()
    for person_id in ids.values():
        with transaction(engine) as session:
            if deliveries.claim(session, person_id, "2026-W46", "slack", NOW) is not None:
                single.add(person_id)
    assert batch == single and batch


def test_releasing_gives_back_unsent_claims_and_nothing_final(engine: Engine) -> None:
    ids = set_up(engine)
    with transaction(engine) as session:
        claimed = deliveries.claim_many(session, list(ids.values()), WEEK, "slack", NOW)
    sent_row = rows(engine)[ids["sent@example.com"]].id
    assert sent_row is not None
    with deliveries.autocommit(engine) as writes:
        deliveries.release(writes, {*claimed.values(), sent_row}, now=NOW)
    after = rows(engine)
    for person_id in claimed:
        assert after[person_id].status == "pending"
        assert after[person_id].lease_until == NOW  # the next run may take it at once
    assert after[ids["sent@example.com"]].status == "sent"
    assert after[ids["sent@example.com"]].lease_until is None
    with transaction(engine) as session:
        again = deliveries.claim_many(session, list(ids.values()), WEEK, "slack", NOW)
    assert again == {}  # released at NOW: free for a run whose clock is later
    with transaction(engine) as session:
        later = deliveries.claim_many(
            session, list(ids.values()), WEEK, "slack", NOW + timedelta(seconds=1)
        )
    assert set(later) == set(claimed)


def test_skips_for_many_people_are_recorded_once(engine: Engine) -> None:
    ids = set_up(engine)
    reasons = {person_id: "opted out" for person_id in ids.values()}
    with transaction(engine) as session:
        deliveries.record_skips(session, reasons, WEEK, NOW)
    after = rows(engine)
    assert (after[ids["new@example.com"]].status, after[ids["new@example.com"]].reason) == (
        "skipped",
        "opted out",
    )
    assert after[ids["held@example.com"]].status == "pending"  # an existing row is kept
    assert after[ids["sent@example.com"]].status == "sent"
    with Session(engine) as session:
        assert deliveries.statuses(session, list(ids.values()), WEEK) == {
            person_id: after[person_id].status for person_id in ids.values()
        }
