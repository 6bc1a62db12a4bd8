"""The App Home: my week so far, my last digest, my settings, my data, what is collected.
Admins also get the admin section. Pure: plain values in, a view out."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.domain.facts import Facts
from bot.domain.units import display_count, display_usd
from bot.slack import ids
from bot.slack.blocks.digest import button
from bot.slack.blocks.limits import VIEW_BLOCKS, clip, escape, mrkdwn, plain


@dataclass(frozen=True)
class HomeState:
    name: str
    week_label: str
    facts_so_far: Facts | None
    last_digest: str | None
    last_digest_week: str | None
    opted_out: bool
    snoozed_until: datetime | None
    min_group_size: int
    retention_days: int
    is_admin: bool


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": mrkdwn(text)}


def transparency_text(k: int, retention_days: int) -> str:
    return (
        "*What ai-roi collects:* token counts, cost, model and tool per request; artifacts created and "
        "whether others opened or used them. *Never* prompt or completion text.\n"
        "*Who sees what:* your numbers go only to you. Team leads see team totals only, and only when "
        f"at least *{k}* members were active that week. Nobody is ranked.\n"
        f"*Retention:* raw events are deleted after *{retention_days} days*; weekly totals stay."
    )


def home_view(state: HomeState) -> dict[str, Any]:
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": plain(f"My AI week so far, {state.week_label}", 150)},
    ]
    facts = state.facts_so_far
    if facts is None or facts.is_empty:
        blocks.append(_section("Nothing recorded yet this week."))
    else:
        blocks.append(
            _section(
                f"{display_count(facts.usage.tokens)} tokens · {display_usd(facts.usage.cost_nanos)} · "
                f"{facts.artifacts_created} created · {facts.artifacts_viewed_by_others} opened by others · "
                f"{facts.artifacts_used} used"
            )
        )
    blocks.append({"type": "divider"})
    blocks.append({"type": "header", "text": plain("My last digest", 150)})
    if state.last_digest:
        blocks.append(
            _section(f"_{state.last_digest_week}_\n{escape(clip(state.last_digest, 2800))}")
        )
    else:
        blocks.append(_section("No digest yet. It arrives by DM once a week."))
    blocks.append({"type": "divider"})
    blocks.append({"type": "header", "text": plain("My settings and my data", 150)})
    status = (
        "You have opted out of weekly digests." if state.opted_out else "Weekly digests are on."
    )
    if state.snoozed_until:
        status += f" Snoozed until {state.snoozed_until:%Y-%m-%d}."
    blocks.append(_section(status))
    elements = [
        button("Opt back in" if state.opted_out else "Opt out", ids.HOME_OPT_OUT, "toggle"),
        button("Export my data", ids.HOME_EXPORT, "export"),
        button("Delete my data", ids.HOME_DELETE, "delete", "danger"),
    ]
    if state.snoozed_until:
        elements.insert(1, button("Unsnooze", ids.HOME_UNSNOOZE, "unsnooze"))
    blocks.append({"type": "actions", "block_id": "home_my_data", "elements": elements})
    blocks.append({"type": "divider"})
    blocks.append(_section(transparency_text(state.min_group_size, state.retention_days)))
    if state.is_admin:
        blocks.append({"type": "divider"})
        blocks.append({"type": "header", "text": plain("Admin", 150)})
        blocks.append(_section("Nudge thresholds apply to everyone's digest. Changes are audited."))
        blocks.append(
            {
                "type": "actions",
                "block_id": "home_admin",
                "elements": [button("Edit thresholds", ids.HOME_EDIT_THRESHOLDS, "thresholds")],
            }
        )
    assert len(blocks) <= VIEW_BLOCKS
    return {"type": "home", "blocks": blocks}


def delete_confirm_modal() -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": ids.DELETE_CONFIRM_VIEW,
        "title": plain("Delete my data", 24),
        "submit": plain("Delete", 24),
        "close": plain("Cancel", 24),
        "blocks": [
            _section(
                "This erases your usage, artifacts' attribution, digests and settings from ai-roi. "
                "It cannot be undone."
            )
        ],
    }


THRESHOLD_LABELS = {
    "unused_min_created": "Unused artifacts: at least this many created",
    "unused_max_viewed_share": "Unused artifacts: share opened by others below (0–1)",
    "spike_factor": "Spend spike: times the 4-week median",
    "spike_min_tokens": "Spend spike: minimum tokens",
    "no_outcome_min_cost_usd": "Spend with no outcome: minimum USD",
    "cost_per_used_max_usd": "Cost per used artifact: maximum USD",
}


def thresholds_modal(current: dict[str, Any]) -> dict[str, Any]:
    blocks = [
        {
            "type": "input",
            "block_id": name,
            "label": plain(label, 2000),
            "element": {
                "type": "plain_text_input",
                "action_id": "value",
                "initial_value": str(current[name]),
            },
        }
        for name, label in THRESHOLD_LABELS.items()
    ]
    return {
        "type": "modal",
        "callback_id": ids.THRESHOLDS_VIEW,
        "title": plain("Nudge thresholds", 24),
        "submit": plain("Save", 24),
        "close": plain("Cancel", 24),
        "blocks": blocks,
    }


def details_modal(facts: Facts, week_label: str) -> dict[str, Any]:
    data = facts.to_json()
    lines = [f"*Week* {week_label}"]
    for kind, counts in data["artifacts"]["by_kind"].items():
        lines.append(
            f"• {kind}: {counts['created']} created, {counts['viewed_by_others']} opened by others, "
            f"{counts['used']} used"
        )
    lines.append(f"Unopened from the last 4 weeks: {data['artifacts']['unopened_last_4_weeks']}")
    for tool, usage in list(data["by_tool"].items())[:20]:
        lines.append(
            f"• {escape(tool)}: {display_count(usage['tokens'])} tokens, ${usage['cost_usd']}"
        )
    for model, usage in list(data["by_model"].items())[:20]:
        lines.append(
            f"• {escape(model)}: {display_count(usage['tokens'])} tokens, ${usage['cost_usd']}"
        )
    lines.append(f"Trend {data['baseline']['sparkline']} (4 weeks, then this week)")
    return {
        "type": "modal",
        "callback_id": ids.DETAILS_VIEW,
        "title": plain("Digest details", 24),
        "close": plain("Close", 24),
        "blocks": [_section(clip("\n".join(lines), 3000))],
    }
