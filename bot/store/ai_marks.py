"""The AI-assisted marks of stored artifacts: the admins' rules as stored, what a rule would
mark, and re-marking every artifact after the rules change (DESIGN §3.7).

An artifact's mark comes from its source (``ai_marked_by`` = "source": the source said yes or
no, and rules never change it) or from the rules (``ai_marked_by`` = "rule:<id>", or ``NULL``
when no rule matches). ``reapply`` re-decides every mark of the second kind from the stored
traits and title, and moves the credit of pull requests an agent wrote: the artifact's
``artifact.created`` event belongs to the person who asked the agent (``traits.requested_by``)
while an agent-author rule matches it, and back to the author the source named when none does.

All three work in batches of artifacts (keyset pages by id), with a few set-based statements per
page, on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, cast

import sqlalchemy as sa
from sqlmodel import Session, col, select

from bot.domain.ai_rules import (
    PULL_REQUEST,
    RULE_MARK_PREFIX,
    SOURCE_MARK,
    Mark,
    Rule,
    RuleKind,
    RuleSet,
    decide,
    traits_from_json,
)
from bot.domain.events import EventType
from bot.store.identities import resolve_actors
from bot.store.models import AiRule, Artifact, Event

PAGE = 2000  # artifacts per page
_CREATED = EventType.ARTIFACT_CREATED.value
_ARTIFACTS: sa.Table = Artifact.__table__  # type: ignore[attr-defined]
_EVENTS: sa.Table = Event.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class RulePreview:
    """What one rule would do: how many stored artifacts it matches (artifacts whose source
    says they are not AI-assisted are left out: no rule applies to them), and how many of
    those are not marked AI-assisted now (the ones it would newly mark)."""

    matches: int
    newly_marked: int


def rules_in_force(session: Session) -> list[Rule]:
    """The stored rules, in id order (the order they are tried in), enabled or not. A row of
    a kind this version does not know is skipped."""
    rows = session.exec(select(AiRule).order_by(col(AiRule.id))).all()
    rules: list[Rule] = []
    for row in rows:
        try:
            kind = RuleKind(row.kind)
        except ValueError:
            continue
        rules.append(
            Rule(
                kind=kind,
                pattern=row.pattern,
                tool=row.tool,
                enabled=row.enabled,
                builtin=row.builtin,
                id=row.id,
            )
        )
    return rules


def any_marked(session: Session) -> bool:
    """Whether any source or rule marks any stored artifact (a source's "AI-assisted" or "not
    AI-assisted", a rule's match): when none does, the AI-assisted numbers say nothing and the
    digests say so."""
    marked = _ARTIFACTS.c.ai_marked_by.is_not(None)
    found = session.execute(sa.select(_ARTIFACTS.c.id).where(marked).limit(1))
    return found.first() is not None


def preview(session: Session, rule: Rule) -> RulePreview:
    """How many stored artifacts ``rule`` (taken as enabled) matches, and how many of them it
    would newly mark, from their stored traits and titles."""
    candidate = Rule(rule.kind, rule.pattern, rule.tool, True, rule.builtin, rule.id)
    kinds = (
        col(Artifact.kind) == PULL_REQUEST
        if candidate.applies_to(PULL_REQUEST)
        else col(Artifact.kind) != PULL_REQUEST
    )
    where = [kinds, _rules_may_apply_or_marked()]
    if rule.kind is not RuleKind.TITLE:
        where.append(col(Artifact.traits).is_not(None))
    else:
        where.append(col(Artifact.title).is_not(None))
    matches = newly = 0
    prepared = RuleSet((candidate,))
    for page in _pages(session, where):
        for row in page:
            if prepared.match(row.kind, row.title, traits_from_json(row.traits)) is None:
                continue
            matches += 1
            if not row.ai_assisted:
                newly += 1
    return RulePreview(matches=matches, newly_marked=newly)


def reapply(session: Session) -> int:
    """Re-decide every artifact whose mark did not come from its source against
    ``rules_in_force``, store the new marks and move the credit of agent-written pull requests;
    return how many artifacts changed (mark or credit). Runs in the session's transaction."""
    rules = RuleSet(rules_in_force(session))
    changed = 0
    where = [sa.or_(col(Artifact.ai_marked_by).is_(None), _by_rule())]
    for page in _pages(session, where):
        updates: list[dict[str, Any]] = []
        credits: dict[int, tuple[str | None, str | None, str]] = {}
        for row in page:
            traits = traits_from_json(row.traits)
            mark = decide(
                rules,
                source_says=None,
                source_tool=None,
                artifact_kind=row.kind,
                title=row.title,
                traits=traits,
            )
            if (mark.ai_assisted, mark.ai_tool, mark.marked_by) != (
                bool(row.ai_assisted),
                row.ai_tool,
                row.ai_marked_by,
            ):
                updates.append(_mark_values(row.id, mark))
            if traits is not None and traits.requested_by is not None:
                credits[row.id] = (mark.credit_to, traits.author, traits.requested_by)
        _store_marks(session, updates)
        credited = _recredit(session, credits)
        changed += len({u["b_id"] for u in updates} | credited)
    return changed


def _mark_values(artifact_id: int, mark: Mark) -> dict[str, Any]:
    return {
        "b_id": artifact_id,
        "ai_assisted": mark.ai_assisted,
        "ai_tool": mark.ai_tool,
        "ai_marked_by": mark.marked_by,
    }


def _store_marks(session: Session, updates: list[dict[str, Any]]) -> None:
    """One executemany per page: the driver sends the rows together."""
    if not updates:
        return
    statement = (
        sa.update(_ARTIFACTS)
        .where(_ARTIFACTS.c.id == sa.bindparam("b_id"))
        .values(
            ai_assisted=sa.bindparam("ai_assisted"),
            ai_tool=sa.bindparam("ai_tool"),
            ai_marked_by=sa.bindparam("ai_marked_by"),
        )
    )
    session.connection().execute(statement, updates)


def _recredit(session: Session, credits: dict[int, tuple[str | None, str | None, str]]) -> set[int]:
    """Move the ``created`` events of the given artifacts (id → (whom to credit or ``None``,
    the author the source named, the requester)) to whom they belong now; the artifacts moved.

    Credited: the event's actor becomes (its kind, the requester). Not credited (no agent rule
    matches any more): an event credited to the requester goes back to the author."""
    if not credits:
        return set()
    rows = session.execute(
        sa.select(
            _EVENTS.c.id, _EVENTS.c.artifact_id, _EVENTS.c.actor_kind, _EVENTS.c.actor_value
        ).where(
            _EVENTS.c.artifact_id.in_(list(credits)),
            _EVENTS.c.type == _CREATED,
            _EVENTS.c.actor_kind.is_not(None),
        )
    ).all()
    moves: list[tuple[int, int, str, str]] = []  # event id, artifact id, kind, new value
    for event_id, artifact_id, kind, value in cast(list[tuple[int, int, str, str]], rows):
        credit_to, author, requester = credits[artifact_id]
        if credit_to is not None:
            target = credit_to
        elif value == requester and author is not None:
            target = author  # credited before, by a rule since switched off or changed
        else:
            continue
        if value != target:
            moves.append((event_id, artifact_id, kind, target))
    if not moves:
        return set()
    people = resolve_actors(session, {(kind, value) for _, _, kind, value in moves})
    session.connection().execute(
        sa.update(_EVENTS)
        .where(_EVENTS.c.id == sa.bindparam("b_id"))
        .values(actor_value=sa.bindparam("b_value"), person_id=sa.bindparam("b_person")),
        [
            {"b_id": event_id, "b_value": value, "b_person": people.get((kind, value))}
            for event_id, _, kind, value in moves
        ],
    )
    return {artifact_id for _, artifact_id, _, _ in moves}


def _by_rule() -> sa.ColumnElement[bool]:
    return col(Artifact.ai_marked_by).startswith(RULE_MARK_PREFIX, autoescape=True)


def _rules_may_apply_or_marked() -> sa.ColumnElement[bool]:
    """Artifacts a rule may mark, and those the source marked AI-assisted: all but those the
    source says are not."""
    return sa.or_(
        col(Artifact.ai_marked_by).is_(None),
        col(Artifact.ai_marked_by) != SOURCE_MARK,
        col(Artifact.ai_assisted),
    )


def _pages(session: Session, where: Sequence[sa.ColumnElement[bool]]) -> Iterator[Sequence[Any]]:
    """The artifacts matching ``where``, ``PAGE`` at a time in id order (keyset pagination:
    each page starts after the last id of the one before)."""
    last = 0
    while True:
        page = session.execute(
            sa.select(
                _ARTIFACTS.c.id,
                _ARTIFACTS.c.kind,
                _ARTIFACTS.c.title,
                _ARTIFACTS.c.traits,
                _ARTIFACTS.c.ai_assisted,
                _ARTIFACTS.c.ai_tool,
                _ARTIFACTS.c.ai_marked_by,
            )
            .where(_ARTIFACTS.c.id > last, *where)
            .order_by(_ARTIFACTS.c.id)
            .limit(PAGE)
        ).all()
        if not page:
            return
        yield page
        last = page[-1].id
        if len(page) < PAGE:
            return
