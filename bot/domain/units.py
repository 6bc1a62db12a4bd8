"""Unit normalisation: money, token counts and timestamps, exactly and explicitly.

Money is held as integer nano-dollars (1 USD = 10**9) so sums are exact in Python and in SQL;
it is never touched by float arithmetic. Timestamps leave this module as aware UTC datetimes.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Any

NANOS_PER_USD = 10**9
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Bounds beyond which a value is certainly a unit or data error, not usage.
MAX_COST_USD_PER_RECORD = Decimal(1_000_000)
MAX_TOKENS_PER_RECORD = 10**12
MAX_REQUESTS_PER_RECORD = 10**9

_RFC3339_RE = re.compile(
    r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([Zz]|[+-]\d{2}:?\d{2})$"
)
# Whole dollars and at most nine decimals: nano-dollars exactly, by integer arithmetic.
_PLAIN_USD_RE = re.compile(r"([0-9]{1,7})(?:\.([0-9]{1,9}))?\Z")
_MAX_NANOS_PER_RECORD = int(MAX_COST_USD_PER_RECORD) * NANOS_PER_USD
_NAIVE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}([Tt ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?$")


class UnitError(ValueError):
    """A value cannot be read as the unit asked for; the message says why."""


# Money -----------------------------------------------------------------------------------


def to_decimal(value: Any, field: str) -> Decimal:
    """A JSON number or decimal string as an exact ``Decimal`` (floats via their shortest repr)."""
    if isinstance(value, bool) or value is None:
        raise UnitError(f"{field} must be a number or a decimal string")
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise UnitError(f"{field} must be finite")
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise UnitError(f"{field} must be finite")
        return Decimal(repr(value))
    if isinstance(value, str):
        try:
            result = Decimal(value.strip())
        except InvalidOperation:
            raise UnitError(f"{field} must be a decimal number, not {value!r}") from None
        if not result.is_finite():
            raise UnitError(f"{field} must be finite")
        return result
    raise UnitError(f"{field} must be a number or a decimal string")


def usd_to_nanos(value: Any, field: str = "cost_usd") -> int:
    """US dollars (number or decimal string) to integer nano-dollars; rejects negatives and absurd values."""
    if type(value) is str:  # the common case, a plain amount such as "0.0123": no rounding
        plain = _PLAIN_USD_RE.match(value)
        if plain is not None:
            whole, fraction = plain.groups()
            nanos = int(whole) * NANOS_PER_USD + int((fraction or "0").ljust(9, "0"))
            if nanos <= _MAX_NANOS_PER_RECORD:
                return nanos
    amount = to_decimal(value, field)
    if amount < 0:
        raise UnitError(f"{field} must not be negative")
    if amount > MAX_COST_USD_PER_RECORD:
        raise UnitError(f"{field} of {amount} USD for one record is not plausible")
    return int((amount * NANOS_PER_USD).to_integral_value(rounding=ROUND_HALF_EVEN))


def cents_to_nanos(value: Any, field: str = "cost_cents") -> int:
    """US cents (number or decimal string, fractions allowed) to nano-dollars, exactly.

    The cents are shifted two decimal places as a decimal string, so ``40.16699999999999``
    cents stay exact until the final rounding to a nano-dollar.
    """
    cents = to_decimal(value, field)
    if cents < 0:
        raise UnitError(f"{field} must not be negative")
    if cents.adjusted() > 18:  # checked before the string is built: it would be that long
        raise UnitError(f"{field} of {cents:.3E} cents for one record is not plausible")
    if cents.adjusted() < -30:  # far below a nano-dollar
        return 0
    return usd_to_nanos(format(cents.scaleb(-2), "f"), field)


def nanos_to_usd(nanos: int) -> Decimal:
    return Decimal(nanos) / NANOS_PER_USD


def format_usd(nanos: int) -> str:
    """Exact dollars as a string with at least two decimals: ``23.00``, ``0.0123``."""
    amount = nanos_to_usd(nanos)
    cents = amount.quantize(Decimal("0.01"))
    if cents == amount:
        return f"{cents:f}"
    return f"{amount.normalize():f}"


def display_usd(nanos: int) -> str:
    """Dollars for people: ``$23``, ``$1,204``, ``$0.42``, ``<$0.01``."""
    amount = nanos_to_usd(nanos)
    if amount == 0:
        return "$0"
    if amount < Decimal("0.01"):
        return "<$0.01"
    if amount < 10:
        return f"${amount.quantize(Decimal('0.01'))}"
    return f"${amount.quantize(Decimal('1'), rounding=ROUND_HALF_EVEN):,}"


# Counts ----------------------------------------------------------------------------------


def to_count(value: Any, field: str, maximum: int = MAX_TOKENS_PER_RECORD) -> int:
    """A non-negative integer count; integral floats are accepted, anything else is not."""
    if type(value) is int and 0 <= value <= maximum:
        return value
    if isinstance(value, bool) or value is None:
        raise UnitError(f"{field} must be a non-negative integer")
    if isinstance(value, float):
        if not math.isfinite(value) or not value.is_integer():
            raise UnitError(f"{field} must be a whole number, not {value!r}")
        value = int(value)
    if not isinstance(value, int):
        raise UnitError(f"{field} must be a non-negative integer, not {type(value).__name__}")
    if value < 0:
        raise UnitError(f"{field} must not be negative")
    if value > maximum:
        raise UnitError(f"{field} of {value} for one record is not plausible")
    return value


# Time ------------------------------------------------------------------------------------


def parse_rfc3339(value: Any, field: str = "occurred_at") -> datetime:
    """An RFC 3339 timestamp that carries an offset, as aware UTC. Naive times are refused."""
    if not isinstance(value, str):
        raise UnitError(f"{field} must be an RFC 3339 string such as 2026-11-18T09:12:00Z")
    text = value.strip()
    if not _RFC3339_RE.match(text):
        if _NAIVE_RE.match(text):
            raise UnitError(f"{field} {value!r} has no UTC offset; add Z or +hh:mm")
        raise UnitError(f"{field} {value!r} is not an RFC 3339 timestamp")
    try:
        return datetime.fromisoformat(text.replace("z", "Z")).astimezone(UTC)
    except ValueError:
        raise UnitError(f"{field} {value!r} is not a valid date and time") from None
    except OverflowError:
        raise UnitError(f"{field} {value!r} is out of range") from None


def parse_instant(value: Any, field: str = "timestamp") -> datetime:
    """Any timestamp a vendor sends, as aware UTC.

    Numbers are Unix time in seconds, milliseconds or nanoseconds (told apart by magnitude);
    digit strings likewise; RFC 3339 strings keep their offset; naive strings are taken as UTC.
    """
    if isinstance(value, bool) or value is None:
        raise UnitError(f"{field} is missing or not a timestamp")
    if isinstance(value, str):
        text = value.strip()
        if re.fullmatch(r"-?\d+(\.\d+)?", text):
            return _from_epoch(Decimal(text), field)
        if _RFC3339_RE.match(text):
            return parse_rfc3339(text, field)
        if _NAIVE_RE.match(text):
            try:
                return datetime.fromisoformat(text).replace(tzinfo=UTC)
            except ValueError:
                raise UnitError(f"{field} {value!r} is not a valid date and time") from None
        raise UnitError(f"{field} {value!r} is not a timestamp")
    if isinstance(value, int | float):
        if isinstance(value, float) and not math.isfinite(value):
            raise UnitError(f"{field} must be finite")
        return _from_epoch(
            Decimal(repr(value)) if isinstance(value, float) else Decimal(value), field
        )
    raise UnitError(f"{field} must be a timestamp, not {type(value).__name__}")


def _from_epoch(number: Decimal, field: str) -> datetime:
    magnitude = abs(number)
    if magnitude >= Decimal(10) ** 17:
        seconds = number / Decimal(10) ** 9  # nanoseconds
    elif magnitude >= Decimal(10) ** 14:
        seconds = number / Decimal(10) ** 6  # microseconds
    elif magnitude >= Decimal(10) ** 11:
        seconds = number / Decimal(10) ** 3  # milliseconds
    else:
        seconds = number
    if seconds < 0:
        raise UnitError(f"{field} {number} is before 1970")
    try:
        micros = int((seconds * 10**6).to_integral_value(rounding=ROUND_HALF_EVEN))
        return _EPOCH + timedelta(microseconds=micros)
    except (OverflowError, ValueError):
        raise UnitError(f"{field} {number} is out of range") from None


def display_count(value: int) -> str:
    """Counts for people: ``950``, ``12K``, ``120K``, ``1.9M``, ``2.4B``."""
    for threshold, suffix in ((10**9, "B"), (10**6, "M"), (10**3, "K")):
        if value >= threshold:
            scaled = Decimal(value) / threshold
            if scaled >= 100 or (suffix == "K" and scaled >= 10):
                return f"{scaled.quantize(Decimal('1'), rounding=ROUND_HALF_EVEN)}{suffix}"
            text = f"{scaled.quantize(Decimal('0.1'), rounding=ROUND_HALF_EVEN)}"
            return f"{text.removesuffix('.0')}{suffix}"
    return str(value)
