"""Slack listeners, one module per surface. Each ``register(app, context)`` binds ids to plain
handler functions; handlers gather inputs, call the core, and send."""

from __future__ import annotations

from slack_bolt import App

from bot.context import AppContext
from bot.slack.listeners import (
    actions,
    admin,
    ai_rules,
    commands,
    events,
    home_settings,
    teams_admin,
    views,
)


def register(app: App, context: AppContext) -> None:
    events.register(app, context)
    commands.register(app, context)
    actions.register(app, context)
    views.register(app, context)
    teams_admin.register(app, context)
    home_settings.register(app, context)
    admin.register(app, context)
    ai_rules.register(app, context)
