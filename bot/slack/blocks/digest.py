"""The weekly digest DM as Block Kit: header, the AI-assisted numbers (when the organisation marks
any artifact; else a note saying nothing does), reflection, facts, the 8-week chart, nudges,
privacy note, buttons."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from bot.domain.ai_history import AiWeek, fallback_line, has_ai_artifacts
from bot.domain.facts import Facts
from bot.domain.money import format_money
from bot.domain.reflection import NO_AI_MARKS, ai_kind_phrase, noun, ranked_ai_kinds
from bot.domain.units import display_count
from bot.slack import ids
from bot.slack.blocks.limits import (
    FALLBACK_TEXT,
    FIELD_TEXT,
    HEADER_TEXT,
    MESSAGE_BLOCKS,
    button,
    clip,
    escape,
    mrkdwn,
    plain,
)

MAX_TOOLS_SHOWN = 5
MAX_NUDGES_SHOWN = 5
PRIVACY_NOTE = "Only you can see this. Nobody else gets your numbers unless you share them."
LEVEL_ICONS = {
    "warning": ":warning:",
    "info": ":information_source:",
    "praise": ":tada:",
    "recovery": ":seedling:",
}


def trend_text(facts: Facts) -> str:
    median = facts.tokens_median
    tokens = facts.usage.tokens
    if not any(facts.baseline_tokens):
        return "no earlier weeks yet"
    if median == 0:
        return f"{display_count(tokens)} vs a median of 0"
    change = round((tokens - median) * 100 / median)
    sign = "+" if change > 0 else ""
    return f"{sign}{change}% vs your {len(facts.baseline_tokens)}-week median ({display_count(median)})"


def fact_fields(facts: Facts) -> list[dict[str, Any]]:
    usage = facts.usage
    fields = [
        f"*Tokens*\n{display_count(usage.tokens)} (in {display_count(usage.input_tokens)}, "
        f"cached {display_count(usage.cached_tokens)}, out {display_count(usage.output_tokens)})",
        f"*Cost*\n{format_money(usage.cost_nanos)} over {usage.requests} requests",
        f"*Created*\n{facts.artifacts_created} artifacts",
        f"*Opened by others*\n{facts.artifacts_viewed_by_others} of {facts.artifacts_created}"
        f" · {facts.viewers} {'person' if facts.viewers == 1 else 'people'}",
        f"*Used*\n{facts.artifacts_used} (merged, shipped, exported, linked)",
        f"*Trend*\n{trend_text(facts)}",
    ]
    return [mrkdwn(text, FIELD_TEXT) for text in fields]


def kind_lines(facts: Facts) -> str:
    lines = [
        f"• {k.created} {noun(k.kind, k.created)} created, {k.viewed_by_others} opened by others, {k.used} used"
        for k in facts.by_kind
        if k.created
    ]
    return "\n".join(lines)


def ai_lines(facts: Facts) -> str | None:
    """The AI-assisted numbers the digest leads with, one line per kind; ``None`` when the
    organisation marks no artifact (``NO_AI_MARKS`` is said instead) or nothing was made."""
    if not facts.ai_marks_in_org or facts.artifacts_created == 0:
        return None
    kinds = ranked_ai_kinds(facts.ai_by_kind)
    if not kinds:
        return f"*AI-assisted*\nNone of your {facts.artifacts_created} artifacts this week."
    return "*AI-assisted*\n" + "\n".join(f"• {ai_kind_phrase(k)}" for k in kinds)


def tool_line(facts: Facts) -> str:
    shown = facts.by_tool[:MAX_TOOLS_SHOWN]
    parts = [
        f"{escape(t.tool)} {display_count(t.tokens)} ({format_money(t.cost_nanos)})" for t in shown
    ]
    rest = facts.by_tool[MAX_TOOLS_SHOWN:]
    if rest:
        parts.append(f"{len(rest)} more tools {display_count(sum(t.tokens for t in rest))}")
    return "By tool: " + " · ".join(parts)


def nudge_lines(facts: Facts) -> list[str]:
    lines = []
    for nudge in facts.nudges[:MAX_NUDGES_SHOWN]:
        icon = LEVEL_ICONS.get(str(nudge.get("level")), ":information_source:")
        lines.append(f"{icon} {escape(str(nudge.get('message') or nudge.get('rule')))}")
    return lines


CHART_BLOCK_ID = "digest_chart"
IMAGE_ALT_TEXT = 2000


class DigestBlocks(list[dict[str, Any]]):
    """A digest's blocks, carrying the 8-week series its chart is drawn from (``ai_history``).

    The blocks hold the chart as a line of text (block ``CHART_BLOCK_ID``); a deliverer that can
    show an image uploads the chart and swaps that block for the image (``with_chart``). Anyone
    else sends the blocks as they are, so the text stands in for the chart."""

    def __init__(
        self, blocks: Iterable[dict[str, Any]] = (), ai_history: tuple[AiWeek, ...] = ()
    ) -> None:
        super().__init__(blocks)
        self.ai_history = ai_history


def chart_block(facts: Facts) -> dict[str, Any]:
    """The chart's place in the DM: its numbers as text (or that there is nothing to draw)."""
    line = fallback_line(facts.ai_history)
    if has_ai_artifacts(facts.ai_history):
        return {"type": "section", "block_id": CHART_BLOCK_ID, "text": mrkdwn(escape(line))}
    return {"type": "context", "block_id": CHART_BLOCK_ID, "elements": [mrkdwn(escape(line))]}


def image_block(file_id: str, alt_text: str, block_id: str = CHART_BLOCK_ID) -> dict[str, Any]:
    """An image block showing an uploaded Slack file."""
    return {
        "type": "image",
        "block_id": block_id,
        "slack_file": {"id": file_id},
        "alt_text": clip(alt_text, IMAGE_ALT_TEXT),
    }


def with_chart(blocks: list[dict[str, Any]], file_id: str, alt_text: str) -> list[dict[str, Any]]:
    """``blocks`` with the chart's text block replaced by the uploaded image."""
    return [
        image_block(file_id, alt_text) if block.get("block_id") == CHART_BLOCK_ID else block
        for block in blocks
    ]


SHARE_CONFIRM = "Your lead will get this reflection by DM, with your name on it."
SHARE_DEFAULT_CONFIRM = (
    "You chose to share your digests with your lead by default. Press Share to send this one: "
    "your lead will get this reflection by DM, with your name on it."
)


def digest_buttons(week: str, *, share_default: bool = False) -> dict[str, Any]:
    """The digest's buttons. Sharing is always the person's own press; with ``share_default``
    (their App Home setting) the confirm dialog says that this is their default."""
    share = button("Share with my lead", ids.DIGEST_SHARE, week)
    share["confirm"] = {
        "title": plain("Share with your lead?", 100),
        "text": plain(SHARE_DEFAULT_CONFIRM if share_default else SHARE_CONFIRM, 300),
        "confirm": plain("Share", 30),
        "deny": plain("Cancel", 30),
    }
    return {
        "type": "actions",
        "block_id": "digest_actions",
        "elements": [
            button("Useful", ids.DIGEST_USEFUL, week, "primary"),
            button("Not useful", ids.DIGEST_NOT_USEFUL, week),
            button("Snooze 4 weeks", ids.DIGEST_SNOOZE, week),
            share,
            button("Details", ids.DIGEST_DETAILS, week),
        ],
    }


def digest_message(
    facts: Facts, reflection: str, *, week_label: str, share_default: bool = False
) -> tuple[list[dict[str, Any]], str]:
    """The DM for one person-week, always within Slack's limits, with a plain-text fallback."""
    blocks: list[dict[str, Any]] = [
        {
            "type": "header",
            "block_id": "digest_header",
            "text": plain(f"Your AI week, {week_label}", HEADER_TEXT),
        },
    ]
    ai = ai_lines(facts)
    if ai is not None:
        blocks.append({"type": "section", "block_id": "digest_ai", "text": mrkdwn(ai)})
    blocks += [
        {"type": "section", "block_id": "digest_reflection", "text": mrkdwn(escape(reflection))},
        {"type": "section", "block_id": "digest_facts", "fields": fact_fields(facts)},
    ]
    if not facts.ai_marks_in_org:
        blocks.append(
            {"type": "context", "block_id": "digest_no_ai", "elements": [mrkdwn(NO_AI_MARKS)]}
        )
    kinds = kind_lines(facts)
    if kinds:
        blocks.append({"type": "section", "block_id": "digest_kinds", "text": mrkdwn(kinds)})
    blocks.append(chart_block(facts))
    if facts.by_tool:
        blocks.append(
            {"type": "context", "block_id": "digest_tools", "elements": [mrkdwn(tool_line(facts))]}
        )
    nudges = nudge_lines(facts)
    if nudges:
        blocks.append(
            {"type": "section", "block_id": "digest_nudges", "text": mrkdwn("\n".join(nudges))}
        )
    blocks.append(
        {"type": "context", "block_id": "digest_privacy", "elements": [mrkdwn(PRIVACY_NOTE)]}
    )
    blocks.append(digest_buttons(facts.week, share_default=share_default))
    assert len(blocks) <= MESSAGE_BLOCKS
    return (
        DigestBlocks(blocks, facts.ai_history),
        clip(digest_text(facts, reflection, week_label=week_label), FALLBACK_TEXT),
    )


def digest_text(facts: Facts, reflection: str, *, week_label: str) -> str:
    """The plain-text version: Slack's notification fallback and the console output."""
    usage = facts.usage
    lines = [f"Your AI week, {week_label}"]
    ai = ai_lines(facts)
    if ai is not None:
        lines.append(ai.replace("*AI-assisted*\n", "AI-assisted:\n"))
    lines += [
        reflection,
        f"Tokens {display_count(usage.tokens)} · cost {format_money(usage.cost_nanos)} · "
        f"{usage.requests} requests · trend {trend_text(facts)}",
        f"Artifacts: {facts.artifacts_created} created, {facts.artifacts_viewed_by_others} opened by others, "
        f"{facts.artifacts_used} used, {facts.viewers} distinct viewers",
        fallback_line(facts.ai_history),
    ]
    if not facts.ai_marks_in_org:
        lines.append(NO_AI_MARKS)
    for nudge in facts.nudges[:MAX_NUDGES_SHOWN]:
        lines.append(f"[{nudge.get('level')}] {nudge.get('message') or nudge.get('rule')}")
    lines.append(PRIVACY_NOTE)
    return clip("\n".join(lines), FALLBACK_TEXT)
