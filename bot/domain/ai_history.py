"""A person's AI-assisted artifacts over the last weeks: the series the weekly DM and the App Home
chart, and the words that stand in for the chart (its alt text, and the line a reader without the
image gets). Pure: plain values in, plain values out."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.domain.weeks import Week

CHART_WEEKS = 8
NO_AI_ARTIFACTS = f"No AI-assisted artifacts in the last {CHART_WEEKS} weeks, so no chart."


@dataclass(frozen=True, slots=True)
class AiWeek:
    """One ISO week of a person's AI-assisted artifacts: created that week, and how many of those
    were opened by someone else, and used, before the week ended (the facts' rule)."""

    week: str
    created: int = 0
    viewed_by_others: int = 0
    used: int = 0


def chart_weeks(last: Week, count: int = CHART_WEEKS) -> list[Week]:
    """The ``count`` weeks ending with ``last``, oldest first."""
    return [last.shift(offset) for offset in range(-(count - 1), 1)]


def has_ai_artifacts(history: Sequence[AiWeek]) -> bool:
    """Whether there is anything to draw: an AI-assisted artifact in any week of the series."""
    return any(week.created or week.viewed_by_others or week.used for week in history)


def _short(week: str) -> str:
    return week.split("-", 1)[-1]  # "2026-W47" → "W47"


def _numbers(values: Sequence[int], separator: str) -> str:
    return separator.join(str(value) for value in values)


def fallback_line(history: Sequence[AiWeek]) -> str:
    """The chart as one line of text, oldest week first: what the DM and the console carry when
    there is no image (e.g. ``Last 8 weeks (W40–W47), AI-assisted artifacts — created: 3 2 5 …``)."""
    if not has_ai_artifacts(history):
        return NO_AI_ARTIFACTS
    span = f"{_short(history[0].week)}–{_short(history[-1].week)}"
    return (
        f"Last {len(history)} weeks ({span}), AI-assisted artifacts — "
        f"created: {_numbers([w.created for w in history], ' ')}; "
        f"opened by others: {_numbers([w.viewed_by_others for w in history], ' ')}; "
        f"used: {_numbers([w.used for w in history], ' ')}"
    )


def alt_text(history: Sequence[AiWeek]) -> str:
    """The image's alt text: what the chart shows, every number in it, week by week."""
    weeks = "; ".join(
        f"{w.week}: {w.created} created, {w.viewed_by_others} opened by others, {w.used} used"
        for w in history
    )
    return f"Bar chart of your AI-assisted artifacts per week, oldest first. {weeks}."


def chart_title(history: Sequence[AiWeek]) -> str:
    if not history:
        return "Your AI-assisted artifacts"
    return f"Your AI-assisted artifacts, {history[0].week} to {history[-1].week}"
