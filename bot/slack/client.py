"""The Slack Web API seam: every Web API client ai-roi uses is built here.

``SLACK_API_URL`` points it elsewhere (tests use a fake Slack on loopback). The SDK's retry
handlers are switched off: a 429 is honoured through ``bot.slack.rate_gate`` so that every sender
in the process waits, and a request that failed on the network is not blindly repeated (it may
have been delivered); the delivery table decides what is retried.
"""

from __future__ import annotations

from slack_sdk import WebClient

from bot.errors import ConfigError
from bot.settings import Settings

TIMEOUT_SECONDS = 10


def make_web_client(settings: Settings, *, timeout: int = TIMEOUT_SECONDS) -> WebClient:
    if not settings.slack_bot_token:
        raise ConfigError("SLACK_BOT_TOKEN: needed to call the Slack Web API")
    return WebClient(
        token=settings.slack_bot_token,
        base_url=settings.slack_api_url,
        timeout=timeout,
        retry_handlers=[],
    )
