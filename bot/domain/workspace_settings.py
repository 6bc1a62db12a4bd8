"""What an admin may set, and whether a submitted value is acceptable. Pure: text in, a value or
a reason out.

``SETTINGS`` is the one table of admin settings: key, label, help text, the inputs that edit it
(number with bounds, choice, on/off, text, day and time), default, how a stored value is read and
how a submitted one is checked. The App Home's admin section, its modals, the submission's checks
(``bot.slack.blocks.admin_home``, ``bot.slack.listeners.admin``) and the store's reader
(``bot.store.workspace.value``) are derived from it. Adding a setting is one row here, a reader
in ``bot.store.workspace`` and its use (CONTRIBUTING.md).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from bot.domain.completeness import DEFAULT_GRACE, MAX_GRACE, grace_from_hours
from bot.domain.nudges import Thresholds, validate_thresholds
from bot.domain.privacy import MIN_K, effective_k
from bot.domain.schedule import DEFAULT_SCHEDULE, MINUTES_PER_DAY, Schedule

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


# The table ------------------------------------------------------------------------------------

# Keys of the admin-editable settings (values are stored as JSON).
THRESHOLDS = "thresholds"  # bot.domain.nudges.Thresholds as a dict
MIN_GROUP_SIZE = "min_group_size"  # k for team reports; never below 5
DIGEST_SCHEDULE = "digest_schedule"  # workspace default send time (bot.domain.schedule.Schedule)
LLM_ENABLED = "llm_enabled"  # bool: use the summarizer when OPENAI_API_KEY is set
LLM_MODEL = "llm_model"  # overrides OPENAI_MODEL
RETENTION_DAYS = "retention_days"  # raw events older than this are purged
DIGEST_GRACE_HOURS = "digest_grace_hours"  # how long a week's digest waits for late sources

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
ON = "on"
OFF = "off"
MAX_GRACE_HOURS = int(MAX_GRACE.total_seconds()) // 3600


class InputKind(StrEnum):
    NUMBER = "number"  # a whole number between ``low`` and ``high``
    CHOICE = "choice"  # one of ``options``
    BOOLEAN = "boolean"  # on or off; ``options`` labels (on, off)
    TEXT = "text"  # free text up to ``max_length``
    WEEKDAY = "weekday"  # a day of the week ("0" Monday … "6" Sunday); with TIME, a schedule
    TIME = "time"  # a clock time, HH:MM


@dataclass(frozen=True)
class Input:
    """One control of a setting's modal. ``name`` is its field (the block_id in Slack)."""

    name: str
    label: str
    kind: InputKind
    hint: str | None = None
    low: int = 0
    high: int = 0
    options: tuple[tuple[str, str], ...] = ()  # (value, label)
    max_length: int = 0


Raw = Mapping[str, str | None]  # submitted text by input name (None: nothing submitted)


@dataclass(frozen=True)
class Setting:
    """One admin setting. Settings that share ``group`` are edited in one modal (its button reads
    ``title``). ``read`` turns a stored JSON value into the value in force (``ValueError`` or
    ``TypeError`` when it is unusable: ``strict`` settings then refuse, others use ``default``);
    ``check`` turns submitted text into the JSON to store, or errors by input; ``initial`` gives
    each input's text for a value; ``describe`` says it in the App Home (None: not listed)."""

    key: str
    group: str
    title: str
    inputs: tuple[Input, ...]
    default: Any
    read: Callable[[Any], Any]
    check: Callable[[Raw], tuple[Any, dict[str, str]]]
    initial: Callable[[Any], dict[str, str]]
    label: str | None = None
    describe: Callable[[Any], str] | None = None
    strict: bool = False


def _text(raw: Raw, name: str) -> str:
    return (raw.get(name) or "").strip()


def _one(name: str, checked: Checked) -> tuple[Any, dict[str, str]]:
    value, error = checked
    return (None, {name: error}) if error else (value, {})


def _read_retention(stored: Any) -> int:
    days = valid_retention_days(stored)
    if days is None:
        raise ValueError(f"retention_days must be a whole number of days ≥ 1, not {stored!r}")
    return days


def _read_llm_enabled(stored: Any) -> bool:
    return stored is not False


def _read_llm_model(stored: Any) -> str | None:
    return stored if isinstance(stored, str) and stored.strip() else None


def _read_grace_hours(stored: Any) -> float:
    return grace_from_hours(stored).total_seconds() / 3600


def check_grace_hours(raw: str) -> Checked:
    hours = parse_whole_number(raw)
    if hours is None:
        return None, "Enter a whole number of hours."
    if hours > MAX_GRACE_HOURS:
        return None, f"At most {MAX_GRACE_HOURS} hours: the next week's digest would be due."
    return hours, None


def _check_llm_enabled(raw: Raw) -> tuple[Any, dict[str, str]]:
    choice = raw.get(LLM_ENABLED)
    if choice not in (ON, OFF):
        return None, {LLM_ENABLED: "Pick on or off."}
    return choice == ON, {}


def _check_schedule(raw: Raw) -> tuple[Any, dict[str, str]]:
    schedule, errors = check_schedule(raw.get("weekday"), raw.get("time"))
    return (None, errors) if schedule is None else (schedule.to_json(), {})


def _check_thresholds(raw: Raw) -> tuple[Any, dict[str, str]]:
    text = {name: raw.get(name) or "" for name in THRESHOLD_LABELS}
    chosen, errors = check_thresholds(text, list(THRESHOLD_LABELS))
    return (None, errors) if chosen is None else (chosen.to_json(), {})


def _clock(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def _hours(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


THRESHOLD_LABELS = {
    "unused_min_created": "Unused artifacts: at least this many created",
    "unused_max_viewed_share": "Unused artifacts: share opened by others below (0–1)",
    "spike_factor": "Spend spike: times the 4-week median",
    "spike_min_tokens": "Spend spike: minimum tokens",
    "no_outcome_min_cost_usd": "Spend with no outcome: minimum USD",
    "cost_per_used_max_usd": "Cost per used artifact: maximum USD",
}

SETTINGS: tuple[Setting, ...] = (
    Setting(
        key=THRESHOLDS,
        group="thresholds",
        title="Edit thresholds",
        inputs=tuple(
            Input(name, label, InputKind.TEXT) for name, label in THRESHOLD_LABELS.items()
        ),
        default=Thresholds(),
        read=lambda stored: Thresholds.from_json(stored),
        check=_check_thresholds,
        initial=lambda value: {name: str(v) for name, v in value.to_json().items()},
    ),
    Setting(
        key=MIN_GROUP_SIZE,
        group="min_group_size",
        title="Minimum group size",
        inputs=(
            Input(
                MIN_GROUP_SIZE,
                "Minimum active members for a team figure (k)",
                InputKind.NUMBER,
                hint=f"Team figures appear only for groups this large. Never below {MIN_K}.",
                low=MIN_K,
                high=MAX_K,
            ),
        ),
        default=MIN_K,
        read=effective_k,
        check=lambda raw: _one(MIN_GROUP_SIZE, check_min_group_size(_text(raw, MIN_GROUP_SIZE))),
        initial=lambda value: {MIN_GROUP_SIZE: str(value)},
        label="Minimum group size (k)",
        describe=lambda value: f"{value} active members",
    ),
    Setting(
        key=DIGEST_SCHEDULE,
        group="default_schedule",
        title="Default schedule",
        inputs=(
            Input(
                "weekday",
                "Day",
                InputKind.WEEKDAY,
                options=tuple((str(i), day) for i, day in enumerate(WEEKDAYS)),
            ),
            Input(
                "time",
                "Time",
                InputKind.TIME,
                hint="In each person's own Slack time zone. People may pick their own.",
            ),
        ),
        default=DEFAULT_SCHEDULE,
        read=lambda stored: Schedule.from_json(stored),
        check=_check_schedule,
        initial=lambda value: {"weekday": str(value.weekday), "time": _clock(value.minute)},
        label="Default digest time",
        describe=lambda value: (
            f"{WEEKDAYS[value.weekday]}s at {_clock(value.minute)}, in each person's time zone"
        ),
    ),
    Setting(
        key=LLM_ENABLED,
        group="llm",
        title="LLM",
        inputs=(
            Input(
                LLM_ENABLED,
                "Summarizer",
                InputKind.BOOLEAN,
                options=(
                    (ON, "On: the LLM writes reflections from the facts"),
                    (OFF, "Off: the deterministic template writes them"),
                ),
            ),
        ),
        default=True,
        read=_read_llm_enabled,
        check=_check_llm_enabled,
        initial=lambda value: {LLM_ENABLED: ON if value else OFF},
        label="Summarizer (LLM)",
        describe=lambda value: "on" if value else "off: the template writes every reflection",
    ),
    Setting(
        key=LLM_MODEL,
        group="llm",
        title="LLM",
        inputs=(
            Input(
                LLM_MODEL,
                "Model",
                InputKind.TEXT,
                hint="Any model your OpenAI-compatible endpoint serves, e.g. gpt-4.1-mini.",
                max_length=MAX_MODEL_LENGTH,
            ),
        ),
        default=None,  # OPENAI_MODEL
        read=_read_llm_model,
        check=lambda raw: _one(LLM_MODEL, check_model(_text(raw, LLM_MODEL))),
        initial=lambda value: {LLM_MODEL: value or ""},
        label="Model",
        describe=lambda value: f"`{value}`" if value else "OPENAI_MODEL",
    ),
    Setting(
        key=RETENTION_DAYS,
        group="retention",
        title="Retention",
        inputs=(
            Input(
                RETENTION_DAYS,
                "Delete raw events older than (days)",
                InputKind.NUMBER,
                hint=f"At least {MIN_RETENTION_DAYS} days. Weekly totals are kept.",
                low=MIN_RETENTION_DAYS,
                high=MAX_RETENTION_DAYS,
            ),
        ),
        default=DEFAULT_RETENTION_DAYS,
        read=_read_retention,
        check=lambda raw: _one(RETENTION_DAYS, check_retention_days(_text(raw, RETENTION_DAYS))),
        initial=lambda value: {RETENTION_DAYS: str(value)},
        label="Retention",
        describe=lambda value: f"raw events for {value} days",
        strict=True,  # nothing is purged on a guess
    ),
    Setting(
        key=DIGEST_GRACE_HOURS,
        group="digest_grace",
        title="Digest grace period",
        inputs=(
            Input(
                DIGEST_GRACE_HOURS,
                "Wait for late data sources (hours)",
                InputKind.NUMBER,
                hint=(
                    "After a week ends, its digest waits up to this long for every enabled "
                    "source, then goes out naming the late ones. 0 sends at once."
                ),
                low=0,
                high=MAX_GRACE_HOURS,
            ),
        ),
        default=DEFAULT_GRACE.total_seconds() / 3600,
        read=_read_grace_hours,
        check=lambda raw: _one(
            DIGEST_GRACE_HOURS, check_grace_hours(_text(raw, DIGEST_GRACE_HOURS))
        ),
        initial=lambda value: {DIGEST_GRACE_HOURS: _hours(value)},
        label="Digest grace period",
        describe=lambda value: (
            f"up to {_hours(value)} hours for late sources"
            if value
            else "none: a digest goes out as its week ends"
        ),
    ),
)

BY_KEY = {setting.key: setting for setting in SETTINGS}
GROUPS: dict[str, tuple[Setting, ...]] = {}
for _setting in SETTINGS:
    GROUPS[_setting.group] = (*GROUPS.get(_setting.group, ()), _setting)


def read_stored(setting: Setting, stored: Any) -> Any:
    """The value in force for a stored JSON value (None: unset). ``ValueError`` when unusable."""
    if stored is None:
        return setting.default
    try:
        return setting.read(stored)
    except (TypeError, AttributeError) as exc:
        raise ValueError(f"{setting.key}: {exc}") from exc


def check_group(group: str, raw: Raw) -> tuple[dict[str, Any], dict[str, str]]:
    """A submitted modal's values: (setting key → JSON to store, input name → error)."""
    changes: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for setting in GROUPS[group]:
        value, setting_errors = setting.check(raw)
        if setting_errors:
            errors.update(setting_errors)
        else:
            changes[setting.key] = value
    return ({}, errors) if errors else (changes, {})
