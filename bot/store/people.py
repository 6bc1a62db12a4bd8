"""People look-ups."""

from __future__ import annotations

from sqlmodel import Session, col, select

from bot.errors import NotFoundError
from bot.store.models import Person


def person_by_email(session: Session, email: str) -> Person:
    person = session.exec(select(Person).where(Person.email == email.strip().lower())).first()
    if person is None:
        raise NotFoundError(f"no person with email {email.strip()!r}")
    return person


def all_people(session: Session) -> list[Person]:
    return list(session.exec(select(Person).order_by(col(Person.email))).all())


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
