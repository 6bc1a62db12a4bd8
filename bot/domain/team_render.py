"""A team report as plain values, and how it reads: CLI text and ``--json`` dicts. (Its Block
Kit is ``bot.slack.blocks.team_report``.)

The report holds team aggregates only: no person, no name, no per-person row, no ranking. A week
that may not be shown carries no figures, only why it is held back (DESIGN §5.2): too few members
were active, or it overlaps other team reports so that together they could single someone out.
Never how many people, never who.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bot.domain.facts import SPARK, KindCounts, ToolUsage
from bot.domain.money import format_money
from bot.domain.privacy import HoldReason
from bot.domain.reflection import NO_AI_MARKS, ai_kind_phrase, ranked_ai_kinds
from bot.domain.units import format_usd
from bot.domain.weeks import Week

HELD_NOTES = {
    HoldReason.TOO_FEW: "Held back for privacy: too few members were active this week.",
    HoldReason.OVERLAP: (
        "Held back for privacy: this week's figures overlap other team reports, "
        "and together they could single someone out."
    ),
}
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
    # The AI-assisted artifacts by kind (created, opened by others, used), kinds with none left
    # out: sums over the same members as the total, shown with it.
    ai_by_kind: tuple[KindCounts, ...] = field(default=())

    @property
    def tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    @property
    def ai_created(self) -> int:
        return sum(k.created for k in self.ai_by_kind)

    @property
    def ai_viewed_by_others(self) -> int:
        return sum(k.viewed_by_others for k in self.ai_by_kind)

    @property
    def ai_used(self) -> int:
        return sum(k.used for k in self.ai_by_kind)


@dataclass(frozen=True)
class TeamWeek:
    """One week of a report: figures, or ``None`` and the reason when they may not be shown."""

    week: Week
    figures: TeamFigures | None
    held: HoldReason | None = None

    @property
    def note(self) -> str:
        """What a held-back week says: the reason, never a count or a name."""
        return HELD_NOTES[self.held or HoldReason.TOO_FEW]

    @property
    def shown(self) -> bool:
        return self.figures is not None


@dataclass(frozen=True)
class TeamReport:
    team: str  # the team's name, or "org" for the whole organisation
    k: int
    weeks: tuple[TeamWeek, ...]  # the weeks asked for, oldest first
    trend: tuple[TeamWeek, ...]  # the 4 weeks before the last one asked for, and that week
    # Whether any source or rule marks any artifact AI-assisted: the report leads with the
    # AI-assisted numbers when one does, and says that nothing does otherwise.
    ai_marks_in_org: bool = False

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
            "ai": {
                "created": figures.ai_created,
                "viewed_by_others": figures.ai_viewed_by_others,
                "used": figures.ai_used,
                "by_kind": {
                    k.kind: {
                        "created": k.created,
                        "viewed_by_others": k.viewed_by_others,
                        "used": k.used,
                    }
                    for k in figures.ai_by_kind
                },
            },
        },
        "by_tool": {
            tool.tool: {"tokens": tool.tokens, "cost_usd": format_usd(tool.cost_nanos)}
            for tool in figures.by_tool
        },
    }


def week_json(week: TeamWeek) -> dict[str, Any]:
    head: dict[str, Any] = {"week": str(week.week), "label": week.week.label()}
    if week.figures is None:
        reason = week.held or HoldReason.TOO_FEW
        return {**head, "shown": False, "held_back": reason.value, "note": week.note}
    return {**head, "shown": True, **figures_json(week.figures)}


def report_json(report: TeamReport) -> dict[str, Any]:
    return {
        "team": report.team,
        "min_group_size": report.k,
        "ai_marks_in_org": report.ai_marks_in_org,
        "weeks": [week_json(week) for week in report.weeks],
        "trend": {
            "weeks": [str(week.week) for week in report.trend],
            "tokens": [None if w.figures is None else w.figures.tokens for w in report.trend],
            "sparkline": trend_sparkline(report.trend),
        },
    }


# Text ---------------------------------------------------------------------------------------


def privacy_line(k: int) -> str:
    return (
        f"Team aggregates only; groups under {k} active members, and figures that other "
        "reports could be subtracted from, are held back."
    )


def render_text(report: TeamReport) -> str:
    """The report as the CLI prints it."""
    lines = [f"Team report: {report.title}", privacy_line(report.k)]
    if not report.ai_marks_in_org:
        lines.append(NO_AI_MARKS)
    for week in report.weeks:
        lines.append(f"{week.week} · {week.week.label()}")
        if week.figures is None:
            lines.append(f"  {week.note}")
        else:
            if report.ai_marks_in_org:
                lines.extend(_ai_lines(week.figures))
            lines.extend(_figure_lines(week.figures))
    lines.append(
        f"trend (tokens, {report.trend[0].week} to {report.trend[-1].week})  "
        f"{trend_sparkline(report.trend)}"
        if report.trend
        else "trend  (none)"
    )
    return "\n".join(lines)


def _ai_lines(figures: TeamFigures) -> list[str]:
    """The AI-assisted numbers, one kind a line, before the other figures."""
    kinds = ranked_ai_kinds(figures.ai_by_kind)
    if not kinds:
        return ["  AI-assisted  no AI-assisted artifacts"]
    label = ["  AI-assisted  "] + ["               "] * (len(kinds) - 1)
    return [f"{start}{ai_kind_phrase(kind)}" for start, kind in zip(label, kinds, strict=True)]


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
