"""LiteLLM proxy: each person's daily activity, backfilling what the webhook missed.

- ``GET /user/list?page=&page_size=`` (``{"users": [{"user_id", "user_email", …}], "total",
  "page", "page_size", "total_pages"}``): the proxy's internal users and their emails;
- ``GET /user/daily/activity?user_id=&start_date=&end_date=&page=&page_size=`` (dates
  ``YYYY-MM-DD``, both inclusive): that user's days, each with its metrics broken down by model,
  paged until ``metadata.total_pages``. Each page goes to the ``litellm`` source with the user
  beside it (the answer does not say whose it is; ``bot.ingest.adapters.litellm_daily``), its
  day aggregates keyed apart from the webhook's request ids.

Auth: ``Authorization: Bearer <LITELLM_API_KEY>``, the proxy's master key or an admin key
(``proxy_admin`` or ``proxy_admin_viewer``); a user's own key sees only that user and its
``/user/list`` is refused (401/403: the source stops with a visible error).

Counted once: a request the ``generic_api`` webhook delivered (stored by its request id) is not
counted again by the daily aggregate of its day. For each (day, person) that has webhook events,
the day's aggregates are stored with zero usage (replacing any copy an earlier pull stored before
the webhook caught up); days the webhook missed are stored whole. Where the webhook has fewer
requests for a (day, person) than the proxy's own total, the difference is logged (replay the
proxy's logs through ``ai-roi ingest --source litellm`` to recover it).

LiteLLM updates its daily spend tables from a buffer every minute or so: the watermark is the end
of the last day that ended at least an hour ago.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

from bot.connectors.base import Adjust, Connector, PullResult, PullRun
from bot.connectors.plan import Window, daily_watermark
from bot.domain.events import NormalizedEvent
from bot.errors import RequestFailedError
from bot.ingest.adapters.litellm_daily import KEY_PREFIX
from bot.outbound.clients import http_client
from bot.outbound.gate import gate_for
from bot.outbound.http import Outbound
from bot.settings import Settings

log = logging.getLogger(__name__)

SOURCE = "litellm"  # the webhook's per-request payloads and these day aggregates alike
PAGE_SIZE = 100  # days per page (LiteLLM allows up to 1000)
USERS_PAGE_SIZE = 100
MAX_PAGES = 10_000
FRESHNESS_LAG = timedelta(hours=1)
REQUEST_BUDGET = 5_000  # per run: a page of users and a page of days per person, with room


class LiteLLMConnector(Connector):
    source = "litellm"
    credential = "LITELLM_API_KEY"

    def configured(self, settings: Settings) -> bool:
        return bool(settings.litellm_api_key and settings.litellm_base_url)

    def outbound(self, settings: Settings) -> Outbound:
        assert settings.litellm_api_key is not None and settings.litellm_base_url is not None
        client = http_client(
            settings.litellm_base_url.rstrip("/") + "/",
            headers={"Authorization": f"Bearer {settings.litellm_api_key}"},
        )
        return Outbound("litellm", client, gate=gate_for("litellm"), budget=REQUEST_BUDGET)

    def pull(self, run: PullRun) -> PullResult:
        users = list(_users(run.outbound))
        run.learn_identities(
            "litellm", {user_id: email for user_id, email in users if email is not None}
        )
        webhook = run.requests_stored(SOURCE, except_keys=f"{KEY_PREFIX}/")
        for user_id, email in users:
            for page in _activity_pages(run.outbound, user_id, run.window):
                document = {**page, "user_id": user_id, "user_email": email}
                _report_gaps(webhook, document)
                run.ingest(SOURCE, document, adjust=_counted_once(webhook, user_id, email))
        return PullResult(watermark=daily_watermark(run.window, now=run.now, lag=FRESHNESS_LAG))


def _users(outbound: Outbound) -> Iterator[tuple[str, str | None]]:
    """(user_id, email or None) of every internal user of the proxy."""
    for page in range(1, MAX_PAGES + 1):
        answer = outbound.get_json("user/list", params={"page": page, "page_size": USERS_PAGE_SIZE})
        users = answer.get("users") if isinstance(answer, dict) else None
        if not isinstance(users, list):
            raise RequestFailedError(
                "litellm: /user/list answered without a users list", status=200
            )
        for user in users:
            user_id = user.get("user_id") if isinstance(user, dict) else None
            if isinstance(user_id, str) and user_id:
                email = user.get("user_email")
                yield user_id, email if isinstance(email, str) and "@" in email else None
        if page >= _total_pages(answer):
            return


def _activity_pages(outbound: Outbound, user_id: str, window: Window) -> Iterator[dict[str, Any]]:
    params = {
        "user_id": user_id,
        "start_date": window.first.isoformat(),
        "end_date": window.last.isoformat(),
        "page_size": PAGE_SIZE,
    }
    for page in range(1, MAX_PAGES + 1):
        answer = outbound.get_json("user/daily/activity", params={**params, "page": page})
        if not isinstance(answer, dict) or not isinstance(answer.get("results"), list):
            raise RequestFailedError(
                "litellm: /user/daily/activity answered without a results list", status=200
            )
        yield answer
        metadata = answer.get("metadata")
        if page >= _total_pages(metadata):
            return


def _total_pages(body: Any) -> int:
    value = body.get("total_pages") if isinstance(body, dict) else None
    return value if isinstance(value, int) and value > 0 else 1


Stored = dict[tuple[date, str, str], int]


def _identities(user_id: str, email: str | None) -> list[tuple[str, str]]:
    """How the webhook names one user: by the key owner's email, or by the user id."""
    named = [("litellm", user_id)]
    return [("email", email.lower()), *named] if email else named


def _delivered(webhook: Stored, day: date, user_id: str, email: str | None) -> int | None:
    found = [webhook[(day, *who)] for who in _identities(user_id, email) if (day, *who) in webhook]
    return sum(found) if found else None


def _counted_once(webhook: Stored, user_id: str, email: str | None) -> Adjust:
    """Zero a daily aggregate whose (day, person) the webhook's per-request events cover."""

    def adjust(record: Any, event: NormalizedEvent) -> NormalizedEvent:
        if _delivered(webhook, event.occurred_at.date(), user_id, email) is not None:
            event.input_tokens = event.cached_tokens = event.output_tokens = 0
            event.cost_nanos = event.requests = 0
            event.metrics = {}
        return event

    return adjust


def _report_gaps(webhook: Stored, document: dict[str, Any]) -> None:
    """Log (day, person) where the webhook delivered fewer requests than the proxy counted."""
    for result in document["results"]:
        metrics = result.get("metrics") if isinstance(result, dict) else None
        total = metrics.get("api_requests") if isinstance(metrics, dict) else None
        try:
            day = date.fromisoformat(str(result.get("date"))[:10])
        except (AttributeError, ValueError):
            continue  # the adapter rejects it with its reason
        delivered = _delivered(webhook, day, document["user_id"], document["user_email"])
        if delivered is not None and isinstance(total, int) and delivered < total:
            log.warning(
                "litellm: %s: the webhook delivered %d of the proxy's %d requests of one person; "
                "the day counts the webhook's (replay the proxy's logs to add the rest)",
                day.isoformat(),
                delivered,
                total,
            )
