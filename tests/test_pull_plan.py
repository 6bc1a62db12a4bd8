"""The pure planning of the pull connectors: windows, checkpoints, watermarks, when a source is
due; and the billed-cost arithmetic."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from bot.connectors.costs import billed_days, merge_billed, to_decimal
from bot.connectors.plan import (
    Window,
    checkpoint_through,
    daily_watermark,
    is_due,
    next_checkpoint,
    plan_window,
)

TODAY = date(2026, 11, 25)


def plan(**kwargs: object) -> Window:
    values: dict[object, object] = {
        "today": TODAY,
        "through": None,
        "trailing_days": 7,
        "backfill_days": 30,
    }
    values.update(kwargs)
    return plan_window(**values)  # type: ignore[arg-type]


def test_a_first_run_backfills_and_ends_today() -> None:
    assert plan() == Window(date(2026, 10, 26), TODAY)
    assert plan(backfill_days=3) == Window(date(2026, 11, 22), TODAY)


def test_later_runs_start_after_the_checkpoint_but_refetch_the_trailing_window() -> None:
    assert plan(through=TODAY) == Window(date(2026, 11, 18), TODAY)
    assert plan(through=TODAY, trailing_days=2) == Window(date(2026, 11, 23), TODAY)
    assert plan(through=TODAY, trailing_days=0) == Window(TODAY, TODAY)
    # A checkpoint far behind catches up from the day after it.
    assert plan(through=date(2026, 11, 1)) == Window(date(2026, 11, 2), TODAY)


def test_since_and_until_override() -> None:
    assert plan(through=TODAY, since=date(2026, 1, 1), until=date(2026, 1, 31)) == Window(
        date(2026, 1, 1), date(2026, 1, 31)
    )
    assert plan(until=date(2027, 1, 1)).last == TODAY  # never past today
    with pytest.raises(ValueError, match="nothing to fetch"):
        plan(since=date(2026, 12, 1))


def test_window_bounds_days_and_chunks() -> None:
    window = Window(date(2026, 11, 16), date(2026, 11, 22))
    assert window.start == datetime(2026, 11, 16, tzinfo=UTC)
    assert window.end == datetime(2026, 11, 23, tzinfo=UTC)
    assert window.days == 7
    assert list(window.each_day())[-1] == date(2026, 11, 22)
    assert [(c.first.day, c.last.day) for c in window.chunks(3)] == [(16, 18), (19, 21), (22, 22)]
    with pytest.raises(ValueError):
        list(window.chunks(0))


def test_checkpoints_never_move_back_and_keep_what_the_connector_added() -> None:
    window = Window(date(2026, 11, 1), date(2026, 11, 10))
    assert next_checkpoint(None, window) == {"through": "2026-11-10"}
    later = {"through": "2026-11-20", "billed_usd": {"2026-11-19": "1"}}
    assert next_checkpoint(later, window) == {
        "through": "2026-11-20",
        "billed_usd": {"2026-11-19": "1"},
    }
    assert next_checkpoint(later, window, billed_usd={}) == {
        "through": "2026-11-20",
        "billed_usd": {},
    }
    assert checkpoint_through({"through": "garbage"}) is None
    assert checkpoint_through({"through": 3}) is None
    assert checkpoint_through(None) is None


def test_the_watermark_is_the_end_of_the_last_day_the_vendor_has_closed() -> None:
    window = Window(date(2026, 11, 18), TODAY)
    lag = timedelta(hours=1)
    at = datetime(2026, 11, 25, 0, 30, tzinfo=UTC)  # yesterday closed, but not an hour ago
    assert daily_watermark(window, now=at, lag=lag) == datetime(2026, 11, 24, tzinfo=UTC)
    at = datetime(2026, 11, 25, 1, 0, tzinfo=UTC)
    assert daily_watermark(window, now=at, lag=lag) == datetime(2026, 11, 25, tzinfo=UTC)
    past = Window(date(2026, 11, 1), date(2026, 11, 10))  # --until in the past
    assert daily_watermark(past, now=at, lag=lag) == datetime(2026, 11, 11, tzinfo=UTC)


def test_a_source_is_due_after_its_interval_and_backs_off_after_failures() -> None:
    now = datetime(2026, 11, 25, 12, tzinfo=UTC)
    hour = timedelta(hours=1)
    assert is_due(now=now, interval=hour, last_run_at=None, consecutive_failures=0)
    assert not is_due(
        now=now, interval=hour, last_run_at=now - 59 * timedelta(minutes=1), consecutive_failures=0
    )
    assert is_due(now=now, interval=hour, last_run_at=now - hour, consecutive_failures=0)
    assert not is_due(
        now=now, interval=hour, last_run_at=now - 3 * hour, consecutive_failures=3
    )  # 4 h
    assert is_due(now=now, interval=hour, last_run_at=now - 4 * hour, consecutive_failures=3)
    # However many failures, it is tried again within a day.
    assert is_due(now=now, interval=hour, last_run_at=now - 24 * hour, consecutive_failures=40)
    assert not is_due(now=now, interval=hour, last_run_at=now - 23 * hour, consecutive_failures=40)


def test_billed_cost_is_exact_and_restated_days_replace() -> None:
    assert to_decimal(0.13080438340307526) == Decimal("0.13080438340307526")
    assert to_decimal("12.5") == Decimal("12.5")
    assert to_decimal("nan") is None and to_decimal(True) is None and to_decimal("x") is None
    previous = {"billed_usd": {"2026-11-20": "1.5", "2026-11-21": "2", "2026-08-01": "9"}}
    merged = merge_billed(previous, {date(2026, 11, 21): Decimal("2.25")}, today=TODAY)
    assert merged == {"2026-11-20": "1.5", "2026-11-21": "2.25"}  # August is past 90 days
    assert billed_days({"billed_usd": merged}) == {
        date(2026, 11, 20): Decimal("1.5"),
        date(2026, 11, 21): Decimal("2.25"),
    }
    assert billed_days({"billed_usd": {"bad": "1", "2026-11-01": "x"}}) == {}


def test_list_price_estimates_follow_each_vendors_token_convention() -> None:
    from bot.connectors.prices import (
        ESTIMATED,
        anthropic_result_nanos,
        estimate_nanos,
        openai_result_nanos,
        with_estimate,
    )
    from bot.domain.events import EventType, NormalizedEvent

    # gpt-4.1: $2 input, $0.50 cached input, $8 output per million; input includes the cached.
    gpt = {
        "model": "gpt-4.1",
        "input_tokens": 1000,
        "input_cached_tokens": 200,
        "output_tokens": 300,
    }
    assert openai_result_nanos(gpt) == (800 * 2 + 200 * 0.5 + 300 * 8) * 1000
    # Anthropic reports input apart from cache reads and writes: they are added back.
    claude = {
        "model": "claude-sonnet-4-5-20250929",
        "uncached_input_tokens": 1500,
        "cache_read_input_tokens": 200,
        "cache_creation": {"ephemeral_5m_input_tokens": 500, "ephemeral_1h_input_tokens": 1000},
        "output_tokens": 500,
    }
    assert anthropic_result_nanos(claude) == 17_685_000
    assert openai_result_nanos({"model": "no-such-model-7", "input_tokens": 5}) is None
    assert openai_result_nanos({"model": None, "input_tokens": 5}) is None
    assert estimate_nanos("openai", "gpt-4.1", input_tokens=0) is None

    event = NormalizedEvent(
        key="k",
        type=EventType.USAGE,
        occurred_at=datetime(2026, 11, 17, tzinfo=UTC),
        actor=None,
        input_tokens=10,
    )
    assert with_estimate(event, None).cost_nanos == 0
    priced = with_estimate(event, 1234)
    assert (priced.cost_nanos, priced.metrics) == (1234, {ESTIMATED: 1})
    billed = NormalizedEvent(
        key="b",
        type=EventType.USAGE,
        occurred_at=datetime(2026, 11, 17, tzinfo=UTC),
        actor=None,
        input_tokens=10,
        cost_nanos=99,
    )
    assert with_estimate(billed, 1234).cost_nanos == 99  # a vendor's own cost is never replaced
