"""Is a week's data complete? Pure rules over watermarks, no I/O (DESIGN §4 "Complete data first").

A source's *watermark* is the instant its data is complete through: a pull connector records it
after each run (``source_state``); a push source (webhooks) has no such record, so its watermark is
the latest event it sent. A week is:

* **complete** when at least one source is enabled and every enabled source's watermark has
  reached the end of the week;
* **waiting** before the grace period (default 48 h after the week's end) runs out, naming the
  sources not there yet; with no source enabled at all, a week also waits (nothing has arrived);
* **overdue** once the grace period is over: the digest goes out anyway, saying which sources
  are late.

Only a complete week makes "no AI activity" a final answer; while a source is late, a person with
no data yet may still have some coming.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

DEFAULT_GRACE = timedelta(hours=48)
MAX_GRACE = timedelta(days=7)  # beyond this, the next week's digest is due before this one
PUSH_LOOKBACK = timedelta(weeks=4)  # a push source counts as enabled this long after its last event

State = Literal["complete", "waiting", "overdue"]

SOURCE_NAMES = {
    "anthropic": "Anthropic API",
    "claude-code": "Claude Code",
    "copilot": "GitHub Copilot",
    "cursor": "Cursor",
    "datadog": "Datadog",
    "github": "GitHub",
    "google-drive": "Google Drive",
    "litellm": "LiteLLM",
    "openai": "OpenAI",
    "otel": "OpenTelemetry",
    "usage": "Usage webhook",
}


@dataclass(frozen=True)
class Completeness:
    state: State
    late: tuple[str, ...]  # enabled sources whose watermark is before the week's end, by name
    deadline: datetime  # the week's end plus the grace period: overdue from this instant

    @property
    def ready(self) -> bool:
        """The week's digests may be built: complete, or overdue and sent anyway."""
        return self.state != "waiting"

    @property
    def final(self) -> bool:
        """Every enabled source is past the week's end: "no activity" is a final answer."""
        return self.state == "complete"


def enabled_sources(
    pull: Mapping[str, datetime | None],
    push_last_event: Mapping[str, datetime],
    *,
    now: datetime,
    lookback: timedelta = PUSH_LOOKBACK,
) -> dict[str, datetime | None]:
    """Each enabled source and its watermark: every pull source (a ``source_state`` row, even one
    that never succeeded: ``None``), and every push source whose latest event is within
    ``lookback`` of ``now``. A pull source's own watermark wins over its events."""
    enabled: dict[str, datetime | None] = dict(pull)
    for source, last_event in push_last_event.items():
        if source not in enabled and last_event >= now - lookback:
            enabled[source] = last_event
    return enabled


def week_completeness(
    week_end: datetime,
    *,
    now: datetime,
    grace: timedelta,
    watermarks: Mapping[str, datetime | None],
) -> Completeness:
    """Where a week ending at ``week_end`` stands at ``now`` (see the module docstring)."""
    if grace < timedelta(0):
        raise ValueError("the grace period cannot be negative")
    late = tuple(
        sorted(source for source, mark in watermarks.items() if mark is None or mark < week_end)
    )
    deadline = week_end + grace
    if watermarks and not late:
        return Completeness("complete", (), deadline)
    return Completeness("overdue" if now >= deadline else "waiting", late, deadline)


def source_label(source: str) -> str:
    return SOURCE_NAMES.get(source, source)


def late_note(late: tuple[str, ...]) -> str | None:
    """The sentence an overdue digest carries, or ``None`` when nothing is late by name."""
    if not late:
        return None
    names = [source_label(source) for source in late]
    joined = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    return f"{joined} data for this week had not arrived when this was sent."


def grace_from_hours(value: object) -> timedelta:
    """A stored grace period (hours, a number) as a duration; ``ValueError`` when unusable."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"the grace period must be a number of hours, not {value!r}")
    grace = timedelta(hours=value)
    if not timedelta(0) <= grace <= MAX_GRACE:
        raise ValueError(f"the grace period must be 0 to {MAX_GRACE.days * 24} hours, not {value}")
    return grace
