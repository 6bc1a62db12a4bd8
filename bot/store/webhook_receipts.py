"""Accepted webhook ids (``WebhookReceipt``): a signed message is stored once, replays never.

``claim`` runs in the transaction that stores the message's events, so a message is either
stored and remembered, or neither; on PostgreSQL a second replica claiming the same id waits
for the first transaction and then sees the receipt.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlmodel import Session

from bot.store.event_rows import time_binder

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

    Two statements whatever the number of receipts (a shared commit holds hundreds), sent as
    plain SQL on the session's connection: this runs for every signed request.
    """
    if not receipts:
        return []
    connection = session.connection()
    dialect = connection.dialect.name
    to_db = time_binder(dialect)
    mark = "?" if dialect == "sqlite" else "%s"
    latest = max(received_at for _, received_at in receipts)
    connection.exec_driver_sql(
        f"DELETE FROM webhook_receipts WHERE received_at < {mark}", (to_db(latest - KEEP_FOR),)
    )
    first: dict[str, datetime] = {}
    keys = []
    for webhook_id, received_at in receipts:
        key = digest(webhook_id)
        keys.append(key)
        first.setdefault(key, received_at)
    values = [value for key, at in first.items() for value in (key, to_db(at))]
    inserted = {
        str(row[0]) for row in connection.exec_driver_sql(_insert(mark, len(first)), tuple(values))
    }
    replayed: list[bool] = []
    claimed: set[str] = set()
    for key in keys:
        replayed.append(key in claimed or key not in inserted)
        claimed.add(key)
    return replayed


@functools.cache
def _insert(mark: str, rows: int) -> str:
    values = ", ".join([f"({mark}, {mark})"] * rows)
    return (
        f"INSERT INTO webhook_receipts (id_digest, received_at) VALUES {values} "
        "ON CONFLICT (id_digest) DO NOTHING RETURNING id_digest"
    )
