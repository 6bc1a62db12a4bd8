"""The admins' AI-assisted rules in the App Home and their modals. Pure: rules in, blocks out.

The App Home lists the rules in two groups (pull requests; dashboards and documents), each with
what it looks at, its pattern, its tool, built-in or custom, and on or off, and a control: a
button that switches a built-in rule off or on, an overflow menu (edit, switch, delete) for a
custom one. Past ``MAX_RULES_IN_HOME`` rules the App Home shows the counts and a button to a
modal that lists them ``RULES_PER_PAGE`` at a time, so the Home stays within Slack's 100 blocks.

Adding or editing a rule takes two steps: the edit modal (kind, pattern, tool), then a
confirmation that says how many stored artifacts the rule matches and how many of them it would
newly mark; only its Save stores the rule.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bot.domain.ai_rules import PULL_REQUEST_KINDS, RULE_KIND_LABELS, Rule, RuleKind
from bot.slack import ids
from bot.slack.blocks.limits import button, clip, escape, mrkdwn, plain

MAX_RULES_IN_HOME = 30  # beyond this the App Home shows counts and a button to the list modal
RULES_PER_PAGE = 40  # rules per page of the list modal
INPUT = "value"  # the action_id of every modal input; the block_id names the field
KIND_BLOCK = "kind"
PATTERN_BLOCK = "pattern"
TOOL_BLOCK = "tool"
PATTERN_MAX = 200
TOOL_MAX = 64

GROUPS: tuple[tuple[str, bool], ...] = (
    ("Pull requests", True),
    ("Dashboards and documents", False),
)
INTRO = (
    "An artifact counts as AI-assisted when its source says so, or else when one of these rules "
    "matches it. Agent-author rules credit the pull request to whoever asked the agent for it. "
    "Every change re-marks the stored artifacts and is written to the audit log."
)
HOW_PATTERNS_MATCH = (
    "Case does not matter. Author, creator, label, tag and title patterns match the whole value, "
    "with * and ? as wildcards; trailer and description patterns match anywhere in a line."
)


def is_pull_request_rule(rule: Rule) -> bool:
    return rule.kind in PULL_REQUEST_KINDS


def code(text: str) -> str:
    """``text`` as inline code in mrkdwn (a backquote inside would end it early)."""
    return "`" + escape(text.replace("`", "'")) + "`"


def rule_text(rule: Rule) -> str:
    """``*Pull request label* `ai-generated` · tool: none · built-in · on``"""
    tool = escape(rule.tool) if rule.tool else "not named"
    origin = "built-in" if rule.builtin else "custom"
    state = "*on*" if rule.enabled else "_off_"
    return (
        f"*{RULE_KIND_LABELS[rule.kind]}* {code(clip(rule.pattern, 200))}\n"
        f"tool: {tool} · {origin} · {state}"
    )


def _option(text: str, value: str) -> dict[str, Any]:
    return {"text": plain(text, 75), "value": value}


def switch_value(rule: Rule) -> str:
    """The value of the control that switches ``rule``: the state it asks for, so a press on a
    stale view cannot flip the rule back."""
    return f"{'off' if rule.enabled else 'on'}:{rule.id}"


def rule_control(rule: Rule) -> dict[str, Any]:
    """A button for a built-in rule (it can only be switched); an overflow menu for a custom one."""
    switch = "Switch off" if rule.enabled else "Switch on"
    if rule.builtin:
        return {
            "type": "button",
            "text": plain(switch, 75),
            "action_id": f"{ids.AI_RULE_SWITCH}:{rule.id}",
            "value": switch_value(rule),
        }
    return {
        "type": "overflow",
        "action_id": f"{ids.AI_RULE_MENU}:{rule.id}",
        "options": [
            _option("Edit", f"edit:{rule.id}"),
            _option(switch, switch_value(rule)),
            _option("Delete", f"delete:{rule.id}"),
        ],
    }


def rule_block(rule: Rule) -> dict[str, Any]:
    return {
        "type": "section",
        "block_id": f"ai_rule_{rule.id}",
        "text": mrkdwn(rule_text(rule)),
        "accessory": rule_control(rule),
    }


def rule_list_blocks(rules: Sequence[Rule]) -> list[dict[str, Any]]:
    """The rules under their group's title (a group with none says so)."""
    blocks: list[dict[str, Any]] = []
    for title, pull_requests in GROUPS:
        members = [r for r in rules if is_pull_request_rule(r) == pull_requests]
        text = f"*{title}*" if members else f"*{title}*: no rules."
        blocks.append({"type": "context", "elements": [mrkdwn(text)]})
        blocks.extend(rule_block(r) for r in members)
    return blocks


def counts_text(rules: Sequence[Rule]) -> str:
    parts = []
    for title, pull_requests in GROUPS:
        members = [r for r in rules if is_pull_request_rule(r) == pull_requests]
        on = sum(1 for r in members if r.enabled)
        parts.append(f"*{title}:* {len(members)} {_rules(len(members))}, {on} on")
    return " · ".join(parts)


def _rules(n: int) -> str:
    return "rule" if n == 1 else "rules"


def home_blocks(rules: Sequence[Rule]) -> list[dict[str, Any]]:
    """The App Home's "AI-assisted rules" section: at most ``MAX_RULES_IN_HOME`` + 5 blocks."""
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": plain("AI-assisted rules", 150)},
        {"type": "section", "block_id": "admin_ai_rules", "text": mrkdwn(INTRO)},
    ]
    buttons = [button("Add a rule", ids.AI_RULE_ADD, "add")]
    if len(rules) <= MAX_RULES_IN_HOME:
        blocks += rule_list_blocks(rules)
    else:
        blocks.append({"type": "context", "elements": [mrkdwn(counts_text(rules))]})
        buttons.append(button(f"All {len(rules)} rules", ids.AI_RULES_ALL, "0"))
    blocks.append({"type": "actions", "block_id": "admin_ai_rules_actions", "elements": buttons})
    return blocks


# Modals -------------------------------------------------------------------------------------


def _modal(
    callback_id: str,
    title: str,
    blocks: list[dict[str, Any]],
    *,
    submit: str | None = None,
    close: str = "Cancel",
    metadata: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    view: dict[str, Any] = {
        "type": "modal",
        "callback_id": callback_id,
        "title": plain(title, 24),
        "close": plain(close, 24),
        "blocks": blocks,
    }
    if submit:
        view["submit"] = plain(submit, 24)
    if metadata is not None:
        # Not ASCII-escaped: an emoji would take 12 characters of the 3000 as \\u escapes.
        view["private_metadata"] = json.dumps(
            dict(metadata), separators=(",", ":"), ensure_ascii=False
        )
    return view


def pages(rules: Sequence[Rule]) -> int:
    return max(1, -(-len(rules) // RULES_PER_PAGE))


def rules_modal(rules: Sequence[Rule], page: int = 0) -> dict[str, Any]:
    """Every rule, ``RULES_PER_PAGE`` a page (at most ``RULES_PER_PAGE`` + 5 blocks)."""
    last = pages(rules) - 1
    page = min(max(page, 0), last)
    shown = list(rules)[page * RULES_PER_PAGE : (page + 1) * RULES_PER_PAGE]
    blocks: list[dict[str, Any]] = [
        {"type": "context", "elements": [mrkdwn(counts_text(rules))]},
        *rule_list_blocks(shown),
    ]
    buttons = [button("Add a rule", ids.AI_RULE_ADD, "add")]
    if page > 0:
        buttons.append(button("Previous", f"{ids.AI_RULES_PAGE}:{page - 1}", str(page - 1)))
    if page < last:
        buttons.append(button("Next", f"{ids.AI_RULES_PAGE}:{page + 1}", str(page + 1)))
    blocks.append({"type": "actions", "block_id": "ai_rules_modal_actions", "elements": buttons})
    if last:
        blocks.append({"type": "context", "elements": [mrkdwn(f"Page {page + 1} of {last + 1}")]})
    return _modal(
        ids.AI_RULES_VIEW, "AI-assisted rules", blocks, close="Close", metadata={"page": page}
    )


def kind_options() -> list[dict[str, Any]]:
    return [_option(RULE_KIND_LABELS[kind], kind.value) for kind in RuleKind]


@dataclass(frozen=True)
class RuleForm:
    """What the edit modal shows: a rule being added (``rule_id`` ``None``) or edited."""

    rule_id: int | None = None
    kind: str = RuleKind.LABEL.value
    pattern: str = ""
    tool: str = ""

    def metadata(self) -> dict[str, Any]:
        return {"id": self.rule_id, "kind": self.kind, "pattern": self.pattern, "tool": self.tool}


def edit_modal(form: RuleForm, *, note: str | None = None) -> dict[str, Any]:
    """Kind, pattern and tool; its submit leads to the preview, which stores nothing."""
    options = kind_options()
    initial = next((o for o in options if o["value"] == form.kind), options[0])
    pattern: dict[str, Any] = {
        "type": "plain_text_input",
        "action_id": INPUT,
        "max_length": PATTERN_MAX,
        "placeholder": plain("e.g. ai-generated, copilot-swe-agent*, noreply@anthropic.com", 150),
    }
    if form.pattern:
        pattern["initial_value"] = clip(form.pattern, PATTERN_MAX)
    tool: dict[str, Any] = {
        "type": "plain_text_input",
        "action_id": INPUT,
        "max_length": TOOL_MAX,
        "placeholder": plain("e.g. copilot, claude-code, cursor", 150),
    }
    if form.tool:
        tool["initial_value"] = clip(form.tool, TOOL_MAX)
    blocks: list[dict[str, Any]] = []
    if note:
        blocks.append({"type": "context", "elements": [mrkdwn(f":warning: {escape(note)}")]})
    blocks += [
        {
            "type": "input",
            "block_id": KIND_BLOCK,
            "label": plain("The rule looks at", 2000),
            "element": {
                "type": "static_select",
                "action_id": INPUT,
                "options": options,
                "initial_option": initial,
            },
        },
        {
            "type": "input",
            "block_id": PATTERN_BLOCK,
            "label": plain("Pattern", 2000),
            "element": pattern,
            "hint": plain(HOW_PATTERNS_MATCH, 2000),
        },
        {
            "type": "input",
            "block_id": TOOL_BLOCK,
            "optional": True,
            "label": plain("AI tool", 2000),
            "element": tool,
            "hint": plain("The tool the marked artifacts are counted under, if you know it.", 2000),
        },
    ]
    title = "Add a rule" if form.rule_id is None else "Edit a rule"
    return _modal(
        ids.AI_RULE_EDIT_VIEW, title, blocks, submit="Preview", metadata={"id": form.rule_id}
    )


def form_text(form: RuleForm) -> str:
    kind = _kind(form.kind)
    label = RULE_KIND_LABELS[kind] if kind is not None else form.kind
    tool = escape(form.tool) if form.tool else "not named"
    return f"*{escape(label)}* {code(form.pattern)}\ntool: {tool}"


def _kind(value: str) -> RuleKind | None:
    try:
        return RuleKind(value)
    except ValueError:
        return None


def preview_text(matches: int, newly_marked: int) -> str:
    """``This rule matches 12 artifacts; 5 of them are not marked AI-assisted now.``"""
    if matches == 0:
        return "This rule matches no stored artifact; it will mark new ones that match."
    if matches == 1:
        now = "it is not marked" if newly_marked else "it is marked"
        return f"This rule matches 1 artifact; {now} AI-assisted now."
    verb = "is" if newly_marked == 1 else "are"
    return (
        f"This rule matches {matches:,} artifacts; {newly_marked:,} of them {verb} not marked "
        "AI-assisted now."
    )


def confirm_modal(form: RuleForm, preview: tuple[int, int] | None) -> dict[str, Any]:
    """The preview of ``form``: counting (``preview`` ``None``: no Save yet), or the counts
    with Save and Back."""
    blocks: list[dict[str, Any]] = [
        {"type": "section", "block_id": "ai_rule_draft", "text": mrkdwn(form_text(form))}
    ]
    if preview is None:
        text = ":hourglass_flowing_sand: Counting the stored artifacts this rule matches…"
        blocks.append({"type": "section", "block_id": "ai_rule_preview", "text": mrkdwn(text)})
    else:
        text = preview_text(*preview)
        if form.rule_id is not None:
            text += " Saving replaces the rule as it was."
        blocks.append({"type": "section", "block_id": "ai_rule_preview", "text": mrkdwn(text)})
    blocks.append(
        {
            "type": "actions",
            "block_id": "ai_rule_back",
            "elements": [button("Back", ids.AI_RULE_BACK, "back")],
        }
    )
    return _modal(
        ids.AI_RULE_CONFIRM_VIEW,
        "Save this rule?",
        blocks,
        submit="Save" if preview is not None else None,
        metadata=form.metadata(),
    )


def delete_modal(rule: Rule) -> dict[str, Any]:
    blocks: list[dict[str, Any]] = [
        {"type": "section", "block_id": "ai_rule_delete", "text": mrkdwn(rule_text(rule))},
        {
            "type": "context",
            "elements": [
                mrkdwn(
                    "Artifacts only this rule marks will no longer count as AI-assisted. "
                    "To keep it for later, switch it off instead."
                )
            ],
        },
    ]
    return _modal(
        ids.AI_RULE_DELETE_VIEW,
        "Delete this rule?",
        blocks,
        submit="Delete",
        metadata={"id": rule.id},
    )


def notice_modal(text: str) -> dict[str, Any]:
    """A modal that only says something (a refusal, a rule that is gone)."""
    blocks: list[dict[str, Any]] = [
        {"type": "section", "block_id": "ai_rule_notice", "text": mrkdwn(escape(text))}
    ]
    return _modal(ids.AI_RULE_NOTICE_VIEW, "AI-assisted rules", blocks, close="Close")


def form_from_metadata(text: str | None) -> RuleForm:
    """The rule a confirmation view carries (``private_metadata``), read defensively: a forged
    or damaged value gives empty fields, which the checks then refuse."""
    try:
        data = json.loads(text or "{}")
    except ValueError:
        data = {}
    if not isinstance(data, dict):
        data = {}
    rule_id = data.get("id")

    def text_of(key: str) -> str:
        value = data.get(key)
        return value if isinstance(value, str) else ""

    return RuleForm(
        rule_id=rule_id if isinstance(rule_id, int) and not isinstance(rule_id, bool) else None,
        kind=text_of("kind"),
        pattern=text_of("pattern"),
        tool=text_of("tool"),
    )


def page_from_metadata(text: str | None) -> int:
    """The page of the list modal its ``private_metadata`` names (0 when unreadable)."""
    try:
        page = json.loads(text or "{}").get("page")
    except (ValueError, AttributeError):
        return 0
    return page if isinstance(page, int) and not isinstance(page, bool) and page >= 0 else 0
