"""The admins' AI-assisted rules as they edit them (DESIGN §3.7, §5.6): list, add, change,
switch on or off, delete.

Every change is checked first (the kind is one ``RuleKind``, the pattern passes
``pattern_problem`` and the hostile-text check of ``bot.domain.text``, the tool is a short
label, no second rule of the same kind and pattern), written to the audit log through
``bot.store.audit.record``, and followed by ``bot.store.ai_marks.reapply`` in the same
transaction: the rule, its audit entry and every artifact's new mark commit together or not at
all, so the marks never disagree with the rules in force. Built-in rules (shipped with ai-roi)
can be switched off and on, not changed or deleted.

A change that changes nothing (the same values again, switching on a rule that is on) writes
nothing and audits nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, func, select

from bot.domain.ai_rules import (
    RULE_KIND_LABELS,
    RULE_MARK_PREFIX,
    Rule,
    RuleKind,
    pattern_problem,
)
from bot.domain.text import text_problem
from bot.errors import AiRoiError
from bot.store import ai_marks, audit
from bot.store.models import AiRule, Artifact

PATTERN_LENGTH = 200  # ai_rules.pattern
TOOL_LENGTH = 64  # ai_rules.tool
UPDATED_BY_LENGTH = 64  # ai_rules.updated_by

ADD = audit.AI_RULE_ADD
CHANGE = audit.AI_RULE_CHANGE
SWITCH_ON = audit.AI_RULE_SWITCH_ON
SWITCH_OFF = audit.AI_RULE_SWITCH_OFF
DELETE = audit.AI_RULE_DELETE
ACTIONS = (ADD, CHANGE, SWITCH_ON, SWITCH_OFF, DELETE)

# The fields a problem is about (the add/edit modal's blocks are named after them).
KIND = "kind"
PATTERN = "pattern"
TOOL = "tool"

BUILTIN_UNCHANGEABLE = "A built-in rule cannot be changed: switch it off and add your own."
BUILTIN_UNDELETABLE = "A built-in rule cannot be deleted: switch it off instead."
GONE = "This rule no longer exists."


class RuleError(AiRoiError):
    """A rule change that cannot be made; ``field`` names the input it is about (``kind``,
    ``pattern``, ``tool``) or is ``None`` when it is about the rule as a whole."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


@dataclass(frozen=True)
class RuleChange:
    """A change made: the rule as it is now (as it was, for a deleted one), whether anything
    changed, and how many artifacts ``reapply`` re-marked or re-credited."""

    rule: Rule
    changed: bool
    remarked: int = 0


@dataclass(frozen=True)
class Draft:
    """A rule as an admin entered it, checked: the kind, the pattern stripped, the tool
    stripped (``None`` when empty)."""

    kind: RuleKind
    pattern: str
    tool: str | None


# Reading ----------------------------------------------------------------------------------


def list_rules(session: Session) -> list[Rule]:
    """Every stored rule this version knows, in the order they are tried (id order)."""
    return ai_marks.rules_in_force(session)


def rule_by_id(session: Session, rule_id: int) -> Rule | None:
    return next((r for r in list_rules(session) if r.id == rule_id), None)


def describe(rule: Rule | Draft) -> str:
    """``Pull request label "ai-generated"`` — the rule in one line, for audit targets and
    messages."""
    return f'{RULE_KIND_LABELS[rule.kind]} "{rule.pattern}"'


# Checking ---------------------------------------------------------------------------------


def check_draft(
    session: Session,
    kind: str | None,
    pattern: str | None,
    tool: str | None,
    *,
    rule_id: int | None = None,
) -> tuple[Draft | None, dict[str, str]]:
    """``(the draft, {})`` when this rule may be stored (as a new rule, or as rule
    ``rule_id``), else ``(None, {field: problem})``. Reads the stored rules (duplicates)."""
    errors: dict[str, str] = {}
    try:
        rule_kind = RuleKind(kind or "")
    except ValueError:
        rule_kind = None
        errors[KIND] = "Pick what the rule looks at."
    text = (pattern or "").strip()
    problem = text_problem(text, PATTERN_LENGTH)
    if problem is None and rule_kind is not None:
        problem = pattern_problem(rule_kind, text)
    elif problem is None and not text:
        problem = "the pattern is empty"
    if problem is not None:
        errors[PATTERN] = _sentence(problem, "The pattern")
    label = (tool or "").strip() or None
    if label is not None:
        tool_problem = text_problem(label, TOOL_LENGTH)
        if tool_problem is not None:
            errors[TOOL] = _sentence(tool_problem, "The tool")
    if errors or rule_kind is None:
        return None, errors
    draft = Draft(rule_kind, text, label)
    for other in list_rules(session):
        same = other.kind is draft.kind and other.pattern.strip().casefold() == text.casefold()
        if same and other.id != rule_id:
            state = "on" if other.enabled else "off"
            origin = "built-in" if other.builtin else "custom"
            errors[PATTERN] = f"The same rule exists already ({origin}, {state})."
            return None, errors
    return draft, {}


def _sentence(problem: str, subject: str) -> str:
    """``the pattern is empty`` → ``The pattern is empty.``; ``contains a NUL …`` (from
    ``text_problem``) → ``The pattern contains a NUL ….``"""
    if problem.startswith(("contains ", "is ")):
        problem = f"{subject} {problem}"
    return problem[:1].upper() + problem[1:] + "."


def _checked(
    session: Session, kind: str | None, pattern: str | None, tool: str | None, rule_id: int | None
) -> Draft:
    draft, errors = check_draft(session, kind, pattern, tool, rule_id=rule_id)
    if draft is None:
        field, message = next(iter(errors.items()))
        raise RuleError(message, field)
    return draft


# Changing ---------------------------------------------------------------------------------


def add(
    session: Session,
    *,
    kind: str | None,
    pattern: str | None,
    tool: str | None,
    actor: str,
    now: datetime,
) -> RuleChange:
    """Store a new custom rule (on), audit it and re-mark the artifacts."""
    draft = _checked(session, kind, pattern, tool, None)
    row = AiRule(
        kind=draft.kind.value,
        pattern=draft.pattern,
        tool=draft.tool,
        enabled=True,
        builtin=False,
        created_at=now,
        updated_at=now,
        updated_by=actor[:UPDATED_BY_LENGTH],
    )
    session.add(row)
    session.flush()
    rule = _rule(row)
    return _finish(session, ADD, rule, {"after": _fields(rule)}, actor=actor, now=now)


def update(
    session: Session,
    rule_id: int,
    *,
    kind: str | None,
    pattern: str | None,
    tool: str | None,
    actor: str,
    now: datetime,
) -> RuleChange:
    """Change a custom rule's kind, pattern or tool; audit it and re-mark the artifacts."""
    row = _row(session, rule_id)
    if row.builtin:
        raise RuleError(BUILTIN_UNCHANGEABLE)
    draft = _checked(session, kind, pattern, tool, rule_id)
    before = _rule(row)
    if (draft.kind, draft.pattern, draft.tool) == (before.kind, before.pattern, before.tool):
        return RuleChange(before, changed=False)
    row.kind, row.pattern, row.tool = draft.kind.value, draft.pattern, draft.tool
    _touch(row, actor, now)
    session.add(row)
    session.flush()
    rule = _rule(row)
    details = {"before": _fields(before), "after": _fields(rule)}
    return _finish(session, CHANGE, rule, details, actor=actor, now=now)


def set_enabled(
    session: Session, rule_id: int, enabled: bool, *, actor: str, now: datetime
) -> RuleChange:
    """Switch a rule (built-in or custom) on or off; audit it and re-mark the artifacts."""
    row = _row(session, rule_id)
    if row.enabled == enabled:
        return RuleChange(_rule(row), changed=False)
    row.enabled = enabled
    _touch(row, actor, now)
    session.add(row)
    session.flush()
    rule = _rule(row)
    action = SWITCH_ON if enabled else SWITCH_OFF
    return _finish(session, action, rule, {"after": _fields(rule)}, actor=actor, now=now)


def delete(session: Session, rule_id: int, *, actor: str, now: datetime) -> RuleChange:
    """Delete a custom rule; audit it and re-mark the artifacts (those only it marked are no
    longer AI-assisted)."""
    row = _row(session, rule_id)
    if row.builtin:
        raise RuleError(BUILTIN_UNDELETABLE)
    rule = _rule(row)
    session.delete(row)
    session.flush()
    return _finish(session, DELETE, rule, {"before": _fields(rule)}, actor=actor, now=now)


# Helpers ----------------------------------------------------------------------------------


def _row(session: Session, rule_id: int) -> AiRule:
    row = session.exec(select(AiRule).where(col(AiRule.id) == rule_id)).first()
    if row is None:
        raise RuleError(GONE)
    try:
        RuleKind(row.kind)
    except ValueError:
        raise RuleError(GONE) from None  # a newer version's rule: not listed, not changed
    return row


def _rule(row: AiRule) -> Rule:
    return Rule(
        kind=RuleKind(row.kind),
        pattern=row.pattern,
        tool=row.tool,
        enabled=row.enabled,
        builtin=row.builtin,
        id=row.id,
    )


def _touch(row: AiRule, actor: str, now: datetime) -> None:
    row.updated_at = now
    row.updated_by = actor[:UPDATED_BY_LENGTH]


def _fields(rule: Rule) -> dict[str, Any]:
    return {
        "kind": rule.kind.value,
        "pattern": rule.pattern,
        "tool": rule.tool,
        "enabled": rule.enabled,
        "builtin": rule.builtin,
    }


def _finish(
    session: Session,
    action: str,
    rule: Rule,
    details: Mapping[str, Any],
    *,
    actor: str,
    now: datetime,
) -> RuleChange:
    """Re-mark every rule-decided artifact, then write the audit entry (with how many changed)."""
    remarked = ai_marks.reapply(session)
    audit.record(
        session,
        actor=actor,
        action=action,
        target=describe(rule),
        details={"rule_id": rule.id, **details, "remarked": remarked},
        now=now,
    )
    return RuleChange(rule, changed=True, remarked=remarked)


def marked_counts(session: Session) -> dict[int, int]:
    """How many artifacts each rule marks now (rule id → count; rules that mark none are
    absent)."""
    rows = session.exec(
        select(Artifact.ai_marked_by, func.count())
        .where(col(Artifact.ai_marked_by).startswith(RULE_MARK_PREFIX, autoescape=True))
        .group_by(col(Artifact.ai_marked_by))
    ).all()
    counts: dict[int, int] = {}
    for marked_by, count in rows:
        suffix = (marked_by or "")[len(RULE_MARK_PREFIX) :]
        if suffix.isdigit():
            counts[int(suffix)] = int(count)
    return counts
