"""Workspace settings admins edit in the App Home, stored as JSON rows of ``workspace_settings``.

The settings themselves (key, default, bounds, how a stored value is read and a submitted one
checked) are the table ``bot.domain.workspace_settings.SETTINGS``; this module stores them and
reads them back (``value``, and one typed reader per setting below). Every change goes through
``save``, which writes only what changed and audits each change.

Adding a setting: a row in that table, a reader here, and the code that uses it (CONTRIBUTING.md).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session

from bot.domain.nudges import Thresholds
from bot.domain.schedule import Schedule
from bot.domain.workspace_settings import (
    BY_KEY,
    DIGEST_GRACE_HOURS,
    DIGEST_SCHEDULE,
    LLM_ENABLED,
    LLM_MODEL,
    MIN_GROUP_SIZE,
    RETENTION_DAYS,
    SETTINGS,
    THRESHOLDS,
    read_stored,
)
from bot.errors import ConfigError
from bot.store import audit
from bot.store.models import WorkspaceSetting

log = logging.getLogger(__name__)

__all__ = [
    "DIGEST_GRACE_HOURS",
    "DIGEST_SCHEDULE",
    "KEYS",
    "LLM_ENABLED",
    "LLM_MODEL",
    "MIN_GROUP_SIZE",
    "RETENTION_DAYS",
    "THRESHOLDS",
]

KEYS = tuple(setting.key for setting in SETTINGS)

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


# The readers ------------------------------------------------------------------------------


def value(session: Session, key: str) -> Any:
    """The value in force of the admin setting ``key``: the stored one read by its row of
    ``SETTINGS``, or the default when unset. A stored value that cannot be read falls back to the
    default with a warning, except for a strict setting, where it is a ``ConfigError``."""
    setting = BY_KEY[key]
    stored = get_setting(session, key)
    try:
        return read_stored(setting, stored)
    except ValueError as exc:
        if setting.strict:
            raise ConfigError(str(exc)) from exc
        log.warning("workspace setting %s is unreadable; using the default", key)
        return setting.default


def values_shown(session: Session) -> dict[str, Any]:
    """Every admin setting's value for the App Home: a strict setting's unreadable value shows its
    default (what uses it still refuses to run on it)."""
    shown: dict[str, Any] = {}
    for setting in SETTINGS:
        try:
            shown[setting.key] = value(session, setting.key)
        except ConfigError:
            log.warning("%s is unreadable; the App Home shows the default", setting.key)
            shown[setting.key] = setting.default
    return shown


def thresholds(session: Session) -> Thresholds:
    result: Thresholds = value(session, THRESHOLDS)
    return result


def min_group_size(session: Session) -> int:
    """k for team reports: the admin's value, never below 5."""
    return int(value(session, MIN_GROUP_SIZE))


def default_schedule(session: Session) -> Schedule:
    """The workspace default digest slot (Monday 09:00 unless an admin chose another); a
    stored value that cannot be read falls back to the default, with a warning."""
    result: Schedule = value(session, DIGEST_SCHEDULE)
    return result


def retention_days(session: Session) -> int:
    """Days raw events are kept. A stored value that is not a whole number ≥ 1 is a
    ``ConfigError``: nothing is purged on a guess."""
    return int(value(session, RETENTION_DAYS))


def llm_enabled(session: Session) -> bool:
    """The admin's LLM switch: on unless turned off."""
    return bool(value(session, LLM_ENABLED))


def llm_model(session: Session) -> str | None:
    """The admin's model choice, when one is set."""
    model: str | None = value(session, LLM_MODEL)
    return model


def digest_grace(session: Session) -> timedelta:
    """How long after a week's end its digest waits for late sources (default 48 h)."""
    return timedelta(hours=value(session, DIGEST_GRACE_HOURS))
