"""OpenTelemetry traces as OTLP/HTTP JSON, read for GenAI semantic-convention usage.

``{"resourceSpans": [{"resource": {...}, "scopeSpans": [{"spans": [...]}]}]}``, as a collector
exports it to ``/v1/traces`` (or one such envelope per line, as its file exporter writes).
A span that carries ``gen_ai.usage.*`` token counts is one request; other spans are ignored.
A usage span whose descendants in the same body also carry usage (an agent span summing its
model calls) is a roll-up and is ignored too, so nothing is counted twice.

- key: ``traceId:spanId`` (hex, lower case; base64 ids are converted);
- time: ``endTimeUnixNano`` (a nanosecond string);
- tokens: ``gen_ai.usage.input_tokens`` includes cached tokens by the convention;
  ``gen_ai.usage.cache_read.input_tokens`` and ``…cache_creation/cache_write.input_tokens``
  make ``cached`` (added back when an emitter reports them apart);
- identity: ``user.email``, ``enduser.id`` or ``user.id`` on the span, then on the resource;
  none is org-level usage (a service calling a model);
- tool: the resource's ``service.name``.

Prompt and completion attributes (``gen_ai.input.messages``, ``gen_ai.prompt``…) and span
events are never read. Rejection indexes count spans in body order, GenAI or not.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from bot.domain.events import Actor, EventType, NormalizedEvent, ParseResult, Rejection
from bot.domain.units import UnitError
from bot.errors import EventError, PayloadError, UnsupportedMediaError
from bot.ingest.adapters.common import (
    checked,
    count,
    decode_document,
    decode_lines,
    handle_actor,
    hex_id,
    inclusive_input,
    instant,
    label,
)
from bot.ingest.decoding import is_ndjson, media_type

SOURCE = "otel"
DEFAULT_TOOL = "otel"
EXPECTED = 'an OTLP/HTTP JSON trace export: {"resourceSpans": [{"scopeSpans": [{"spans": [...]}]}]}'

INPUT_TOKENS = ("gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens")
OUTPUT_TOKENS = ("gen_ai.usage.output_tokens", "gen_ai.usage.completion_tokens")
CACHE_READ = ("gen_ai.usage.cache_read.input_tokens", "gen_ai.usage.cache_read_input_tokens")
CACHE_WRITE = (
    "gen_ai.usage.cache_creation.input_tokens",
    "gen_ai.usage.cache_write.input_tokens",
    "gen_ai.usage.cache_creation_input_tokens",
)
MODEL = ("gen_ai.response.model", "gen_ai.request.model")
IDENTITY = ("user.email", "enduser.id", "user.id")
_INT_RE = re.compile(r"^-?\d+$")


@dataclass(frozen=True)
class Span:
    index: int
    span: Any
    resource: dict[str, Any]
    error: str | None = None


def parse(body: bytes, content_type: str | None) -> ParseResult:
    kind = media_type(content_type)
    if "protobuf" in kind:
        raise UnsupportedMediaError(
            f"content type {kind!r} is not supported: configure the exporter for OTLP/HTTP JSON "
            "(protocol http/json, Content-Type application/json)"
        )
    if is_ndjson(content_type):
        documents, line_errors = decode_lines(body)
    else:
        documents, line_errors = [decode_document(body)], {}
    if not any(_is_export(document) for document in documents):
        raise PayloadError(f"expected {EXPECTED}")
    return parse_spans(list(_spans(documents, line_errors)))


def _is_export(document: Any) -> bool:
    return isinstance(document, dict) and isinstance(document.get("resourceSpans"), list)


def _spans(documents: list[Any], line_errors: dict[int, str]) -> Iterator[Span]:
    """Every span in body order, with its resource attributes; broken envelopes as errors."""
    index = 0
    for number, document in enumerate(documents):
        if number in line_errors:
            yield Span(index, None, {}, line_errors[number])
            index += 1
            continue
        if not _is_export(document):
            yield Span(index, None, {}, f"envelope {number + 1} has no resourceSpans array")
            index += 1
            continue
        for resource_spans in document["resourceSpans"]:
            if not isinstance(resource_spans, dict):
                yield Span(index, None, {}, "resourceSpans entry must be an object")
                index += 1
                continue
            resource = resource_spans.get("resource")
            resource_attrs = attributes(
                resource.get("attributes") if isinstance(resource, dict) else None
            )
            scopes = resource_spans.get("scopeSpans")
            if scopes is None:
                scopes = resource_spans.get("instrumentationLibrarySpans")  # before OTLP 1.0
            for scope in scopes if isinstance(scopes, list) else []:
                spans = scope.get("spans") if isinstance(scope, dict) else None
                for span in spans if isinstance(spans, list) else []:
                    yield Span(index, span, resource_attrs)
                    index += 1


def parse_spans(spans: list[Span]) -> ParseResult:
    events: list[NormalizedEvent] = []
    rejected: list[Rejection] = []
    usage_spans: list[tuple[Span, dict[str, Any]]] = []
    parents: dict[tuple[str, str], str] = {}
    for entry in spans:
        if entry.error is not None:
            rejected.append(Rejection(entry.index, entry.error))
            continue
        if not isinstance(entry.span, dict):
            rejected.append(Rejection(entry.index, "span must be a JSON object"))
            continue
        trace_id, span_id, parent_id = _raw_ids(entry.span)
        if trace_id and span_id and parent_id:
            parents[(trace_id, span_id)] = parent_id
        attrs = attributes(entry.span.get("attributes"))
        if any(name in attrs for name in (*INPUT_TOKENS, *OUTPUT_TOKENS)):
            usage_spans.append((entry, attrs))

    rolled_up = _ancestors_of_usage(usage_spans, parents)
    for entry, attrs in usage_spans:
        trace_id, span_id, _ = _raw_ids(entry.span)
        if (trace_id, span_id) in rolled_up:
            continue
        try:
            events.append(checked(_usage_event(entry, attrs)))
        except (EventError, UnitError) as exc:
            rejected.append(Rejection(entry.index, str(exc) or "span is not valid"))
    rejected.sort(key=lambda rejection: rejection.index)
    return ParseResult(events, rejected)


def _raw_ids(span: dict[str, Any]) -> tuple[str, str, str]:
    def raw(name: str) -> str:
        value = span.get(name)
        return value.strip().lower() if isinstance(value, str) else ""

    return raw("traceId"), raw("spanId"), raw("parentSpanId")


def _ancestors_of_usage(
    usage_spans: list[tuple[Span, dict[str, Any]]], parents: dict[tuple[str, str], str]
) -> set[tuple[str, str]]:
    """Spans (trace, span) that have a usage span below them in this body."""
    found: set[tuple[str, str]] = set()
    for entry, _ in usage_spans:
        trace_id, span_id, _parent = _raw_ids(entry.span)
        seen = {span_id}
        parent = parents.get((trace_id, span_id))
        while parent and parent not in seen:
            found.add((trace_id, parent))
            seen.add(parent)
            parent = parents.get((trace_id, parent))
    return found


def _usage_event(entry: Span, attrs: dict[str, Any]) -> NormalizedEvent:
    span = entry.span
    trace_id = hex_id(span.get("traceId"), "traceId", 16)
    span_id = hex_id(span.get("spanId"), "spanId", 8)
    occurred_at = instant(_span_time(span), "endTimeUnixNano")

    reported_input = _first_count(attrs, INPUT_TOKENS)
    output_tokens = _first_count(attrs, OUTPUT_TOKENS)
    cache_read = _first_count(attrs, CACHE_READ)
    cache_write = _first_count(attrs, CACHE_WRITE)
    input_tokens, cached_tokens = inclusive_input(reported_input, cache_read, cache_write)

    model = next((label(attrs[name], name) for name in MODEL if attrs.get(name) is not None), None)
    tool = label(entry.resource.get("service.name"), "service.name") or DEFAULT_TOOL
    return NormalizedEvent(
        key=f"{trace_id}:{span_id}",
        type=EventType.USAGE,
        occurred_at=occurred_at,
        actor=_actor(attrs, entry.resource),
        tool=tool,
        model=model,
        input_tokens=input_tokens,
        cached_tokens=cached_tokens,
        output_tokens=output_tokens,
        requests=1,
    )


def _span_time(span: dict[str, Any]) -> Any:
    for name in ("endTimeUnixNano", "startTimeUnixNano"):
        value = span.get(name)
        if value not in (None, "", "0", 0):
            return value
    raise EventError("endTimeUnixNano is missing")


def _first_count(attrs: dict[str, Any], names: tuple[str, ...]) -> int:
    for name in names:
        value = attrs.get(name)
        if isinstance(value, str) and _INT_RE.match(value.strip()):
            value = int(value.strip())  # some emitters send counts as strings
        if value is not None:
            return count({name: value}, name)
    return 0


def _actor(span_attrs: dict[str, Any], resource_attrs: dict[str, Any]) -> Actor | None:
    for attrs in (span_attrs, resource_attrs):
        for name in IDENTITY:
            value = attrs.get(name)
            if isinstance(value, str) and value.strip():
                return handle_actor("otel", value, name)
    return None


# Attributes -----------------------------------------------------------------------------------


def attributes(raw: Any) -> dict[str, Any]:
    """OTLP ``[{key, value: {stringValue|intValue|…}}]`` as a dict of plain values.

    ``intValue`` is a string in OTLP JSON (64-bit); it becomes an ``int``. Malformed entries are
    skipped: an attribute the adapter does not need must not cost the span.
    """
    result: dict[str, Any] = {}
    if not isinstance(raw, list):
        return result
    for entry in raw:
        if isinstance(entry, dict) and isinstance(entry.get("key"), str):
            result[entry["key"]] = any_value(entry.get("value"))
    return result


def any_value(value: Any) -> Any:
    """The plain value of an OTLP ``AnyValue`` (scalars only; arrays and maps stay unread)."""
    if not isinstance(value, dict):
        return None
    if "intValue" in value:
        number = value["intValue"]
        if isinstance(number, str) and _INT_RE.match(number.strip()):
            return int(number.strip())
        return number
    for name in ("stringValue", "doubleValue", "boolValue"):
        if name in value:
            return value[name]
    return None
