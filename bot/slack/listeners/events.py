"""``app_home_opened``: publish this person's App Home."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import App
from slack_sdk import WebClient

from bot.context import AppContext
from bot.slack.home_service import home_for
from bot.slack.people import is_admin, person_for_slack_user
from bot.store.db import transaction

log = logging.getLogger(__name__)


def publish_home(context: AppContext, client: WebClient, user_id: str) -> None:
    admin = is_admin(context.settings, client, user_id)
    with transaction(context.engine) as session:
        person = person_for_slack_user(session, client, user_id)
        view = home_for(context, session, person, admin=admin)
    client.views_publish(user_id=user_id, view=view)


def register(app: App, context: AppContext) -> None:
    def app_home_opened(event: dict[str, Any], client: WebClient) -> None:
        if event.get("tab", "home") != "home":
            return
        publish_home(context, client, event["user"])

    app.event("app_home_opened")(app_home_opened)
