"""Membership history: when each person joined and left each team.

Every write path that makes someone a member or stops it (the directory CSV import, the Slack
user-group sync) calls ``record_join`` / ``record_leave`` beside its ``Membership`` change. Team
reports read ``members_at``: the members of every team at one instant — for a week, the instant
it ended — so a later join or leave never changes a week already reported.

A join takes effect when it is recorded — except before any team report was decided (a new
installation importing its directory), when it counts from the beginning, as the memberships
that existed before the history did (migration 0006).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlmodel import Session, col, select

from bot.store.models import MembershipPeriod, PrivacyWeek

BEGINNING = datetime(1970, 1, 1, tzinfo=UTC)


def record_join(session: Session, *, team_id: int, person_id: int, at: datetime) -> None:
    """Open a membership period unless one is open already (from ``at``, or from the beginning
    while no team report was ever decided)."""
    open_period = session.exec(
        select(MembershipPeriod.id).where(
            MembershipPeriod.team_id == team_id,
            MembershipPeriod.person_id == person_id,
            col(MembershipPeriod.left_at).is_(None),
        )
    ).first()
    if open_period is None:
        if session.exec(select(PrivacyWeek.week).limit(1)).first() is None:
            at = BEGINNING  # nothing reported yet: no week can change
        session.add(MembershipPeriod(team_id=team_id, person_id=person_id, joined_at=at))
        session.flush()


def record_leave(session: Session, *, team_id: int, person_id: int, at: datetime) -> None:
    """Close the open membership period, if any."""
    session.execute(
        sa.update(MembershipPeriod)
        .where(
            col(MembershipPeriod.team_id) == team_id,
            col(MembershipPeriod.person_id) == person_id,
            col(MembershipPeriod.left_at).is_(None),
        )
        .values(left_at=at)
    )


def members_at(session: Session, at: datetime) -> dict[int, frozenset[int]]:
    """Direct members of every team at the instant ``at`` (joined before it, not left by it)."""
    rows = session.exec(
        select(MembershipPeriod.team_id, MembershipPeriod.person_id).where(
            col(MembershipPeriod.joined_at) < at,
            sa.or_(col(MembershipPeriod.left_at).is_(None), col(MembershipPeriod.left_at) >= at),
        )
    ).all()
    members: dict[int, set[int]] = defaultdict(set)
    for team_id, person_id in rows:
        members[int(team_id)].add(int(person_id))
    return {team_id: frozenset(people) for team_id, people in members.items()}
