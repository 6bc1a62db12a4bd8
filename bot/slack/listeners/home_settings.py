"""My settings (App Home, everyone): digest day and time, snooze until a date, and the
share-with-lead default, in one modal. A person only ever changes their own record."""

from __future__ import annotations

import logging
from datetime import date, timedelta
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.context import AppContext
from bot.domain.workspace_settings import parse_clock_time, parse_weekday
from bot.slack import ids
from bot.slack.blocks.home import SHARE_DEFAULT
from bot.slack.home_service import (
    local_date,
    my_settings_view,
    person_slot,
    publish_home,
    start_of_day,
)
from bot.slack.people import person_for_slack_user
from bot.slack.view_state import element_state, selected_value
from bot.store.db import transaction
from bot.store.people import person_by_slack_id, person_zone

log = logging.getLogger(__name__)

MAX_SNOOZE = timedelta(days=366)


def parse_my_settings(
    view: dict[str, Any], *, today: date
) -> tuple[dict[str, Any], dict[str, str]]:
    """``({weekday, minute, snooze_until, share}, errors by block_id)``."""
    errors: dict[str, str] = {}
    weekday = parse_weekday(selected_value(view, "digest_weekday"))
    if weekday is None:
        errors["digest_weekday"] = "Pick a day of the week."
    minute = parse_clock_time(element_state(view, "digest_time").get("selected_time"))
    if minute is None:
        errors["digest_time"] = "Pick a time."
    snooze: date | None = None
    raw_date = element_state(view, "snooze_until").get("selected_date")
    if raw_date:
        try:
            snooze = date.fromisoformat(str(raw_date))
        except ValueError:
            errors["snooze_until"] = "Pick a date."
        else:
            if snooze <= today:
                errors["snooze_until"] = "Pick a date after today, or leave it empty."
            elif snooze > today + MAX_SNOOZE:
                errors["snooze_until"] = "Snooze at most a year ahead."
    chosen = element_state(view, "share_with_lead").get("selected_options") or []
    share = any(isinstance(o, dict) and o.get("value") == SHARE_DEFAULT for o in chosen)
    return {"weekday": weekday, "minute": minute, "snooze_until": snooze, "share": share}, errors


# Handlers -------------------------------------------------------------------------------------


def open_my_settings(context: AppContext, client: WebClient, body: dict[str, Any]) -> None:
    with transaction(context.engine) as session:
        person = person_for_slack_user(session, client, body["user"]["id"])
        view = my_settings_view(context, session, person) if person is not None else None
    if view is not None:
        client.views_open(trigger_id=body["trigger_id"], view=view)


def save_my_settings(
    context: AppContext, ack: Ack, client: WebClient, body: dict[str, Any]
) -> None:
    user_id = body["user"]["id"]
    now = context.clock()
    with transaction(context.engine) as session:
        # Opening the modal linked this Slack user to their person: no Slack call before the ack.
        person = person_by_slack_id(session, user_id)
        if person is None:
            ack(
                response_action="errors",
                errors={"digest_weekday": "Your Slack account matches nobody in ai-roi yet."},
            )
            return
        zone = person_zone(person, context.settings.timezone)
        parsed, errors = parse_my_settings(body["view"], today=local_date(now, zone))
        if errors:
            ack(response_action="errors", errors=errors)
            return
        slot, own = person_slot(session, person)
        if own or (parsed["weekday"], parsed["minute"]) != (slot.weekday, slot.minute):
            person.digest_weekday = parsed["weekday"]
            person.digest_minute = parsed["minute"]
        snooze = parsed["snooze_until"]
        person.snoozed_until = start_of_day(snooze, zone) if snooze else None
        person.share_with_lead_default = parsed["share"]
        session.add(person)
    ack()
    publish_home(context, client, user_id)


def register(app: App, context: AppContext) -> None:
    def my_settings_button(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        open_my_settings(context, client, body)

    def my_settings_submitted(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        save_my_settings(context, ack, client, body)

    app.action(ids.HOME_MY_SETTINGS)(my_settings_button)
    app.view(ids.MY_SETTINGS_VIEW)(my_settings_submitted)
