"""Workspace settings admins edit in the App Home, stored as JSON rows of ``workspace_settings``.

This module owns every admin setting: its key, its default, and the one function that reads it
(bounds and validation of submitted values are in ``bot.domain.workspace_settings``). Every
change goes through ``save``, which writes only what changed and audits each change.

Adding a setting: a key and a reader here, a check in ``bot.domain.workspace_settings``, a modal
row in ``bot.slack.listeners.admin`` (CONTRIBUTING.md lists the steps).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session

from bot.domain.completeness import DEFAULT_GRACE, grace_from_hours
from bot.domain.nudges import Thresholds
from bot.domain.privacy import effective_k
from bot.domain.schedule import DEFAULT_SCHEDULE, Schedule
from bot.domain.workspace_settings import DEFAULT_RETENTION_DAYS, valid_retention_days
from bot.errors import ConfigError
from bot.store import audit
from bot.store.models import WorkspaceSetting

log = logging.getLogger(__name__)

# Keys of the admin-editable settings (values are JSON).
THRESHOLDS = "thresholds"  # bot.domain.nudges.Thresholds as a dict
MIN_GROUP_SIZE = "min_group_size"  # k for team reports; never below 5
DIGEST_SCHEDULE = "digest_schedule"  # workspace default send time (bot.domain.schedule.Schedule)
LLM_ENABLED = "llm_enabled"  # bool: use the summarizer when OPENAI_API_KEY is set
LLM_MODEL = "llm_model"  # overrides OPENAI_MODEL
RETENTION_DAYS = "retention_days"  # raw events older than this are purged
DIGEST_GRACE_HOURS = "digest_grace_hours"  # how long a week's digest waits for late sources
KEYS = (
    THRESHOLDS,
    MIN_GROUP_SIZE,
    DIGEST_SCHEDULE,
    LLM_ENABLED,
    LLM_MODEL,
    RETENTION_DAYS,
    DIGEST_GRACE_HOURS,
)

_UNSET = object()


def get_setting(session: Session, key: str, default: Any = None) -> Any:
    """The stored JSON value of ``key`` (``default`` when unset). Callers use the typed readers
    below; this is their common step."""
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
    audit.record(
        session,
        actor=actor,
        action=audit.SETTING_CHANGE,
        target=key,
        details={"before": before, "after": value},
        now=now,
    )


def save(session: Session, changes: Mapping[str, Any], *, actor: str, now: datetime) -> list[str]:
    """Store each changed value (an unchanged one is neither written nor audited); the keys
    that changed."""
    changed = []
    for key, value in changes.items():
        if key not in KEYS:
            raise ValueError(f"unknown workspace setting {key!r}")
        if get_setting(session, key, _UNSET) != value:
            set_setting(session, key, value, actor=actor, now=now)
            changed.append(key)
    return changed


# The readers: one per setting ------------------------------------------------------------


def thresholds(session: Session) -> Thresholds:
    return Thresholds.from_json(get_setting(session, THRESHOLDS))


def min_group_size(session: Session) -> int:
    """k for team reports: the admin's value, never below 5."""
    return effective_k(get_setting(session, MIN_GROUP_SIZE))


def default_schedule(session: Session) -> Schedule:
    """The workspace default digest slot (Monday 09:00 unless an admin chose another); a
    stored value that cannot be read falls back to the default, with a warning."""
    stored = get_setting(session, DIGEST_SCHEDULE)
    try:
        return Schedule.from_json(stored)
    except (ValueError, TypeError, AttributeError):
        log.warning("workspace setting %s is unreadable; using the default", DIGEST_SCHEDULE)
        return DEFAULT_SCHEDULE


def retention_days(session: Session) -> int:
    """Days raw events are kept. A stored value that is not a whole number ≥ 1 is a
    ``ConfigError``: nothing is purged on a guess."""
    stored = get_setting(session, RETENTION_DAYS, DEFAULT_RETENTION_DAYS)
    days = valid_retention_days(stored)
    if days is None:
        raise ConfigError(f"retention_days must be a whole number of days ≥ 1, not {stored!r}")
    return days


def llm_enabled(session: Session) -> bool:
    """The admin's LLM switch: on unless turned off."""
    return get_setting(session, LLM_ENABLED, True) is not False


def llm_model(session: Session) -> str | None:
    """The admin's model choice, when one is set."""
    model = get_setting(session, LLM_MODEL, None)
    return model if isinstance(model, str) and model.strip() else None


def digest_grace(session: Session) -> timedelta:
    """How long after a week's end its digest waits for late sources (default 48 h)."""
    try:
        value = get_setting(session, DIGEST_GRACE_HOURS)
        return DEFAULT_GRACE if value is None else grace_from_hours(value)
    except ValueError:
        log.warning("workspace setting %r is invalid; using 48 hours", DIGEST_GRACE_HOURS)
        return DEFAULT_GRACE
