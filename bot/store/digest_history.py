"""What was delivered: a person's last sent digest, and what the summarizer spent in a week."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, col, select

from bot.store.models import Delivery


def last_sent(session: Session, person_id: int) -> Delivery | None:
    """The person's latest digest that was sent, if any."""
    return session.exec(
        select(Delivery)
        .where(col(Delivery.person_id) == person_id, col(Delivery.status) == "sent")
        .order_by(col(Delivery.week).desc())
    ).first()


def summarizer_spend(session: Session, start: datetime, end: datetime) -> tuple[int, int, int]:
    """Input and output tokens the summarizer spent on digests written in ``[start, end)``, and
    how many digests that was."""
    row = session.exec(
        select(
            sa.func.coalesce(sa.func.sum(Delivery.summarizer_input_tokens), 0),
            sa.func.coalesce(sa.func.sum(Delivery.summarizer_output_tokens), 0),
            sa.func.count(),
        ).where(col(Delivery.created_at) >= start, col(Delivery.created_at) < end)
    ).one()
    return int(row[0]), int(row[1]), int(row[2])
