"""Admin settings from the App Home: thresholds, minimum group size, default schedule, LLM,
retention. Each is one ``AdminSetting`` row below.

Who is an admin is checked afresh (``is_admin``: ``ADMIN_USER_IDS`` or a workspace owner/admin)
on every button press (after its ack) and again on every submission, so a forged
``block_actions`` or ``view_submission`` from anyone else opens nothing and changes nothing.
Values are validated with field-level errors (``response_action: errors``); each change goes
through ``bot.store.workspace.save``, which writes the audit log.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient
from sqlmodel import Session

from bot.context import AppContext
from bot.digest.summarizer_config import llm_config
from bot.domain.workspace_settings import (
    check_min_group_size,
    check_model,
    check_retention_days,
    check_schedule,
    check_thresholds,
)
from bot.slack import ids
from bot.slack.blocks.admin_home import (
    LLM_OFF,
    LLM_ON,
    llm_modal,
    min_group_size_modal,
    retention_modal,
    schedule_modal,
)
from bot.slack.blocks.home import THRESHOLD_LABELS, thresholds_modal
from bot.slack.home_service import publish_home, retention_shown
from bot.slack.people import is_admin, remembered_admin
from bot.slack.view_state import element_state, selected_value, text_value, text_values
from bot.store import workspace
from bot.store.db import transaction

log = logging.getLogger(__name__)

NOT_AN_ADMIN = "Only workspace admins can change this setting."

View = dict[str, Any]
Parsed = tuple[dict[str, Any], dict[str, str]]  # (setting key → new value, block_id → error)


# Reading a submitted modal (the checks themselves are pure, in bot.domain) -----------------


def parse_min_group_size(view: View) -> Parsed:
    number, error = check_min_group_size(text_value(view, "min_group_size"))
    return ({}, {"min_group_size": error}) if error else ({workspace.MIN_GROUP_SIZE: number}, {})


def parse_schedule(view: View) -> Parsed:
    schedule, errors = check_schedule(
        selected_value(view, "weekday"), element_state(view, "time").get("selected_time")
    )
    if schedule is None:
        return {}, errors
    return {workspace.DIGEST_SCHEDULE: schedule.to_json()}, {}


def parse_llm(view: View) -> Parsed:
    errors: dict[str, str] = {}
    choice = selected_value(view, "llm_enabled")
    if choice not in (LLM_ON, LLM_OFF):
        errors["llm_enabled"] = "Pick on or off."
    model, error = check_model(text_value(view, "llm_model"))
    if error:
        errors["llm_model"] = error
    if errors:
        return {}, errors
    return {workspace.LLM_ENABLED: choice == LLM_ON, workspace.LLM_MODEL: model}, {}


def parse_retention(view: View) -> Parsed:
    days, error = check_retention_days(text_value(view, "retention_days"))
    return ({}, {"retention_days": error}) if error else ({workspace.RETENTION_DAYS: days}, {})


def parse_thresholds(view: View) -> Parsed:
    chosen, errors = check_thresholds(text_values(view), list(THRESHOLD_LABELS))
    if chosen is None:
        return {}, errors
    return {workspace.THRESHOLDS: chosen.to_json()}, {}


# Modals ----------------------------------------------------------------------------------


def _k_modal(context: AppContext, session: Session) -> View:
    return min_group_size_modal(workspace.min_group_size(session))


def _schedule_modal(context: AppContext, session: Session) -> View:
    schedule = workspace.default_schedule(session)
    return schedule_modal(schedule.weekday, schedule.minute)


def _llm_modal(context: AppContext, session: Session) -> View:
    config = llm_config(context.settings, session)
    return llm_modal(config.enabled, config.model, config.has_key)


def _retention_modal(context: AppContext, session: Session) -> View:
    return retention_modal(retention_shown(session))


def _thresholds_modal(context: AppContext, session: Session) -> View:
    return thresholds_modal(workspace.thresholds(session).to_json())


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
    AdminSetting(
        ids.HOME_EDIT_THRESHOLDS,
        ids.THRESHOLDS_VIEW,
        next(iter(THRESHOLD_LABELS)),
        _thresholds_modal,
        parse_thresholds,
    ),
)


# Handlers --------------------------------------------------------------------------------


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
    """Check the submission (field errors go back in the ack), store it, ack, republish.

    Admin rights are re-checked before the ack from what this process already knows (the
    verdict given when the modal was opened); only a submission that arrives with no such
    verdict asks Slack (``users.info``) first."""
    user_id = body["user"]["id"]
    if not remembered_admin(context.settings, client, user_id):
        log.warning("refused a %s submission from non-admin %s", setting.callback_id, user_id)
        ack(response_action="errors", errors={setting.first_block: NOT_AN_ADMIN})
        return
    changes, errors = setting.parse(body["view"])
    if errors:
        ack(response_action="errors", errors=errors)
        return
    with transaction(context.engine) as session:  # one row: stored before the ack answers
        workspace.save(session, changes, actor=user_id, now=context.clock())
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
