"""Modal submissions: delete my data, and the admin thresholds (re-checked: forged ones are refused)."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.context import AppContext
from bot.domain.nudges import Thresholds, validate_thresholds
from bot.slack import ids
from bot.slack.blocks.home import THRESHOLD_LABELS
from bot.slack.listeners.events import publish_home
from bot.slack.people import is_admin, person_for_slack_user
from bot.store.db import transaction
from bot.store.forget import forget_person
from bot.store.models import Person
from bot.store.workspace import THRESHOLDS, set_setting

log = logging.getLogger(__name__)


def submitted_values(view: dict[str, Any]) -> dict[str, str]:
    values = (view.get("state") or {}).get("values") or {}
    return {
        block: (fields.get("value") or {}).get("value") or "" for block, fields in values.items()
    }


def parse_numbers(raw: dict[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    parsed: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for name in THRESHOLD_LABELS:
        text = raw.get(name, "").strip()
        try:
            number = float(text)
        except ValueError:
            errors[name] = "Enter a number."
            continue
        parsed[name] = int(number) if number.is_integer() else number
    errors.update({k: v for k, v in validate_thresholds(parsed).items() if k not in errors})
    return parsed, errors


def register(app: App, context: AppContext) -> None:
    def delete_my_data(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        user_id = body["user"]["id"]
        with transaction(context.engine) as session:
            person = person_for_slack_user(session, client, user_id)
            if person is not None:
                email, slack_user_id = person.email, person.slack_user_id
                forget_person(session, person.email, actor=user_id, now=context.clock())
                # Keep only who they are and that they want nothing, so the next Slack sync or
                # incoming usage does not quietly sign them up for digests again.
                session.add(Person(email=email, slack_user_id=slack_user_id, opted_out=True))
        publish_home(context, client, user_id)

    def save_thresholds(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        user_id = body["user"]["id"]
        if not is_admin(context.settings, client, user_id):
            ack(
                response_action="errors",
                errors={next(iter(THRESHOLD_LABELS)): "Only admins can change thresholds."},
            )
            log.warning("refused a thresholds change from non-admin %s", user_id)
            return
        parsed, errors = parse_numbers(submitted_values(body["view"]))
        if errors:
            ack(response_action="errors", errors=errors)
            return
        ack()
        with transaction(context.engine) as session:
            set_setting(
                session,
                THRESHOLDS,
                Thresholds.from_json(parsed).to_json(),
                actor=user_id,
                now=context.clock(),
            )
        publish_home(context, client, user_id)

    app.view(ids.DELETE_CONFIRM_VIEW)(delete_my_data)
    app.view(ids.THRESHOLDS_VIEW)(save_thresholds)
