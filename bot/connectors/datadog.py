"""Datadog Audit Trail: dashboards created, and every successful dashboard request, by whom.

``POST /api/v2/audit/events/search`` with ``DD-API-KEY`` and ``DD-APPLICATION-KEY`` (an
application key with the ``audit_logs_read`` permission; Audit Trail must be enabled for the
organisation). The body asks for ``filter.query`` (below), ``filter.from``/``filter.to`` (the
run's window), ``sort: timestamp`` and ``page.limit``; the next page is asked for with
``page.cursor`` set to the previous answer's ``meta.page.after``, until an answer has none.
Each page goes to the ``datadog`` source's Audit Trail shape
(``bot.ingest.adapters.datadog_audit``): a dashboard created is ``artifact.created`` by its
creator; each successful ``GET /api/v1/dashboard/<id>`` by a user is ``artifact.viewed``, one
per (dashboard, viewer, week of ``ORG_TIMEZONE``), so each distinct viewer counts once a week.

With Audit Trail the connector reads every viewer, so the dashboard usage shape's "last viewer
only" approximation is not pulled (``ai-roi sources`` says which one a source is using).

Rate limits: every answer carries ``X-RateLimit-Limit``, ``-Remaining``, ``-Period`` and
``-Reset`` (seconds until the window resets); a 429 says when to come back in
``X-RateLimit-Reset`` rather than ``Retry-After``, so that header is read as ``Retry-After``
for the shared gate. Audit events are searchable within minutes: the watermark is the start of
the last hour that ended at least an hour ago.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from bot.connectors.base import Connector, PullResult, PullRun
from bot.connectors.plan import hourly_watermark
from bot.connectors.weekly_views import org_weeks
from bot.errors import RequestFailedError
from bot.ingest.adapters.datadog_audit import SOURCE, VIEW_KEY_PREFIX, view_key
from bot.outbound.clients import http_client
from bot.outbound.gate import gate_for
from bot.outbound.http import Outbound
from bot.settings import Settings

SEARCH = "api/v2/audit/events/search"
# Dashboards created or opened in the app, and successful reads of one dashboard through the API
# (what the app calls to show it); the adapter checks each event again.
QUERY = (
    "(@evt.name:Dashboard @asset.type:dashboard @action:(created OR accessed)) OR "
    "(@evt.name:Request @http.method:GET @http.status_code:[200 TO 299] "
    "@http.url_details.path:\\/api\\/v1\\/dashboard\\/*)"
)
PAGE_LIMIT = 1000  # the most one page may hold
MAX_PAGES = 10_000
FRESHNESS_LAG = timedelta(hours=1)
REQUEST_BUDGET = 2_000
VIEWERS_AUDIT = "Audit Trail (every viewer)"
VIEWERS_USAGE = "dashboard usage (last viewer only)"


class DatadogConnector(Connector):
    source = SOURCE
    credential = "DATADOG_API_KEY and DATADOG_APP_KEY"

    def configured(self, settings: Settings) -> bool:
        return bool(settings.datadog_api_key and settings.datadog_app_key)

    def viewers(self, settings: Settings) -> str | None:
        return VIEWERS_AUDIT if self.configured(settings) else VIEWERS_USAGE

    def outbound(self, settings: Settings) -> Outbound:
        assert settings.datadog_api_key is not None and settings.datadog_app_key is not None
        client = http_client(
            settings.datadog_api_url + "/",
            headers={
                "DD-API-KEY": settings.datadog_api_key,
                "DD-APPLICATION-KEY": settings.datadog_app_key,
            },
        )
        client.event_hooks["response"] = [reset_as_retry_after]
        return Outbound("datadog", client, gate=gate_for("datadog"), budget=REQUEST_BUDGET)

    def pull(self, run: PullRun) -> PullResult:
        body: dict[str, Any] = {
            "filter": {"query": QUERY, "from": _iso(run.window.start), "to": _iso(run.window.end)},
            "sort": "timestamp",
            "page": {"limit": PAGE_LIMIT},
        }
        adjust = org_weeks(run.settings.timezone, VIEW_KEY_PREFIX, view_key)
        for _ in range(MAX_PAGES):
            page = run.outbound.post_json(SEARCH, json=body, safe_to_repeat=True)
            data = page.get("data") if isinstance(page, dict) else None
            if not isinstance(data, list):
                raise RequestFailedError(
                    "datadog: the audit search answered without a data list", status=200
                )
            if data:
                run.ingest(SOURCE, page, adjust=adjust)
            after = _after(page)
            if after is None:
                break
            body = {**body, "page": {"limit": PAGE_LIMIT, "cursor": after}}
        else:
            raise RequestFailedError(
                f"datadog: the audit search did not end after {MAX_PAGES} pages", status=200
            )
        return PullResult(watermark=hourly_watermark(run.window, now=run.now, lag=FRESHNESS_LAG))


def reset_as_retry_after(response: httpx.Response) -> None:
    """A 429 from Datadog says when its window resets in ``X-RateLimit-Reset`` (seconds);
    read it as ``Retry-After`` when that header is absent."""
    if response.status_code == 429 and "retry-after" not in response.headers:
        reset = response.headers.get("x-ratelimit-reset", "").strip()
        if reset.isdigit():
            response.headers["Retry-After"] = reset


def _after(page: dict[str, Any]) -> str | None:
    meta = page.get("meta")
    paging = meta.get("page") if isinstance(meta, dict) else None
    after = paging.get("after") if isinstance(paging, dict) else None
    return after if isinstance(after, str) and after else None


def _iso(instant: datetime) -> str:
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
