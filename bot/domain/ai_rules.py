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

import json
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
    rules: Iterable[Rule] | RuleSet,
    artifact_kind: str,
    title: str | None,
    traits: ArtifactTraits | None,
) -> RuleMatch | None:
    """The first enabled rule, in the given order, that marks this artifact; agent-author rules
    are tried before the others so that a pull request an agent wrote is credited to whoever
    asked for it even when a trailer rule would also match. (A ``RuleSet`` of the same rules
    gives the same answer, without preparing them again for every artifact.)"""
    prepared = rules if isinstance(rules, RuleSet) else RuleSet(rules)
    return prepared.match(artifact_kind, title, traits)


class RuleSet:
    """Rules prepared once for many artifacts: enabled ones only, in the order ``match`` tries
    them, for pull requests and for the other kinds, their patterns folded."""

    def __init__(self, rules: Iterable[Rule]) -> None:
        enabled = [r for r in rules if r.enabled]
        self.rules = tuple(enabled)
        self._by_kind = {
            pull_request: tuple(
                (rule, _folded_pattern(rule))
                for rule in sorted(
                    (r for r in enabled if r.applies_to(PULL_REQUEST) == pull_request),
                    key=lambda r: r.kind != RuleKind.AGENT_AUTHOR,
                )
            )
            for pull_request in (True, False)
        }

    def match(
        self, artifact_kind: str, title: str | None, traits: ArtifactTraits | None
    ) -> RuleMatch | None:
        candidates = self._by_kind[artifact_kind == PULL_REQUEST]
        if not candidates:
            return None
        values = _Values(title, traits or ArtifactTraits())
        for rule, pattern in candidates:
            if _matches(rule.kind, pattern, values):
                credit = None
                if rule.kind == RuleKind.AGENT_AUTHOR and traits is not None:
                    credit = traits.requested_by
                return RuleMatch(rule=rule, tool=rule.tool, credit_to=credit)
        return None


def _folded_pattern(rule: Rule) -> str:
    pattern = rule.pattern.strip().casefold()
    return pattern if rule.kind in _CONTAINS else pattern.replace("[", "[[]")  # "[" is plain


class _Values:
    """An artifact's title and traits, each folded once, when a rule first reads it."""

    def __init__(self, title: str | None, traits: ArtifactTraits) -> None:
        self._title, self._traits = title, traits
        self._folded: dict[RuleKind, tuple[str, ...]] = {}

    def of(self, kind: RuleKind) -> tuple[str, ...]:
        found = self._folded.get(kind)
        if found is None:
            raw: Sequence[str | None]
            match kind:
                case RuleKind.AGENT_AUTHOR | RuleKind.CREATOR:
                    raw = (self._traits.author,)
                case RuleKind.LABEL | RuleKind.TAG:
                    raw = self._traits.labels
                case RuleKind.TRAILER:
                    raw = self._traits.trailers
                case RuleKind.BODY_MARKER:
                    raw = self._traits.markers
                case RuleKind.TITLE:
                    raw = (self._title,)
            found = tuple(value.casefold() for value in raw if value is not None)
            self._folded[kind] = found
        return found


def _matches(kind: RuleKind, pattern: str, values: _Values) -> bool:
    if kind in _CONTAINS:
        return any(pattern in value for value in values.of(kind))
    return any(fnmatchcase(value, pattern) for value in values.of(kind))


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


# The mark an artifact gets ------------------------------------------------------------------

SOURCE_MARK = "source"  # ``ai_marked_by`` when the source itself said (yes or no)
RULE_MARK_PREFIX = "rule:"  # ``ai_marked_by`` = "rule:<id>" when an admin rule marked it


@dataclass(frozen=True)
class Mark:
    """What is stored on an artifact: AI-assisted or not, by which tool, decided by whom
    (``SOURCE_MARK``, ``"rule:<id>"``, or ``None`` when nothing marks it), and whom its
    ``artifact.created`` event is credited to (``None``: the creator the source named)."""

    ai_assisted: bool = False
    ai_tool: str | None = None
    marked_by: str | None = None
    credit_to: str | None = None


def rule_mark(rule: Rule) -> str:
    return f"{RULE_MARK_PREFIX}{rule.id}"


def decide(
    rules: Sequence[Rule] | RuleSet,
    *,
    source_says: bool | None,
    source_tool: str | None,
    artifact_kind: str,
    title: str | None,
    traits: ArtifactTraits | None,
) -> Mark:
    """The mark of one artifact: the source's word when it gives one (True: AI-assisted by
    ``source_tool``; False: not, and no rule applies), else the first rule that matches."""
    if source_says is not None:
        if source_says:
            return Mark(True, source_tool, SOURCE_MARK)
        return Mark(False, None, SOURCE_MARK)
    found = match(rules, artifact_kind, title, traits)
    if found is None:
        return Mark()
    return Mark(True, found.tool, rule_mark(found.rule), found.credit_to)


def is_decided_by_source(marked_by: str | None) -> bool:
    """Whether a stored mark came from the source (rules do not change it)."""
    return marked_by == SOURCE_MARK


# Traits as stored (JSON text in ``artifacts.traits``) ----------------------------------------

_LIST_FIELDS = ("labels", "trailers", "markers")


def traits_to_json(traits: ArtifactTraits | None) -> str | None:
    """The stored form of ``traits``: compact JSON with empty fields left out; ``None`` when
    there is nothing to keep."""
    if traits is None:
        return None
    data: dict[str, object] = {}
    if traits.author is not None:
        data["author"] = traits.author
    if traits.author_is_bot:
        data["author_is_bot"] = True
    if traits.requested_by is not None:
        data["requested_by"] = traits.requested_by
    for name in _LIST_FIELDS:
        values = getattr(traits, name)
        if values:
            data[name] = list(values)
    if not data:
        return None
    return json.dumps(data, sort_keys=True, separators=(",", ":"))


def traits_from_json(text: str | None) -> ArtifactTraits | None:
    """Stored traits back as ``ArtifactTraits``; ``None`` for none, and for text that is not
    what ``traits_to_json`` writes (a rule then sees no traits rather than failing)."""
    if not text:
        return None
    try:
        data = json.loads(text)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    author, requested_by = data.get("author"), data.get("requested_by")
    lists: dict[str, tuple[str, ...]] = {}
    for name in _LIST_FIELDS:
        values = data.get(name, [])
        lists[name] = (
            tuple(v for v in values if isinstance(v, str)) if isinstance(values, list) else ()
        )
    return ArtifactTraits(
        author=author if isinstance(author, str) else None,
        author_is_bot=data.get("author_is_bot") is True,
        requested_by=requested_by if isinstance(requested_by, str) else None,
        **lists,
    )
