"""Buttons: the digest's (useful, not useful, snooze, share with lead, details) and the App
Home's (opt out, unsnooze, export, delete, admin thresholds)."""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.webhook import WebhookClient
from sqlmodel import Session

from bot.context import AppContext
from bot.digest.weekly_facts import facts_for
from bot.domain.weeks import parse_week
from bot.slack import ids
from bot.slack.blocks.home import delete_confirm_modal, details_modal
from bot.slack.home_service import publish_home
from bot.slack.people import person_for_slack_user
from bot.store import audit
from bot.store.db import transaction
from bot.store.deliveries import get_delivery
from bot.store.export import export_person
from bot.store.people import display_name, leads_of

log = logging.getLogger(__name__)
SNOOZE = timedelta(weeks=4)


def _user(body: dict[str, Any]) -> str:
    return str(body["user"]["id"])


def _week_value(body: dict[str, Any]) -> str:
    return str(parse_week(body["actions"][0]["value"]))


def _ephemeral(client: WebClient, body: dict[str, Any], text: str) -> None:
    """A short confirmation only the presser sees, where the button was pressed: through the
    message's response_url when it has one, else as an ephemeral message in that channel."""
    response_url = body.get("response_url")
    if response_url:
        WebhookClient(response_url, timeout=10).send(
            text=text, response_type="ephemeral", replace_original=False
        )
        return
    channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get(
        "channel_id"
    )
    if channel:
        client.chat_postEphemeral(channel=channel, user=_user(body), text=text)


def feedback(context: AppContext, client: WebClient, body: dict[str, Any], value: str) -> None:
    with transaction(context.engine) as session:
        person = person_for_slack_user(session, client, _user(body))
        delivery = (
            get_delivery(session, person.id, _week_value(body)) if person and person.id else None
        )
        if delivery is not None:
            delivery.feedback = value
            session.add(delivery)
    _ephemeral(
        client,
        body,
        "Thanks, noted." if value == "useful" else "Thanks, noted. We'll use it to do better.",
    )


def snooze(context: AppContext, client: WebClient, body: dict[str, Any]) -> None:
    until = context.clock() + SNOOZE
    with transaction(context.engine) as session:
        person = person_for_slack_user(session, client, _user(body))
        if person is not None:
            person.snoozed_until = until
            session.add(person)
    _ephemeral(
        client, body, f"Snoozed: no digest until {until:%b %d}. Unsnooze any time in the App Home."
    )


def share_with_lead(context: AppContext, client: WebClient, body: dict[str, Any]) -> None:
    """Only by this person's press: their reflection goes to their lead(s) by DM, with their name."""
    week = _week_value(body)
    with transaction(context.engine) as session:
        person = person_for_slack_user(session, client, _user(body))
        delivery = get_delivery(session, person.id, week) if person and person.id else None
        if person is None or delivery is None or not delivery.text:
            _ephemeral(client, body, "I could not find that digest to share.")
            return
        leads = leads_of(session, int(person.id or 0))
        lead_ids = sorted({lead.slack_user_id for lead in leads if lead.slack_user_id})
        if not lead_ids:
            _ephemeral(
                client,
                body,
                "You have no lead with a Slack account in ai-roi, so nothing was shared.",
            )
            return
        # The audit row commits before any lead sees the reflection: no share goes unrecorded.
        audit.record(
            session,
            actor=_user(body),
            action=audit.SHARE_WITH_LEAD,
            target=f"person:{person.id}",
            details={"week": week, "leads": lead_ids},
            now=context.clock(),
        )
        text = f"{display_name(person)} shared their AI week ({week}) with you:\n\n{delivery.text}"
        person_id = int(person.id or 0)
    reached = 0
    for lead_id in lead_ids:
        try:
            client.chat_postMessage(channel=lead_id, text=text, unfurl_links=False)
            reached += 1
        except SlackApiError as exc:
            log.warning("share with lead: Slack refused the DM (%s)", exc.response.get("error"))
    if not reached:
        _ephemeral(client, body, "Slack did not deliver it to your lead, so nothing was shared.")
        return
    with transaction(context.engine) as session:
        shared = get_delivery(session, person_id, week)
        if shared is not None:
            shared.shared_with_lead_at = context.clock()
            session.add(shared)
    missed = len(lead_ids) - reached
    _ephemeral(
        client,
        body,
        f"Shared with {reached} lead{'s' if reached > 1 else ''}."
        + (f" Slack did not deliver it to {missed} of them." if missed else ""),
    )


def details(context: AppContext, client: WebClient, body: dict[str, Any]) -> None:
    week = parse_week(_week_value(body))
    with transaction(context.engine) as session:
        person = person_for_slack_user(session, client, _user(body))
        if person is None:
            return
        facts = facts_for(session, person, week, context.settings.timezone)
    client.views_open(trigger_id=body["trigger_id"], view=details_modal(facts, week.label()))


def toggle_opt_out(context: AppContext, client: WebClient, body: dict[str, Any]) -> None:
    with transaction(context.engine) as session:
        person = person_for_slack_user(session, client, _user(body))
        if person is not None:
            person.opted_out = not person.opted_out
            session.add(person)
    publish_home(context, client, _user(body))


def unsnooze(context: AppContext, client: WebClient, body: dict[str, Any]) -> None:
    with transaction(context.engine) as session:
        person = person_for_slack_user(session, client, _user(body))
        if person is not None:
            person.snoozed_until = None
            session.add(person)
    publish_home(context, client, _user(body))


def export(context: AppContext, client: WebClient, body: dict[str, Any]) -> None:
    user_id = _user(body)
    with Session(context.engine) as session:
        person = person_for_slack_user(session, client, user_id)
        data = export_person(session, person) if person else {}
    channel = client.conversations_open(users=user_id)["channel"]["id"]
    client.files_upload_v2(
        channel=channel,
        filename="ai-roi-my-data.json",
        content=json.dumps(data, indent=2),
        title="Your ai-roi data",
        initial_comment="Everything ai-roi holds about you.",
    )


def register(app: App, context: AppContext) -> None:
    def bind(action_id: str, handler: Any) -> None:
        def listener(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
            ack()
            handler(context, client, body)

        app.action(action_id)(listener)

    bind(ids.DIGEST_USEFUL, lambda c, cl, b: feedback(c, cl, b, "useful"))
    bind(ids.DIGEST_NOT_USEFUL, lambda c, cl, b: feedback(c, cl, b, "not_useful"))
    bind(ids.DIGEST_SNOOZE, snooze)
    bind(ids.DIGEST_SHARE, share_with_lead)
    bind(ids.DIGEST_DETAILS, details)
    bind(ids.HOME_OPT_OUT, toggle_opt_out)
    bind(ids.HOME_UNSNOOZE, unsnooze)
    bind(ids.HOME_EXPORT, export)

    def open_delete(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        client.views_open(trigger_id=body["trigger_id"], view=delete_confirm_modal())

    app.action(ids.HOME_DELETE)(open_delete)
