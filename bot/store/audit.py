"""The audit log admins read (DESIGN §5.6): one way to write an entry, and the reads of it.

Every audit write goes through ``record``; actions are named ``<thing>.<verb>`` and listed here,
so the App Home, the tests and the writers agree on them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from bot.store.models import AuditEntry

SETTING_CHANGE = "setting.change"
PERSON_FORGET = "person.forget"
SHARE_WITH_LEAD = "digest.share_with_lead"
RETENTION_PURGE = "retention.purge"
TEAM_REPORT_VIEW = "team_report.view"
DIGEST_RESEND = "digest.resend"
AI_RULE_ADD = "ai_rule.add"  # the admins' AI-assisted rules (bot.store.ai_rules)
AI_RULE_CHANGE = "ai_rule.change"
AI_RULE_SWITCH_ON = "ai_rule.switch_on"
AI_RULE_SWITCH_OFF = "ai_rule.switch_off"
AI_RULE_DELETE = "ai_rule.delete"
ACTOR_LENGTH = 64  # audit_log.actor
TARGET_LENGTH = 200  # audit_log.target


def record(
    session: Session,
    *,
    actor: str,
    action: str,
    target: str | None,
    details: Mapping[str, Any] | None = None,
    now: datetime,
) -> AuditEntry:
    """Add one audit entry (committed with the change it describes); ``details`` as sorted JSON."""
    entry = AuditEntry(
        at=now,
        actor=actor[:ACTOR_LENGTH],
        action=action,
        target=None if target is None else target[:TARGET_LENGTH],
        details=None if details is None else json.dumps(dict(details), sort_keys=True),
    )
    session.add(entry)
    return entry


def recent(session: Session, limit: int) -> list[AuditEntry]:
    """The latest entries, newest first."""
    return list(
        session.exec(
            select(AuditEntry)
            .order_by(col(AuditEntry.at).desc(), col(AuditEntry.id).desc())
            .limit(limit)
        ).all()
    )


def last_forget_by(session: Session, slack_user_id: str) -> datetime | None:
    """When this Slack user last erased their own data, if ever."""
    return session.exec(
        select(AuditEntry.at)
        .where(col(AuditEntry.action) == PERSON_FORGET, col(AuditEntry.actor) == slack_user_id)
        .order_by(col(AuditEntry.at).desc())
    ).first()
