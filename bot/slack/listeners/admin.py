"""Admin settings from the App Home: one button and one modal per group of
``bot.domain.workspace_settings.SETTINGS`` (thresholds, minimum group size, default schedule, LLM,
retention, digest grace period), all drawn and checked from that table.

Who is an admin is checked afresh (``is_admin``: ``ADMIN_USER_IDS`` or a workspace owner/admin)
on every button press (after its ack) and again on every submission, so a forged
``block_actions`` or ``view_submission`` from anyone else opens nothing and changes nothing.

Every listener acknowledges before any Slack call. A submission is checked from its own values
(field errors go back in the ack, ``response_action: errors``). When this process already knows
the user's verdict (``known_admin``: ``ADMIN_USER_IDS``, or the verdict given when the modal was
opened) a non-admin is refused in the ack and an admin's change is stored before it; when it does
not (another replica drew the modal, or a restart), the ack comes first, then ``users.info``:
an admin's change is stored and their App Home republished, a non-admin's changes nothing and
gets no answer (only admins are ever shown these modals, so this is a forged or revoked request;
it is logged). Each change goes through ``bot.store.workspace.save``, which writes the audit log.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient
from sqlmodel import Session

from bot.context import AppContext
from bot.digest.summarizer_config import llm_config
from bot.domain.workspace_settings import BY_KEY, GROUPS, LLM_ENABLED, Input, check_group
from bot.slack import ids
from bot.slack.blocks.admin_home import settings_modal
from bot.slack.home_service import admin_values, publish_home
from bot.slack.people import is_admin, known_admin
from bot.slack.view_state import submitted
from bot.store import workspace
from bot.store.db import transaction

log = logging.getLogger(__name__)

NOT_AN_ADMIN = "Only workspace admins can change this setting."

View = dict[str, Any]


def inputs_of(group: str) -> tuple[Input, ...]:
    return tuple(one for setting in GROUPS[group] for one in setting.inputs)


def modal_for(context: AppContext, session: Session, group: str) -> View:
    """The group's modal with the values in force (and, for the LLM, whether a key is set)."""
    note = None
    if group == BY_KEY[LLM_ENABLED].group:
        note = (
            "An OPENAI_API_KEY is configured."
            if llm_config(context.settings, session).has_key
            else "No OPENAI_API_KEY is configured, so the template writes every reflection."
        )
    return settings_modal(group, admin_values(context, session), note=note)


# Handlers --------------------------------------------------------------------------------


def open_modal(context: AppContext, client: WebClient, body: dict[str, Any], group: str) -> None:
    """After the ack: check admin rights (``users.info``), then open the group's modal."""
    user_id = body["user"]["id"]
    if not is_admin(context.settings, client, user_id):
        log.warning("refused %s from non-admin %s", ids.admin_action(group), user_id)
        return
    with Session(context.engine) as session:
        view = modal_for(context, session, group)
    client.views_open(trigger_id=body["trigger_id"], view=view)


def _store(context: AppContext, user_id: str, changes: dict[str, Any]) -> None:
    with transaction(context.engine) as session:
        workspace.save(session, changes, actor=user_id, now=context.clock())


def save(
    context: AppContext, ack: Ack, client: WebClient, body: dict[str, Any], group: str
) -> None:
    """Ack first (with field errors or a refusal when they can be told without Slack), then the
    rest: see the module docstring."""
    user_id = body["user"]["id"]
    verdict = known_admin(context.settings, user_id)
    if verdict is False:
        log.warning("refused a %s submission from non-admin %s", ids.admin_view(group), user_id)
        ack(response_action="errors", errors={inputs_of(group)[0].name: NOT_AN_ADMIN})
        return
    changes, errors = check_group(group, submitted(body["view"], inputs_of(group)))
    if errors:
        ack(response_action="errors", errors=errors)
        return
    if verdict is None:
        ack()
        if not is_admin(context.settings, client, user_id):
            log.warning("refused a %s submission from non-admin %s", ids.admin_view(group), user_id)
            return
        _store(context, user_id, changes)
    else:
        _store(context, user_id, changes)  # the database only: stored before the ack answers
        ack()
    publish_home(context, client, user_id)


def register(app: App, context: AppContext) -> None:
    # Bolt fills listener arguments by name, so each listener closes over its group.
    def bind(group: str) -> None:
        def pressed(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
            ack()
            open_modal(context, client, body, group)

        def submitted_view(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
            save(context, ack, client, body, group)

        app.action(ids.admin_action(group))(pressed)
        app.view(ids.admin_view(group))(submitted_view)

    for group in GROUPS:
        bind(group)
