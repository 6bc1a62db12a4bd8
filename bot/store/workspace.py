"""Workspace settings admins edit (thresholds, minimum group size, schedule…), stored as JSON."""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session

from bot.domain.completeness import DEFAULT_GRACE, grace_from_hours
from bot.domain.nudges import Thresholds
from bot.domain.schedule import DEFAULT_SCHEDULE, Schedule
from bot.store.models import AuditEntry, WorkspaceSetting

# Keys of the admin-editable settings (values are JSON).
THRESHOLDS = "thresholds"  # bot.domain.nudges.Thresholds as a dict
MIN_GROUP_SIZE = "min_group_size"  # k for team reports; never below 5
DIGEST_SCHEDULE = "digest_schedule"  # workspace default send time (bot.domain.schedule.Schedule)
LLM_ENABLED = "llm_enabled"  # bool: use the summarizer when OPENAI_API_KEY is set
LLM_MODEL = "llm_model"  # overrides OPENAI_MODEL
RETENTION_DAYS = "retention_days"  # raw events older than this are purged
DEFAULT_RETENTION_DAYS = 180

log = logging.getLogger(__name__)


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


DIGEST_GRACE_HOURS = "digest_grace_hours"  # how long a week's digest waits for late sources


def digest_grace(session: Session) -> timedelta:
    """How long after a week's end its digest waits for late sources (default 48 h)."""
    try:
        value = get_setting(session, DIGEST_GRACE_HOURS)
        return DEFAULT_GRACE if value is None else grace_from_hours(value)
    except ValueError:
        log.warning("workspace setting %r is invalid; using 48 hours", DIGEST_GRACE_HOURS)
        return DEFAULT_GRACE


def digest_schedule(session: Session) -> Schedule:
    """The workspace's default send slot: the admin's choice when stored, else Monday 09:00."""
    try:
        return Schedule.from_json(get_setting(session, DIGEST_SCHEDULE))
    except (ValueError, TypeError, AttributeError):
        log.warning("workspace setting %r is invalid; using Monday 09:00", DIGEST_SCHEDULE)
        return DEFAULT_SCHEDULE
