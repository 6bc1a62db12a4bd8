"""The only place outbound clients are built: explicit timeouts, no hidden retries.

The SDKs' own retry handlers are off: a ``429`` is honoured through the destination's gate
(``bot.outbound.gate``) so that every sender in the process waits, and a request that failed on
the network is not repeated blindly (it may have been delivered); the caller decides what is
retried (``bot.outbound.retry``), and for DMs the delivery table does.
"""

from __future__ import annotations

import httpx
from slack_sdk import WebClient

from bot import __version__
from bot.errors import ConfigError
from bot.settings import Settings

SLACK_TIMEOUT_SECONDS = 10
HTTP_TIMEOUT = httpx.Timeout(30.0, connect=10.0)
USER_AGENT = f"ai-roi/{__version__}"


def slack_web_client(settings: Settings, *, timeout: int = SLACK_TIMEOUT_SECONDS) -> WebClient:
    """A Web API client with the bot token, pointed at ``SLACK_API_URL``."""
    if not settings.slack_bot_token:
        raise ConfigError("SLACK_BOT_TOKEN: needed to call the Slack Web API")
    return WebClient(
        token=settings.slack_bot_token,
        base_url=settings.slack_api_url,
        timeout=timeout,
        retry_handlers=[],
    )


def http_client(
    base_url: str,
    *,
    headers: dict[str, str] | None = None,
    auth: httpx.Auth | tuple[str, str] | None = None,
    timeout: httpx.Timeout = HTTP_TIMEOUT,
    transport: httpx.BaseTransport | None = None,
) -> httpx.Client:
    """An ``httpx.Client`` for one vendor API. Redirects are not followed (a signed download link
    is fetched on purpose, with ``Outbound.download``); ``transport`` is the test seam."""
    return httpx.Client(
        base_url=base_url,
        headers={"User-Agent": USER_AGENT, "Accept": "application/json", **(headers or {})},
        auth=auth,
        timeout=timeout,
        follow_redirects=False,
        transport=transport,
    )
