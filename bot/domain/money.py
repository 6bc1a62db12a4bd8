"""Money for people to read, the same everywhere (DM, App Home, team reports, the CLI).

Pure. Amounts are exact integer nano-dollars (``bot.domain.units``); this module only decides how
they look: cents below $100 (``$0.42``, ``$37.77``), whole dollars from $100 (``$1,204``), and
``<$0.01`` for a cost too small to show in cents. Machine formats (JSON, the facts an LLM reads)
keep the exact amount (``units.format_usd``).
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal

from bot.domain.units import NANOS_PER_USD

WHOLE_DOLLARS_FROM = Decimal(100)
_CENT = Decimal("0.01")
_DOLLAR = Decimal(1)


def format_money(nanos: int) -> str:
    """``$0.00``, ``<$0.01``, ``$0.42``, ``$37.77``, ``$100``, ``$1,204``; negatives with a minus."""
    amount = Decimal(nanos) / NANOS_PER_USD
    sign = "-" if amount < 0 else ""
    amount = abs(amount)
    if amount == 0:
        return "$0.00"
    if amount < _CENT:
        return f"{sign}<$0.01"
    cents = amount.quantize(_CENT, rounding=ROUND_HALF_EVEN)
    if cents < WHOLE_DOLLARS_FROM:
        return f"{sign}${cents:,}"
    return f"{sign}${amount.quantize(_DOLLAR, rounding=ROUND_HALF_EVEN):,}"
