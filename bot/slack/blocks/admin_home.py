"""The App Home's admin section and the admin settings modals. Pure: plain values in, blocks out.

Admins see the workspace settings (minimum group size, default schedule, LLM, retention,
thresholds), each with a button that opens its modal, the data sources' health, what the
summarizer itself spent this week, and the last entries of the audit log. Nobody's numbers
appear here: sources show totals and the identities nobody is mapped to yet, the audit log
shows who changed what.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.domain.privacy import MIN_K
from bot.domain.units import display_count
from bot.domain.workspace_settings import MAX_K, MAX_RETENTION_DAYS, MIN_RETENTION_DAYS
from bot.slack import ids
from bot.slack.blocks.digest import button
from bot.slack.blocks.limits import clip, escape, mrkdwn, plain

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MAX_SOURCES_SHOWN = 12
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


def _integer_input(initial: int, low: int, high: int) -> dict[str, Any]:
    return {
        "type": "number_input",
        "action_id": INPUT,
        "is_decimal_allowed": False,
        "initial_value": str(min(max(initial, low), high)),
        "min_value": str(low),
        "max_value": str(high),
    }


# State ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SourceStatus:
    """One data source as admins see it: totals, never a person's numbers."""

    source: str
    last_event_at: datetime | None
    events: int
    unattributed_events: int = 0
    unmapped: tuple[str, ...] = ()  # "kind:value" of identities nobody is mapped to, most first


@dataclass(frozen=True)
class AuditLine:
    at: datetime
    actor: str
    action: str
    target: str | None = None
    value: str | None = None  # the new value of a changed setting


@dataclass(frozen=True)
class AdminState:
    min_group_size: int = MIN_K
    retention_days: int = 180
    schedule_weekday: int = 0
    schedule_minute: int = 9 * 60
    llm_enabled: bool = True
    llm_has_key: bool = False
    llm_model: str = ""
    week_label: str = ""
    summarizer_input_tokens: int = 0
    summarizer_output_tokens: int = 0
    summarizer_digests: int = 0
    sources: tuple[SourceStatus, ...] = ()
    audit: tuple[AuditLine, ...] = field(default_factory=tuple)


# The admin section ------------------------------------------------------------------------


def llm_text(state: AdminState) -> str:
    if not state.llm_enabled:
        return "off: the template writes every reflection"
    if not state.llm_has_key:
        return f"on ({escape(state.llm_model)}), but no OPENAI_API_KEY is set: the template writes"
    return f"on, model {escape(state.llm_model)}"


def settings_fields(state: AdminState) -> list[dict[str, Any]]:
    texts = [
        f"*Minimum group size (k)*\n{state.min_group_size} active members",
        f"*Default digest time*\n{slot_text(state.schedule_weekday, state.schedule_minute)}, "
        "in each person's time zone",
        f"*Summarizer (LLM)*\n{llm_text(state)}",
        f"*Retention*\nraw events for {state.retention_days} days",
    ]
    return [mrkdwn(clip(text, 2000), 2000) for text in texts]


def source_text(source: SourceStatus) -> str:
    last = slack_date(source.last_event_at) if source.last_event_at else "never"
    text = f"*{escape(source.source)}* · last event {last} · {display_count(source.events)} events"
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


AUDIT_VERBS = {
    "setting.change": "changed",
    "team_report.view": "viewed the team report",
    "digest.share_with_lead": "shared a digest with their lead",
    "person.forget": "erased a person's data",
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
    """The admin section of the App Home (at most 6 + ``MAX_SOURCES_SHOWN`` + 8 blocks)."""
    blocks: list[dict[str, Any]] = [
        {"type": "divider"},
        {"type": "header", "text": plain("Admin", 150)},
    ]
    if state is None:
        blocks.append(_section("Nudge thresholds apply to everyone's digest. Changes are audited."))
        blocks.append(
            {
                "type": "actions",
                "block_id": "home_admin",
                "elements": [button("Edit thresholds", ids.HOME_EDIT_THRESHOLDS, "thresholds")],
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
            "elements": [
                button("Edit thresholds", ids.HOME_EDIT_THRESHOLDS, "thresholds"),
                button("Minimum group size", ids.ADMIN_MIN_GROUP_SIZE, "k"),
                button("Default schedule", ids.ADMIN_SCHEDULE, "schedule"),
                button("LLM", ids.ADMIN_LLM, "llm"),
                button("Retention", ids.ADMIN_RETENTION, "retention"),
                button("Teams and leads", ids.ADMIN_TEAMS, "teams"),
            ],
        }
    )
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


def min_group_size_modal(current: int) -> dict[str, Any]:
    return _modal(
        ids.MIN_GROUP_SIZE_VIEW,
        "Minimum group size",
        [
            _input(
                "min_group_size",
                "Minimum active members for a team figure (k)",
                _integer_input(max(current, MIN_K), MIN_K, MAX_K),
                hint=f"Team figures appear only for groups this large. Never below {MIN_K}.",
            )
        ],
    )


def schedule_modal(weekday: int, minute: int) -> dict[str, Any]:
    return _modal(
        ids.SCHEDULE_VIEW,
        "Default schedule",
        [
            _input("weekday", "Day", weekday_select(weekday)),
            _input(
                "time",
                "Time",
                time_picker(minute),
                hint="In each person's own Slack time zone. People may pick their own.",
            ),
        ],
    )


LLM_ON = "on"
LLM_OFF = "off"


def llm_modal(enabled: bool, model: str, has_key: bool) -> dict[str, Any]:
    options = [
        {"text": plain("On: the LLM writes reflections from the facts", 75), "value": LLM_ON},
        {"text": plain("Off: the deterministic template writes them", 75), "value": LLM_OFF},
    ]
    note = (
        "An OPENAI_API_KEY is configured."
        if has_key
        else "No OPENAI_API_KEY is configured, so the template writes every reflection."
    )
    return _modal(
        ids.LLM_VIEW,
        "Summarizer (LLM)",
        [
            _input(
                "llm_enabled",
                "Summarizer",
                {
                    "type": "radio_buttons",
                    "action_id": INPUT,
                    "options": options,
                    "initial_option": options[0 if enabled else 1],
                },
            ),
            _input(
                "llm_model",
                "Model",
                {
                    "type": "plain_text_input",
                    "action_id": INPUT,
                    "initial_value": model,
                    "max_length": 100,
                },
                hint="Any model your OpenAI-compatible endpoint serves, e.g. gpt-4.1-mini.",
            ),
            {"type": "context", "elements": [mrkdwn(note)]},
        ],
    )


def retention_modal(current: int) -> dict[str, Any]:
    return _modal(
        ids.RETENTION_VIEW,
        "Retention",
        [
            _input(
                "retention_days",
                "Delete raw events older than (days)",
                _integer_input(current, MIN_RETENTION_DAYS, MAX_RETENTION_DAYS),
                hint=f"At least {MIN_RETENTION_DAYS} days. Weekly totals are kept.",
            )
        ],
    )
