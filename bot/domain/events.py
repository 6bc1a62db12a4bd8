"""The normalised event every adapter produces and the store accepts.

Adapters (one per source) turn a vendor's payload into ``NormalizedEvent`` values and
``Rejection`` reasons. Nothing downstream knows which vendor an event came from except by
``source``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import NamedTuple


class EventType(StrEnum):
    USAGE = "ai.usage"
    ARTIFACT_CREATED = "artifact.created"
    ARTIFACT_VIEWED = "artifact.viewed"
    ARTIFACT_USED = "artifact.used"
    ARTIFACT_DELETED = "artifact.deleted"


ARTIFACT_KINDS = ("dashboard", "report", "doc", "deck", "query", "pull_request", "agent", "other")


class Actor(NamedTuple):
    """Who did it, as the sender knows them: an identity *kind* and its *value*.

    Kinds: ``email`` (resolved against people), ``slack`` (a Slack user id), or a source name
    such as ``openai`` / ``github`` for vendor ids mapped through the directory. A named pair,
    so it is its own key (``Actor.key``) and cheap to build by the hundred thousand.
    """

    kind: str
    value: str

    @property
    def key(self) -> tuple[str, str]:
        return (self.kind, self.value)


@dataclass(frozen=True)
class ArtifactTraits:
    """What a source says about how an artifact was made: the input of the "AI-assisted" rules
    (``bot.domain.ai_rules``). Only short identifying strings, never a description's text.

    ``author`` is who the source says made it (a GitHub login, a Datadog handle, a Drive
    owner's email) and ``requested_by`` who asked an agent for it (a pull request's assignee
    or requester), in the same identity kind as the created event's actor. ``labels`` holds a
    pull request's labels or a dashboard's or document's tags; ``trailers`` the
    ``Co-authored-by:`` lines of its commits; ``markers`` the last few short lines of its
    description (where generation footers sit).
    """

    author: str | None = None
    author_is_bot: bool = False
    requested_by: str | None = None
    labels: tuple[str, ...] = ()
    trailers: tuple[str, ...] = ()
    markers: tuple[str, ...] = ()


@dataclass(frozen=True)
class ArtifactRef:
    external_id: str
    kind: str = "other"
    kind_label: str | None = None
    title: str | None = None
    traits: ArtifactTraits | None = None


@dataclass(slots=True)
class NormalizedEvent:
    """One fact about AI use, in one convention (DESIGN §3.6 token rules, exact money, UTC).

    ``key`` is the idempotency key, unique per source. ``replace`` marks aggregate records
    (a vendor's per-day or per-bucket total) whose newer copy replaces the stored one; other
    records are stored once and re-sends are duplicates. ``actor`` is ``None`` for org-level
    usage that belongs to no person.

    A value: adapters build it and nothing changes it afterwards. It is not ``frozen`` only
    because a frozen dataclass costs three times as much to build, and a bulk import builds
    hundreds of thousands of them.
    """

    key: str
    type: EventType
    occurred_at: datetime
    actor: Actor | None
    tool: str | None = None
    model: str | None = None
    input_tokens: int = 0
    cached_tokens: int = 0
    output_tokens: int = 0
    cost_nanos: int = 0
    requests: int = 0
    artifact: ArtifactRef | None = None
    replace: bool = False
    # On ``artifact.created``: whether the source itself marks the artifact AI-assisted (True),
    # says it is not (False), or says nothing (None: the admin rules decide). ``tool`` then
    # names the AI tool when the source marks it.
    ai_assisted: bool | None = None
    # Extra numeric outcomes some sources report (lines accepted, commits, PRs…).
    metrics: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Rejection:
    """Why the event at ``index`` of a batch was not stored."""

    index: int
    error: str


@dataclass(frozen=True)
class ParseResult:
    events: list[NormalizedEvent]
    rejected: list[Rejection]
