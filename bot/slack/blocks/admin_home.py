"""The App Home's admin section and the admin settings modals. Pure: plain values in, blocks out.

Admins see the workspace settings (every row of ``bot.domain.workspace_settings.SETTINGS``),
each group with a button that opens its modal (both drawn from that table), the data sources' health, what the
summarizer itself spent this week, and the last entries of the audit log. Nobody's numbers
appear here: sources show totals and the identities nobody is mapped to yet, the audit log
shows who changed what.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.domain.ai_rules import Rule
from bot.domain.units import display_count
from bot.domain.workspace_settings import (
    BY_KEY,
    GROUPS,
    LLM_ENABLED,
    SETTINGS,
    THRESHOLDS,
    WEEKDAYS,
    Input,
    InputKind,
    Setting,
)
from bot.slack import ids
from bot.slack.blocks.ai_rules import home_blocks as ai_rules_blocks
from bot.slack.blocks.limits import button, clip, escape, mrkdwn, plain

MAX_SOURCES_SHOWN = 12
ERROR_SHOWN = 300  # characters of a source's last error
MAX_UNMAPPED_SHOWN = 3
MAX_AUDIT_SHOWN = 10
INPUT = "value"  # the action_id of every modal input; the block_id names the field


# Shared inputs (also used by the personal settings modal) --------------------------------


def weekday_select(initial: int) -> dict[str, Any]:
    options = [{"text": plain(day, 75), "value": str(i)} for i, day in enumerate(WEEKDAYS)]
    return {
        "type": "static_select",
        "action_id": INPUT,
        "options": options,
        "initial_option": options[initial if 0 <= initial < 7 else 0],
    }


def clock_time(minute: int) -> str:
    """``09:00`` for 540 minutes after midnight."""
    return f"{minute // 60:02d}:{minute % 60:02d}"


def time_picker(initial_minute: int) -> dict[str, Any]:
    return {"type": "timepicker", "action_id": INPUT, "initial_time": clock_time(initial_minute)}


def slot_text(weekday: int, minute: int) -> str:
    """``Mondays at 09:00``."""
    return f"{WEEKDAYS[weekday]}s at {clock_time(minute)}"


def slack_date(instant: datetime, token: str = "{date_short_pretty} {time}") -> str:
    """A date Slack renders in the reader's own time zone, with a UTC fallback."""
    fallback = f"{instant:%Y-%m-%d %H:%M} UTC"
    return f"<!date^{int(instant.timestamp())}^{token}|{fallback}>"


def who(actor: str) -> str:
    """A Slack user id as a mention; anything else (``cli``, ``system``) as plain text."""
    if actor[:1] in ("U", "W") and actor.isalnum() and actor.isupper():
        return f"<@{actor}>"
    return escape(actor)


def _section(text: str, block_id: str | None = None) -> dict[str, Any]:
    block: dict[str, Any] = {"type": "section", "text": mrkdwn(text)}
    if block_id:
        block["block_id"] = block_id
    return block


def _modal(callback_id: str, title: str, blocks: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": callback_id,
        "title": plain(title, 24),
        "submit": plain("Save", 24),
        "close": plain("Cancel", 24),
        "blocks": blocks,
    }


def _input(
    block_id: str, label: str, element: dict[str, Any], *, hint: str | None = None
) -> dict[str, Any]:
    block: dict[str, Any] = {
        "type": "input",
        "block_id": block_id,
        "label": plain(label, 2000),
        "element": element,
    }
    if hint:
        block["hint"] = plain(hint, 2000)
    return block


def _options(pairs: tuple[tuple[str, str], ...]) -> list[dict[str, Any]]:
    return [{"text": plain(label, 75), "value": value} for value, label in pairs]


def _chosen(options: list[dict[str, Any]], value: str) -> dict[str, Any]:
    return next((o for o in options if o["value"] == value), options[0])


def control(one: Input, initial: str) -> dict[str, Any]:
    """The Block Kit element for one input of a setting, showing ``initial``."""
    if one.kind is InputKind.NUMBER:
        number = int(initial) if initial.isdigit() else one.low
        return {
            "type": "number_input",
            "action_id": INPUT,
            "is_decimal_allowed": False,
            "initial_value": str(min(max(number, one.low), one.high)),
            "min_value": str(one.low),
            "max_value": str(one.high),
        }
    if one.kind is InputKind.WEEKDAY:
        return weekday_select(int(initial) if initial.isdigit() else 0)
    if one.kind is InputKind.TIME:
        return {"type": "timepicker", "action_id": INPUT, "initial_time": initial}
    if one.kind in (InputKind.CHOICE, InputKind.BOOLEAN):
        options = _options(one.options)
        kind = "radio_buttons" if one.kind is InputKind.BOOLEAN else "static_select"
        return {
            "type": kind,
            "action_id": INPUT,
            "options": options,
            "initial_option": _chosen(options, initial),
        }
    element: dict[str, Any] = {"type": "plain_text_input", "action_id": INPUT}
    if initial:
        element["initial_value"] = initial[: one.max_length] if one.max_length else initial
    if one.max_length:
        element["max_length"] = one.max_length
    return element


# State ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SourceStatus:
    """One data source as admins see it: totals, never a person's numbers."""

    source: str
    last_event_at: datetime | None
    events: int
    unattributed_events: int = 0
    unmapped: tuple[str, ...] = ()  # "kind:value" of identities nobody is mapped to, most first
    pulled: bool = False  # a pull connector (the fields below), else a push source
    configured: bool = True
    watermark: datetime | None = None  # data complete through (pull sources)
    last_success_at: datetime | None = None
    last_error: str | None = None  # the last run's error, while the source keeps failing
    failures: int = 0  # consecutive failed runs


@dataclass(frozen=True)
class AuditLine:
    at: datetime
    actor: str
    action: str
    target: str | None = None
    value: str | None = None  # the new value of a changed setting


@dataclass(frozen=True)
class AdminState:
    values: Mapping[str, Any] = field(default_factory=dict)  # setting key → value in force
    llm_has_key: bool = False
    week_label: str = ""
    summarizer_input_tokens: int = 0
    summarizer_output_tokens: int = 0
    summarizer_digests: int = 0
    sources: tuple[SourceStatus, ...] = ()
    audit: tuple[AuditLine, ...] = field(default_factory=tuple)
    rules: tuple[Rule, ...] = ()  # the AI-assisted rules, in the order they are tried


# The admin section ------------------------------------------------------------------------


def setting_value(state: AdminState, setting: Setting) -> Any:
    return state.values.get(setting.key, setting.default)


def setting_text(state: AdminState, setting: Setting) -> str | None:
    if setting.describe is None or setting.label is None:
        return None
    text = f"*{setting.label}*\n{escape(setting.describe(setting_value(state, setting)))}"
    if setting.key == LLM_ENABLED and setting_value(state, setting) and not state.llm_has_key:
        text += ", but no OPENAI_API_KEY is set: the template writes"
    return text


def settings_fields(state: AdminState) -> list[dict[str, Any]]:
    """One field per listed setting (a section holds at most 10)."""
    texts = [text for s in SETTINGS if (text := setting_text(state, s)) is not None]
    return [mrkdwn(clip(text, 2000), 2000) for text in texts[:10]]


def settings_buttons() -> list[dict[str, Any]]:
    """One button per group of settings, in the table's order."""
    return [
        button(settings[0].title, ids.admin_action(group), group)
        for group, settings in GROUPS.items()
    ]


def source_text(source: SourceStatus) -> str:
    last = slack_date(source.last_event_at) if source.last_event_at else "never"
    text = f"*{escape(source.source)}* · last event {last} · {display_count(source.events)} events"
    if source.pulled:
        text += "\n" + pull_text(source)
    if source.unattributed_events:
        shown = ", ".join(f"`{escape(clip(i, 80))}`" for i in source.unmapped[:MAX_UNMAPPED_SHOWN])
        more = len(source.unmapped) - MAX_UNMAPPED_SHOWN
        text += (
            f"\n:warning: {display_count(source.unattributed_events)} events from "
            f"{len(source.unmapped)} unmapped "
            f"{'identity' if len(source.unmapped) == 1 else 'identities'}: {shown}"
        )
        if more > 0:
            text += f" and {more} more"
    return text


def pull_text(source: SourceStatus) -> str:
    """A pull connector's state: configured or not, complete through when, its last error."""
    if not source.configured:
        return "pulled by ai-roi · not configured (no credential set)"
    through = slack_date(source.watermark) if source.watermark else "nothing yet"
    success = slack_date(source.last_success_at) if source.last_success_at else "never"
    text = f"pulled by ai-roi · complete through {through} · last successful pull {success}"
    if source.last_error:
        runs = "run" if source.failures == 1 else "runs"
        text += (
            f"\n:x: the last {source.failures} {runs} failed: "
            f"{escape(clip(source.last_error, ERROR_SHOWN))}"
        )
    return text


AUDIT_VERBS = {
    "setting.change": "changed",
    "team_report.view": "viewed the team report",
    "digest.share_with_lead": "shared a digest with their lead",
    "person.forget": "erased a person's data",
    "ai_rule.add": "added the AI-assisted rule",
    "ai_rule.change": "changed the AI-assisted rule",
    "ai_rule.switch_on": "switched on the AI-assisted rule",
    "ai_rule.switch_off": "switched off the AI-assisted rule",
    "ai_rule.delete": "deleted the AI-assisted rule",
}


def audit_text(line: AuditLine) -> str:
    verb = AUDIT_VERBS.get(line.action, escape(line.action))
    what = f"{verb} {escape(line.target)}" if line.target else verb
    if line.action == "person.forget":
        what = verb
    if line.value is not None:
        what += f" → `{escape(clip(line.value, 120))}`"
    return f"{slack_date(line.at)} · {who(line.actor)} {what}"


def admin_blocks(state: AdminState | None) -> list[dict[str, Any]]:
    """The admin section of the App Home (at most 6 + ``MAX_SOURCES_SHOWN`` + 8 blocks, and
    the AI-assisted rules: ``bot.slack.blocks.ai_rules.home_blocks``)."""
    blocks: list[dict[str, Any]] = [
        {"type": "divider"},
        {"type": "header", "text": plain("Admin", 150)},
    ]
    if state is None:
        edit = BY_KEY[THRESHOLDS]
        blocks.append(_section("Nudge thresholds apply to everyone's digest. Changes are audited."))
        blocks.append(
            {
                "type": "actions",
                "block_id": "home_admin",
                "elements": [button(edit.title, ids.admin_action(edit.group), edit.group)],
            }
        )
        return blocks
    blocks.append(
        {
            "type": "section",
            "block_id": "admin_settings",
            "text": mrkdwn("Workspace settings. Every change is written to the audit log."),
            "fields": settings_fields(state),
        }
    )
    blocks.append(
        {
            "type": "actions",
            "block_id": "home_admin",
            "elements": [*settings_buttons(), button("Teams and leads", ids.ADMIN_TEAMS, "teams")],
        }
    )
    blocks += ai_rules_blocks(state.rules)
    blocks.append({"type": "header", "text": plain("Data sources", 150)})
    if not state.sources:
        blocks.append(_section("No events received yet. See the README for the webhook URLs."))
    for i, source in enumerate(state.sources[:MAX_SOURCES_SHOWN]):
        blocks.append(_section(source_text(source), f"admin_source_{i}"))
    hidden = state.sources[MAX_SOURCES_SHOWN:]
    if hidden:
        unattributed = sum(s.unattributed_events for s in hidden)
        blocks.append(
            {
                "type": "context",
                "elements": [
                    mrkdwn(
                        f"and {len(hidden)} more sources ({display_count(unattributed)} "
                        "unattributed events among them); `ai-roi sources` lists them all"
                    )
                ],
            }
        )
    blocks.append(
        _section(
            f"*The summarizer's own spend, {escape(state.week_label)}:* "
            f"{display_count(state.summarizer_input_tokens)} input and "
            f"{display_count(state.summarizer_output_tokens)} output tokens over "
            f"{state.summarizer_digests} digest{'' if state.summarizer_digests == 1 else 's'}.",
            "admin_summarizer_spend",
        )
    )
    blocks.append({"type": "header", "text": plain("Audit log", 150)})
    lines = [audit_text(line) for line in state.audit[:MAX_AUDIT_SHOWN]]
    blocks.append(
        _section("\n".join(lines) if lines else "Nothing recorded yet.", "admin_audit_log")
    )
    return blocks


# Modals -----------------------------------------------------------------------------------


def settings_modal(
    group: str, values: Mapping[str, Any], *, note: str | None = None
) -> dict[str, Any]:
    """The modal that edits the settings of ``group``, showing their values in force."""
    settings = GROUPS[group]
    blocks: list[dict[str, Any]] = []
    for setting in settings:
        initial = setting.initial(values.get(setting.key, setting.default))
        for one in setting.inputs:
            blocks.append(
                _input(one.name, one.label, control(one, initial.get(one.name, "")), hint=one.hint)
            )
    if note:
        blocks.append({"type": "context", "elements": [mrkdwn(note)]})
    return _modal(ids.admin_view(group), settings[0].title, blocks)
