"""The scheduled Slack directory sync (daily, and when ``serve`` starts): people and time zones,
then the user-group teams (``bot.slack.directory_sync``)."""

from __future__ import annotations

import logging

from bot.context import AppContext
from bot.slack.directory_sync import SlackSyncReport, sync_slack

log = logging.getLogger(__name__)


def run_slack_sync_safely(context: AppContext) -> SlackSyncReport | None:
    """The scheduled run: a failure is logged with its traceback; the next run tries again."""
    try:
        report = sync_slack(context)
    except Exception:
        log.exception("Slack directory sync failed; the next daily run retries")
        return None
    for problem in report.problems:
        log.warning("Slack directory sync: %s", problem)
    log.info("%s", report.summary())
    return report
