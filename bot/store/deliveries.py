"""Delivery rows: one per person-week, claimed before sending so each digest goes out once."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, col, select

from bot.store.db import upsert_for
from bot.store.models import Delivery

LEASE = timedelta(minutes=5)
FINAL = ("sent", "skipped", "failed")


def get_delivery(session: Session, person_id: int, week: str) -> Delivery | None:
    return session.exec(
        select(Delivery).where(Delivery.person_id == person_id, Delivery.week == week)
    ).first()


def claim(
    session: Session, person_id: int, week: str, channel: str, now: datetime
) -> Delivery | None:
    """Claim the (person, week) delivery: a new pending row, or a pending one whose lease ran out
    (its sender died). ``None`` when someone else holds it or it is already final."""
    inserted = session.execute(
        upsert_for(session)(Delivery)
        .values(
            person_id=person_id,
            week=week,
            status="pending",
            channel=channel,
            attempts=1,
            lease_until=now + LEASE,
            created_at=now,
            updated_at=now,
        )
        .on_conflict_do_nothing(index_elements=["person_id", "week"])
    )
    if inserted.rowcount:  # type: ignore[attr-defined]
        return get_delivery(session, person_id, week)
    taken = session.execute(
        sa.update(Delivery)
        .where(
            col(Delivery.person_id) == person_id,
            col(Delivery.week) == week,
            col(Delivery.status) == "pending",
            col(Delivery.lease_until) < now,
        )
        .values(lease_until=now + LEASE, attempts=col(Delivery.attempts) + 1, updated_at=now)
    )
    if taken.rowcount:  # type: ignore[attr-defined]
        return get_delivery(session, person_id, week)
    return None


def finish(
    session: Session,
    delivery: Delivery,
    *,
    status: str,
    now: datetime,
    reason: str | None = None,
    **fields: object,
) -> None:
    """Move a claimed delivery to ``sent``, ``skipped`` or ``failed``."""
    assert status in FINAL
    values: dict[str, object] = {
        "status": status,
        "reason": reason,
        "lease_until": None,
        "updated_at": now,
    }
    if status == "sent":
        values["sent_at"] = now
    values.update(fields)
    session.execute(sa.update(Delivery).where(col(Delivery.id) == delivery.id).values(**values))


def record_skip(session: Session, person_id: int, week: str, reason: str, now: datetime) -> bool:
    """A final ``skipped`` row, unless the person-week already has one; True when written."""
    result = session.execute(
        upsert_for(session)(Delivery)
        .values(
            person_id=person_id,
            week=week,
            status="skipped",
            reason=reason,
            channel="none",
            created_at=now,
            updated_at=now,
        )
        .on_conflict_do_nothing(index_elements=["person_id", "week"])
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def finish_retry_later(session: Session, delivery: Delivery, *, now: datetime, reason: str) -> None:
    """Keep the claim pending but release its lease, so the next run retries it."""
    session.execute(
        sa.update(Delivery)
        .where(col(Delivery.id) == delivery.id)
        .values(reason=reason, lease_until=now, updated_at=now)
    )
