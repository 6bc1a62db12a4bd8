"""Deliver a digest as a Slack DM: find the person's Slack user, then ``chat.postMessage``.

Errors are mapped for ``bot.digest.run``:

* ``429`` → every sender waits out ``Retry-After`` (``RateGate``), then this request is retried,
  a bounded number of times, after which it is a transient failure (the next run retries it);
* network errors and 5xx / Slack-side errors → transient;
* errors about this recipient or this message (``user_not_found``, ``account_inactive``,
  ``invalid_blocks``, …) → permanent, not retried, the Slack error code as the reason;
* no Slack user for the person's email → permanent and recorded as *skipped*;
* the token itself is refused (``invalid_auth``, ``token_revoked``, …) → ``SlackAuthError``, which
  stops the whole run: nobody else could be reached either.

A digest whose blocks carry an 8-week series (``DigestBlocks``) gets its chart uploaded first
(``bot.slack.chart_upload``) and shown as an image in place of the chart's text; when the upload
fails or is rate limited, or Slack refuses the image, the DM goes out with the text, once.

Neither the token nor a message's text ever appears in a reason or a log line.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from slack_sdk import WebClient
from slack_sdk.web import SlackResponse

from bot.context import AppContext
from bot.digest.deliverers import DeliveryError, Receipt, Recipient
from bot.domain.ai_history import alt_text
from bot.errors import (
    CredentialRefusedError,
    OutboundError,
    RateLimitedError,
    UnavailableError,
)
from bot.outbound.clients import slack_web_client
from bot.outbound.gate import RateGate, shared_gate
from bot.slack import web_api
from bot.slack.blocks.digest import DigestBlocks, with_chart
from bot.slack.chart_upload import ChartUploader

log = logging.getLogger(__name__)

MAX_ATTEMPTS = web_api.MAX_ATTEMPTS
NO_SLACK_USER = "no Slack user for this email"

PERMANENT_ERRORS = frozenset(
    {
        "user_not_found",
        "users_not_found",
        "account_inactive",
        "user_disabled",
        "channel_not_found",
        "not_in_channel",
        "is_archived",
        "cannot_dm_bot",
        "invalid_blocks",
        "invalid_blocks_format",
        "msg_too_long",
        "msg_blocks_too_long",
        "no_text",
        "too_many_attachments",
        "restricted_action",
        "restricted_action_read_only_channel",
        "restricted_action_non_threadable_channel",
        "restricted_action_thread_only_channel",
        "messages_tab_disabled",
        "invalid_arguments",
        "invalid_arg_name",
        "invalid_array_arg",
        "invalid_charset",
        "invalid_form_data",
        "invalid_post_type",
        "missing_post_type",
    }
)


class SlackAuthError(DeliveryError):
    """Slack refused the bot token itself: stop the run (nobody could be reached)."""

    def __init__(self, code: str) -> None:
        super().__init__(
            f"Slack refused the bot token ({code}); check SLACK_BOT_TOKEN and the app's scopes",
            permanent=False,
            stop_run=True,
        )
        self.code = code


class UserDirectory:
    """Email → Slack user id, remembered for the life of the process (thread-safe)."""

    def __init__(self) -> None:
        self._ids: dict[str, str] = {}
        self._lock = threading.Lock()

    def get(self, email: str) -> str | None:
        with self._lock:
            return self._ids.get(email.strip().lower())

    def put(self, email: str, user_id: str) -> None:
        with self._lock:
            self._ids[email.strip().lower()] = user_id


_process_directory = UserDirectory()
RememberUser = Callable[[int, str], None]


class SlackDeliverer:
    """A ``Deliverer`` that sends each digest as a DM from the app to the person."""

    channel = "slack"

    def __init__(
        self,
        client: WebClient,
        *,
        gate: RateGate | None = None,
        directory: UserDirectory | None = None,
        remember_user: RememberUser | None = None,
        max_attempts: int = MAX_ATTEMPTS,
        charts: ChartUploader | None = None,
    ) -> None:
        self.client = client
        self.gate = gate or shared_gate()
        self.directory = directory or _process_directory
        self.remember_user = remember_user
        self.max_attempts = max_attempts
        self.charts = charts

    def send(self, recipient: Recipient, blocks: list[dict[str, Any]], text: str) -> Receipt:
        user_id = self.user_id(recipient)
        history = blocks.ai_history if isinstance(blocks, DigestBlocks) else ()
        chart = self.charts.upload(history) if self.charts is not None and history else None
        if chart is not None:
            try:
                response = self._post(user_id, with_chart(blocks, chart, alt_text(history)), text)
                return Receipt(response.get("channel"), response.get("ts"), chart)
            except DeliveryError as exc:
                if str(exc) not in ("invalid_blocks", "invalid_blocks_format"):
                    raise
                # the image was refused, so nothing was posted: send the text version instead
                log.warning("Slack refused the chart image (%s); sending the text instead", exc)
        response = self._post(user_id, list(blocks), text)
        return Receipt(channel=response.get("channel"), ts=response.get("ts"))

    def _post(self, user_id: str, blocks: list[dict[str, Any]], text: str) -> Any:
        return self._call(
            "chat.postMessage",
            lambda: self.client.chat_postMessage(
                channel=user_id,
                text=text,
                blocks=blocks,
                unfurl_links=False,
                unfurl_media=False,
            ),
            paced=True,
        )

    def user_id(self, recipient: Recipient) -> str:
        """The person's Slack user id: known, cached, or looked up by email (then remembered)."""
        if recipient.slack_user_id:
            return recipient.slack_user_id
        cached = self.directory.get(recipient.email)
        if cached:
            return cached
        try:
            response = self._call(
                "users.lookupByEmail",
                lambda: self.client.users_lookupByEmail(email=recipient.email),
                paced=False,
            )
        except DeliveryError as exc:
            if str(exc) == "users_not_found":
                raise DeliveryError(NO_SLACK_USER, permanent=True, skip=True) from None
            raise
        user = response.get("user") or {}
        user_id = user.get("id")
        if not user_id:
            raise DeliveryError(NO_SLACK_USER, permanent=True, skip=True)
        if user.get("deleted"):
            raise DeliveryError("account_inactive", permanent=True)
        self.directory.put(recipient.email, user_id)
        self._remember(recipient.person_id, user_id)
        return str(user_id)

    def _remember(self, person_id: int, user_id: str) -> None:
        if self.remember_user is None:
            return
        try:
            self.remember_user(person_id, user_id)
        except Exception:  # storing it back is an optimisation; the DM still goes out
            log.warning("could not store the Slack user id of person %s", person_id, exc_info=True)

    def _call(self, method: str, request: Callable[[], SlackResponse], *, paced: bool) -> Any:
        """One Web API call through the Slack gate; only a rate limit is tried again (a message
        that failed otherwise may have been posted: the delivery table decides)."""
        try:
            return web_api.call(
                method,
                request,
                gate=self.gate,
                paced=paced,
                repeatable=False,
                max_attempts=self.max_attempts,
            )
        except RateLimitedError:
            raise DeliveryError(
                f"rate limited by Slack {self.max_attempts} times in a row", permanent=False
            ) from None
        except OutboundError as exc:
            raise classify(exc) from None


def classify(error: OutboundError) -> DeliveryError:
    """The delivery error for a Slack failure other than a rate limit."""
    code, status = error.code, error.status
    if isinstance(error, CredentialRefusedError):
        return SlackAuthError(code or "invalid_auth")
    if isinstance(error, UnavailableError):
        if status is None and code is None:
            return DeliveryError(str(error), permanent=False)  # the network, not Slack
        return DeliveryError(
            code if code in web_api.TRANSIENT_ERRORS else f"Slack HTTP {status}", permanent=False
        )
    if code in PERMANENT_ERRORS:
        return DeliveryError(code, permanent=True)
    if code and code.isidentifier() and len(code) <= 64:
        return DeliveryError(code, permanent=True)  # another documented error about this request
    return DeliveryError(f"unexpected Slack answer (HTTP {status})", permanent=False)


def slack_deliverer(context: AppContext, *, gate: RateGate | None = None) -> SlackDeliverer:
    """The deliverer ``DIGEST_DELIVERY=slack`` uses: the process's gate paced at
    ``SLACK_MESSAGES_PER_MINUTE`` (unless a gate is given), Slack user ids found by email
    stored back on the people."""
    from bot.store.db import transaction
    from bot.store.people import set_slack_user_id

    def remember(person_id: int, user_id: str) -> None:
        with transaction(context.engine) as session:
            set_slack_user_id(session, person_id, user_id)

    if gate is None:
        gate = shared_gate()
        gate.min_interval = pacing_interval(context.settings.slack_messages_per_minute)
    client = slack_web_client(context.settings)
    return SlackDeliverer(client, gate=gate, remember_user=remember, charts=ChartUploader(client))


def pacing_interval(messages_per_minute: int) -> float:
    """Seconds between paced messages for a rate in messages per minute."""
    if messages_per_minute < 1:
        raise ValueError("messages_per_minute must be at least 1")
    return 60.0 / messages_per_minute
