"""Delivery rows: one per person-week, claimed before sending so each digest goes out once.

Statuses: ``pending`` (claimed, being sent) → ``sent`` | ``skipped`` | ``failed`` (final), or
``preview`` for a digest printed to the console (``DIGEST_DELIVERY=console``). A preview is final
for the console, never for Slack: a Slack delivery takes the row over and sends the DM.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.store import audit
from bot.store.db import upsert_for
from bot.store.models import Delivery

LEASE = timedelta(minutes=5)
Executor = Session | sa.Connection  # a session, or a connection held for a run's writes
FINAL = ("sent", "skipped", "failed")
PREVIEW = "preview"
CONSOLE = "console"


def settled_statuses(channel: str) -> tuple[str, ...]:
    """The statuses that leave nothing to do for a deliverer on ``channel``."""
    return (*FINAL, PREVIEW) if channel == CONSOLE else FINAL


def is_settled(delivery: Delivery | None, channel: str) -> bool:
    return delivery is not None and delivery.status in settled_statuses(channel)


def settled_person_ids(session: Session, week: str, channel: str) -> set[int]:
    """People whose delivery for ``week`` leaves nothing to do on ``channel``."""
    rows = session.exec(
        select(Delivery.person_id).where(
            Delivery.week == week, col(Delivery.status).in_(settled_statuses(channel))
        )
    )
    return set(rows.all())


def get_delivery(session: Session, person_id: int, week: str) -> Delivery | None:
    return session.exec(
        select(Delivery).where(Delivery.person_id == person_id, Delivery.week == week)
    ).first()


def claim(
    session: Session, person_id: int, week: str, channel: str, now: datetime
) -> Delivery | None:
    """Claim the (person, week) delivery: a new pending row, a pending one whose lease ran out
    (its sender died), or, for any channel but the console, a console preview. ``None`` when
    someone else holds it or it is already final."""
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
        .returning(col(Delivery.id))
    )
    # the returned row, not ``rowcount``: with RETURNING, PostgreSQL's rowcount says nothing
    # about whether the conflict skipped the insert
    if inserted.first() is not None:
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
    if channel == CONSOLE:
        return None
    promoted = session.execute(
        sa.update(Delivery)
        .where(
            col(Delivery.person_id) == person_id,
            col(Delivery.week) == week,
            col(Delivery.status) == PREVIEW,
        )
        .values(
            status="pending",
            channel=channel,
            reason=None,
            lease_until=now + LEASE,
            attempts=col(Delivery.attempts) + 1,
            updated_at=now,
        )
    )
    if promoted.rowcount:  # type: ignore[attr-defined]
        return get_delivery(session, person_id, week)
    return None


@contextmanager
def autocommit(engine: Engine) -> Iterator[sa.Connection]:
    """One connection for a run's finishing writes, each statement its own transaction: durable
    when ``execute`` returns, in one round trip, with no pool check-out per message."""
    with engine.connect() as connection:
        yield connection.execution_options(isolation_level="AUTOCOMMIT")


def statuses(session: Session, person_ids: Collection[int], week: str) -> dict[int, str]:
    """The delivery status of each of these people for ``week`` (none: no row yet)."""
    if not person_ids:
        return {}
    rows = session.exec(
        select(Delivery.person_id, Delivery.status).where(
            Delivery.week == week, col(Delivery.person_id).in_(sorted(person_ids))
        )
    )
    return {person_id: status for person_id, status in rows.all()}


def claim_many(
    session: Session, person_ids: Collection[int], week: str, channel: str, now: datetime
) -> dict[int, int]:
    """``claim`` for many people at once, in at most three statements: person id → the id of
    each delivery claimed. The rows are taken in person order, and on PostgreSQL a row another
    sender has locked is skipped (``FOR UPDATE SKIP LOCKED``): it is theirs."""
    wanted = sorted(set(person_ids))
    if not wanted:
        return {}
    lease = now + LEASE
    inserted = session.execute(
        upsert_for(session)(Delivery)
        .values(
            [
                {
                    "person_id": person_id,
                    "week": week,
                    "status": "pending",
                    "channel": channel,
                    "attempts": 1,
                    "lease_until": lease,
                    "created_at": now,
                    "updated_at": now,
                }
                for person_id in wanted
            ]
        )
        .on_conflict_do_nothing(index_elements=["person_id", "week"])
        .returning(col(Delivery.person_id), col(Delivery.id))
    )
    claimed = _person_rows(inserted)

    def take(condition: sa.ColumnElement[bool], **values: object) -> None:
        rest = [person_id for person_id in wanted if person_id not in claimed]
        if not rest:
            return
        free = (
            select(Delivery.id)
            .where(Delivery.week == week, col(Delivery.person_id).in_(rest), condition)
            .order_by(col(Delivery.person_id))
            .with_for_update(skip_locked=True)
        )
        taken = session.execute(
            sa.update(Delivery)
            .where(col(Delivery.id).in_(free.scalar_subquery()), condition)
            .values(
                attempts=col(Delivery.attempts) + 1, lease_until=lease, updated_at=now, **values
            )
            .returning(col(Delivery.person_id), col(Delivery.id))
        )
        claimed.update(_person_rows(taken))

    # a pending row whose lease ran out: its sender died
    take(sa.and_(col(Delivery.status) == "pending", col(Delivery.lease_until) < now))
    if channel != CONSOLE:  # a console preview, taken over by a real delivery
        take(col(Delivery.status) == PREVIEW, status="pending", channel=channel, reason=None)
    return claimed


def _person_rows(result: sa.Result[Any]) -> dict[int, int]:
    """Person id → delivery id, from a statement returning both."""
    return {row.person_id: row.id for row in result}


def record_skips(session: Session, reasons: Mapping[int, str], week: str, now: datetime) -> None:
    """``record_skip`` for many people (person id → reason) in one statement."""
    if not reasons:
        return
    session.execute(
        upsert_for(session)(Delivery)
        .values(
            [
                {
                    "person_id": person_id,
                    "week": week,
                    "status": "skipped",
                    "reason": reason,
                    "channel": "none",
                    "created_at": now,
                    "updated_at": now,
                }
                for person_id, reason in sorted(reasons.items())
            ]
        )
        .on_conflict_do_nothing(index_elements=["person_id", "week"])
    )


def release(executor: Executor, delivery_ids: Collection[int], *, now: datetime) -> None:
    """Give back claims that were never sent: still pending, their lease ended now, so the next
    run takes them at once."""
    if delivery_ids:
        executor.execute(
            sa.update(Delivery)
            .where(col(Delivery.id).in_(sorted(delivery_ids)), col(Delivery.status) == "pending")
            .values(lease_until=now, updated_at=now)
        )


def finish(
    session: Executor,
    delivery: Delivery | int,
    *,
    status: str,
    now: datetime,
    reason: str | None = None,
    **fields: object,
) -> None:
    """Move a claimed delivery to ``sent``, ``skipped``, ``failed`` or ``preview``."""
    assert status in (*FINAL, PREVIEW)
    values: dict[str, object] = {
        "status": status,
        "reason": reason,
        "lease_until": None,
        "updated_at": now,
    }
    if status in ("sent", PREVIEW):
        values["sent_at"] = now
    values.update(fields)
    row_id = delivery if isinstance(delivery, int) else delivery.id
    session.execute(sa.update(Delivery).where(col(Delivery.id) == row_id).values(**values))


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
        .returning(col(Delivery.id))
    )
    return result.first() is not None


def finish_retry_later(
    session: Executor, delivery: Delivery | int, *, now: datetime, reason: str
) -> None:
    """Keep the claim pending but release its lease, so the next run retries it."""
    row_id = delivery if isinstance(delivery, int) else delivery.id
    session.execute(
        sa.update(Delivery)
        .where(col(Delivery.id) == row_id)
        .values(reason=reason, lease_until=now, updated_at=now)
    )


def record_resend(
    session: Session,
    *,
    person_id: int,
    email: str,
    week: str,
    channel: str,
    actor: str,
    now: datetime,
    outcome: str,
    reason: str | None = None,
    **fields: object,
) -> None:
    """Record a resent digest (``outcome`` sent or failed): the delivery row now points at the new
    message, and the audit log says who resent what. A console resend is a preview and never
    turns a row into a Slack ``sent``."""
    if outcome == "sent":
        existing = get_delivery(session, person_id, week)
        status = PREVIEW if channel == CONSOLE else "sent"
        if existing is None:
            session.execute(
                sa.insert(Delivery).values(
                    person_id=person_id,
                    week=week,
                    status=status,
                    channel=channel,
                    attempts=1,
                    created_at=now,
                    updated_at=now,
                    sent_at=now,
                    **fields,
                )
            )
        elif not (channel == CONSOLE and existing.status == "sent"):
            values: dict[str, object] = {
                "status": status,
                "channel": channel,
                "reason": None,
                "lease_until": None,
                "attempts": existing.attempts + 1,
                "updated_at": now,
                "sent_at": now,
                **fields,
            }
            session.execute(
                sa.update(Delivery).where(col(Delivery.id) == existing.id).values(**values)
            )
    audit.record(
        session,
        actor=actor,
        action=audit.DIGEST_RESEND,
        target=email,
        details={"week": week, "channel": channel, "outcome": outcome, "reason": reason},
        now=now,
    )
