"""``app_home_opened``: publish this person's App Home."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import App
from slack_sdk import WebClient

from bot.context import AppContext
from bot.slack.home_service import publish_home

log = logging.getLogger(__name__)


def register(app: App, context: AppContext) -> None:
    def app_home_opened(event: dict[str, Any], client: WebClient) -> None:
        if event.get("tab", "home") != "home":
            return
        publish_home(context, client, event["user"])

    app.event("app_home_opened")(app_home_opened)
