"""Does Slack accept the app's tokens? ``auth.test`` for the bot token, ``apps.connections.open``
for the app-level token: asked once at start (``serve`` stops with one line on a refused token),
and again now and then for ``/readyz``. No answer, message or log line ever holds a token."""

from __future__ import annotations

import http.client
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.web import SlackResponse

from bot.errors import ConfigError
from bot.outbound.clients import slack_web_client
from bot.settings import Settings
from bot.slack.web_api import AUTH_ERRORS

log = logging.getLogger(__name__)

REFUSED = AUTH_ERRORS | {"account_inactive", "invalid_token"}
CHECK_TIMEOUT_SECONDS = 5
RECHECK_OK_SECONDS = 300.0  # a valid token is asked about again after five minutes
RECHECK_UNVERIFIED_SECONDS = 30.0  # Slack could not say: ask again soon


@dataclass(frozen=True)
class TokenCheck:
    """What Slack said about a token: ``ok``, ``refused`` (the token is wrong, revoked, or of the
    wrong kind) or ``unverified`` (Slack could not be asked: network, 5xx, rate limit).
    ``detail`` is the Slack error code or the workspace; never the token."""

    state: Literal["ok", "refused", "unverified"]
    detail: str

    def readiness(self) -> str:
        if self.state == "ok":
            return "ok"
        if self.state == "refused":
            return f"token refused by Slack ({self.detail}): check SLACK_BOT_TOKEN"
        return f"unverified: {self.detail}"


def _ask(call: Callable[[], SlackResponse]) -> TokenCheck | SlackResponse:
    try:
        return call()
    except SlackApiError as exc:
        code = exc.response.get("error") if isinstance(exc.response.data, dict) else None
        if exc.response.status_code == 429 or code in ("ratelimited", "rate_limited"):
            return TokenCheck("unverified", "rate limited by Slack")
        if code in REFUSED:
            return TokenCheck("refused", str(code))
        if exc.response.status_code >= 500:
            return TokenCheck("unverified", f"Slack answered HTTP {exc.response.status_code}")
        return TokenCheck("unverified", f"Slack answered {code or 'an unexpected response'}")
    except (OSError, http.client.HTTPException) as exc:
        return TokenCheck("unverified", f"Slack could not be reached ({type(exc).__name__})")


def check_bot_token(settings: Settings) -> TokenCheck:
    """``auth.test`` with the bot token, once, with a short timeout."""
    client = slack_web_client(settings, timeout=CHECK_TIMEOUT_SECONDS)
    answer = _ask(client.auth_test)
    if isinstance(answer, TokenCheck):
        return answer
    team = answer.get("team")
    return TokenCheck("ok", f"workspace {team}" if team else "accepted")


def open_socket_mode_url(settings: Settings) -> str | None:
    """``apps.connections.open`` with the app-level token, once: the WebSocket URL, or ``None``
    when Slack could not say (the Socket Mode client then asks again itself).
    A refused token is a ``ConfigError``: one line, and ``serve`` exits 1."""
    client = WebClient(
        base_url=settings.slack_api_url, timeout=CHECK_TIMEOUT_SECONDS, retry_handlers=[]
    )
    answer = _ask(lambda: client.apps_connections_open(app_token=settings.slack_app_token or ""))
    if isinstance(answer, TokenCheck):
        if answer.state == "refused":
            raise ConfigError(
                f"SLACK_APP_TOKEN was refused by Slack ({answer.detail}): use the app-level "
                "token (xapp-…) with the connections:write scope, from the app's Basic Information"
            )
        log.warning("Socket Mode: %s; the connection will be retried", answer.detail)
        return None
    url = answer.get("url")
    return str(url) if url else None


def require_bot_token(settings: Settings) -> TokenCheck:
    """At start: a refused bot token stops ``serve`` with one line (``ConfigError``); Slack not
    answering is logged and the server starts (``/readyz`` asks again)."""
    check = check_bot_token(settings)
    if check.state == "refused":
        raise ConfigError(
            f"SLACK_BOT_TOKEN was refused by Slack ({check.detail}): use the Bot User OAuth "
            "Token (xoxb-…) from the app's OAuth & Permissions page, and reinstall the app if "
            "it was revoked"
        )
    if check.state == "unverified":
        log.warning("Slack bot token not verified at start: %s", check.detail)
    else:
        log.info("Slack bot token accepted (%s)", check.detail)
    return check


class TokenProbe:
    """The bot token's last check, for ``/readyz``, which must answer at once.

    An answer older than five minutes (half a minute when it was not ``ok``) is refreshed in a
    background thread while the old one is returned, so a probe never waits on Slack and a
    token revoked while the server runs shows on a following probe. Only the very first call,
    with nothing known yet, asks Slack and waits. Thread-safe; one check at a time.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        check: Callable[[Settings], TokenCheck] = check_bot_token,
        clock: Callable[[], float] = time.monotonic,
        last: TokenCheck | None = None,
    ) -> None:
        self.settings = settings
        self._check = check
        self._clock = clock
        self._lock = threading.Lock()
        self._last = last
        self._at = clock() if last is not None else float("-inf")
        self._refreshing: threading.Thread | None = None

    def current(self) -> TokenCheck:
        with self._lock:
            if self._last is None:
                self._store(self._ask())
            assert self._last is not None
            age = self._clock() - self._at
            limit = RECHECK_OK_SECONDS if self._last.state == "ok" else RECHECK_UNVERIFIED_SECONDS
            if age >= limit and self._refreshing is None:
                self._refreshing = threading.Thread(
                    target=self._refresh, name="ai-roi-slack-token-check", daemon=True
                )
                self._refreshing.start()
            return self._last

    def wait_for_refresh(self, timeout: float | None = None) -> None:
        """Block until a refresh under way (if any) is done."""
        thread = self._refreshing
        if thread is not None:
            thread.join(timeout)

    def _refresh(self) -> None:
        check = self._ask()
        with self._lock:
            self._store(check)
            self._refreshing = None

    def _ask(self) -> TokenCheck:
        try:
            return self._check(self.settings)
        except Exception as exc:  # a probe must answer; the reason is kept, the token never is
            log.warning("Slack token check failed", exc_info=True)
            return TokenCheck("unverified", f"the check failed ({type(exc).__name__})")

    def _store(self, check: TokenCheck) -> None:
        if check.state == "refused" and (self._last is None or self._last.state != "refused"):
            log.error("Slack refused the bot token: %s", check.detail)
        self._last = check
        self._at = self._clock()
