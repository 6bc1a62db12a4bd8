"""Anthropic Admin API messages usage report (``GET /v1/organizations/usage_report/messages``).

``{"data": [{"starting_at", "ending_at", "results": [...]}], "has_more", "next_page"}``; also a
bare list of buckets or one bucket. Bucket bounds are RFC 3339. Each result is an aggregate for
one combination of the ``group_by`` dimensions (``account_id``, ``service_account_id``,
``api_key_id``, ``workspace_id``, ``model``, ``service_tier``, ``context_window``,
``inference_geo``, ``speed``), ``null`` when not grouped. It is keyed by its natural key and
replaced when restated.

Anthropic reports input apart from the cache: ``uncached_input_tokens``, ``cache_read_input_tokens``
and ``cache_creation`` (``ephemeral_5m_input_tokens`` + ``ephemeral_1h_input_tokens``). Input here
is their sum and ``cached`` is reads + writes. The report has no request count and no money
(the cost report has). Identity: ``account_id`` → ``Actor("anthropic", …)``, else ``api_key_id`` →
``Actor("anthropic_api_key", …)``, else org-level. ``server_tool_use`` counts become metrics.
Rejection indexes count results across buckets.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from bot.domain.events import Actor, EventType, NormalizedEvent, ParseResult
from bot.domain.units import MAX_REQUESTS_PER_RECORD, to_count
from bot.ingest.adapters.common import (
    BucketReport,
    Records,
    bucket_start,
    count,
    label,
    make_key,
    optional_object,
    rfc3339,
    text,
    uncached_plus_cache,
    vendor_actor,
)

SOURCE = "anthropic"
TOOL = "anthropic"
EXPECTED = (
    'an Anthropic messages usage report {"data": [{"starting_at", "ending_at", "results": '
    "[...]}], ...}, a list of such buckets, or one bucket"
)
DIMENSIONS = (
    "account_id",
    "service_account_id",
    "api_key_id",
    "workspace_id",
    "model",
    "service_tier",
    "context_window",
    "inference_geo",
    "speed",
)
_METRIC_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
REPORT = BucketReport(
    start="starting_at",
    lists=("results",),
    markers=("uncached_input_tokens", "cache_read_input_tokens", "output_tokens"),
    expected=EXPECTED,
    expected_result="an Anthropic usage result (uncached_input_tokens, output_tokens); "
    "cost reports are not usage",
)


def parse(body: bytes, content_type: str | None) -> ParseResult:
    return records(body, content_type).parse()


def records(body: bytes, content_type: str | None) -> Records:
    return Records(REPORT.records(body), parse_result)


def parse_result(record: dict[str, Any]) -> Iterator[NormalizedEvent]:
    bucket, result = REPORT.bucket_and_result(record)
    start = rfc3339(bucket.get("starting_at"), "starting_at")
    end = rfc3339(bucket["ending_at"], "ending_at") if bucket.get("ending_at") else None
    aligned = bucket_start(start, end) if end is not None else start
    dims = {name: text(result.get(name), name) for name in DIMENSIONS}

    cache_creation = optional_object(result.get("cache_creation"), "cache_creation")
    cache_write = count(
        cache_creation, "ephemeral_5m_input_tokens", "cache_creation.ephemeral_5m_input_tokens"
    ) + count(
        cache_creation, "ephemeral_1h_input_tokens", "cache_creation.ephemeral_1h_input_tokens"
    )
    if not cache_creation:  # a flat total, as some client libraries reshape it
        cache_write = count(result, "cache_creation_input_tokens")
    input_tokens, cached_tokens = uncached_plus_cache(
        count(result, "uncached_input_tokens"),
        count(result, "cache_read_input_tokens"),
        cache_write,
    )

    metrics: dict[str, int] = {}
    server_tools = optional_object(result.get("server_tool_use"), "server_tool_use")
    for name, value in server_tools.items():
        if value is not None and _METRIC_NAME.match(name):
            metrics[name] = to_count(value, f"server_tool_use.{name}", MAX_REQUESTS_PER_RECORD)

    yield NormalizedEvent(
        key=make_key("messages", aligned, *(dims[name] for name in DIMENSIONS)),
        type=EventType.USAGE,
        occurred_at=start,
        actor=_actor(dims),
        tool=TOOL,
        model=label(result.get("model"), "model"),
        input_tokens=input_tokens,
        cached_tokens=cached_tokens,
        output_tokens=count(result, "output_tokens"),
        replace=True,
        metrics=metrics,
    )


def _actor(dims: dict[str, str | None]) -> Actor | None:
    return vendor_actor("anthropic", dims["account_id"], "account_id") or vendor_actor(
        "anthropic_api_key", dims["api_key_id"], "api_key_id"
    )
