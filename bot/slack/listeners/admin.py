"""Admin settings from the App Home: minimum group size, default schedule, LLM, retention.

Who is an admin is checked afresh (``is_admin``: ``ADMIN_USER_IDS`` or a workspace owner/admin)
on every button press and again on every submission, so a forged ``block_actions`` or
``view_submission`` from anyone else opens nothing and changes nothing. Values are validated
with field-level errors (``response_action: errors``); each change goes through
``set_setting``, which writes the audit log.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient
from sqlmodel import Session

from bot.context import AppContext
from bot.digest.summarizer_config import MAX_MODEL_LENGTH, llm_config
from bot.domain.schedule import Schedule
from bot.slack import ids
from bot.slack.blocks.admin_home import (
    LLM_OFF,
    LLM_ON,
    MAX_K,
    MAX_RETENTION_DAYS,
    MIN_K,
    MIN_RETENTION_DAYS,
    llm_modal,
    min_group_size_modal,
    retention_modal,
    schedule_modal,
)
from bot.slack.home_service import default_schedule, retention_days
from bot.slack.listeners.events import publish_home
from bot.slack.listeners.home_settings import (
    element_state,
    parse_clock_time,
    parse_weekday,
    parse_whole_number,
    selected_value,
    text_value,
)
from bot.slack.people import is_admin
from bot.store.db import transaction
from bot.store.workspace import (
    DIGEST_SCHEDULE,
    LLM_ENABLED,
    LLM_MODEL,
    MIN_GROUP_SIZE,
    RETENTION_DAYS,
    get_setting,
    set_setting,
)
from bot.teams.report import min_group_size

log = logging.getLogger(__name__)

NOT_AN_ADMIN = "Only workspace admins can change this setting."
MODEL_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/@+-]*$")

View = dict[str, Any]
Parsed = tuple[dict[str, Any], dict[str, str]]  # (setting key → new value, block_id → error)


# Validation (pure) ------------------------------------------------------------------------


def parse_min_group_size(view: View) -> Parsed:
    number = parse_whole_number(text_value(view, "min_group_size"))
    if number is None:
        return {}, {"min_group_size": "Enter a whole number."}
    if number < MIN_K:
        return {}, {"min_group_size": f"At least {MIN_K}: smaller groups could single people out."}
    if number > MAX_K:
        return {}, {"min_group_size": f"At most {MAX_K}."}
    return {MIN_GROUP_SIZE: number}, {}


def parse_schedule(view: View) -> Parsed:
    errors: dict[str, str] = {}
    weekday = parse_weekday(selected_value(view, "weekday"))
    if weekday is None:
        errors["weekday"] = "Pick a day of the week."
    minute = parse_clock_time(element_state(view, "time").get("selected_time"))
    if minute is None:
        errors["time"] = "Pick a time."
    if errors or weekday is None or minute is None:
        return {}, errors
    return {DIGEST_SCHEDULE: Schedule(weekday=weekday, minute=minute).to_json()}, {}


def parse_llm(view: View) -> Parsed:
    errors: dict[str, str] = {}
    choice = selected_value(view, "llm_enabled")
    if choice not in (LLM_ON, LLM_OFF):
        errors["llm_enabled"] = "Pick on or off."
    model = text_value(view, "llm_model")
    if not model:
        errors["llm_model"] = "Enter a model name, e.g. gpt-4.1-mini."
    elif len(model) > MAX_MODEL_LENGTH or not MODEL_NAME.match(model):
        errors["llm_model"] = "A model name: letters, digits and . _ : / @ + - only."
    if errors:
        return {}, errors
    return {LLM_ENABLED: choice == LLM_ON, LLM_MODEL: model}, {}


def parse_retention(view: View) -> Parsed:
    days = parse_whole_number(text_value(view, "retention_days"))
    if days is None:
        return {}, {"retention_days": "Enter a whole number of days."}
    if days < MIN_RETENTION_DAYS:
        return {}, {"retention_days": f"At least {MIN_RETENTION_DAYS} days."}
    if days > MAX_RETENTION_DAYS:
        return {}, {"retention_days": f"At most {MAX_RETENTION_DAYS} days."}
    return {RETENTION_DAYS: days}, {}


# Modals ----------------------------------------------------------------------------------


def _k_modal(context: AppContext, session: Session) -> View:
    return min_group_size_modal(min_group_size(session))


def _schedule_modal(context: AppContext, session: Session) -> View:
    schedule = default_schedule(session)
    return schedule_modal(schedule.weekday, schedule.minute)


def _llm_modal(context: AppContext, session: Session) -> View:
    config = llm_config(context.settings, session)
    return llm_modal(config.enabled, config.model, config.has_key)


def _retention_modal(context: AppContext, session: Session) -> View:
    return retention_modal(retention_days(session))


@dataclass(frozen=True)
class AdminSetting:
    """One admin modal: the button that opens it, its callback, how it is built and read."""

    action_id: str
    callback_id: str
    first_block: str  # where "only admins" is shown on a refused submission
    build: Callable[[AppContext, Session], View]
    parse: Callable[[View], Parsed]


ADMIN_SETTINGS = (
    AdminSetting(
        ids.ADMIN_MIN_GROUP_SIZE,
        ids.MIN_GROUP_SIZE_VIEW,
        "min_group_size",
        _k_modal,
        parse_min_group_size,
    ),
    AdminSetting(ids.ADMIN_SCHEDULE, ids.SCHEDULE_VIEW, "weekday", _schedule_modal, parse_schedule),
    AdminSetting(ids.ADMIN_LLM, ids.LLM_VIEW, "llm_enabled", _llm_modal, parse_llm),
    AdminSetting(
        ids.ADMIN_RETENTION,
        ids.RETENTION_VIEW,
        "retention_days",
        _retention_modal,
        parse_retention,
    ),
)


# Handlers --------------------------------------------------------------------------------

_UNSET = object()


def open_modal(
    context: AppContext, client: WebClient, body: dict[str, Any], setting: AdminSetting
) -> None:
    user_id = body["user"]["id"]
    if not is_admin(context.settings, client, user_id):
        log.warning("refused %s from non-admin %s", setting.action_id, user_id)
        return
    with Session(context.engine) as session:
        view = setting.build(context, session)
    client.views_open(trigger_id=body["trigger_id"], view=view)


def save(
    context: AppContext, ack: Ack, client: WebClient, body: dict[str, Any], setting: AdminSetting
) -> None:
    user_id = body["user"]["id"]
    if not is_admin(context.settings, client, user_id):
        log.warning("refused a %s submission from non-admin %s", setting.callback_id, user_id)
        ack(response_action="errors", errors={setting.first_block: NOT_AN_ADMIN})
        return
    changes, errors = setting.parse(body["view"])
    if errors:
        ack(response_action="errors", errors=errors)
        return
    now = context.clock()
    with transaction(context.engine) as session:
        for key, value in changes.items():
            if get_setting(session, key, _UNSET) != value:
                set_setting(session, key, value, actor=user_id, now=now)
    ack()
    publish_home(context, client, user_id)


def register(app: App, context: AppContext) -> None:
    # Bolt fills listener arguments by name, so each listener closes over its setting.
    def bind(setting: AdminSetting) -> None:
        def pressed(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
            ack()
            open_modal(context, client, body, setting)

        def submitted(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
            save(context, ack, client, body, setting)

        app.action(setting.action_id)(pressed)
        app.view(setting.callback_id)(submitted)

    for setting in ADMIN_SETTINGS:
        bind(setting)
