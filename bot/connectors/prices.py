"""Per-person cost where a vendor reports only tokens: an estimate from list prices.

OpenAI's usage API and Anthropic's messages usage report carry tokens, not money (the costs
endpoints bill the organisation, not the person). ``genai-prices`` keeps a maintained table of
list prices; the cost of a usage record is estimated from it, stored with the metric
``cost_estimated`` = 1, and reconciled against the billed organisation cost in ``ai-roi
sources``. A model the table does not know gets no estimate (cost 0), never a guess.

Pure: token counts in, nano-dollars out; the price table ships inside the package (no update
over the network is started).
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from genai_prices import Usage, calc_price

from bot.domain.events import NormalizedEvent

ESTIMATED = "cost_estimated"  # the metric that marks an estimated cost
NANOS_PER_USD = Decimal(10**9)


def estimate_nanos(
    provider: str,
    model: str | None,
    *,
    input_tokens: int,
    cache_read_tokens: int = 0,
    cache_write_tokens: int = 0,
    output_tokens: int = 0,
) -> int | None:
    """List price of the tokens in nano-dollars; ``input_tokens`` includes the cache reads
    and writes. ``None`` when the model is unknown to the table."""
    if not model or input_tokens + output_tokens <= 0:
        return None
    try:
        price = calc_price(
            Usage(
                input_tokens=input_tokens,
                cache_read_tokens=cache_read_tokens,
                cache_write_tokens=cache_write_tokens,
                output_tokens=output_tokens,
            ),
            model_ref=model,
            provider_id=provider,
        )
    except (LookupError, ValueError):
        return None
    nanos = (Decimal(price.total_price) * NANOS_PER_USD).to_integral_value(ROUND_HALF_EVEN)
    return int(nanos)


def openai_result_nanos(result: dict[str, Any]) -> int | None:
    """An OpenAI usage result (``input_tokens`` includes ``input_cached_tokens``)."""
    return estimate_nanos(
        "openai",
        _text(result.get("model")),
        input_tokens=_int(result.get("input_tokens")),
        cache_read_tokens=_int(result.get("input_cached_tokens")),
        output_tokens=_int(result.get("output_tokens")),
    )


def anthropic_result_nanos(result: dict[str, Any]) -> int | None:
    """An Anthropic messages usage result (input reported apart from cache reads and writes)."""
    creation = result.get("cache_creation")
    writes = (
        _int(creation.get("ephemeral_5m_input_tokens"))
        + _int(creation.get("ephemeral_1h_input_tokens"))
        if isinstance(creation, dict)
        else _int(result.get("cache_creation_input_tokens"))
    )
    reads = _int(result.get("cache_read_input_tokens"))
    return estimate_nanos(
        "anthropic",
        _text(result.get("model")),
        input_tokens=_int(result.get("uncached_input_tokens")) + reads + writes,
        cache_read_tokens=reads,
        cache_write_tokens=writes,
        output_tokens=_int(result.get("output_tokens")),
    )


def with_estimate(event: NormalizedEvent, nanos: int | None) -> NormalizedEvent:
    """The event with an estimated cost, when it carries tokens and no cost of its own."""
    if nanos is None or event.cost_nanos or not (event.input_tokens or event.output_tokens):
        return event
    event.cost_nanos = nanos
    event.metrics = {**event.metrics, ESTIMATED: 1}
    return event


def priced(
    price: Callable[[dict[str, Any]], int | None],
) -> Callable[[Any, NormalizedEvent], NormalizedEvent]:
    """An adjustment for ``PullRun.ingest``: each usage result's event gets the estimate
    ``price`` gives for the result (records of bucket reports are ``{"bucket", "result"}``)."""

    def adjust(record: Any, event: NormalizedEvent) -> NormalizedEvent:
        result = record.get("result") if isinstance(record, dict) else None
        return with_estimate(event, price(result) if isinstance(result, dict) else None)

    return adjust


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value.strip() else None
