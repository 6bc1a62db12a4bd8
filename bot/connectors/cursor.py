"""Cursor: the Admin API's daily usage data and filtered usage events, with Basic auth.

- ``POST /teams/daily-usage-data`` ``{"startDate", "endDate"}`` (epoch milliseconds): one row per
  person per day — requests by kind, lines, tabs — to the ``cursor`` adapter as day aggregates.
- ``POST /teams/filtered-usage-events`` ``{"startDate", "endDate", "page", "pageSize"}``: one event
  per request with its tokens and cost (cents), paged until ``pagination.hasNextPage`` is false.
  The day's requests are already counted by the daily rows, so these events add tokens, cost and
  model, and no second request count.

At most 30 days a call; the Admin API allows 20 calls a minute per team, so every call waits its
turn at the ``cursor`` gate (``CURSOR_CALLS_PER_MINUTE``). Both are read-only POSTs, safe to
repeat. Cursor aggregates usage hourly: the watermark is the start of the last hour that ended
at least an hour ago.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from bot.connectors.base import Connector, PullResult, PullRun
from bot.connectors.plan import hourly_watermark
from bot.domain.events import NormalizedEvent
from bot.errors import RequestFailedError
from bot.outbound.clients import http_client
from bot.outbound.gate import gate_for
from bot.outbound.http import Outbound
from bot.settings import Settings

MAX_DAYS_PER_CALL = 30
PAGE_SIZE = 100
MAX_PAGES = 10_000
FRESHNESS_LAG = timedelta(hours=1)
REQUEST_BUDGET = 1_200  # an hour of calls at 20 a minute


class CursorConnector(Connector):
    source = "cursor"
    credential = "CURSOR_ADMIN_KEY"

    def configured(self, settings: Settings) -> bool:
        return bool(settings.cursor_admin_key)

    def outbound(self, settings: Settings) -> Outbound:
        assert settings.cursor_admin_key is not None
        pace = 60.0 / settings.cursor_calls_per_minute
        gate = gate_for("cursor", min_interval=pace)
        gate.min_interval = pace  # the setting wins over the gate's first use
        client = http_client(settings.cursor_api_url + "/", auth=(settings.cursor_admin_key, ""))
        return Outbound("cursor", client, gate=gate, paced=True, budget=REQUEST_BUDGET)

    def pull(self, run: PullRun) -> PullResult:
        for chunk in run.window.chunks(MAX_DAYS_PER_CALL):
            span = {"startDate": _ms(chunk.start), "endDate": _ms(chunk.end) - 1}
            daily = run.outbound.post_json("teams/daily-usage-data", json=span, safe_to_repeat=True)
            if _rows(daily, "data"):
                run.ingest("cursor", daily)
            for page in range(1, MAX_PAGES + 1):
                answer = run.outbound.post_json(
                    "teams/filtered-usage-events",
                    json={**span, "page": page, "pageSize": PAGE_SIZE},
                    safe_to_repeat=True,
                )
                if _rows(answer, "usageEvents"):
                    run.ingest("cursor", answer, adjust=_requests_counted_daily)
                pagination = answer.get("pagination") if isinstance(answer, dict) else None
                if not isinstance(pagination, dict) or not pagination.get("hasNextPage"):
                    break
        return PullResult(watermark=hourly_watermark(run.window, now=run.now, lag=FRESHNESS_LAG))


def _requests_counted_daily(record: Any, event: NormalizedEvent) -> NormalizedEvent:
    """A usage event's request is in its day's daily row already: keep its tokens and cost."""
    event.requests = 0
    return event


def _rows(answer: Any, field: str) -> list[Any]:
    rows = answer.get(field) if isinstance(answer, dict) else None
    if not isinstance(rows, list):
        raise RequestFailedError(f"cursor: the answer has no {field} list", status=200)
    return rows


def _ms(instant: datetime) -> int:
    return int(instant.timestamp() * 1000)
