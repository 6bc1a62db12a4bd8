"""Accepted webhook ids (``WebhookReceipt``): a signed message is stored once, replays never.

``claim`` runs in the transaction that stores the message's events, so a message is either
stored and remembered, or neither; on PostgreSQL a second replica claiming the same id waits
for the first transaction and then sees the receipt.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, col

from bot.store.db import upsert_for
from bot.store.models import WebhookReceipt

# A message's timestamp may be up to the tolerance (5 minutes) old or ahead when it is first
# accepted, and again when it is replayed: a receipt must outlive both, with a margin.
KEEP_FOR = timedelta(minutes=15)


def digest(webhook_id: str) -> str:
    """The stored form of a ``webhook-id``: fixed length, whatever bytes the sender used."""
    return hashlib.sha256(webhook_id.encode("utf-8", "surrogatepass")).hexdigest()


def claim(session: Session, receipts: Sequence[tuple[str, datetime]]) -> list[bool]:
    """Remember each ``(webhook_id, received_at)`` as accepted; for each, whether it was already
    remembered (a replay). An id named twice is a replay the second time. Receipts older than
    ``KEEP_FOR`` before the latest ``received_at`` are purged on the way.
    """
    if not receipts:
        return []
    latest = max(received_at for _, received_at in receipts)
    session.execute(
        sa.delete(WebhookReceipt).where(col(WebhookReceipt.received_at) < latest - KEEP_FOR)
    )
    insert = upsert_for(session)
    replayed: list[bool] = []
    claimed: set[str] = set()
    for webhook_id, received_at in receipts:
        key = digest(webhook_id)
        if key in claimed:
            replayed.append(True)
            continue
        inserted = session.execute(
            insert(WebhookReceipt)
            .values(id_digest=key, received_at=received_at)
            .on_conflict_do_nothing(index_elements=["id_digest"])
            .returning(col(WebhookReceipt.id_digest))
        ).first()
        replayed.append(inserted is None)
        claimed.add(key)
    return replayed
