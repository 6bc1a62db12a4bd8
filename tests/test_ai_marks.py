"""The stored AI-assisted marks (bot.store.ai_marks) on both databases: the rules as stored,
what a rule would mark, and re-marking after the rules change, agent credit included."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.domain.ai_rules import DEFAULT_RULES, Rule, RuleKind, traits_to_json
from bot.domain.events import ArtifactTraits
from bot.store import ai_marks
from bot.store.db import transaction
from bot.store.models import AiRule, Artifact, Event, Identity, Person

WHEN = datetime(2026, 11, 17, 10, 0, tzinfo=UTC)


def _artifact(
    session: Session,
    external_id: str,
    kind: str,
    *,
    title: str | None = None,
    traits: ArtifactTraits | None = None,
    ai_assisted: bool = False,
    ai_tool: str | None = None,
    marked_by: str | None = None,
    creator: tuple[str, str] | None = None,
) -> int:
    artifact = Artifact(
        source="usage",
        external_id=external_id,
        kind=kind,
        title=title,
        traits=traits_to_json(traits),
        ai_assisted=ai_assisted,
        ai_tool=ai_tool,
        ai_marked_by=marked_by,
    )
    session.add(artifact)
    session.flush()
    assert artifact.id is not None
    if creator is not None:
        session.add(
            Event(
                source="usage",
                key=f"created:{external_id}",
                type="artifact.created",
                occurred_at=WHEN,
                actor_kind=creator[0],
                actor_value=creator[1],
                artifact_id=artifact.id,
            )
        )
    return artifact.id


def _marks(session: Session) -> dict[str, tuple[bool, str | None, str | None]]:
    rows = session.exec(
        select(Artifact.external_id, Artifact.ai_assisted, Artifact.ai_tool, Artifact.ai_marked_by)
    ).all()
    return {e: (bool(a), t, m) for e, a, t, m in rows}


def _rule_id(session: Session, kind: str, pattern: str) -> int:
    found = session.exec(
        select(AiRule.id).where(AiRule.kind == kind, AiRule.pattern == pattern)
    ).one()
    assert found is not None
    return found


def test_rules_in_force_are_the_stored_rows_in_id_order(engine: Engine) -> None:
    with transaction(engine) as session:
        rules = ai_marks.rules_in_force(session)
        assert [(r.kind, r.pattern, r.tool) for r in rules] == [
            (r.kind, r.pattern, r.tool) for r in DEFAULT_RULES
        ]
        assert all(r.builtin and r.enabled and r.id is not None for r in rules)
        assert [r.id for r in rules] == sorted(r.id for r in rules if r.id is not None)
        session.add(AiRule(kind="title", pattern="*[ai]*", tool="chatgpt", enabled=False))
        session.add(AiRule(kind="no_such_kind", pattern="x"))  # a newer version's row
    with transaction(engine) as session:
        rules = ai_marks.rules_in_force(session)
    assert len(rules) == len(DEFAULT_RULES) + 1
    assert rules[-1] == Rule(
        RuleKind.TITLE, "*[ai]*", "chatgpt", enabled=False, builtin=False, id=rules[-1].id
    )


def test_preview_counts_matches_and_the_newly_marked(engine: Engine) -> None:
    labelled = ArtifactTraits(labels=("Team-Churn",))
    with transaction(engine) as session:
        _artifact(session, "d1", "dashboard", traits=labelled)  # matches, unmarked
        _artifact(session, "d2", "dashboard", traits=labelled, ai_assisted=True, marked_by="rule:1")
        _artifact(session, "d3", "dashboard", traits=labelled, marked_by="source")  # source: no
        _artifact(session, "d4", "dashboard", traits=ArtifactTraits(labels=("finance",)))
        _artifact(session, "pr1", "pull_request", traits=labelled)  # a tag rule reads no PR
        _artifact(session, "d5", "dashboard")  # no traits
    rule = Rule(RuleKind.TAG, "team-*", "chatgpt", enabled=False)  # previewed as if on
    with transaction(engine) as session:
        result = ai_marks.preview(session, rule)
        assert result == ai_marks.RulePreview(matches=2, newly_marked=1)
        title = ai_marks.preview(session, Rule(RuleKind.TITLE, "q4 *"))
        assert title == ai_marks.RulePreview(matches=0, newly_marked=0)
        before = _marks(session)
    with transaction(engine) as session:
        assert _marks(session) == before  # a preview changes nothing


def test_reapply_marks_by_rule_and_leaves_source_marks_alone(engine: Engine) -> None:
    with transaction(engine) as session:
        _artifact(
            session,
            "pr-trailer",
            "pull_request",
            traits=ArtifactTraits(trailers=("Co-authored-by: Claude <noreply@anthropic.com>",)),
        )
        _artifact(session, "pr-plain", "pull_request", traits=ArtifactTraits(author="ana"))
        _artifact(
            session,
            "pr-source-no",
            "pull_request",
            marked_by="source",
            traits=ArtifactTraits(labels=("ai-generated",)),
        )
        _artifact(
            session,
            "d-source-yes",
            "dashboard",
            ai_assisted=True,
            ai_tool="chatgpt",
            marked_by="source",
        )
        _artifact(
            session,
            "d-stale",
            "dashboard",
            ai_assisted=True,
            ai_tool="x",
            marked_by="rule:999",
            title="Churn",
        )
        _artifact(session, "d-title", "dashboard", title="Q4 [AI] churn")
    with transaction(engine) as session:
        assert ai_marks.reapply(session) == 2  # pr-trailer marked, d-stale unmarked
        trailer_rule = _rule_id(session, "trailer", "noreply@anthropic.com")
        assert _marks(session) == {
            "pr-trailer": (True, "claude-code", f"rule:{trailer_rule}"),
            "pr-plain": (False, None, None),
            "pr-source-no": (False, None, "source"),
            "d-source-yes": (True, "chatgpt", "source"),
            "d-stale": (False, None, None),
            "d-title": (False, None, None),
        }
        assert ai_marks.reapply(session) == 0  # nothing left to change
        session.add(AiRule(kind="title", pattern="*[ai]*", tool="chatgpt"))
        session.flush()
        title_rule = _rule_id(session, "title", "*[ai]*")
        assert ai_marks.reapply(session) == 1
        assert _marks(session)["d-title"] == (True, "chatgpt", f"rule:{title_rule}")
        session.execute(sa.update(AiRule).where(col(AiRule.id) == title_rule).values(enabled=False))
        assert ai_marks.reapply(session) == 1
        assert _marks(session)["d-title"] == (False, None, None)


def test_reapply_pages_through_many_artifacts(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ai_marks, "PAGE", 7)
    labelled = ArtifactTraits(labels=("AI-Assisted",))
    with transaction(engine) as session:
        for n in range(30):
            _artifact(session, f"pr{n}", "pull_request", traits=labelled if n % 3 else None)
    with transaction(engine) as session:
        assert ai_marks.reapply(session) == 20
        assert ai_marks.preview(session, Rule(RuleKind.LABEL, "ai-assisted")) == (
            ai_marks.RulePreview(matches=20, newly_marked=0)
        )
        marked = [e for e, (ai, _, _) in _marks(session).items() if ai]
    assert sorted(marked) == sorted(f"pr{n}" for n in range(30) if n % 3)


def test_reapply_credits_agent_pull_requests_to_the_requester_and_back(engine: Engine) -> None:
    agent = ArtifactTraits(author="Copilot", author_is_bot=True, requested_by="ana-gh")
    with transaction(engine) as session:
        ana = Person(email="ana@example.com")
        session.add(ana)
        session.flush()
        assert ana.id is not None
        session.add(Identity(kind="github", value="ana-gh", person_id=ana.id))
        _artifact(session, "pr-agent", "pull_request", traits=agent, creator=("github", "Copilot"))
        _artifact(
            session,
            "pr-unmapped",
            "pull_request",
            traits=ArtifactTraits(author="Copilot", requested_by="bob-gh"),
            creator=("github", "Copilot"),
        )
        _artifact(
            session,
            "pr-other",
            "pull_request",  # the source named a third person
            traits=ArtifactTraits(author="Copilot", requested_by="ana-gh"),
            creator=("github", "carol-gh"),
            marked_by="source",
            ai_assisted=True,
        )
        ana_id = ana.id

    def creators(session: Session) -> dict[str, tuple[str | None, int | None]]:
        rows = session.exec(
            select(Artifact.external_id, Event.actor_value, Event.person_id).join(
                Event, col(Event.artifact_id) == col(Artifact.id)
            )
        ).all()
        return {e: (v, p) for e, v, p in rows}

    with transaction(engine) as session:
        assert ai_marks.reapply(session) == 2
        assert creators(session) == {
            "pr-agent": ("ana-gh", ana_id),
            "pr-unmapped": ("bob-gh", None),  # attributed once bob-gh is mapped
            "pr-other": ("carol-gh", None),
        }
        assert _marks(session)["pr-agent"][:2] == (True, "copilot")
        assert ai_marks.reapply(session) == 0
        session.execute(
            sa.update(AiRule).where(col(AiRule.kind) == "agent_author").values(enabled=False)
        )
        assert ai_marks.reapply(session) == 2
        assert creators(session) == {
            "pr-agent": ("Copilot", None),
            "pr-unmapped": ("Copilot", None),
            "pr-other": ("carol-gh", None),
        }
        assert _marks(session)["pr-agent"] == (False, None, None)


def test_marking_at_ingest_reads_the_rules_once_per_write_whatever_the_batch_size(
    engine: Engine,
) -> None:
    from datetime import timedelta

    from bot.domain.events import Actor, ArtifactRef, EventType, NormalizedEvent
    from bot.store.event_rows import prepare_batch, time_binder
    from bot.store.events import write_batches

    def batch(prefix: str, size: int) -> list[NormalizedEvent]:
        return [
            NormalizedEvent(
                key=f"{prefix}{n}",
                type=EventType.ARTIFACT_CREATED,
                occurred_at=WHEN + timedelta(minutes=n),
                actor=Actor("github", "Copilot"),
                artifact=ArtifactRef(
                    f"{prefix}{n}",
                    kind="pull_request",
                    traits=ArtifactTraits(author="Copilot", requested_by=f"dev{n % 7}"),
                ),
            )
            for n in range(size)
        ]

    statements: list[str] = []

    def count(conn: object, cursor: object, statement: str, *args: object) -> None:
        statements.append(statement)

    def write(events: list[NormalizedEvent]) -> list[str]:
        statements.clear()
        prepared = prepare_batch("github", events, WHEN, time_binder(engine.dialect.name))
        sa.event.listen(engine, "before_cursor_execute", count)
        try:
            with transaction(engine) as session:
                write_batches(session, [prepared])
        finally:
            sa.event.remove(engine, "before_cursor_execute", count)
        return [s for s in statements if "ai_rules" in s]

    assert len(write(batch("small-", 3))) == 1
    few = len(statements)
    assert len(write(batch("large-", 300))) == 1
    assert len(statements) == few  # no statement per artifact
    with transaction(engine) as session:
        credited = session.exec(select(Event.actor_value).where(col(Event.key) == "large-8")).one()
        marked = session.exec(
            select(Artifact.ai_tool).where(col(Artifact.external_id) == "large-8")
        ).one()
    assert (credited, marked) == ("dev1", "copilot")
