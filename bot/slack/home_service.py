"""Gather what the App Home shows for one person (I/O), then build it with the pure builders:
their week, their last digest, their settings, and for admins the admin section."""

from __future__ import annotations

import json
import logging
from datetime import UTC, date, datetime, time, tzinfo
from typing import Any

from slack_sdk import WebClient
from sqlmodel import Session

from bot.connectors.status import source_overview
from bot.context import AppContext
from bot.digest.summarizer_config import llm_config
from bot.digest.weekly_facts import facts_for
from bot.domain.ai_history import alt_text, chart_weeks
from bot.domain.schedule import Schedule, personal_schedule
from bot.domain.weeks import Week, parse_week, week_of
from bot.domain.workspace_settings import DEFAULT_RETENTION_DAYS
from bot.errors import ConfigError
from bot.slack.blocks.admin_home import AdminState, AuditLine, SourceStatus
from bot.slack.blocks.home import HomeState, home_view, my_settings_modal
from bot.slack.people import is_admin, person_for_slack_user
from bot.store import ai_history, ai_rules, audit, digest_history, workspace
from bot.store.db import transaction
from bot.store.models import AuditEntry, Delivery, Person
from bot.store.people import display_name, person_zone

log = logging.getLogger(__name__)

AUDIT_SHOWN = 10


# Settings in force --------------------------------------------------------------------------


def retention_shown(session: Session) -> int:
    """The retention period for the App Home; an unreadable stored value shows the default
    (the purge itself refuses to run on it, ``bot.store.workspace.retention_days``)."""
    try:
        return workspace.retention_days(session)
    except ConfigError:
        log.warning("retention_days is unreadable; the App Home shows the default")
        return DEFAULT_RETENTION_DAYS


def person_slot(session: Session, person: Person) -> tuple[Schedule, bool]:
    """The person's slot in force, and whether it is their own choice."""
    default = workspace.default_schedule(session)
    own = person.digest_weekday is not None or person.digest_minute is not None
    try:
        return personal_schedule(person.digest_weekday, person.digest_minute, default), own
    except ValueError:
        return default, False


def local_date(instant: datetime, tz: tzinfo) -> date:
    return instant.astimezone(tz).date()


def start_of_day(day: date, tz: tzinfo) -> datetime:
    """Local midnight of ``day`` in ``tz``, as UTC."""
    return datetime.combine(day, time(0, 0), tzinfo=tz).astimezone(UTC)


def deleted_at(session: Session, slack_user_id: str | None) -> datetime | None:
    """When this Slack user last deleted their own data from the App Home, if ever."""
    return audit.last_forget_by(session, slack_user_id) if slack_user_id else None


# The App Home ---------------------------------------------------------------------------------


def publish_home(context: AppContext, client: WebClient, user_id: str) -> None:
    """Build this person's App Home and publish it (``views.publish``)."""
    admin = is_admin(context.settings, client, user_id)
    with transaction(context.engine) as session:
        person = person_for_slack_user(session, client, user_id)
        view = home_for(context, session, person, admin=admin)
    client.views_publish(user_id=user_id, view=view)


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
    k = workspace.min_group_size(session)
    retention = retention_shown(session)
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
    last = digest_history.last_sent(session, int(person.id or 0))
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
            last_digest_chart=last_chart(session, person, last, tz),
        )
    )


def last_chart(
    session: Session, person: Person, last: Delivery | None, tz: tzinfo
) -> tuple[str, str] | None:
    """The chart the last digest showed, uploaded with it (never uploaded again), and its alt
    text from the same eight weeks."""
    if last is None or not last.chart_file_id or person.id is None:
        return None
    weeks = chart_weeks(parse_week(last.week))
    history = ai_history.ai_history(session, [person.id], weeks, tz).get(person.id)
    if not history:
        return None  # the data behind it was deleted since: show no chart of it
    return last.chart_file_id, alt_text(history)


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


def admin_values(context: AppContext, session: Session) -> dict[str, Any]:
    """Every admin setting's value in force, as the App Home and its modals show it (the model
    falls back to ``OPENAI_MODEL``)."""
    values = workspace.values_shown(session)
    values[workspace.LLM_MODEL] = llm_config(context.settings, session).model
    return values


def admin_state_for(context: AppContext, session: Session, week: Week) -> AdminState:
    tokens_in, tokens_out, digests = summarizer_spend(session, week, context.settings.timezone)
    return AdminState(
        values=admin_values(context, session),
        llm_has_key=bool(context.settings.openai_api_key),
        week_label=week.label(),
        summarizer_input_tokens=tokens_in,
        summarizer_output_tokens=tokens_out,
        summarizer_digests=digests,
        sources=source_statuses(context, session),
        audit=recent_audit(session),
        rules=tuple(ai_rules.list_rules(session)),
    )


def source_statuses(context: AppContext, session: Session) -> tuple[SourceStatus, ...]:
    """Every source that sent events, and every pull connector that is configured or has run."""
    shown = []
    for overview in source_overview(session, context.settings, now=context.clock()):
        health, state = overview.health, overview.state
        pulled = overview.kind == "pull"
        if pulled and not overview.configured and state is None and health is None:
            continue  # a connector nobody set up: `ai-roi sources` lists those
        shown.append(
            SourceStatus(
                source=overview.source,
                last_event_at=health.last_event_at if health else None,
                events=health.events if health else 0,
                unattributed_events=health.unattributed_events if health else 0,
                unmapped=tuple(
                    f"{kind}:{value}" for kind, value, _ in health.unattributed_identities
                )
                if health
                else (),
                pulled=pulled,
                configured=overview.configured,
                watermark=state.watermark if state else None,
                last_success_at=state.last_success_at if state else None,
                last_error=state.last_error if state else None,
                failures=state.consecutive_failures if state else 0,
            )
        )
    return tuple(shown)


def summarizer_spend(session: Session, week: Week, tz: tzinfo) -> tuple[int, int, int]:
    """Tokens the summarizer itself spent on digests written this ISO week, and how many."""
    start, end = week.bounds(tz)
    return digest_history.summarizer_spend(session, start, end)


def recent_audit(session: Session, limit: int = AUDIT_SHOWN) -> tuple[AuditLine, ...]:
    """The latest audit entries: when, who, what. Only a changed setting's new value is shown;
    other details (counts of erased rows, report contents) stay out of the App Home."""
    entries = audit.recent(session, limit)
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
    if entry.action != audit.SETTING_CHANGE or not entry.details:
        return None
    try:
        after = json.loads(entry.details).get("after")
    except (ValueError, AttributeError):
        return None
    return json.dumps(after, sort_keys=True, separators=(", ", ": "))
