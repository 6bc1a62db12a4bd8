"""A team report as plain values, and how it reads: CLI text, ``--json`` dicts, Slack Block Kit.

The report holds team aggregates only: no person, no name, no per-person row, no ranking. A week
whose group was too small, or could be subtracted from another shown figure, carries no figures
at all and reads the same whatever the reason (DESIGN §5.2), never with a count of people.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bot.domain.facts import SPARK, ToolUsage
from bot.domain.money import format_money
from bot.domain.units import display_count, format_usd
from bot.domain.weeks import Week
from bot.slack.blocks.limits import (
    FALLBACK_TEXT,
    FIELD_TEXT,
    HEADER_TEXT,
    MESSAGE_BLOCKS,
    SECTION_FIELDS,
    clip,
    escape,
    mrkdwn,
    plain,
)

SUPPRESSED_NOTE = "Not enough active members this week to show figures safely."
GAP = "·"
ORG = "org"


@dataclass(frozen=True)
class TeamFigures:
    """Sums over a team's members for one week."""

    input_tokens: int = 0  # every input token, cache reads and writes included
    cached_tokens: int = 0
    output_tokens: int = 0
    cost_nanos: int = 0
    requests: int = 0
    artifacts_created: int = 0
    artifacts_viewed_by_others: int = 0
    artifacts_used: int = 0
    by_tool: tuple[ToolUsage, ...] = field(default=())  # by tool name; empty when not safe

    @property
    def tokens(self) -> int:
        return self.input_tokens + self.output_tokens


@dataclass(frozen=True)
class TeamWeek:
    """One week of a report: figures, or ``None`` when they may not be shown."""

    week: Week
    figures: TeamFigures | None

    @property
    def shown(self) -> bool:
        return self.figures is not None


@dataclass(frozen=True)
class TeamReport:
    team: str  # the team's name, or "org" for the whole organisation
    k: int
    weeks: tuple[TeamWeek, ...]  # the weeks asked for, oldest first
    trend: tuple[TeamWeek, ...]  # the 4 weeks before the last one asked for, and that week

    @property
    def title(self) -> str:
        return "the organisation" if self.team == ORG else self.team


def trend_sparkline(trend: tuple[TeamWeek, ...] | list[TeamWeek]) -> str:
    """Tokens by week, oldest first, scaled over the shown weeks only; ``·`` for the others."""
    shown = [week.figures.tokens for week in trend if week.figures is not None]
    top = max(shown, default=0)
    marks = []
    for week in trend:
        if week.figures is None:
            marks.append(GAP)
        elif top == 0:
            marks.append(SPARK[0])
        else:
            marks.append(SPARK[min(len(SPARK) - 1, week.figures.tokens * (len(SPARK) - 1) // top)])
    return "".join(marks)


# JSON ---------------------------------------------------------------------------------------


def figures_json(figures: TeamFigures) -> dict[str, Any]:
    return {
        "tokens": {
            "input": figures.input_tokens,
            "cached": figures.cached_tokens,
            "output": figures.output_tokens,
        },
        "cost_usd": format_usd(figures.cost_nanos),
        "requests": figures.requests,
        "artifacts": {
            "created": figures.artifacts_created,
            "viewed_by_others": figures.artifacts_viewed_by_others,
            "used": figures.artifacts_used,
        },
        "by_tool": {
            tool.tool: {"tokens": tool.tokens, "cost_usd": format_usd(tool.cost_nanos)}
            for tool in figures.by_tool
        },
    }


def week_json(week: TeamWeek) -> dict[str, Any]:
    head: dict[str, Any] = {"week": str(week.week), "label": week.week.label()}
    if week.figures is None:
        return {**head, "shown": False, "note": SUPPRESSED_NOTE}
    return {**head, "shown": True, **figures_json(week.figures)}


def report_json(report: TeamReport) -> dict[str, Any]:
    return {
        "team": report.team,
        "min_group_size": report.k,
        "weeks": [week_json(week) for week in report.weeks],
        "trend": {
            "weeks": [str(week.week) for week in report.trend],
            "tokens": [None if w.figures is None else w.figures.tokens for w in report.trend],
            "sparkline": trend_sparkline(report.trend),
        },
    }


# Text ---------------------------------------------------------------------------------------


def privacy_line(k: int) -> str:
    return f"Team aggregates only; groups under {k} active members are not shown."


def render_text(report: TeamReport) -> str:
    """The report as the CLI prints it."""
    lines = [f"Team report: {report.title}", privacy_line(report.k)]
    for week in report.weeks:
        lines.append(f"{week.week} · {week.week.label()}")
        if week.figures is None:
            lines.append(f"  {SUPPRESSED_NOTE}")
        else:
            lines.extend(_figure_lines(week.figures))
    lines.append(
        f"trend (tokens, {report.trend[0].week} to {report.trend[-1].week})  "
        f"{trend_sparkline(report.trend)}"
        if report.trend
        else "trend  (none)"
    )
    return "\n".join(lines)


def _figure_lines(figures: TeamFigures) -> list[str]:
    lines = [
        f"  tokens     {figures.tokens:,} · input {figures.input_tokens:,} "
        f"(cached {figures.cached_tokens:,}) · output {figures.output_tokens:,}",
        f"  cost       {format_money(figures.cost_nanos)} over {figures.requests:,} requests",
        f"  artifacts  {figures.artifacts_created:,} created · "
        f"{figures.artifacts_viewed_by_others:,} viewed by others · {figures.artifacts_used:,} used",
    ]
    for tool in figures.by_tool:
        lines.append(
            f"  tool       {tool.tool}: {tool.tokens:,} tokens, {format_money(tool.cost_nanos)}"
        )
    return lines


# Block Kit -----------------------------------------------------------------------------------


def render_blocks(report: TeamReport) -> tuple[list[dict[str, Any]], str]:
    """An ephemeral ``/ai-roi`` reply: ``(blocks, text)`` within Slack's limits."""
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": plain(f"Team report: {report.title}", HEADER_TEXT)},
    ]
    week_budget = MESSAGE_BLOCKS - 3
    for week in report.weeks[-week_budget:]:
        blocks.append(_week_block(week))
    if report.trend:
        blocks.append(
            {
                "type": "section",
                "text": mrkdwn(
                    f"*Trend* (tokens, {report.trend[0].week} to {report.trend[-1].week})  "
                    f"`{trend_sparkline(report.trend)}`"
                ),
            }
        )
    blocks.append({"type": "context", "elements": [mrkdwn(privacy_line(report.k))]})
    return blocks, clip(render_text(report), FALLBACK_TEXT)


def _week_block(week: TeamWeek) -> dict[str, Any]:
    title = f"*{week.week} · {week.week.label()}*"
    if week.figures is None:
        return {"type": "section", "text": mrkdwn(f"{title}\n{SUPPRESSED_NOTE}")}
    figures = week.figures
    fields = [
        f"*Tokens*\n{display_count(figures.tokens)}",
        f"*Cost*\n{format_money(figures.cost_nanos)}",
        f"*Requests*\n{display_count(figures.requests)}",
        f"*Artifacts created*\n{display_count(figures.artifacts_created)}",
        f"*Viewed by others*\n{display_count(figures.artifacts_viewed_by_others)}",
        f"*Used*\n{display_count(figures.artifacts_used)}",
    ]
    if figures.by_tool:
        tools = "\n".join(
            f"{escape(tool.tool)}: {display_count(tool.tokens)} tokens, "
            f"{format_money(tool.cost_nanos)}"
            for tool in figures.by_tool
        )
        fields.append(f"*By tool*\n{tools}")
    return {
        "type": "section",
        "text": mrkdwn(title),
        "fields": [mrkdwn(text, FIELD_TEXT) for text in fields[:SECTION_FIELDS]],
    }
