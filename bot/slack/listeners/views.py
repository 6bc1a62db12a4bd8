"""Modal submissions: delete my data (the admin settings' modals are in ``listeners.admin``)."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.context import AppContext
from bot.slack import ids
from bot.slack.forget_charts import delete_charts
from bot.slack.home_service import publish_home
from bot.slack.people import person_for_slack_user
from bot.store.db import transaction
from bot.store.forget import chart_files, forget_person
from bot.store.models import Person

log = logging.getLogger(__name__)


def register(app: App, context: AppContext) -> None:
    def delete_my_data(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        user_id = body["user"]["id"]
        charts: list[str] = []
        with transaction(context.engine) as session:
            person = person_for_slack_user(session, client, user_id)
            if person is not None:
                email, slack_user_id = person.email, person.slack_user_id
                charts = chart_files(session, email)
                forget_person(session, email, actor=user_id, now=context.clock())
                # Keep only who they are and that they want nothing, so the next Slack sync or
                # incoming usage does not quietly sign them up for digests again.
                session.add(Person(email=email, slack_user_id=slack_user_id, opted_out=True))
        publish_home(context, client, user_id)
        if charts:
            result = delete_charts(client, charts)
            if result.left:
                log.warning(
                    "delete my data: %d chart images stay in Slack (%s); delete these files: %s",
                    len(result.left),
                    result.reason,
                    ", ".join(result.left),
                )

    app.view(ids.DELETE_CONFIRM_VIEW)(delete_my_data)
