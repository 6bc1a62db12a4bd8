"""Workspace settings admins edit (thresholds, minimum group size, schedule…), stored as JSON."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlmodel import Session

from bot.domain.nudges import Thresholds
from bot.store.models import AuditEntry, WorkspaceSetting

THRESHOLDS = "thresholds"


def get_setting(session: Session, key: str, default: Any = None) -> Any:
    row = session.get(WorkspaceSetting, key)
    return default if row is None else json.loads(row.value)


def set_setting(session: Session, key: str, value: Any, *, actor: str, now: datetime) -> None:
    """Store a setting and write the change to the audit log."""
    row = session.get(WorkspaceSetting, key)
    before = None if row is None else json.loads(row.value)
    if row is None:
        row = WorkspaceSetting(key=key, value=json.dumps(value), updated_at=now, updated_by=actor)
        session.add(row)
    else:
        row.value = json.dumps(value)
        row.updated_at = now
        row.updated_by = actor
    session.add(
        AuditEntry(
            at=now,
            actor=actor,
            action="setting.change",
            target=key,
            details=json.dumps({"before": before, "after": value}, sort_keys=True),
        )
    )


def thresholds(session: Session) -> Thresholds:
    return Thresholds.from_json(get_setting(session, THRESHOLDS))
