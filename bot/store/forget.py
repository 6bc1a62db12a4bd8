"""Erase one person everywhere (``ai-roi forget``, and "delete my data" in the App Home)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, col, select

from bot.store import audit
from bot.store.models import (
    Artifact,
    Delivery,
    Event,
    Identity,
    Membership,
    MembershipPeriod,
    PrivacyReleaseCoord,
)
from bot.store.people import person_by_email


def chart_files(session: Session, email: str) -> list[str]:
    """The Slack files (chart images) the person's digests showed: ``forget_person`` erases the
    record of them, so callers that delete them from Slack read them first."""
    person = person_by_email(session, email)
    query = select(Delivery.chart_file_id).where(
        col(Delivery.person_id) == person.id, col(Delivery.chart_file_id).is_not(None)
    )
    return [file_id for file_id in session.exec(query) if file_id]


def forget_person(session: Session, email: str, *, actor: str, now: datetime) -> dict[str, int]:
    """Delete the person, their identities, memberships and membership history, their place in
    the privacy ledger, deliveries and every event they are the actor of (attributed or still
    unattributed under one of their identities), and the traits of the artifacts they created.
    Audited without the email address."""
    person = person_by_email(session, email)
    keys = [("email", person.email)]
    if person.slack_user_id:
        keys.append(("slack", person.slack_user_id))
    keys += [
        (i.kind, i.value)
        for i in session.exec(select(Identity).where(Identity.person_id == person.id))
    ]
    theirs = sa.or_(
        col(Event.person_id) == person.id,
        sa.and_(
            col(Event.person_id).is_(None),
            sa.tuple_(col(Event.actor_kind), col(Event.actor_value)).in_(keys),
        ),
    )
    # The traits of what they created may name them (an author's or a requester's login).
    created = select(Event.artifact_id).where(theirs, col(Event.type) == "artifact.created")
    session.execute(
        sa.update(Artifact)
        .where(col(Artifact.id).in_(created.scalar_subquery()))
        .values(traits=None)
    )
    erased = {
        "events": _delete(session, sa.delete(Event).where(theirs)),
        "deliveries": _delete(
            session, sa.delete(Delivery).where(col(Delivery.person_id) == person.id)
        ),
        "identities": _delete(
            session, sa.delete(Identity).where(col(Identity.person_id) == person.id)
        ),
        "memberships": _delete(
            session, sa.delete(Membership).where(col(Membership.person_id) == person.id)
        ),
        "membership_history": _delete(
            session,
            sa.delete(MembershipPeriod).where(col(MembershipPeriod.person_id) == person.id),
        ),
        "privacy_ledger": _delete(
            session,
            sa.delete(PrivacyReleaseCoord).where(col(PrivacyReleaseCoord.person_id) == person.id),
        ),
    }
    session.delete(person)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action=audit.PERSON_FORGET,
        target=f"person:{person.id}",
        details=erased,
        now=now,
    )
    return erased


def _delete(session: Session, statement: sa.Delete) -> int:
    return int(session.execute(statement).rowcount or 0)  # type: ignore[attr-defined]
