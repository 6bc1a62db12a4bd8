"""LiteLLM proxy ``generic_api`` logging callback: StandardLoggingPayload records.

The callback posts a JSON array of payloads (its default ``json_array`` format), one payload
(``single``) or one per line (``ndjson``). Each payload is one request, stored once under its
``id``. ``messages`` and ``response`` carry the prompt and the completion; only the token
counts are read from them, never the text.

Tokens follow LiteLLM's OpenAI convention, where ``prompt_tokens`` already includes cache reads
and writes; the cache counts come from ``metadata.usage_object`` (or the response's ``usage``).
Identity: ``metadata.user_api_key_user_email`` → email, else ``metadata.user_api_key_user_id``
→ ``litellm``, else ``end_user`` → ``litellm_end_user``; none of them is org-level usage.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from bot.domain.events import Actor, EventType, NormalizedEvent, ParseResult
from bot.domain.units import usd_to_nanos
from bot.errors import EventError, PayloadError
from bot.ingest.adapters.common import (
    Records,
    RecordStream,
    content_key,
    count,
    document_lines,
    email_actor,
    has_any,
    inclusive_input,
    instant,
    label,
    optional_object,
    read_records,
    require_some,
    text,
    vendor_actor,
)
from bot.ingest.decoding import Line

SOURCE = "litellm"
TOOL = "litellm"
EXPECTED = (
    "LiteLLM StandardLoggingPayload objects (a JSON array as the generic_api callback posts it, "
    "one object, or NDJSON)"
)
_MARKERS = (
    "call_type",
    "response_cost",
    "prompt_tokens",
    "completion_tokens",
    "model_map_information",
)


def parse(body: bytes, content_type: str | None) -> ParseResult:
    return records(body, content_type).parse()


def records(body: bytes, content_type: str | None) -> Records:
    items, line_errors = read_records(body, content_type, _unwrap)
    require_some(items, _looks_like_payload, EXPECTED)
    return Records(items, parse_payload, line_errors)


def record_stream(lines: Iterator[Line] | None, document: Any) -> RecordStream:
    """The payloads of a file being read (``common.stream_records``): its lines or elements as
    they come, or those of a whole document."""
    if lines is None:
        lines = document_lines(document, _unwrap)
    return RecordStream(lines, parse_payload, _looks_like_payload, _check)


def _check(items: list[Any]) -> None:
    require_some(items, _looks_like_payload, EXPECTED)


def _unwrap(document: Any) -> list[Any]:
    if isinstance(document, list):
        return document
    if _looks_like_payload(document):
        return [document]
    if _looks_like_spend_log(document):
        raise PayloadError(
            "this is a LiteLLM SpendLogs row (/spend/logs), not a StandardLoggingPayload; "
            f"expected {EXPECTED}"
        )
    raise PayloadError(f"expected {EXPECTED}")


def _looks_like_payload(item: Any) -> bool:
    return has_any(item, *_MARKERS) and not _looks_like_spend_log(item)


def _looks_like_spend_log(item: Any) -> bool:
    """SpendLogs rows (``request_id``, ``spend``, string-encoded ``metadata``) are another shape."""
    return has_any(item, "request_id") and has_any(item, "spend") and not has_any(item, "id")


def parse_payload(item: Any) -> Iterator[NormalizedEvent]:
    if not isinstance(item, dict):
        raise EventError("record must be a StandardLoggingPayload object")
    if _looks_like_spend_log(item):
        raise EventError("record is a LiteLLM SpendLogs row, not a StandardLoggingPayload")
    if not _looks_like_payload(item):
        raise EventError(
            "record is not a StandardLoggingPayload (no prompt_tokens or response_cost)"
        )
    metadata = optional_object(item.get("metadata"), "metadata")

    prompt_tokens = count(item, "prompt_tokens")
    output_tokens = count(item, "completion_tokens")
    cache_read, cache_write = _cache_tokens(metadata, item.get("response"))
    input_tokens, cached_tokens = inclusive_input(prompt_tokens, cache_read, cache_write)

    cost = item.get("response_cost")
    cost_nanos = 0 if cost is None else usd_to_nanos(cost, "response_cost")
    when = item.get("endTime") if item.get("endTime") not in (None, "") else item.get("startTime")
    if when in (None, ""):
        raise EventError("endTime (or startTime) is missing")
    occurred_at = instant(when, "endTime")
    model = label(item.get("model"), "model") or label(item.get("model_group"), "model_group")

    metrics: dict[str, int] = {}
    if item.get("status") == "failure":
        metrics["failed_requests"] = 1
    yield NormalizedEvent(
        key=_key(item, metadata),
        type=EventType.USAGE,
        occurred_at=occurred_at,
        actor=_actor(item, metadata),
        tool=TOOL,
        model=model,
        input_tokens=input_tokens,
        cached_tokens=cached_tokens,
        output_tokens=output_tokens,
        cost_nanos=cost_nanos,
        requests=1,
        metrics=metrics,
    )


def _actor(item: dict[str, Any], metadata: dict[str, Any]) -> Actor | None:
    email_field = "metadata.user_api_key_user_email"
    if text(metadata.get("user_api_key_user_email"), email_field, 320) is not None:
        return email_actor(metadata["user_api_key_user_email"], email_field)
    user = vendor_actor(
        "litellm", metadata.get("user_api_key_user_id"), "metadata.user_api_key_user_id"
    )
    if user is not None:
        return user
    return vendor_actor("litellm_end_user", item.get("end_user"), "end_user")


def _cache_tokens(metadata: dict[str, Any], response: Any) -> tuple[int, int]:
    """Cache reads and writes from LiteLLM's usage object (metadata first, then the response)."""
    usage = metadata.get("usage_object")
    field = "metadata.usage_object"
    if not isinstance(usage, dict) and isinstance(response, dict):
        usage, field = response.get("usage"), "response.usage"
    if not isinstance(usage, dict):
        return 0, 0
    details = usage.get("prompt_tokens_details")
    details = details if isinstance(details, dict) else {}
    read = count(usage, "cache_read_input_tokens", f"{field}.cache_read_input_tokens") or count(
        details, "cached_tokens", f"{field}.prompt_tokens_details.cached_tokens"
    )
    write = count(usage, "cache_creation_input_tokens", f"{field}.cache_creation_input_tokens") or (
        count(
            details, "cache_creation_tokens", f"{field}.prompt_tokens_details.cache_creation_tokens"
        )
    )
    return read, write


def _key(item: dict[str, Any], metadata: dict[str, Any]) -> str:
    request_id = text(item.get("id"), "id", 200)
    if request_id is not None:
        return request_id
    # No id: derive one from what identifies the request (never from its text).
    return content_key(
        "litellm",
        {
            "trace_id": item.get("trace_id"),
            "call_type": item.get("call_type"),
            "model": item.get("model"),
            "startTime": item.get("startTime"),
            "endTime": item.get("endTime"),
            "prompt_tokens": item.get("prompt_tokens"),
            "completion_tokens": item.get("completion_tokens"),
            "response_cost": item.get("response_cost"),
            "user": metadata.get("user_api_key_user_id"),
            "email": metadata.get("user_api_key_user_email"),
            "key": metadata.get("user_api_key_hash"),
            "end_user": item.get("end_user"),
        },
    )
