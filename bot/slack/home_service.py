"""Gather what the App Home shows for one person (I/O), then build it with the pure builders:
their week, their last digest, their settings, and for admins the admin section."""

from __future__ import annotations

import json
import logging
from datetime import UTC, date, datetime, time, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
from sqlmodel import Session, col, select

from bot.context import AppContext
from bot.digest.summarizer_config import llm_config
from bot.digest.weekly_facts import facts_for
from bot.domain.schedule import DEFAULT_SCHEDULE, Schedule, personal_schedule
from bot.domain.weeks import Week, week_of
from bot.slack.blocks.admin_home import AdminState, AuditLine, SourceStatus
from bot.slack.blocks.home import HomeState, home_view, my_settings_modal
from bot.store.models import AuditEntry, Delivery, Person
from bot.store.people import display_name
from bot.store.sources import source_health
from bot.store.workspace import (
    DEFAULT_RETENTION_DAYS,
    DIGEST_SCHEDULE,
    RETENTION_DAYS,
    get_setting,
)
from bot.teams.report import min_group_size

log = logging.getLogger(__name__)

DEFAULT_MIN_GROUP_SIZE = 5
AUDIT_SHOWN = 10
FORGET_ACTION = "person.forget"


# Settings in force --------------------------------------------------------------------------


def retention_days(session: Session) -> int:
    value = get_setting(session, RETENTION_DAYS, DEFAULT_RETENTION_DAYS)
    return value if isinstance(value, int) and value > 0 else DEFAULT_RETENTION_DAYS


def default_schedule(session: Session) -> Schedule:
    """The workspace default slot, read as ``jobs.digest_tick.workspace_schedule`` reads it."""
    try:
        return Schedule.from_json(get_setting(session, DIGEST_SCHEDULE))
    except (ValueError, TypeError, AttributeError):
        return DEFAULT_SCHEDULE


def person_slot(session: Session, person: Person) -> tuple[Schedule, bool]:
    """The person's slot in force, and whether it is their own choice."""
    default = default_schedule(session)
    own = person.digest_weekday is not None or person.digest_minute is not None
    try:
        return personal_schedule(person.digest_weekday, person.digest_minute, default), own
    except ValueError:
        return default, False


def person_zone(person: Person, org_tz: tzinfo) -> tzinfo:
    try:
        return ZoneInfo(person.tz) if person.tz else org_tz
    except (ZoneInfoNotFoundError, ValueError):
        return org_tz


def local_date(instant: datetime, tz: tzinfo) -> date:
    return instant.astimezone(tz).date()


def start_of_day(day: date, tz: tzinfo) -> datetime:
    """Local midnight of ``day`` in ``tz``, as UTC."""
    return datetime.combine(day, time(0, 0), tzinfo=tz).astimezone(UTC)


def deleted_at(session: Session, slack_user_id: str | None) -> datetime | None:
    """When this Slack user last deleted their own data from the App Home, if ever."""
    if not slack_user_id:
        return None
    return session.exec(
        select(AuditEntry.at)
        .where(AuditEntry.action == FORGET_ACTION, AuditEntry.actor == slack_user_id)
        .order_by(col(AuditEntry.at).desc())
    ).first()


# The App Home ---------------------------------------------------------------------------------


def home_for(
    context: AppContext,
    session: Session,
    person: Person | None,
    *,
    admin: bool,
    user_id: str | None = None,
) -> dict[str, Any]:
    now = context.clock()
    tz = context.settings.timezone
    week = week_of(now, tz)
    k = min_group_size(session)
    retention = retention_days(session)
    admin_state = admin_state_for(context, session, week) if admin else None
    slack_id = person.slack_user_id if person is not None else user_id
    if person is None:
        return home_view(
            HomeState(
                "there",
                week.label(),
                None,
                None,
                None,
                False,
                None,
                k,
                retention,
                admin,
                known=False,
                data_deleted_at=deleted_at(session, slack_id),
                admin=admin_state,
            )
        )
    last = session.exec(
        select(Delivery)
        .where(Delivery.person_id == person.id, Delivery.status == "sent")
        .order_by(col(Delivery.week).desc())
    ).first()
    slot, own = person_slot(session, person)
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
            digest_weekday=slot.weekday,
            digest_minute=slot.minute,
            own_schedule=own,
            tz_name=person.tz,
            share_with_lead_default=person.share_with_lead_default,
            data_deleted_at=deleted_at(session, slack_id),
            admin=admin_state,
        )
    )


def my_settings_view(context: AppContext, session: Session, person: Person) -> dict[str, Any]:
    now = context.clock()
    zone = person_zone(person, context.settings.timezone)
    slot, _ = person_slot(session, person)
    snoozed = person.snoozed_until if person.snoozed_until and person.snoozed_until > now else None
    return my_settings_modal(
        weekday=slot.weekday,
        minute=slot.minute,
        snooze_until=local_date(snoozed, zone) if snoozed else None,
        share_with_lead_default=person.share_with_lead_default,
        tz_name=person.tz,
        today=local_date(now, zone),
    )


# The admin section -----------------------------------------------------------------------------


def admin_state_for(context: AppContext, session: Session, week: Week) -> AdminState:
    schedule = default_schedule(session)
    llm = llm_config(context.settings, session)
    tokens_in, tokens_out, digests = summarizer_spend(session, week, context.settings.timezone)
    return AdminState(
        min_group_size=min_group_size(session),
        retention_days=retention_days(session),
        schedule_weekday=schedule.weekday,
        schedule_minute=schedule.minute,
        llm_enabled=llm.enabled,
        llm_has_key=llm.has_key,
        llm_model=llm.model,
        week_label=week.label(),
        summarizer_input_tokens=tokens_in,
        summarizer_output_tokens=tokens_out,
        summarizer_digests=digests,
        sources=tuple(
            SourceStatus(
                source=health.source,
                last_event_at=health.last_event_at,
                events=health.events,
                unattributed_events=health.unattributed_events,
                unmapped=tuple(
                    f"{kind}:{value}" for kind, value, _ in health.unattributed_identities
                ),
            )
            for health in source_health(session)
        ),
        audit=recent_audit(session),
    )


def summarizer_spend(session: Session, week: Week, tz: tzinfo) -> tuple[int, int, int]:
    """Tokens the summarizer itself spent on digests written this ISO week, and how many."""
    start, end = week.bounds(tz)
    row = session.exec(
        select(
            sa.func.coalesce(sa.func.sum(Delivery.summarizer_input_tokens), 0),
            sa.func.coalesce(sa.func.sum(Delivery.summarizer_output_tokens), 0),
            sa.func.count(),
        ).where(col(Delivery.created_at) >= start, col(Delivery.created_at) < end)
    ).one()
    return int(row[0]), int(row[1]), int(row[2])


def recent_audit(session: Session, limit: int = AUDIT_SHOWN) -> tuple[AuditLine, ...]:
    """The latest audit entries: when, who, what. Only a changed setting's new value is shown;
    other details (counts of erased rows, report contents) stay out of the App Home."""
    entries = session.exec(
        select(AuditEntry)
        .order_by(col(AuditEntry.at).desc(), col(AuditEntry.id).desc())
        .limit(limit)
    ).all()
    return tuple(
        AuditLine(
            at=entry.at,
            actor=entry.actor,
            action=entry.action,
            target=entry.target,
            value=_new_value(entry),
        )
        for entry in entries
    )


def _new_value(entry: AuditEntry) -> str | None:
    if entry.action != "setting.change" or not entry.details:
        return None
    try:
        after = json.loads(entry.details).get("after")
    except (ValueError, AttributeError):
        return None
    return json.dumps(after, sort_keys=True, separators=(", ", ": "))
