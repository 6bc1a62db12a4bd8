"""``/ai-roi``: acknowledged at once, answered only to the caller."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from bot.context import AppContext
from bot.digest.weekly_facts import facts_for
from bot.domain.reflection import template_reflection
from bot.domain.weeks import last_complete_week
from bot.errors import AiRoiError
from bot.slack import ids
from bot.slack.blocks.digest import digest_message
from bot.slack.people import is_admin, person_for_slack_user
from bot.slack.team_command import team_command_answer
from bot.store.db import transaction

log = logging.getLogger(__name__)

HELP = (
    "*/ai-roi* — team AI outcomes, private to you.\n"
    "• `/ai-roi` — the teams you lead, last complete week and a 4-week trend\n"
    "• `/ai-roi team NAME` — one team you lead (admins: any team, or `org`)\n"
    "• `/ai-roi weeks N` — the last N weeks (1–12)\n"
    "• `/ai-roi me` — your own numbers, only to you\n"
    "• `/ai-roi help` — this help\n"
    "Team figures appear only for groups with enough active members; nobody is ranked."
)


def handle(context: AppContext, client: WebClient, user_id: str, text: str) -> dict[str, Any]:
    """The ephemeral answer for one invocation (plain dict for ``respond``)."""
    words = text.split()
    sub = words[0].lower() if words else ""
    if sub in ("help", "?"):
        return {"response_type": "ephemeral", "text": HELP}
    if sub == "me":
        return my_numbers(context, client, user_id)
    if sub in ("", "team", "weeks"):
        return team_answer(context, client, user_id, words)
    return {"response_type": "ephemeral", "text": f"I don't know `{sub}`.\n\n{HELP}"}


def my_numbers(context: AppContext, client: WebClient, user_id: str) -> dict[str, Any]:
    week = last_complete_week(context.clock(), context.settings.timezone)
    with transaction(context.engine) as session:
        person = person_for_slack_user(session, client, user_id)
        if person is None:
            return {
                "response_type": "ephemeral",
                "text": "I could not find your email in ai-roi yet.",
            }
        facts = facts_for(session, person, week, context.settings.timezone)
    blocks, text = digest_message(
        facts, template_reflection(facts, week_label=week.label()), week_label=week.label()
    )
    blocks = [b for b in blocks if b["type"] != "actions"]
    return {"response_type": "ephemeral", "text": text, "blocks": blocks}


def team_answer(
    context: AppContext, client: WebClient, user_id: str, words: list[str]
) -> dict[str, Any]:
    admin = is_admin(context.settings, client, user_id)
    try:
        return team_command_answer(context, client, user_id, words, admin=admin)
    except AiRoiError as exc:
        return {"response_type": "ephemeral", "text": str(exc)}


def register(app: App, context: AppContext) -> None:
    def command(ack: Ack, body: dict[str, Any], respond: Respond, client: WebClient) -> None:
        ack()
        try:
            answer = handle(context, client, body["user_id"], body.get("text") or "")
        except Exception:
            log.exception("/ai-roi failed")
            answer = {
                "response_type": "ephemeral",
                "text": "Something went wrong on our side; please try again.",
            }
        respond(**answer)

    app.command(ids.COMMAND)(command)
