"""My settings (App Home, everyone): digest day and time, snooze until a date, and the
share-with-lead default, in one modal. A person only ever changes their own record."""

from __future__ import annotations

import logging
import re
from datetime import date, timedelta
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.context import AppContext
from bot.domain.schedule import MINUTES_PER_DAY
from bot.slack import ids
from bot.slack.blocks.home import SHARE_DEFAULT
from bot.slack.home_service import (
    local_date,
    my_settings_view,
    person_slot,
    person_zone,
    start_of_day,
)
from bot.slack.listeners.events import publish_home
from bot.slack.people import person_for_slack_user
from bot.store.db import transaction

log = logging.getLogger(__name__)

MAX_SNOOZE = timedelta(days=366)
CLOCK_TIME = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


# Reading a submitted view (pure) ------------------------------------------------------------


def element_state(view: dict[str, Any], block_id: str) -> dict[str, Any]:
    """The state of the input in ``block_id`` (its action_id is always ``value``)."""
    values = (view.get("state") or {}).get("values") or {}
    state = (values.get(block_id) or {}).get("value")
    return state if isinstance(state, dict) else {}


def selected_value(view: dict[str, Any], block_id: str) -> str | None:
    """A static_select's or radio_buttons' chosen value."""
    option = element_state(view, block_id).get("selected_option")
    return str(option.get("value")) if isinstance(option, dict) else None


def text_value(view: dict[str, Any], block_id: str) -> str:
    """A plain_text_input's or number_input's text, stripped."""
    value = element_state(view, block_id).get("value")
    return value.strip() if isinstance(value, str) else ""


def parse_weekday(raw: str | None) -> int | None:
    return int(raw) if raw is not None and raw.isdigit() and int(raw) <= 6 else None


def parse_clock_time(raw: object) -> int | None:
    """Minutes after midnight for a timepicker's ``HH:MM``, or None."""
    match = CLOCK_TIME.match(raw) if isinstance(raw, str) else None
    if match is None:
        return None
    minute = int(match.group(1)) * 60 + int(match.group(2))
    return minute if minute < MINUTES_PER_DAY else None


def parse_whole_number(raw: str) -> int | None:
    return int(raw) if raw.isdigit() and len(raw) <= 9 else None


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
        person = person_for_slack_user(session, client, user_id)
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
