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
