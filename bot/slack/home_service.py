"""Gather what the App Home shows for one person (I/O), then build it with the pure builder."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from bot.context import AppContext
from bot.digest.weekly_facts import facts_for
from bot.domain.weeks import week_of
from bot.slack.blocks.home import HomeState, home_view
from bot.store.models import Delivery, Person
from bot.store.people import display_name
from bot.store.workspace import get_setting

DEFAULT_MIN_GROUP_SIZE = 5
DEFAULT_RETENTION_DAYS = 180


def home_for(
    context: AppContext, session: Session, person: Person | None, *, admin: bool
) -> dict[str, Any]:
    now = context.clock()
    tz = context.settings.timezone
    week = week_of(now, tz)
    k = max(
        DEFAULT_MIN_GROUP_SIZE, int(get_setting(session, "min_group_size", DEFAULT_MIN_GROUP_SIZE))
    )
    retention = int(get_setting(session, "retention_days", DEFAULT_RETENTION_DAYS))
    if person is None:
        return home_view(
            HomeState("there", week.label(), None, None, None, False, None, k, retention, admin)
        )
    last = session.exec(
        select(Delivery)
        .where(Delivery.person_id == person.id, Delivery.status == "sent")
        .order_by(col(Delivery.week).desc())
    ).first()
    return home_view(
        HomeState(
            name=display_name(person),
            week_label=week.label(),
            facts_so_far=facts_for(session, person, week, tz),
            last_digest=last.text if last else None,
            last_digest_week=last.week if last else None,
            opted_out=person.opted_out,
            snoozed_until=person.snoozed_until
            if person.snoozed_until and person.snoozed_until > now
            else None,
            min_group_size=k,
            retention_days=retention,
            is_admin=admin,
        )
    )
