"""One test per unit conversion the adapters rely on: time, money and token conventions."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain.units import (
    UnitError,
    cents_to_nanos,
    parse_instant,
    parse_rfc3339,
    usd_to_nanos,
)
from bot.errors import EventError
from bot.ingest.adapters.common import (
    bucket_start,
    inclusive_input,
    instant,
    make_key,
    rfc3339,
    uncached_plus_cache,
)

MOMENT = datetime(2026, 11, 18, 9, 12, 3, 500000, tzinfo=UTC)


# Time ----------------------------------------------------------------------------------------


def test_unix_seconds_as_a_float() -> None:  # LiteLLM startTime / endTime
    assert parse_instant(1794993123.5, "endTime") == MOMENT


def test_unix_seconds_as_an_integer() -> None:  # OpenAI bucket start_time
    assert parse_instant(1794960000, "start_time") == datetime(2026, 11, 18, tzinfo=UTC)


def test_unix_milliseconds_as_a_number() -> None:  # Cursor daily usage date
    assert parse_instant(1794993123500, "date") == MOMENT


def test_unix_milliseconds_as_a_string() -> None:  # Cursor usage event timestamp
    assert parse_instant("1794993123500", "timestamp") == MOMENT


def test_unix_nanoseconds_as_a_string() -> None:  # OTLP endTimeUnixNano
    assert parse_instant("1794993123500000000", "endTimeUnixNano") == MOMENT


def test_rfc3339_with_z() -> None:  # Anthropic starting_at, Datadog created_at
    assert parse_rfc3339("2026-11-18T09:12:03.5Z") == MOMENT


@pytest.mark.parametrize(
    "text",
    ["2026-11-18T10:12:03.5+01:00", "2026-11-18T04:12:03.500-05:00", "2026-11-18T14:42:03.5+0530"],
)
def test_rfc3339_offsets_become_utc(text: str) -> None:
    assert parse_rfc3339(text) == MOMENT
    assert parse_instant(text) == MOMENT


def test_naive_date_time_is_taken_as_utc() -> None:  # LiteLLM "2025-01-24 09:20:46.847371"
    assert parse_instant("2026-11-18 09:12:03.500000") == MOMENT


def test_a_bare_date_is_utc_midnight() -> None:  # Copilot day, Claude Code date
    assert parse_instant("2026-11-18") == datetime(2026, 11, 18, tzinfo=UTC)


def test_strict_rfc3339_refuses_naive_times() -> None:
    with pytest.raises(UnitError, match="no UTC offset"):
        parse_rfc3339("2026-11-18T09:12:03")


@pytest.mark.parametrize("value", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"])
def test_out_of_range_dates_are_unit_errors(value: str) -> None:
    with pytest.raises(UnitError, match="out of range"):
        rfc3339(value, "starting_at")
    with pytest.raises(UnitError, match="out of range"):
        instant(value, "timestamp")


@pytest.mark.parametrize("value", ["yesterday", True, None, [], float("nan"), -1])
def test_what_is_not_a_timestamp_is_refused(value: object) -> None:
    with pytest.raises(UnitError):
        instant(value, "timestamp")


# Money ---------------------------------------------------------------------------------------


def test_dollars_as_a_float_are_exact() -> None:  # LiteLLM response_cost
    assert usd_to_nanos(0.00022500000000000002) == 225_000
    assert usd_to_nanos(0.0312) == 31_200_000


def test_dollars_as_a_decimal_string_are_exact() -> None:
    assert usd_to_nanos("0.0123") == 12_300_000
    assert usd_to_nanos("23") == 23_000_000_000


def test_cents_as_an_integer() -> None:  # Claude Code estimated_cost.amount
    assert cents_to_nanos(1025) == 10_250_000_000


def test_cents_as_a_float_with_noise_are_exact() -> None:  # Cursor totalCents
    assert cents_to_nanos(40.16699999999999) == 401_670_000
    assert cents_to_nanos(20.18232) == 201_823_200


def test_cents_as_a_decimal_string() -> None:  # Anthropic cost report amount
    assert cents_to_nanos("123.45") == 1_234_500_000


@pytest.mark.parametrize(
    ("convert", "value", "reason"),
    [
        (usd_to_nanos, -0.01, "negative"),
        (usd_to_nanos, 2e9, "not plausible"),
        (cents_to_nanos, -1, "negative"),
        (cents_to_nanos, 3e11, "not plausible"),
        (cents_to_nanos, "1e999999999", "not plausible"),
        (cents_to_nanos, "12 dollars", "decimal number"),
    ],
)
def test_absurd_money_is_refused(convert: object, value: object, reason: str) -> None:
    with pytest.raises(UnitError, match=reason):
        convert(value)  # type: ignore[operator]


# Tokens and keys -----------------------------------------------------------------------------


def test_input_that_already_includes_the_cache_is_kept() -> None:  # OpenAI, OTel
    assert inclusive_input(5000, 1800, 200) == (5000, 2000)


def test_input_reported_apart_from_the_cache_gets_it_added_back() -> None:
    assert inclusive_input(100, 1500, 400) == (2000, 1900)


def test_uncached_input_plus_cache_reads_and_writes() -> None:  # Anthropic, Cursor
    assert uncached_plus_cache(1500, 200, 1500) == (3200, 1700)


def test_absurd_token_totals_are_refused() -> None:
    with pytest.raises(EventError, match="not plausible"):
        uncached_plus_cache(10**12, 10**12, 0)


@pytest.mark.parametrize(
    ("start", "end", "aligned"),
    [
        ("2026-11-17T09:11:00Z", "2026-11-18T00:00:00Z", "2026-11-17T00:00:00Z"),  # partial day
        ("2026-11-18T00:00:00Z", "2026-11-18T00:30:00Z", "2026-11-18T00:00:00Z"),  # partial day
        ("2026-11-18T09:12:00Z", "2026-11-18T10:00:00Z", "2026-11-18T09:00:00Z"),  # partial hour
        ("2026-11-18T09:00:00Z", "2026-11-18T10:00:00Z", "2026-11-18T09:00:00Z"),  # hour
        ("2026-11-18T09:12:00Z", "2026-11-18T09:13:00Z", "2026-11-18T09:12:00Z"),  # minute
    ],
)
def test_bucket_starts_are_aligned_to_their_width(start: str, end: str, aligned: str) -> None:
    assert bucket_start(rfc3339(start, "s"), rfc3339(end, "e")) == rfc3339(aligned, "a")


def test_keys_escape_their_separator_and_stay_within_the_column() -> None:
    assert make_key("a/b", None, "c%d", True) == "a%2Fb//c%25d/true"
    long_key = make_key("model", "x" * 300)
    assert len(long_key) <= 255 and long_key == make_key("model", "x" * 300)


@given(
    st.one_of(
        st.from_regex(r"\A[0-9]{1,8}(\.[0-9]{0,12})?\Z"),
        st.decimals(min_value=0, max_value=2_000_000, allow_nan=False).map(str),
        st.text(alphabet="0123456789.-+eE ٣", max_size=14),
    )
)
def test_dollar_strings_convert_exactly_whatever_path_they_take(text: str) -> None:
    """Plain amounts take an integer shortcut; it must agree with exact decimal arithmetic,
    rounding half to even at the nano-dollar, and refuse what the decimal path refuses."""
    try:
        amount = Decimal(text.strip())
    except InvalidOperation:
        amount = None
    if amount is None or not amount.is_finite() or amount < 0 or amount > 1_000_000:
        with pytest.raises(UnitError):
            usd_to_nanos(text)
        return
    expected = int((amount * 10**9).to_integral_value(rounding=ROUND_HALF_EVEN))
    assert usd_to_nanos(text) == expected
