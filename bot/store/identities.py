"""Who is who: resolve actors to people, and attribute stored events once an identity is mapped."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator
from typing import TypeVar

import sqlalchemy as sa
from sqlmodel import Session, col, select

from bot.store.db import upsert_for
from bot.store.models import Event, Identity, Person

T = TypeVar("T")


def resolve_actors(
    session: Session, keys: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], int | None]:
    """Map each actor, by its ``Actor.key`` (kind, value), to a person id, or ``None`` while the
    identity is unknown.

    An email is an identity in itself: a person is created for an email seen for the first time,
    so their usage is theirs from the start. Slack ids and vendor ids resolve through the
    directory and stay unattributed until it knows them. A few set-based queries, whatever the
    number of actors.
    """
    wanted = set(keys)
    resolved: dict[tuple[str, str], int | None] = dict.fromkeys(wanted)

    emails = sorted(value for kind, value in wanted if kind == "email")
    if emails:
        known = _people_by_email(session, emails)
        missing = [email for email in emails if email not in known]
        if missing:
            session.execute(
                upsert_for(session)(Person).on_conflict_do_nothing(index_elements=["email"]),
                [{"email": email} for email in missing],
            )
            known.update(_people_by_email(session, missing))
        for email, known_id in known.items():
            resolved[("email", email)] = known_id

    slack_ids = sorted(value for kind, value in wanted if kind == "slack")
    for chunk in _chunks(slack_ids):
        slack_rows = session.exec(
            select(col(Person.slack_user_id), col(Person.id)).where(
                col(Person.slack_user_id).in_(chunk)
            )
        ).all()
        for slack_id, person_id in slack_rows:
            resolved[("slack", str(slack_id))] = person_id

    others = sorted((kind, value) for kind, value in wanted if kind not in ("email", "slack"))
    for pairs in _chunks(others):
        identity_rows = session.exec(
            select(col(Identity.kind), col(Identity.value), col(Identity.person_id)).where(
                sa.tuple_(col(Identity.kind), col(Identity.value)).in_(pairs)
            )
        ).all()
        for kind, value, person_id in identity_rows:
            resolved[(kind, value)] = person_id
    return resolved


_CHUNK = 500  # values per IN (…), well inside every database's limit on parameters


def _chunks(values: list[T]) -> Iterator[list[T]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]


def _people_by_email(session: Session, emails: list[str]) -> dict[str, int]:
    """Plain SQL on the session's connection: this runs for every ingested batch, and for every
    group of webhook requests. The number of placeholders is rounded up to a power of two (the
    last email repeated), so a handful of statement texts cover every call and stay prepared."""
    found: dict[str, int] = {}
    connection = session.connection()
    mark = "?" if connection.dialect.name == "sqlite" else "%s"
    for chunk in _chunks(emails):
        size = 1 << (len(chunk) - 1).bit_length()
        padded = (*chunk, *[chunk[-1]] * (size - len(chunk)))
        for row in connection.exec_driver_sql(_select_people(mark, size), padded):
            found[str(row[0])] = row[1]
    return found


@functools.cache
def _select_people(mark: str, size: int) -> str:
    return f"SELECT email, id FROM people WHERE email IN ({', '.join([mark] * size)})"


def attribute_events(session: Session, kind: str, value: str, person_id: int) -> int:
    """Give unattributed events of identity (kind, value) to ``person_id``; return how many."""
    result = session.execute(
        sa.update(Event)
        .where(
            col(Event.person_id).is_(None),
            col(Event.actor_kind) == kind,
            col(Event.actor_value) == value,
        )
        .values(person_id=person_id)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def unattributed_identities(
    session: Session, source: str | None = None
) -> list[tuple[str, str, int]]:
    """(kind, value, events) for identities that no person is mapped to yet."""
    query = (
        select(Event.actor_kind, Event.actor_value, sa.func.count())
        .where(col(Event.person_id).is_(None), col(Event.actor_kind).is_not(None))
        .group_by(col(Event.actor_kind), col(Event.actor_value))
        .order_by(col(Event.actor_kind), col(Event.actor_value))
    )
    if source is not None:
        query = query.where(Event.source == source)
    return [(str(k), str(v), int(n)) for k, v, n in session.exec(query).all()]
