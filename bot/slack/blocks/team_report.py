"""Block Kit for a team report (``/ai-roi``): a pure builder returning ``(blocks, text)``.

Wording and numbers come from ``bot.domain.team_render``; this module only lays them out within
Slack's limits. A held-back week says why (for privacy: too few active, or overlapping other
reports) and nothing more.
"""

from __future__ import annotations

from typing import Any

from bot.domain.money import format_money
from bot.domain.reflection import NO_AI_MARKS, ai_kind_phrase, ranked_ai_kinds
from bot.domain.team_render import (
    TeamReport,
    TeamWeek,
    privacy_line,
    render_text,
    trend_sparkline,
)
from bot.domain.units import display_count
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


def render_blocks(report: TeamReport) -> tuple[list[dict[str, Any]], str]:
    """An ephemeral ``/ai-roi`` reply: ``(blocks, text)`` within Slack's limits."""
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": plain(f"Team report: {report.title}", HEADER_TEXT)},
    ]
    week_budget = MESSAGE_BLOCKS - 4
    for week in report.weeks[-week_budget:]:
        blocks.append(_week_block(week, report.ai_marks_in_org))
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
    notes = [privacy_line(report.k)] + ([] if report.ai_marks_in_org else [NO_AI_MARKS])
    blocks.append({"type": "context", "elements": [mrkdwn(note) for note in notes]})
    return blocks, clip(render_text(report), FALLBACK_TEXT)


def _week_block(week: TeamWeek, ai_marks_in_org: bool) -> dict[str, Any]:
    title = f"*{week.week} · {week.week.label()}*"
    if week.figures is None:
        return {"type": "section", "text": mrkdwn(f"{title}\n{week.note}")}
    figures = week.figures
    if ai_marks_in_org:  # the AI-assisted numbers lead, one kind a line
        kinds = ranked_ai_kinds(figures.ai_by_kind)
        lines = [f"• {ai_kind_phrase(k)}" for k in kinds] or ["• no AI-assisted artifacts"]
        title += "\n*AI-assisted*\n" + "\n".join(lines)
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
