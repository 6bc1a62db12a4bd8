"""The per-week privacy ledger: which team sums were released, over which coordinates.

Deciding a week takes a lock on its ``privacy_weeks`` row first (a row lock on PostgreSQL, the
write lock on SQLite), so replicas and concurrent requests decide one after the other and each
sees everything the others released. The caller commits the session.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from sqlmodel import Session, col, select

from bot.domain.privacy import Row
from bot.store.db import upsert_for
from bot.store.models import PrivacyRelease, PrivacyReleaseCoord, PrivacyWeek


def lock_week(session: Session, week: str, now: datetime) -> None:
    """Create the week's row if missing and hold it until the transaction ends."""
    insert = upsert_for(session)
    session.execute(
        insert(PrivacyWeek)
        .values(week=week, first_decided_at=now)
        .on_conflict_do_nothing(index_elements=["week"])
    )
    session.exec(select(PrivacyWeek).where(PrivacyWeek.week == week).with_for_update()).one()


def released(session: Session, week: str) -> list[tuple[str, Row]]:
    """The week's ledger, in the order it was written."""
    releases = session.exec(
        select(PrivacyRelease.id, PrivacyRelease.cell)
        .where(PrivacyRelease.week == week)
        .order_by(col(PrivacyRelease.id))
    ).all()
    if not releases:
        return []
    coords: dict[int, set[tuple[int, str]]] = defaultdict(set)
    for release_id, person_id, part in session.exec(
        select(
            PrivacyReleaseCoord.release_id, PrivacyReleaseCoord.person_id, PrivacyReleaseCoord.part
        ).where(col(PrivacyReleaseCoord.release_id).in_([r for r, _ in releases]))
    ).all():
        coords[int(release_id)].add((int(person_id), str(part)))
    return [(str(cell), frozenset(coords[int(rid)])) for rid, cell in releases if rid is not None]


def record(session: Session, week: str, rows: list[tuple[str, Row]], now: datetime) -> None:
    """Append released rows to the week's ledger."""
    for cell, row in rows:
        release = PrivacyRelease(week=week, cell=cell, released_at=now)
        session.add(release)
        session.flush()
        assert release.id is not None
        session.add_all(
            PrivacyReleaseCoord(release_id=release.id, person_id=person, part=part)
            for person, part in sorted(row)
        )
    session.flush()
