"""What an admin may set, and whether a submitted value is acceptable. Pure: text in, a value or
a reason out.

Each admin setting has its bounds and its check here; its key, default and the one function that
reads it live in ``bot.store.workspace``; the Slack modal that edits it in
``bot.slack.blocks.admin_home`` with its row in ``bot.slack.listeners.admin``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from bot.domain.nudges import Thresholds, validate_thresholds
from bot.domain.privacy import MIN_K
from bot.domain.schedule import MINUTES_PER_DAY, Schedule

MAX_K = 1000
DEFAULT_RETENTION_DAYS = 180
MIN_RETENTION_DAYS = 30
MAX_RETENTION_DAYS = 3650
MAX_MODEL_LENGTH = 100
MODEL_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/@+-]*$")
CLOCK_TIME = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")

Checked = tuple[Any, str | None]  # (the value to store, or None; the reason it was refused)


def parse_whole_number(raw: str) -> int | None:
    return int(raw) if raw.isdigit() and len(raw) <= 9 else None


def parse_weekday(raw: str | None) -> int | None:
    return int(raw) if raw is not None and raw.isdigit() and int(raw) <= 6 else None


def parse_clock_time(raw: object) -> int | None:
    """Minutes after midnight for a timepicker's ``HH:MM``, or None."""
    match = CLOCK_TIME.match(raw) if isinstance(raw, str) else None
    if match is None:
        return None
    minute = int(match.group(1)) * 60 + int(match.group(2))
    return minute if minute < MINUTES_PER_DAY else None


def check_min_group_size(raw: str) -> Checked:
    number = parse_whole_number(raw)
    if number is None:
        return None, "Enter a whole number."
    if number < MIN_K:
        return None, f"At least {MIN_K}: smaller groups could single people out."
    if number > MAX_K:
        return None, f"At most {MAX_K}."
    return number, None


def check_retention_days(raw: str) -> Checked:
    days = parse_whole_number(raw)
    if days is None:
        return None, "Enter a whole number of days."
    if days < MIN_RETENTION_DAYS:
        return None, f"At least {MIN_RETENTION_DAYS} days."
    if days > MAX_RETENTION_DAYS:
        return None, f"At most {MAX_RETENTION_DAYS} days."
    return days, None


def check_model(raw: str) -> Checked:
    if not raw:
        return None, "Enter a model name, e.g. gpt-4.1-mini."
    if len(raw) > MAX_MODEL_LENGTH or not MODEL_NAME.match(raw):
        return None, "A model name: letters, digits and . _ : / @ + - only."
    return raw, None


def check_schedule(
    weekday_raw: str | None, time_raw: object
) -> tuple[Schedule | None, dict[str, str]]:
    """The default digest slot from a day choice and a ``HH:MM``; errors by field (``weekday``,
    ``time``)."""
    errors: dict[str, str] = {}
    weekday = parse_weekday(weekday_raw)
    if weekday is None:
        errors["weekday"] = "Pick a day of the week."
    minute = parse_clock_time(time_raw)
    if minute is None:
        errors["time"] = "Pick a time."
    if errors or weekday is None or minute is None:
        return None, errors
    return Schedule(weekday=weekday, minute=minute), {}


def check_thresholds(
    raw: Mapping[str, str], names: list[str]
) -> tuple[Thresholds | None, dict[str, str]]:
    """The nudge thresholds from the text of each field in ``names``; errors by field."""
    parsed: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for name in names:
        text = raw.get(name, "").strip()
        try:
            number = float(text)
        except ValueError:
            errors[name] = "Enter a number."
            continue
        parsed[name] = int(number) if number.is_integer() else number
    errors.update({k: v for k, v in validate_thresholds(parsed).items() if k not in errors})
    if errors:
        return None, errors
    return Thresholds.from_json(parsed), {}


def valid_retention_days(value: Any) -> int | None:
    """A stored retention period, if it is one (a whole number of days ≥ 1)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        return None
    return int(value)
