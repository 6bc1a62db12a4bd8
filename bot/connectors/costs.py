"""Billed organisation cost per day, kept in a source's checkpoint for reconciliation.

Vendors bill the organisation, not the person: the costs endpoints (OpenAI's in dollars as
floats, Anthropic's in cents as decimal strings) give the day's total, which ``ai-roi sources``
sets beside the per-person figures. Pure: plain values in and out, money as ``Decimal``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

KEPT_DAYS = 90  # billed days kept in the checkpoint


def to_decimal(value: Any) -> Decimal | None:
    """A JSON number or decimal string as an exact ``Decimal`` (floats through their repr)."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        amount = Decimal(str(value)) if isinstance(value, (int, float, str)) else None
    except InvalidOperation:
        return None
    return amount if amount is not None and amount.is_finite() else None


def merge_billed(
    previous: Mapping[str, Any] | None, fetched: Mapping[date, Decimal], *, today: date
) -> dict[str, str]:
    """The checkpoint's ``billed_usd`` after a run: fetched days replace (vendors restate
    them), other days are kept, days older than ``KEPT_DAYS`` are dropped."""
    merged: dict[str, str] = {}
    if previous:
        old = previous.get("billed_usd")
        if isinstance(old, dict):
            merged.update({str(k): str(v) for k, v in old.items()})
    merged.update({day.isoformat(): str(amount) for day, amount in fetched.items()})
    oldest = (today - timedelta(days=KEPT_DAYS)).isoformat()
    return {day: merged[day] for day in sorted(merged) if day >= oldest}


def billed_days(checkpoint: Mapping[str, Any] | None) -> dict[date, Decimal]:
    """The billed dollars per day kept in a checkpoint (unreadable entries are skipped)."""
    billed = (checkpoint or {}).get("billed_usd")
    days: dict[date, Decimal] = {}
    if not isinstance(billed, dict):
        return days
    for day, amount in billed.items():
        value = to_decimal(amount)
        try:
            when = date.fromisoformat(str(day))
        except ValueError:
            continue
        if value is not None:
            days[when] = value
    return days
