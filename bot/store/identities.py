"""Who is who: resolve actors to people, and attribute stored events once an identity is mapped."""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa
from sqlmodel import Session, col, select

from bot.domain.events import Actor
from bot.store.db import upsert_for
from bot.store.models import Event, Identity, Person


def resolve_actors(session: Session, actors: Iterable[Actor]) -> dict[tuple[str, str], int | None]:
    """Map each actor to a person id, or ``None`` while the identity is unknown.

    An email is an identity in itself: a person is created for an email seen for the first time,
    so their usage is theirs from the start. Slack ids and vendor ids resolve through the
    directory and stay unattributed until it knows them.
    """
    wanted = {actor.key for actor in actors}
    resolved: dict[tuple[str, str], int | None] = dict.fromkeys(wanted)

    emails = {value for kind, value in wanted if kind == "email"}
    if emails:
        known = dict(
            session.exec(select(Person.email, Person.id).where(col(Person.email).in_(emails))).all()
        )
        for email in sorted(emails - known.keys()):
            known[email] = _create_person(session, email)
        for email, person_id in known.items():
            resolved[("email", email)] = person_id

    slack_ids = {value for kind, value in wanted if kind == "slack"}
    if slack_ids:
        rows = session.exec(
            select(Person.slack_user_id, Person.id).where(col(Person.slack_user_id).in_(slack_ids))
        ).all()
        for slack_id, person_id in rows:
            resolved[("slack", str(slack_id))] = person_id

    others = [(kind, value) for kind, value in wanted if kind not in ("email", "slack")]
    if others:
        rows = session.exec(
            select(Identity.kind, Identity.value, Identity.person_id).where(
                sa.tuple_(col(Identity.kind), col(Identity.value)).in_(others)
            )
        ).all()
        for kind, value, person_id in rows:
            resolved[(kind, value)] = person_id
    return resolved


def _create_person(session: Session, email: str) -> int:
    session.execute(
        upsert_for(session)(Person)
        .values(email=email)
        .on_conflict_do_nothing(index_elements=["email"])
    )
    person_id = session.exec(select(Person.id).where(Person.email == email)).one()
    assert person_id is not None
    return person_id


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
