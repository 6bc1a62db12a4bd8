"""Claude Code analytics report (``GET /v1/organizations/usage_report/claude_code``).

``{"data": [record…], "has_more", "next_page"}``; also a bare list of records or one record.
A record is one actor's day: ``date`` (``YYYY-MM-DD``, or an RFC 3339 midnight in older
examples), ``actor`` (``user_actor`` with ``email_address`` or ``api_actor`` with
``api_key_name``), ``terminal_type``, ``core_metrics`` (sessions, lines of code, commits, pull
requests), ``tool_actions`` (accepted/rejected per editing tool) and ``model_breakdown``
(tokens and ``estimated_cost`` per model, the amount in cents).

Each record becomes aggregates keyed by (day, actor, terminal type):
- one ``ai.usage`` event per model with its tokens and cost (input = ``input`` + ``cache_read``
  + ``cache_creation``, as Anthropic counts input apart from the cache; cost from cents);
- one ``ai.usage`` event for the day with no tokens that carries the day's outcome metrics,
  so a restated day replaces them instead of adding a second copy.
A record is all or nothing. ``email_address`` → ``Actor("email", …)``; ``api_key_name`` →
``Actor("anthropic_api_key", …)``; a record without either is rejected.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from bot.domain.events import Actor, EventType, NormalizedEvent, ParseResult
from bot.domain.units import MAX_REQUESTS_PER_RECORD, cents_to_nanos, to_count
from bot.errors import EventError, PayloadError
from bot.ingest.adapters.common import (
    Records,
    as_list,
    as_object,
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
    required_text,
    text,
    uncached_plus_cache,
)

SOURCE = "claude-code"
TOOL = "claude-code"
EXPECTED = (
    'a Claude Code analytics report {"data": [{"date", "actor", "core_metrics", '
    '"model_breakdown", ...}], ...}, a list of such records, or one record'
)
EDIT_TOOLS = ("edit_tool", "multi_edit_tool", "write_tool", "notebook_edit_tool")


def parse(body: bytes, content_type: str | None) -> ParseResult:
    return records(body, content_type).parse()


def records(body: bytes, content_type: str | None) -> Records:
    items = _records(decode_document(body))
    require_some(items, _looks_like_record, "a Claude Code analytics record (date, actor)")
    return Records(items, parse_record)


def _records(document: Any) -> list[Any]:
    if isinstance(document, dict) and isinstance(document.get("data"), list):
        return list(document["data"])
    if isinstance(document, list):
        return document
    if _looks_like_record(document):
        return [document]
    raise PayloadError(f"expected {EXPECTED}")


def _looks_like_record(item: Any) -> bool:
    return has_any(item, "actor") and has_any(item, "core_metrics", "model_breakdown", "date")


def parse_record(record: Any) -> Iterator[NormalizedEvent]:
    if not isinstance(record, dict):
        raise EventError("record must be a JSON object")
    if record.get("date") in (None, ""):
        raise EventError("date is missing")
    occurred_at = instant(record["date"], "date")
    day = day_of(occurred_at)
    actor = _actor(record.get("actor"))
    terminal = text(record.get("terminal_type"), "terminal_type")
    events = [_day_event(record, day, occurred_at, actor, terminal)]
    seen: set[str] = set()
    for number, entry in enumerate(as_list(record.get("model_breakdown"), "model_breakdown")):
        event = _model_event(entry, f"model_breakdown[{number}]", day, occurred_at, actor, terminal)
        if event.key in seen:
            raise EventError(f"model_breakdown lists {event.model!r} twice")
        seen.add(event.key)
        events.append(event)
    yield from events


def _actor(value: Any) -> Actor:
    if value is None:
        raise EventError("actor is missing: the record names no person")
    actor = as_object(value, "actor")
    if actor.get("type") == "api_actor" or (
        "api_key_name" in actor and "email_address" not in actor
    ):
        name = required_text(actor.get("api_key_name"), "actor.api_key_name", 320)
        return Actor("anthropic_api_key", name)
    return email_actor(actor.get("email_address"), "actor.email_address")


def _day_event(
    record: dict[str, Any], day: str, occurred_at: datetime, actor: Actor, terminal: str | None
) -> NormalizedEvent:
    core = optional_object(record.get("core_metrics"), "core_metrics")
    lines = optional_object(core.get("lines_of_code"), "core_metrics.lines_of_code")
    metrics = {
        "sessions": _metric(core, "num_sessions", "core_metrics"),
        "lines_added": _metric(lines, "added", "core_metrics.lines_of_code"),
        "lines_removed": _metric(lines, "removed", "core_metrics.lines_of_code"),
        "commits": _metric(core, "commits_by_claude_code", "core_metrics"),
        "pull_requests": _metric(core, "pull_requests_by_claude_code", "core_metrics"),
    }
    actions = optional_object(record.get("tool_actions"), "tool_actions")
    for tool in EDIT_TOOLS:
        decisions = optional_object(actions.get(tool), f"tool_actions.{tool}")
        name = tool.removesuffix("_tool")
        metrics[f"{name}_accepted"] = _metric(decisions, "accepted", f"tool_actions.{tool}")
        metrics[f"{name}_rejected"] = _metric(decisions, "rejected", f"tool_actions.{tool}")
    return NormalizedEvent(
        key=make_key("day", day, actor.kind, actor.value, terminal),
        type=EventType.USAGE,
        occurred_at=occurred_at,
        actor=actor,
        tool=TOOL,
        replace=True,
        metrics={name: value for name, value in metrics.items() if value},
    )


def _model_event(
    entry: Any, field: str, day: str, occurred_at: datetime, actor: Actor, terminal: str | None
) -> NormalizedEvent:
    entry = as_object(entry, field)
    model = required_text(entry.get("model"), f"{field}.model")
    tokens = optional_object(entry.get("tokens"), f"{field}.tokens")
    input_tokens, cached_tokens = uncached_plus_cache(
        count(tokens, "input", f"{field}.tokens.input"),
        count(tokens, "cache_read", f"{field}.tokens.cache_read"),
        count(tokens, "cache_creation", f"{field}.tokens.cache_creation"),
    )
    return NormalizedEvent(
        key=make_key("model", day, actor.kind, actor.value, terminal, model),
        type=EventType.USAGE,
        occurred_at=occurred_at,
        actor=actor,
        tool=TOOL,
        model=label(model, f"{field}.model"),
        input_tokens=input_tokens,
        cached_tokens=cached_tokens,
        output_tokens=count(tokens, "output", f"{field}.tokens.output"),
        cost_nanos=_cost(entry.get("estimated_cost"), f"{field}.estimated_cost"),
        replace=True,
    )


def _cost(value: Any, field: str) -> int:
    if value is None:
        return 0
    cost = as_object(value, field)
    currency = cost.get("currency", "USD")
    if not isinstance(currency, str) or currency.strip().upper() != "USD":
        raise EventError(f"{field}.currency {currency!r} is not supported; costs are in USD")
    amount = cost.get("amount")
    return 0 if amount is None else cents_to_nanos(amount, f"{field}.amount (cents)")


def _metric(record: dict[str, Any], name: str, parent: str) -> int:
    value = record.get(name)
    return 0 if value is None else to_count(value, f"{parent}.{name}", MAX_REQUESTS_PER_RECORD)
