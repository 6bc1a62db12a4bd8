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
from bot.errors import EventError, PayloadError
from bot.ingest.adapters.common import (
    Records,
    bucket_start,
    count,
    decode_document,
    has_any,
    label,
    make_key,
    optional_object,
    require_some,
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
_RESULT_MARKERS = ("uncached_input_tokens", "output_tokens", "cache_read_input_tokens")


def parse(body: bytes, content_type: str | None) -> ParseResult:
    return records(body, content_type).parse()


def records(body: bytes, content_type: str | None) -> Records:
    results = list(_records(_buckets(decode_document(body))))
    require_some(
        [record["result"] for record in results if "result" in record],
        lambda result: has_any(result, *_RESULT_MARKERS),
        "an Anthropic usage result (uncached_input_tokens, output_tokens); "
        "cost reports are not usage",
    )
    return Records(results, parse_result)


def _buckets(document: Any) -> list[Any]:
    data = document.get("data") if isinstance(document, dict) else document
    if isinstance(data, list) and (not data or any(_looks_like_bucket(item) for item in data)):
        return data
    if _looks_like_bucket(document):
        return [document]
    raise PayloadError(f"expected {EXPECTED}")


def _looks_like_bucket(item: Any) -> bool:
    return isinstance(item, dict) and "starting_at" in item and "results" in item


def _records(buckets: list[Any]) -> Iterator[dict[str, Any]]:
    for number, bucket in enumerate(buckets):
        if not _looks_like_bucket(bucket):
            yield {"error": f"data[{number}] is not a usage bucket (starting_at, results)"}
            continue
        if not isinstance(bucket["results"], list):
            yield {"error": f"data[{number}].results must be a JSON array"}
            continue
        for result in bucket["results"]:
            yield {"bucket": bucket, "result": result}


def parse_result(record: dict[str, Any]) -> Iterator[NormalizedEvent]:
    if "error" in record:
        raise EventError(record["error"])
    bucket, result = record["bucket"], record["result"]
    if not isinstance(result, dict):
        raise EventError("usage result must be a JSON object")
    if not has_any(result, *_RESULT_MARKERS):
        raise EventError("result is not a usage result (no uncached_input_tokens or output_tokens)")
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
