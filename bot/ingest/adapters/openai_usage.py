"""OpenAI Usage API pages (``GET /v1/organization/usage/completions``).

``{"object": "page", "data": [bucket…], "has_more", "next_page"}``; also a bare list of
buckets (several pages' ``data`` joined) or one bucket. Each bucket has ``start_time`` and
``end_time`` (Unix seconds) and ``results`` (``result`` in some generated docs): one result
per combination of the ``group_by`` dimensions, which are ``null`` when not grouped.

Each result is an aggregate, keyed by its natural key (aligned bucket start, project, user,
API key, model, batch, service tier) and replaced when the bucket is fetched again with
restated numbers. ``input_tokens`` already includes cached and cache-write tokens (OpenAI's
convention, ours too); ``cached`` is ``input_cached_tokens`` + ``input_cache_write_tokens``.
``user_id`` → ``Actor("openai", …)``; a result not grouped by user is org-level usage. This API
carries no money (the Costs API does). Rejection indexes count results across buckets.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from bot.domain.events import EventType, NormalizedEvent, ParseResult
from bot.domain.units import MAX_REQUESTS_PER_RECORD, to_count
from bot.errors import EventError
from bot.ingest.adapters.common import (
    BucketReport,
    Records,
    bucket_start,
    count,
    inclusive_input,
    instant,
    label,
    make_key,
    text,
    vendor_actor,
)

SOURCE = "openai"
TOOL = "openai"
EXPECTED = (
    'an OpenAI Usage API page {"object": "page", "data": [{"start_time", "end_time", '
    '"results": [...]}]}, a list of such buckets, or one bucket'
)
REPORT = BucketReport(
    start="start_time",
    lists=("results", "result"),
    markers=("input_tokens", "output_tokens", "num_model_requests"),
    expected=EXPECTED,
    expected_result="an OpenAI usage result (input_tokens, output_tokens, num_model_requests)",
)


def parse(body: bytes, content_type: str | None) -> ParseResult:
    return records(body, content_type).parse()


def records(body: bytes, content_type: str | None) -> Records:
    return Records(REPORT.records(body), parse_result)


def parse_result(record: dict[str, Any]) -> Iterator[NormalizedEvent]:
    bucket, result = REPORT.bucket_and_result(record)
    start = instant(bucket.get("start_time"), "start_time")
    end = instant(bucket["end_time"], "end_time") if bucket.get("end_time") is not None else None
    aligned = bucket_start(start, end) if end is not None else start

    input_tokens, cached_tokens = inclusive_input(
        count(result, "input_tokens"),
        count(result, "input_cached_tokens"),
        count(result, "input_cache_write_tokens"),
    )
    requests = result.get("num_model_requests")
    batch = result.get("batch")
    if batch is not None and not isinstance(batch, bool):
        raise EventError("batch must be true, false or null")
    kind = text(result.get("object"), "object") or "organization.usage.completions.result"
    yield NormalizedEvent(
        key=make_key(
            kind.removeprefix("organization.usage.").removesuffix(".result"),
            aligned,
            text(result.get("project_id"), "project_id"),
            text(result.get("user_id"), "user_id"),
            text(result.get("api_key_id"), "api_key_id"),
            text(result.get("model"), "model"),
            batch,
            text(result.get("service_tier"), "service_tier"),
        ),
        type=EventType.USAGE,
        occurred_at=start,
        actor=vendor_actor("openai", result.get("user_id"), "user_id"),
        tool=TOOL,
        model=label(result.get("model"), "model"),
        input_tokens=input_tokens,
        cached_tokens=cached_tokens,
        output_tokens=count(result, "output_tokens"),
        requests=0
        if requests is None
        else to_count(requests, "num_model_requests", MAX_REQUESTS_PER_RECORD),
        replace=True,
    )
