"""The admins' AI-assisted rules as they edit them (bot.store.ai_rules), on both databases: each
change checked, audited and followed by re-marking the artifacts in the same transaction;
built-in rules switched, never changed or deleted."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.cli import main
from bot.domain.ai_rules import DEFAULT_RULES, traits_to_json
from bot.domain.events import ArtifactTraits
from bot.store import ai_marks, ai_rules
from bot.store.db import transaction
from bot.store.models import AiRule, Artifact, AuditEntry, Event

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
ADMIN = "UADMIN"


def artifact(
    session: Session,
    external_id: str,
    kind: str,
    *,
    title: str | None = None,
    traits: ArtifactTraits | None = None,
    creator: str | None = None,
) -> None:
    """An artifact no source marked (the rules decide), with its ``created`` event."""
    row = Artifact(
        source="usage",
        external_id=external_id,
        kind=kind,
        title=title,
        traits=traits_to_json(traits),
    )
    session.add(row)
    session.flush()
    if creator is not None:
        session.add(
            Event(
                source="usage",
                key=f"created:{external_id}",
                type="artifact.created",
                occurred_at=NOW,
                actor_kind="email",
                actor_value=creator,
                artifact_id=row.id,
            )
        )


def seed(engine: Engine) -> None:
    with transaction(engine) as session:
        artifact(session, "d-churn", "dashboard", title="Churn [AI] draft")
        artifact(session, "d-tagged", "dashboard", traits=ArtifactTraits(labels=("ai-assisted",)))
        artifact(session, "d-plain", "dashboard", title="Quarterly revenue")
        artifact(
            session,
            "pr-labelled",
            "pull_request",
            traits=ArtifactTraits(labels=("ai-generated",)),
        )
        artifact(
            session,
            "pr-both",
            "pull_request",
            traits=ArtifactTraits(labels=("ai-generated",), trailers=("noreply@anthropic.com",)),
        )
        session.add(
            Artifact(
                source="usage",
                external_id="d-source-no",
                kind="dashboard",
                title="Churn [AI] by hand",
                ai_marked_by="source",
            )
        )
        ai_marks.reapply(session)


def marks(engine: Engine) -> dict[str, tuple[bool, str | None]]:
    with Session(engine) as session:
        rows = session.exec(select(Artifact.external_id, Artifact.ai_assisted, Artifact.ai_tool))
        return {e: (bool(a), t) for e, a, t in rows}


def audit_entries(engine: Engine) -> list[tuple[str, str | None, dict[str, Any]]]:
    with Session(engine) as session:
        rows = session.exec(select(AuditEntry).order_by(col(AuditEntry.id))).all()
        return [(r.action, r.target, json.loads(r.details or "{}")) for r in rows]


def rule_id(engine: Engine, kind: str, pattern: str) -> int:
    with Session(engine) as session:
        found = session.exec(
            select(AiRule.id).where(AiRule.kind == kind, AiRule.pattern == pattern)
        ).one()
    assert found is not None
    return found


def test_the_list_is_the_built_in_rules_until_admins_add_their_own(engine: Engine) -> None:
    with Session(engine) as session:
        rules = ai_rules.list_rules(session)
    assert [(r.kind, r.pattern, r.tool) for r in rules] == [
        (r.kind, r.pattern, r.tool) for r in DEFAULT_RULES
    ]
    assert all(r.builtin and r.enabled for r in rules)


def test_adding_a_rule_stores_audits_and_marks_in_one_go(engine: Engine) -> None:
    seed(engine)
    assert marks(engine)["d-churn"] == (False, None)
    with transaction(engine) as session:
        change = ai_rules.add(
            session, kind="title", pattern="  *[ai]*  ", tool=" chatgpt ", actor=ADMIN, now=NOW
        )
    assert change.changed and change.remarked == 1
    assert change.rule.pattern == "*[ai]*" and change.rule.tool == "chatgpt"
    assert not change.rule.builtin and change.rule.enabled
    # The source said "not AI-assisted" for the other "[AI]" dashboard: no rule overrides it.
    assert marks(engine)["d-churn"] == (True, "chatgpt")
    assert marks(engine)["d-source-no"] == (False, None)
    [(action, target, details)] = audit_entries(engine)
    assert action == "ai_rule.add"
    assert target == 'Dashboard or document title "*[ai]*"'
    assert details["after"] == {
        "kind": "title",
        "pattern": "*[ai]*",
        "tool": "chatgpt",
        "enabled": True,
        "builtin": False,
    }
    assert details["remarked"] == 1 and details["rule_id"] == change.rule.id
    with Session(engine) as session:
        stored = session.get(AiRule, change.rule.id)
        assert stored is not None and stored.updated_by == ADMIN


@pytest.mark.parametrize(
    ("kind", "pattern", "tool", "field", "message"),
    [
        ("title", "   ", None, "pattern", "The pattern is empty."),
        (
            "label",
            "**?",
            None,
            "pattern",
            "A pattern of wildcards only would mark every artifact.",
        ),
        ("tag", "x" * 201, None, "pattern", "The pattern is longer than 200 characters."),
        (
            "creator",
            "bot\x00",
            None,
            "pattern",
            "The pattern contains a NUL character at position 3.",
        ),
        (
            "trailer",
            "a\x1bb",
            None,
            "pattern",
            "The pattern contains a control character (U+001B) at position 1.",
        ),
        (
            "title",
            "q\ud800",
            None,
            "pattern",
            "The pattern contains a lone surrogate (U+D800) at position 1.",
        ),
        ("title", "ok", "chat\x7fgpt", "tool", "The tool contains a DEL character at position 4."),
        ("title", "ok", "t" * 65, "tool", "The tool is longer than 64 characters."),
        ("regex", "ok", None, "kind", "Pick what the rule looks at."),
        (None, "ok", None, "kind", "Pick what the rule looks at."),
        ("label", "AI-Generated", None, "pattern", "The same rule exists already (built-in, on)."),
    ],
)
def test_a_bad_rule_is_refused_with_its_field_and_nothing_changes(
    engine: Engine,
    kind: str | None,
    pattern: str,
    tool: str | None,
    field: str,
    message: str,
) -> None:
    with transaction(engine) as session:
        draft, errors = ai_rules.check_draft(session, kind, pattern, tool)
        assert draft is None and errors == {field: message}
    with pytest.raises(ai_rules.RuleError) as raised, transaction(engine) as session:
        ai_rules.add(session, kind=kind, pattern=pattern, tool=tool, actor=ADMIN, now=NOW)
    assert (raised.value.field, raised.value.message) == (field, message)
    with Session(engine) as session:
        assert len(session.exec(select(AiRule)).all()) == len(DEFAULT_RULES)
        assert session.exec(select(AuditEntry)).all() == []


def test_a_rule_switched_off_is_still_a_duplicate(engine: Engine) -> None:
    copilot = rule_id(engine, "agent_author", "copilot")
    with transaction(engine) as session:
        ai_rules.set_enabled(session, copilot, False, actor=ADMIN, now=NOW)
    with Session(engine) as session:
        _, errors = ai_rules.check_draft(session, "agent_author", "COPILOT", "x")
    assert errors == {"pattern": "The same rule exists already (built-in, off)."}


def test_changing_a_custom_rule_re_marks_and_audits_before_and_after(engine: Engine) -> None:
    seed(engine)
    with transaction(engine) as session:
        added = ai_rules.add(
            session, kind="title", pattern="churn*", tool=None, actor=ADMIN, now=NOW
        )
    assert marks(engine)["d-churn"] == (True, None)
    assert added.rule.id is not None
    with transaction(engine) as session:
        change = ai_rules.update(
            session,
            added.rule.id,
            kind="title",
            pattern="quarterly *",
            tool="gemini",
            actor=ADMIN,
            now=NOW,
        )
    assert change.changed and change.remarked == 2
    assert marks(engine)["d-churn"] == (False, None)
    assert marks(engine)["d-plain"] == (True, "gemini")
    action, _, details = audit_entries(engine)[-1]
    assert action == "ai_rule.change"
    assert details["before"]["pattern"] == "churn*" and details["after"]["pattern"] == "quarterly *"
    # The same values again change nothing and audit nothing; the rule keeps its own pattern
    # when checked against itself.
    with transaction(engine) as session:
        again = ai_rules.update(
            session,
            added.rule.id,
            kind="title",
            pattern="Quarterly *",
            tool="gemini",
            actor=ADMIN,
            now=NOW,
        )
    assert again.changed  # the case of a pattern is the admin's to choose
    with transaction(engine) as session:
        same = ai_rules.update(
            session,
            added.rule.id,
            kind="title",
            pattern="Quarterly *",
            tool="gemini",
            actor=ADMIN,
            now=NOW,
        )
    assert not same.changed
    assert len(audit_entries(engine)) == 3


def test_built_in_rules_are_switched_never_changed_or_deleted(engine: Engine) -> None:
    label = rule_id(engine, "label", "ai-generated")
    with (
        pytest.raises(ai_rules.RuleError, match="cannot be changed"),
        transaction(engine) as session,
    ):
        ai_rules.update(
            session, label, kind="label", pattern="ai-made", tool=None, actor=ADMIN, now=NOW
        )
    with (
        pytest.raises(ai_rules.RuleError, match="cannot be deleted"),
        transaction(engine) as session,
    ):
        ai_rules.delete(session, label, actor=ADMIN, now=NOW)
    with Session(engine) as session:
        stored = session.get(AiRule, label)
        assert stored is not None and (stored.pattern, stored.enabled) == ("ai-generated", True)
        assert session.exec(select(AuditEntry)).all() == []


def test_switching_a_built_in_off_unmarks_what_only_it_marked(engine: Engine) -> None:
    seed(engine)
    assert marks(engine)["pr-labelled"] == (True, None)
    assert marks(engine)["pr-both"] == (True, "claude-code")  # the trailer rule marks it too
    label = rule_id(engine, "label", "ai-generated")
    with transaction(engine) as session:
        off = ai_rules.set_enabled(session, label, False, actor=ADMIN, now=NOW)
    assert off.changed and off.remarked == 1
    assert marks(engine)["pr-labelled"] == (False, None)
    assert marks(engine)["pr-both"] == (True, "claude-code")
    # Switching it off again changes nothing; on again marks it again.
    with transaction(engine) as session:
        assert not ai_rules.set_enabled(session, label, False, actor=ADMIN, now=NOW).changed
    with transaction(engine) as session:
        assert ai_rules.set_enabled(session, label, True, actor=ADMIN, now=NOW).remarked == 1
    assert marks(engine)["pr-labelled"] == (True, None)
    actions = [(a, t) for a, t, _ in audit_entries(engine)]
    assert actions == [
        ("ai_rule.switch_off", 'Pull request label "ai-generated"'),
        ("ai_rule.switch_on", 'Pull request label "ai-generated"'),
    ]


def test_deleting_a_custom_rule_unmarks_its_artifacts(engine: Engine) -> None:
    seed(engine)
    with transaction(engine) as session:
        added = ai_rules.add(
            session, kind="title", pattern="*revenue", tool=None, actor=ADMIN, now=NOW
        )
    assert marks(engine)["d-plain"] == (True, None) and added.rule.id is not None
    with transaction(engine) as session:
        gone = ai_rules.delete(session, added.rule.id, actor=ADMIN, now=NOW)
    assert gone.remarked == 1 and marks(engine)["d-plain"] == (False, None)
    with Session(engine) as session:
        assert session.get(AiRule, added.rule.id) is None
    action, target, details = audit_entries(engine)[-1]
    assert (action, target) == ("ai_rule.delete", 'Dashboard or document title "*revenue"')
    assert details["before"]["pattern"] == "*revenue"
    with (
        pytest.raises(ai_rules.RuleError, match="no longer exists"),
        transaction(engine) as session,
    ):
        ai_rules.delete(session, added.rule.id, actor=ADMIN, now=NOW)


def test_a_failed_re_marking_leaves_neither_the_rule_nor_its_audit_entry(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed(engine)

    def broken(session: Session) -> int:
        raise RuntimeError("the database went away")

    monkeypatch.setattr(ai_marks, "reapply", broken)
    with pytest.raises(RuntimeError), transaction(engine) as session:
        ai_rules.add(session, kind="title", pattern="churn*", tool=None, actor=ADMIN, now=NOW)
    with Session(engine) as session:
        assert len(session.exec(select(AiRule)).all()) == len(DEFAULT_RULES)
        assert session.exec(select(AuditEntry)).all() == []
    assert marks(engine)["d-churn"] == (False, None)


def test_agent_credit_follows_the_agent_rule_switch(engine: Engine) -> None:
    with transaction(engine) as session:
        artifact(
            session,
            "pr-agent",
            "pull_request",
            traits=ArtifactTraits(author="copilot-swe-agent[bot]", requested_by="ana@example.com"),
            creator="copilot-swe-agent[bot]",
        )
        ai_marks.reapply(session)

    def credited() -> str:
        with Session(engine) as session:
            return session.exec(select(Event.actor_value)).one()

    assert credited() == "ana@example.com"
    agent = rule_id(engine, "agent_author", "copilot-swe-agent*")
    with transaction(engine) as session:
        ai_rules.set_enabled(session, agent, False, actor=ADMIN, now=NOW)
    assert credited() == "copilot-swe-agent[bot]"
    assert marks(engine)["pr-agent"] == (False, None)


def test_the_column_lengths_are_the_models() -> None:
    columns = AiRule.__table__.c  # type: ignore[attr-defined]
    assert columns.pattern.type.length == ai_rules.PATTERN_LENGTH
    assert columns.tool.type.length == ai_rules.TOOL_LENGTH
    assert columns.updated_by.type.length == ai_rules.UPDATED_BY_LENGTH


def test_ai_roi_rules_lists_every_rule_with_what_it_marks(
    engine: Engine,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    seed(engine)
    with transaction(engine) as session:
        custom = ai_rules.add(
            session, kind="title", pattern="churn *", tool="chat gpt", actor=ADMIN, now=NOW
        )
        label = rule_id(engine, "label", "ai-generated")
        ai_rules.set_enabled(session, label, False, actor=ADMIN, now=NOW)
    monkeypatch.setenv("DATABASE_URL", database_url)
    assert main(["rules", "--json"]) == 0
    rows = {row["id"]: row for row in json.loads(capsys.readouterr().out)}
    assert len(rows) == len(DEFAULT_RULES) + 1
    assert rows[custom.rule.id] == {
        "id": custom.rule.id,
        "applies_to": "dashboards_and_documents",
        "kind": "title",
        "pattern": "churn *",
        "tool": "chat gpt",
        "builtin": False,
        "enabled": True,
        "marks": 1,
    }
    assert rows[label]["enabled"] is False and rows[label]["marks"] == 0
    trailer = rule_id(engine, "trailer", "noreply@anthropic.com")
    tag = rule_id(engine, "tag", "ai-assisted")
    # pr-both: the label rule came first; switched off, the trailer rule marks it. d-tagged: tag.
    assert (rows[trailer]["marks"], rows[tag]["marks"]) == (1, 1)
    assert sum(row["marks"] for row in rows.values()) == 3
    assert main(["rules"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == len(DEFAULT_RULES) + 2  # a heading, then one line a rule
    mine = next(line for line in lines if '"churn *"' in line)
    assert mine.split()[:3] == [str(custom.rule.id), "on", "custom"]
    assert mine.split()[-1] == "1"
