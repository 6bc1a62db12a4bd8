"""LiteLLM proxy daily activity: one person's ``GET /user/daily/activity`` page.

``{"results": [{"date": "YYYY-MM-DD", "metrics": {...}, "breakdown": {"models": {"<model>":
{"metrics": {...}, "metadata": {...}}}, "api_keys": {...}, "providers": {...}}}], "metadata":
{"total_spend", …, "page", "total_pages", "has_more"}}``, where each ``metrics`` is LiteLLM's
SpendMetrics: ``spend`` (USD), ``prompt_tokens`` (OpenAI convention: cache reads and writes
included), ``completion_tokens``, ``cache_read_input_tokens``, ``cache_creation_input_tokens``,
``api_requests``, ``successful_requests``, ``failed_requests``.

The answer does not repeat whose activity it is, so the page carries who was asked for beside it:
``user_id`` (the ``user_id`` query parameter) and, when the proxy knows it, ``user_email``
(``/user/list``). The pull connector adds both; so must anyone posting such a page by hand.

Stored under the ``litellm`` source beside the webhook's per-request payloads: ``litellm`` is
registered with ``parse_either``/``records_either``, which read such a page here and anything
else with ``bot.ingest.adapters.litellm``. Each (day, model) of the breakdown is one aggregate,
keyed ``litellm-daily/<day>/<user>/<model>`` (``KEY_PREFIX``) and replaced when the proxy
restates the day; a day with activity but no model breakdown is one aggregate
under the day's own metrics. Identity as the webhook's: ``user_email`` → email, else ``user_id``
→ ``litellm``.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import IO, Any

from bot.domain.events import Actor, EventType, NormalizedEvent, ParseResult
from bot.domain.units import MAX_REQUESTS_PER_RECORD, to_count, usd_to_nanos
from bot.errors import EventError, PayloadError
from bot.ingest.adapters import litellm
from bot.ingest.adapters.common import (
    Records,
    RecordStream,
    count,
    decode_document,
    document_lines,
    email_actor,
    inclusive_input,
    label,
    make_key,
    optional_object,
    stream_records,
    text,
    vendor_actor,
)
from bot.ingest.decoding import Tally, is_ndjson

KEY_PREFIX = "litellm-daily"  # the keys of day aggregates, never a LiteLLM request id
TOOL = "litellm"
EXPECTED = (
    'one person\'s LiteLLM daily activity page {"user_id": "...", "results": [{"date", '
    '"metrics", "breakdown"}], "metadata": {...}} (GET /user/daily/activity, with user_id beside it)'
)


def parse_either(body: bytes, content_type: str | None) -> ParseResult:
    """The ``litellm`` source: a daily activity page, or the webhook's payloads."""
    return records_either(body, content_type).parse()


def records_either(body: bytes, content_type: str | None) -> Records:
    if not is_ndjson(content_type) and body.lstrip()[:1] == b"{":
        document = decode_document(body)
        if looks_like_page(document):
            return _page_records(document)
    return litellm.records(body, content_type)


def stream_either(
    body: IO[bytes], content_type: str | None, tally: Tally | None = None
) -> RecordStream:
    """A file for the ``litellm`` source as it is read: the webhook's payloads stream (NDJSON or
    a JSON array); a daily activity page, or one payload, is read whole."""
    lines, document = stream_records(body, content_type, tally)
    if lines is None and looks_like_page(document):
        page = _page_records(document)
        return RecordStream(document_lines(page.items, list), page.parse_one)
    return litellm.record_stream(lines, document)


def looks_like_page(document: Any) -> bool:
    return isinstance(document, dict) and isinstance(document.get("results"), list)


def parse(body: bytes, content_type: str | None) -> ParseResult:
    return records(body, content_type).parse()


def records(body: bytes, content_type: str | None) -> Records:
    document = decode_document(body)
    if not looks_like_page(document):
        raise PayloadError(f"expected {EXPECTED}")
    return _page_records(document)


def _page_records(document: dict[str, Any]) -> Records:
    try:
        actor = _actor(document)
        user = text(document.get("user_id"), "user_id", 320)
    except EventError as exc:  # who the page is about is wrong: no day of it can be kept
        raise PayloadError(f"{exc}; expected {EXPECTED}") from None
    if actor is None:
        raise PayloadError(f"the page names no user_id or user_email; expected {EXPECTED}")
    return Records(
        [{"user": user or actor.value, "actor": actor, "day": day} for day in document["results"]],
        parse_day,
    )


def _actor(document: dict[str, Any]) -> Actor | None:
    if text(document.get("user_email"), "user_email", 320) is not None:
        return email_actor(document["user_email"], "user_email")
    return vendor_actor("litellm", document.get("user_id"), "user_id")


def parse_day(record: Any) -> Iterator[NormalizedEvent]:
    day_row = record["day"]
    if not isinstance(day_row, dict):
        raise EventError("a daily activity result must be a JSON object")
    day = _day(day_row.get("date"))
    breakdown = optional_object(day_row.get("breakdown"), "breakdown")
    models = optional_object(breakdown.get("models"), "breakdown.models")
    if models:
        for model, entry in sorted(models.items()):
            if not isinstance(entry, dict):
                raise EventError(f"breakdown.models.{model} must be a JSON object")
            metrics = optional_object(entry.get("metrics"), f"breakdown.models.{model}.metrics")
            yield _aggregate(record, day, label(model, "breakdown.models") or None, metrics)
        return
    metrics = optional_object(day_row.get("metrics"), "metrics")
    if _has_activity(metrics):
        yield _aggregate(record, day, None, metrics)


def _aggregate(
    record: dict[str, Any], day: date, model: str | None, metrics: dict[str, Any]
) -> NormalizedEvent:
    input_tokens, cached_tokens = inclusive_input(
        count(metrics, "prompt_tokens"),
        count(metrics, "cache_read_input_tokens"),
        count(metrics, "cache_creation_input_tokens"),
    )
    spend = metrics.get("spend")
    failed = to_count(
        metrics.get("failed_requests") or 0, "failed_requests", MAX_REQUESTS_PER_RECORD
    )
    return NormalizedEvent(
        key=make_key(KEY_PREFIX, day.isoformat(), record["user"], model),
        type=EventType.USAGE,
        occurred_at=datetime(day.year, day.month, day.day, tzinfo=UTC),
        actor=record["actor"],
        tool=TOOL,
        model=model,
        input_tokens=input_tokens,
        cached_tokens=cached_tokens,
        output_tokens=count(metrics, "completion_tokens"),
        cost_nanos=0 if spend is None else usd_to_nanos(spend, "spend"),
        requests=to_count(
            metrics.get("api_requests") or 0, "api_requests", MAX_REQUESTS_PER_RECORD
        ),
        replace=True,
        metrics={"failed_requests": failed} if failed else {},
    )


def _has_activity(metrics: dict[str, Any]) -> bool:
    return any(
        metrics.get(name)
        for name in ("api_requests", "prompt_tokens", "completion_tokens", "spend")
    )


def _day(value: Any) -> date:
    if not isinstance(value, str) or not value:
        raise EventError("date is missing")
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        raise EventError(f"date {value[:40]!r} is not YYYY-MM-DD") from None
