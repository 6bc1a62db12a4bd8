"""Per-source checkpoints, watermarks and run health (the ``source_state`` table).

Written by the pull connectors after each run; read by the digest (is the week complete?),
``ai-roi sources`` and the admin App Home. A watermark only moves forward.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from bot.store.models import SourceState

ERROR_CHARS = 500  # of a run's error, as stored and shown to admins


@dataclass(frozen=True)
class SourceStatus:
    source: str
    checkpoint: dict[str, Any] | None
    watermark: datetime | None
    last_run_at: datetime | None
    last_success_at: datetime | None
    last_error: str | None
    consecutive_failures: int
    rows_pulled: int


def status(session: Session, source: str) -> SourceStatus | None:
    row = session.get(SourceState, source)
    return None if row is None else _status(row)


def all_statuses(session: Session) -> list[SourceStatus]:
    rows = session.exec(select(SourceState).order_by(col(SourceState.source))).all()
    return [_status(row) for row in rows]


def record_success(
    session: Session,
    source: str,
    *,
    now: datetime,
    checkpoint: dict[str, Any] | None,
    watermark: datetime | None,
    rows: int,
) -> SourceStatus:
    """A run finished: keep its checkpoint, move the watermark forward (never back), clear the
    error."""
    row = _row(session, source)
    row.checkpoint = None if checkpoint is None else json.dumps(checkpoint, sort_keys=True)
    if watermark is not None and (row.watermark is None or watermark > row.watermark):
        row.watermark = watermark
    row.last_run_at = row.last_success_at = now
    row.last_error = None
    row.consecutive_failures = 0
    row.rows_pulled += rows
    session.add(row)
    session.flush()
    return _status(row)


def record_failure(
    session: Session, source: str, *, now: datetime, error: str, rows: int = 0
) -> SourceStatus:
    """A run failed: the checkpoint and watermark stay; the error is kept for admins to see.
    ``error`` must already be free of credentials (``bot.outbound`` messages are)."""
    row = _row(session, source)
    row.last_run_at = now
    row.last_error = error[:ERROR_CHARS]
    row.consecutive_failures += 1
    row.rows_pulled += rows
    session.add(row)
    session.flush()
    return _status(row)


def _row(session: Session, source: str) -> SourceState:
    row = session.get(SourceState, source)
    if row is None:
        row = SourceState(source=source, consecutive_failures=0, rows_pulled=0)
    return row


def _status(row: SourceState) -> SourceStatus:
    return SourceStatus(
        source=row.source,
        checkpoint=None if row.checkpoint is None else json.loads(row.checkpoint),
        watermark=row.watermark,
        last_run_at=row.last_run_at,
        last_success_at=row.last_success_at,
        last_error=row.last_error,
        consecutive_failures=row.consecutive_failures,
        rows_pulled=row.rows_pulled,
    )
