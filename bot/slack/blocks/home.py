"""The App Home: my week so far, my last digest, my settings, my data, what is collected.
Admins also get the admin section. Pure: plain values in, a view out."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from bot.domain.facts import Facts
from bot.domain.money import format_money
from bot.domain.reflection import NO_AI_MARKS, ai_kind_phrase, ai_summary, ranked_ai_kinds
from bot.domain.units import display_count
from bot.slack import ids
from bot.slack.blocks.admin_home import (
    INPUT,
    AdminState,
    admin_blocks,
    slack_date,
    slot_text,
    time_picker,
    weekday_select,
)
from bot.slack.blocks.digest import image_block
from bot.slack.blocks.limits import VIEW_BLOCKS, button, clip, escape, mrkdwn, plain


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
    # My settings: the digest slot in force (the person's own or the workspace default).
    digest_weekday: int = 0
    digest_minute: int = 9 * 60
    own_schedule: bool = False
    tz_name: str | None = None
    share_with_lead_default: bool = False
    known: bool = True  # False: the Slack account matches nobody in ai-roi yet
    data_deleted_at: datetime | None = None  # when this Slack user last deleted their data
    admin: AdminState | None = None
    # The last digest's chart as uploaded with the DM: (Slack file id, alt text).
    last_digest_chart: tuple[str, str] | None = None


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": mrkdwn(text)}


def transparency_text(k: int, retention_days: int) -> str:
    return (
        "*What ai-roi collects:* token counts, cost, model and tool per request; artifacts created and "
        "whether others opened or used them. *Never* prompt or completion text.\n"
        "*Who sees what:* your numbers go only to you. Team leads see team totals only, and only when "
        f"at least *{k}* members were active that week. Nobody is ranked.\n"
        f"*Retention:* raw events are deleted after *{retention_days} days*; weekly totals stay.\n"
        "*Admins* see the workspace settings, data-source health and the audit log; never your "
        "numbers. *You* can export or delete your data here at any time."
    )


def settings_text(state: HomeState) -> str:
    zone = f" ({escape(state.tz_name)})" if state.tz_name else ""
    slot = slot_text(state.digest_weekday, state.digest_minute)
    lines = [
        f"*Digest:* {slot}, your time{zone}"
        + ("" if state.own_schedule else " (the workspace default)"),
    ]
    if state.opted_out:
        lines.append("You have opted out of weekly digests.")
    elif state.snoozed_until:
        lines.append(
            f"*Snoozed* until {slack_date(state.snoozed_until, '{date_long}')}: no digest before."
        )
    else:
        lines.append("Weekly digests are on.")
    lines.append(
        "*Share with my lead:* on by default; each digest is still shared only when you press "
        "its Share button."
        if state.share_with_lead_default
        else "*Share with my lead:* only when you press Share on a digest."
    )
    return "\n".join(lines)


def my_settings_blocks(state: HomeState) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    if state.data_deleted_at:
        blocks.append(
            _section(
                f":wastebasket: You deleted your ai-roi data on "
                f"{slack_date(state.data_deleted_at, '{date_long}')}. Nothing recorded before "
                "then is kept."
            )
        )
    if not state.known:
        blocks.append(
            _section(
                "I could not match your Slack account to anyone in ai-roi yet, so there are no "
                "settings or data to show."
            )
        )
        return blocks
    blocks.append(
        {"type": "section", "block_id": "home_my_settings", "text": mrkdwn(settings_text(state))}
    )
    elements = [
        button("Change my settings", ids.HOME_MY_SETTINGS, "settings", "primary"),
        button("Opt back in" if state.opted_out else "Opt out", ids.HOME_OPT_OUT, "toggle"),
    ]
    if state.snoozed_until:
        elements.append(button("Unsnooze", ids.HOME_UNSNOOZE, "unsnooze"))
    elements += [
        button("Export my data", ids.HOME_EXPORT, "export"),
        button("Delete my data", ids.HOME_DELETE, "delete", "danger"),
    ]
    blocks.append({"type": "actions", "block_id": "home_my_data", "elements": elements})
    return blocks


def home_view(state: HomeState) -> dict[str, Any]:
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": plain(f"My AI week so far, {state.week_label}", 150)},
    ]
    facts = state.facts_so_far
    if facts is None or facts.is_empty:
        blocks.append(_section("Nothing recorded yet this week."))
    else:
        if facts.ai_marks_in_org and facts.artifacts_created:
            made = ai_summary(facts.ai_by_kind) or (
                f"none of your {facts.artifacts_created} artifacts so far"
            )
            blocks.append(_section(f"*AI-assisted:* {made}"))
        blocks.append(
            _section(
                f"{display_count(facts.usage.tokens)} tokens · {format_money(facts.usage.cost_nanos)} · "
                f"{facts.artifacts_created} created · {facts.artifacts_viewed_by_others} opened by others · "
                f"{facts.artifacts_used} used"
            )
        )
        if not facts.ai_marks_in_org:
            blocks.append({"type": "context", "elements": [mrkdwn(NO_AI_MARKS)]})
    blocks.append({"type": "divider"})
    blocks.append({"type": "header", "text": plain("My last digest", 150)})
    if state.last_digest:
        blocks.append(
            _section(f"_{state.last_digest_week}_\n{escape(clip(state.last_digest, 2800))}")
        )
        if state.last_digest_chart:
            blocks.append(image_block(*state.last_digest_chart, block_id="home_chart"))
    else:
        blocks.append(_section("No digest yet. It arrives by DM once a week."))
    blocks.append({"type": "divider"})
    blocks.append({"type": "header", "text": plain("My settings and my data", 150)})
    blocks += my_settings_blocks(state)
    blocks.append({"type": "divider"})
    blocks.append(_section(transparency_text(state.min_group_size, state.retention_days)))
    if state.is_admin:
        blocks += admin_blocks(state.admin)
    assert len(blocks) <= VIEW_BLOCKS
    return {"type": "home", "blocks": blocks}


SHARE_DEFAULT = "share_default"


def my_settings_modal(
    *,
    weekday: int,
    minute: int,
    snooze_until: date | None,
    share_with_lead_default: bool,
    tz_name: str | None,
    today: date,
) -> dict[str, Any]:
    """Digest day and time, snooze until a date, and the share-with-lead default."""
    share_option = {
        "text": plain("Share my digests with my lead by default", 75),
        "description": plain("Each one is still shared only when you press its Share button.", 75),
        "value": SHARE_DEFAULT,
    }
    share: dict[str, Any] = {"type": "checkboxes", "action_id": INPUT, "options": [share_option]}
    if share_with_lead_default:
        share["initial_options"] = [share_option]
    snooze: dict[str, Any] = {
        "type": "datepicker",
        "action_id": INPUT,
        "placeholder": plain("No snooze", 150),
    }
    if snooze_until:
        snooze["initial_date"] = snooze_until.isoformat()
    zone = f"your Slack time zone ({tz_name})" if tz_name else "your Slack time zone"
    return {
        "type": "modal",
        "callback_id": ids.MY_SETTINGS_VIEW,
        "title": plain("My settings", 24),
        "submit": plain("Save", 24),
        "close": plain("Cancel", 24),
        "blocks": [
            {
                "type": "input",
                "block_id": "digest_weekday",
                "label": plain("Digest day", 2000),
                "element": weekday_select(weekday),
            },
            {
                "type": "input",
                "block_id": "digest_time",
                "label": plain("Digest time", 2000),
                "element": time_picker(minute),
                "hint": plain(f"In {zone}.", 2000),
            },
            {
                "type": "input",
                "block_id": "snooze_until",
                "optional": True,
                "label": plain("Snooze digests until", 2000),
                "element": snooze,
                "hint": plain(
                    f"No digest before this date (today is {today:%b %d}). Leave empty for none.",
                    2000,
                ),
            },
            {
                "type": "input",
                "block_id": "share_with_lead",
                "optional": True,
                "label": plain("Sharing", 2000),
                "element": share,
            },
        ],
    }


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
                "It cannot be undone. Weekly digests stop; you can opt back in here any time."
            )
        ],
    }


def details_modal(facts: Facts, week_label: str) -> dict[str, Any]:
    data = facts.to_json()
    lines = [f"*Week* {week_label}"]
    for kind, counts in data["artifacts"]["by_kind"].items():
        lines.append(
            f"• {kind}: {counts['created']} created, {counts['viewed_by_others']} opened by others, "
            f"{counts['used']} used"
        )
    if facts.ai_marks_in_org:
        lines += [f"• {ai_kind_phrase(k)}" for k in ranked_ai_kinds(facts.ai_by_kind)]
    else:
        lines.append(NO_AI_MARKS)
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
