"""People look-ups."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from bot.errors import NotFoundError
from bot.store.models import Membership, Person


def person_by_email(session: Session, email: str) -> Person:
    person = session.exec(select(Person).where(Person.email == email.strip().lower())).first()
    if person is None:
        raise NotFoundError(f"no person with email {email.strip()!r}")
    return person


def all_people(session: Session) -> list[Person]:
    return list(session.exec(select(Person).order_by(col(Person.email))).all())


def people_count(session: Session) -> int:
    return int(session.exec(select(sa.func.count()).select_from(Person)).one())


def people_by_id(session: Session, batch_size: int = 2_000) -> Iterator[list[Person]]:
    """Everyone, in person-id order, ``batch_size`` people at a time (each batch one query, by
    id after the last one); the batches are detached from ``session``, so a whole organisation
    never sits in it at once."""
    last = 0
    while True:
        batch = list(
            session.exec(
                select(Person)
                .where(col(Person.id) > last)
                .order_by(col(Person.id))
                .limit(batch_size)
            ).all()
        )
        if not batch:
            return
        for person in batch:
            session.expunge(person)
        last = batch[-1].id or last
        yield batch


def display_name(person: Person) -> str:
    return person.name or person.email.split("@", 1)[0]


def first_name(person: Person) -> str:
    return display_name(person).split()[0]


def set_slack_user_id(session: Session, person_id: int, slack_user_id: str) -> bool:
    """Link a person to the Slack user found for their email; True when stored.

    Never overwrites an id already set, and never takes an id another person holds.
    """
    taken = session.exec(select(Person).where(Person.slack_user_id == slack_user_id)).first()
    if taken is not None:
        return taken.id == person_id
    person = session.get(Person, person_id)
    if person is None or person.slack_user_id:
        return False
    person.slack_user_id = slack_user_id
    session.add(person)
    return True


def person_zone(person: Person, org_tz: tzinfo) -> tzinfo:
    """The person's Slack time zone, or the organisation's when unknown or unreadable."""
    if not person.tz:
        return org_tz
    try:
        return ZoneInfo(person.tz)
    except (ZoneInfoNotFoundError, ValueError):
        return org_tz


def person_by_slack_id(session: Session, slack_user_id: str) -> Person | None:
    return session.exec(select(Person).where(col(Person.slack_user_id) == slack_user_id)).first()


def link_slack_user(
    session: Session,
    *,
    email: str,
    slack_user_id: str,
    name: str | None,
    tz: str | None,
    is_admin: bool,
) -> Person:
    """The person with this email (created when new), linked to their Slack user and profile.

    Two requests for a new person at once (two App Home publishes) may both create them: the one
    that loses the race on the unique email reads the winner's row instead of failing."""
    by_email = select(Person).where(col(Person.email) == email)
    person = session.exec(by_email).first()
    if person is None:
        try:
            with session.begin_nested():
                person = Person(email=email, name=name)
                session.add(person)
                session.flush()
        except IntegrityError:
            person = session.exec(by_email).one()
    person.slack_user_id = slack_user_id
    person.tz = tz or person.tz
    person.is_slack_admin = is_admin
    session.flush()
    return person


def leads_of(session: Session, person_id: int) -> list[Person]:
    """The leads of the teams this person is a member of (never the person themselves)."""
    team_ids = session.exec(
        select(Membership.team_id).where(
            col(Membership.person_id) == person_id, col(Membership.is_member)
        )
    ).all()
    return list(
        session.exec(
            select(Person)
            .join(Membership, col(Membership.person_id) == col(Person.id))
            .where(
                col(Membership.team_id).in_(team_ids),
                col(Membership.is_lead),
                col(Person.id) != person_id,
            )
        ).all()
    )
