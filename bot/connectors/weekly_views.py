"""Views counted once a week in the organisation's weeks.

The Audit Trail and Drive audit adapters key each view by (artifact, viewer, ISO week) so a
viewer who opens the same dashboard or document many times is stored once a week; being pure,
they take UTC's week. A pull connector knows ``ORG_TIMEZONE`` and re-keys each view by the week
the digest counts, so a view in the hours between the organisation's Monday and UTC's is never
taken for a repeat of the previous week's.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, tzinfo
from typing import Any

from bot.connectors.base import Adjust
from bot.domain.events import Actor, EventType, NormalizedEvent

ViewKey = Callable[[str, Actor, str], str]  # (artifact id, viewer, ISO week) → key


def iso_week(moment: datetime) -> str:
    year, week, _ = moment.isocalendar()
    return f"{year}-W{week:02d}"


def org_weeks(zone: tzinfo, prefix: str, view_key: ViewKey) -> Adjust:
    """Re-key each view the adapter keyed under ``prefix`` by the ISO week of ``zone``."""

    def adjust(record: Any, event: NormalizedEvent) -> NormalizedEvent:
        if (
            event.type is EventType.ARTIFACT_VIEWED
            and event.key.startswith(prefix + "/")
            and event.actor is not None
            and event.artifact is not None
        ):
            week = iso_week(event.occurred_at.astimezone(zone))
            event.key = view_key(event.artifact.external_id, event.actor, week)
        return event

    return adjust
