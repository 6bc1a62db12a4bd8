"""Which artifacts count as AI-assisted when their source does not say: the admins' rules.

A rule looks at one trait of an artifact (``bot.domain.events.ArtifactTraits`` and the title)
and, when it matches, marks the artifact AI-assisted by ``tool``. Rules for pull requests read
the author, commit trailers, description markers and labels; rules for dashboards and documents
read the creator, tags and title. An ``agent_author`` rule also credits the pull request to the
person who asked the agent for it (``requested_by``), so a Copilot coding-agent pull request
counts for the engineer who assigned the issue, not for a bot.

Patterns are plain text, compared without regard to case: ``*`` and ``?`` are wildcards for the
author, creator, label, tag and title rules (the whole value must match), and trailer and marker
rules match when the pattern appears anywhere in a line. No regular expressions: an admin's
pattern can never make matching slow.

Pure: the store keeps the rules (``ai_rules`` table) and applies the result.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from fnmatch import fnmatchcase

from bot.domain.events import ArtifactTraits

PULL_REQUEST = "pull_request"


class RuleKind(StrEnum):
    AGENT_AUTHOR = "agent_author"  # pull requests: the author's login
    TRAILER = "trailer"  # pull requests: a Co-authored-by line of a commit
    BODY_MARKER = "body_marker"  # pull requests: a line of the description's end
    LABEL = "label"  # pull requests: a label
    CREATOR = "creator"  # dashboards and documents: the creator (a service account)
    TAG = "tag"  # dashboards and documents: a tag
    TITLE = "title"  # dashboards and documents: the title


PULL_REQUEST_KINDS = frozenset(
    {RuleKind.AGENT_AUTHOR, RuleKind.TRAILER, RuleKind.BODY_MARKER, RuleKind.LABEL}
)
_CONTAINS = frozenset({RuleKind.TRAILER, RuleKind.BODY_MARKER})

RULE_KIND_LABELS: dict[RuleKind, str] = {
    RuleKind.AGENT_AUTHOR: "Pull request author is an agent",
    RuleKind.TRAILER: "Commit trailer contains",
    RuleKind.BODY_MARKER: "Pull request description contains",
    RuleKind.LABEL: "Pull request label",
    RuleKind.CREATOR: "Dashboard or document creator",
    RuleKind.TAG: "Dashboard or document tag",
    RuleKind.TITLE: "Dashboard or document title",
}

MAX_PATTERN_LENGTH = 200


@dataclass(frozen=True)
class Rule:
    """One admin rule. ``id`` is ``None`` until stored; ``builtin`` rules ship with ai-roi."""

    kind: RuleKind
    pattern: str
    tool: str | None = None
    enabled: bool = True
    builtin: bool = False
    id: int | None = None

    def applies_to(self, artifact_kind: str) -> bool:
        return (artifact_kind == PULL_REQUEST) == (self.kind in PULL_REQUEST_KINDS)


@dataclass(frozen=True)
class RuleMatch:
    """The first rule that matched: the tool it names, and whom to credit (``None``: the
    creator the source named)."""

    rule: Rule
    tool: str | None
    credit_to: str | None


def pattern_problem(kind: RuleKind, pattern: str) -> str | None:
    """Why ``pattern`` cannot be a rule of ``kind``, or ``None`` when it can."""
    text = pattern.strip()
    if not text:
        return "the pattern is empty"
    if len(text) > MAX_PATTERN_LENGTH:
        return f"the pattern is longer than {MAX_PATTERN_LENGTH} characters"
    if kind not in _CONTAINS and text.strip("*?") == "":
        return "a pattern of wildcards only would mark every artifact"
    if any(ord(ch) < 32 for ch in text):
        return "the pattern contains a control character"
    return None


def match(
    rules: Iterable[Rule], artifact_kind: str, title: str | None, traits: ArtifactTraits | None
) -> RuleMatch | None:
    """The first enabled rule, in the given order, that marks this artifact; agent-author rules
    are tried before the others so that a pull request an agent wrote is credited to whoever
    asked for it even when a trailer rule would also match."""
    ordered = sorted(
        (r for r in rules if r.enabled and r.applies_to(artifact_kind)),
        key=lambda r: r.kind != RuleKind.AGENT_AUTHOR,
    )
    for rule in ordered:
        if _matches(rule, title, traits or ArtifactTraits()):
            credit = None
            if rule.kind == RuleKind.AGENT_AUTHOR and traits is not None:
                credit = traits.requested_by
            return RuleMatch(rule=rule, tool=rule.tool, credit_to=credit)
    return None


def _matches(rule: Rule, title: str | None, traits: ArtifactTraits) -> bool:
    pattern = rule.pattern.strip().casefold()
    values: Sequence[str | None]
    match rule.kind:
        case RuleKind.AGENT_AUTHOR | RuleKind.CREATOR:
            values = (traits.author,)
        case RuleKind.LABEL | RuleKind.TAG:
            values = traits.labels
        case RuleKind.TRAILER:
            values = traits.trailers
        case RuleKind.BODY_MARKER:
            values = traits.markers
        case RuleKind.TITLE:
            values = (title,)
    for value in values:
        if value is None:
            continue
        folded = value.casefold()
        if rule.kind in _CONTAINS:
            if pattern in folded:
                return True
        elif fnmatchcase(folded, pattern.replace("[", "[[]")):  # "[" is a plain character
            return True
    return False


# Shipped with ai-roi, listed (and switchable off) in the admin App Home like any other rule.
DEFAULT_RULES: tuple[Rule, ...] = (
    # GitHub Copilot coding agent: pull requests authored by the Copilot bot, assigned to the
    # person who asked.
    Rule(RuleKind.AGENT_AUTHOR, "copilot", "copilot", builtin=True),
    Rule(RuleKind.AGENT_AUTHOR, "copilot-swe-agent*", "copilot", builtin=True),
    Rule(RuleKind.AGENT_AUTHOR, "claude[bot]", "claude-code", builtin=True),
    Rule(RuleKind.AGENT_AUTHOR, "cursor[bot]", "cursor", builtin=True),
    Rule(RuleKind.AGENT_AUTHOR, "chatgpt-codex-connector*", "codex", builtin=True),
    Rule(RuleKind.AGENT_AUTHOR, "devin-ai-integration*", "devin", builtin=True),
    # Trailers and footers the agents add to commits and descriptions they write.
    Rule(RuleKind.TRAILER, "noreply@anthropic.com", "claude-code", builtin=True),
    Rule(RuleKind.TRAILER, "copilot@users.noreply.github.com", "copilot", builtin=True),
    Rule(RuleKind.TRAILER, "cursoragent@cursor.com", "cursor", builtin=True),
    Rule(RuleKind.BODY_MARKER, "generated with [claude code]", "claude-code", builtin=True),
    Rule(RuleKind.BODY_MARKER, "generated with claude code", "claude-code", builtin=True),
    # Labels and tags teams commonly put on AI-made work.
    Rule(RuleKind.LABEL, "ai-generated", None, builtin=True),
    Rule(RuleKind.LABEL, "ai-assisted", None, builtin=True),
    Rule(RuleKind.TAG, "ai-generated", None, builtin=True),
    Rule(RuleKind.TAG, "ai-assisted", None, builtin=True),
)
