"""Cursor Admin API: daily usage data and filtered usage events. Told apart by their top key.

``POST /teams/daily-usage-data`` → ``{"data": [{"date" (epoch ms), "email", "isActive",
"totalLinesAdded", "acceptedLinesAdded", "totalTabsAccepted", "composerRequests",
"chatRequests", "agentRequests", …}], "period": {...}}``. Each row is one person's day, an
aggregate keyed by (day, email) and replaced when restated. Requests are the composer, chat
and agent requests; lines, tabs, applies and the other counters become metrics. The report
carries no tokens or money.

``POST /teams/filtered-usage-events`` → ``{"usageEvents": [{"timestamp" (epoch ms as a
string), "userEmail", "model", "kind", "maxMode", "requestsCosts", "isTokenBasedCall",
"tokenUsage": {"inputTokens", "outputTokens", "cacheWriteTokens", "cacheReadTokens",
"totalCents"}}], "pagination": {...}}``. Each event is one request, stored once under a key
derived from its content. ``inputTokens`` excludes the cache, so input = input + cache write +
cache read; cost comes from ``totalCents`` (cents, with float noise, converted exactly).
Events that were not billed by tokens carry no ``tokenUsage``.

Both name people by email; a row or event without one is rejected.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from bot.domain.events import EventType, NormalizedEvent, ParseResult
from bot.domain.units import MAX_REQUESTS_PER_RECORD, cents_to_nanos, to_count
from bot.errors import EventError, PayloadError
from bot.ingest.adapters.common import (
    Records,
    content_key,
    count,
    day_of,
    decode_document,
    email_actor,
    has_any,
    instant,
    label,
    make_key,
    optional_object,
    require_some,
    uncached_plus_cache,
)

SOURCE = "cursor"
TOOL = "cursor"
EXPECTED = (
    'Cursor Admin API daily usage data {"data": [{"date", "email", ...}], "period": {...}} '
    'or filtered usage events {"usageEvents": [{"timestamp", "userEmail", ...}], ...}'
)
REQUEST_COUNTERS = ("composerRequests", "chatRequests", "agentRequests")
DAILY_METRICS = {
    "totalLinesAdded": "lines_added",
    "totalLinesDeleted": "lines_deleted",
    "acceptedLinesAdded": "accepted_lines_added",
    "acceptedLinesDeleted": "accepted_lines_deleted",
    "totalApplies": "applies",
    "totalAccepts": "accepts",
    "totalRejects": "rejects",
    "totalTabsShown": "tabs_shown",
    "totalTabsAccepted": "tabs_accepted",
    "composerRequests": "composer_requests",
    "chatRequests": "chat_requests",
    "agentRequests": "agent_requests",
    "cmdkUsages": "cmdk_usages",
    "subscriptionIncludedReqs": "subscription_included_requests",
    "apiKeyReqs": "api_key_requests",
    "usageBasedReqs": "usage_based_requests",
    "bugbotUsages": "bugbot_usages",
}


def parse(body: bytes, content_type: str | None) -> ParseResult:
    return records(body, content_type).parse()


def records(body: bytes, content_type: str | None) -> Records:
    document = decode_document(body)
    if isinstance(document, dict) and "usageEvents" in document:
        events = document["usageEvents"]
        if not isinstance(events, list):
            raise PayloadError('"usageEvents" must be a JSON array')
        require_some(events, _looks_like_event, "a Cursor usage event (timestamp, userEmail)")
        return Records(events, parse_usage_event)
    if isinstance(document, dict) and isinstance(document.get("data"), list):
        rows = document["data"]
        require_some(rows, _looks_like_day, "a Cursor daily usage row (date, email)")
        return Records(rows, parse_daily_row)
    if isinstance(document, list) and document:
        if any(_looks_like_event(item) for item in document):
            return Records(document, parse_usage_event)
        if any(_looks_like_day(item) for item in document):
            return Records(document, parse_daily_row)
    raise PayloadError(f"expected {EXPECTED}")


def _looks_like_day(item: Any) -> bool:
    return has_any(item, "date") and has_any(item, "email", "isActive", *REQUEST_COUNTERS)


def _looks_like_event(item: Any) -> bool:
    return has_any(item, "timestamp") and has_any(item, "userEmail", "tokenUsage", "kind")


def parse_daily_row(row: Any) -> Iterator[NormalizedEvent]:
    if not isinstance(row, dict):
        raise EventError("daily usage row must be a JSON object")
    actor = email_actor(row.get("email"), "email")
    if row.get("date") in (None, ""):
        raise EventError("date is missing")
    occurred_at = instant(row["date"], "date")
    day = day_of(occurred_at)
    metrics = {
        name: to_count(row[field], field, MAX_REQUESTS_PER_RECORD)
        for field, name in DAILY_METRICS.items()
        if row.get(field) is not None
    }
    if row.get("isActive") is True:
        metrics["active_days"] = 1
    requests = sum(metrics.get(DAILY_METRICS[field], 0) for field in REQUEST_COUNTERS)
    yield NormalizedEvent(
        key=make_key("daily", day, actor.value),
        type=EventType.USAGE,
        occurred_at=occurred_at.replace(hour=0, minute=0, second=0, microsecond=0),
        actor=actor,
        tool=TOOL,
        model=label(row.get("mostUsedModel"), "mostUsedModel"),
        requests=to_count(requests, "requests", MAX_REQUESTS_PER_RECORD),
        replace=True,
        metrics={name: value for name, value in metrics.items() if value},
    )


def parse_usage_event(item: Any) -> Iterator[NormalizedEvent]:
    if not isinstance(item, dict):
        raise EventError("usage event must be a JSON object")
    actor = email_actor(item.get("userEmail"), "userEmail")
    if item.get("timestamp") in (None, ""):
        raise EventError("timestamp is missing")
    occurred_at = instant(item["timestamp"], "timestamp")
    tokens = optional_object(item.get("tokenUsage"), "tokenUsage")
    input_tokens, cached_tokens = uncached_plus_cache(
        count(tokens, "inputTokens", "tokenUsage.inputTokens"),
        count(tokens, "cacheReadTokens", "tokenUsage.cacheReadTokens"),
        count(tokens, "cacheWriteTokens", "tokenUsage.cacheWriteTokens"),
    )
    cents = tokens.get("totalCents")
    metrics = {"max_mode_requests": 1} if item.get("maxMode") is True else {}
    yield NormalizedEvent(
        key=content_key(
            f"event/{occurred_at.isoformat()}",
            {
                "email": actor.value,
                "model": item.get("model"),
                "kind": item.get("kind", item.get("kindLabel")),
                "maxMode": item.get("maxMode"),
                "requestsCosts": item.get("requestsCosts"),
                "tokenUsage": tokens,
            },
        ),
        type=EventType.USAGE,
        occurred_at=occurred_at,
        actor=actor,
        tool=TOOL,
        model=label(item.get("model"), "model"),
        input_tokens=input_tokens,
        cached_tokens=cached_tokens,
        output_tokens=count(tokens, "outputTokens", "tokenUsage.outputTokens"),
        cost_nanos=0 if cents is None else cents_to_nanos(cents, "tokenUsage.totalCents"),
        requests=1,
        metrics=metrics,
    )
