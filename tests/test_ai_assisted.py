"""AI-assisted artifacts end to end, on both databases: marked by their source (``tool``,
``ai_assisted``), by a rule (tags, titles, agent authors) or not at all; agent-written pull
requests credited to whoever asked; the facts by hand count; the digest, the App Home and the
team report leading with the AI-assisted numbers, or saying plainly that nothing marks them."""

from __future__ import annotations

import io
import json
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.digest.deliverers import ConsoleDeliverer
from bot.digest.weekly_facts import facts_for
from bot.domain.ai_rules import Rule, RuleKind
from bot.domain.events import Actor, ArtifactRef, ArtifactTraits, EventType, NormalizedEvent
from bot.domain.facts import Facts
from bot.domain.weeks import Week
from bot.ingest.pipeline import ingest_body
from bot.slack.blocks.digest import digest_message
from bot.slack.blocks.home import HomeState, home_view
from bot.slack.digest_delivery import run_digest
from bot.store import ai_marks
from bot.store.db import transaction
from bot.store.event_rows import prepare_batch, time_binder
from bot.store.events import write_batches
from bot.store.identities import attribute_events
from bot.store.models import AiRule, Artifact, Event, Identity, Person
from bot.store.people import person_by_email
from fakes.blockkit import assert_valid_message
from fakes.reference_facts import reference_facts
from tests.conftest import FROZEN_NOW
from tests.helpers import dumps

W47 = Week(2026, 47)  # Mon Nov 16 – Sun Nov 22 2026
ANA, BEN, CAL = "ana@example.com", "ben@example.com", "cal@example.com"


def created(
    key: str,
    who: str,
    artifact_id: str,
    kind: str,
    *,
    day: int = 17,
    tool: str | None = None,
    ai_assisted: bool | None = None,
    tags: list[str] | None = None,
    title: str | None = None,
) -> dict[str, Any]:
    artifact: dict[str, Any] = {"id": artifact_id, "kind": kind, "title": title or artifact_id}
    if tags is not None:
        artifact["tags"] = tags
    event: dict[str, Any] = {
        "id": key,
        "type": "artifact.created",
        "occurred_at": f"2026-11-{day}T09:00:00Z",
        "actor": {"email": who},
        "artifact": artifact,
    }
    if tool is not None:
        event["tool"] = tool
    if ai_assisted is not None:
        event["ai_assisted"] = ai_assisted
    return event


def happened(key: str, type_: str, who: str, artifact_id: str, day: int = 18) -> dict[str, Any]:
    return {
        "id": key,
        "type": type_,
        "occurred_at": f"2026-11-{day}T11:00:00Z",
        "actor": {"email": who},
        "artifact": {"id": artifact_id},
    }


def anas_week() -> list[dict[str, Any]]:
    """By hand: AI-assisted pull requests 6 opened, 5 reviewed by colleagues, 4 merged; AI-assisted
    dashboards 12 created, 2 opened by anyone else. In all: 7 pull requests (6 reviewed, 5 merged)
    and 15 dashboards (3 opened by someone else)."""
    events = []
    for n in range(1, 7):  # the source marks them: a tool made them
        events.append(created(f"c-pr{n}", ANA, f"pr{n}", "pull_request", tool="claude-code"))
    events.append(created("c-pr7", ANA, "pr7", "pull_request"))  # nothing marks it
    for n in range(1, 6):
        events.append(happened(f"r-pr{n}", "artifact.viewed", BEN, f"pr{n}"))
    events.append(happened("r-pr6", "artifact.viewed", ANA, "pr6"))  # her own look: not a review
    events.append(happened("r-pr7", "artifact.viewed", CAL, "pr7"))
    for n in range(1, 5):
        events.append(happened(f"m-pr{n}", "artifact.used", ANA, f"pr{n}", day=19))
    events.append(happened("m-pr7", "artifact.used", ANA, "pr7", day=19))
    for n in range(1, 13):  # a built-in tag rule marks them
        events.append(created(f"c-d{n}", ANA, f"d{n}", "dashboard", tags=["AI-Generated", "churn"]))
    events.append(created("c-d13", ANA, "d13", "dashboard", tags=["finance"]))  # no rule matches
    events.append(created("c-d14", ANA, "d14", "dashboard", title="Q4 [AI] forecast"))
    events.append(  # the source says it is not AI-assisted, whatever the tool or tags
        created(
            "c-d15",
            ANA,
            "d15",
            "dashboard",
            tool="chatgpt",
            ai_assisted=False,
            tags=["ai-assisted"],
        )
    )
    events += [
        happened("v-d1", "artifact.viewed", BEN, "d1"),
        happened("v-d1b", "artifact.viewed", BEN, "d1", day=19),  # the same viewer again
        happened("v-d2", "artifact.viewed", CAL, "d2"),
        happened("v-d3", "artifact.viewed", ANA, "d3"),  # a self-view never counts
        happened("v-d13", "artifact.viewed", BEN, "d13"),
        happened("v-d20", "artifact.viewed", ANA, "d20"),  # someone else's dashboard
        created("c-d20", CAL, "d20", "dashboard", tool="chatgpt"),
    ]
    return events


def load(engine: Engine, events: list[dict[str, Any]]) -> None:
    outcome = ingest_body(engine, "usage", dumps(events), "application/json", now=FROZEN_NOW)
    assert outcome.rejected == [] and outcome.accepted == len(events)


def facts_json(engine: Engine, email: str) -> dict[str, Any]:
    with Session(engine) as session:
        person = person_by_email(session, email)
        facts = facts_for(session, person, W47, UTC)
        assert facts == reference_facts(session, person, W47, UTC)  # the one-query reference
        return facts.to_json()


def marks(engine: Engine) -> dict[str, tuple[bool, str | None, str | None]]:
    with Session(engine) as session:
        rows = session.exec(
            select(
                Artifact.external_id, Artifact.ai_assisted, Artifact.ai_tool, Artifact.ai_marked_by
            )
        ).all()
    return {e: (bool(a), t, m) for e, a, t, m in rows}


def test_marks_come_from_the_source_else_from_the_rules(engine: Engine) -> None:
    load(engine, anas_week())
    with Session(engine) as session:
        tag_rule = session.exec(
            select(AiRule.id).where(AiRule.kind == "tag", AiRule.pattern == "ai-generated")
        ).one()
    found = marks(engine)
    assert found["pr1"] == (True, "claude-code", "source")
    assert found["pr7"] == (False, None, None)
    assert found["d1"] == (True, None, f"rule:{tag_rule}")
    assert found["d13"] == found["d14"] == (False, None, None)
    assert found["d15"] == (False, None, "source")  # no rule may change what the source said
    with Session(engine) as session:
        traits = session.exec(select(Artifact.traits).where(Artifact.external_id == "d1")).one()
    assert traits is not None and json.loads(traits)["labels"] == ["AI-Generated", "churn"]


def test_facts_match_a_hand_count(engine: Engine) -> None:
    load(engine, anas_week())
    artifacts = facts_json(engine, ANA)["artifacts"]
    assert artifacts["ai"] == {
        "created": 18,
        "viewed_by_others": 7,
        "used": 4,
        "by_kind": {
            "dashboard": {"created": 12, "viewed_by_others": 2, "used": 0},
            "pull_request": {"created": 6, "viewed_by_others": 5, "used": 4},
        },
        "marks_in_org": True,
    }
    assert artifacts["by_kind"] == {
        "dashboard": {"created": 15, "viewed_by_others": 3, "used": 0},
        "pull_request": {"created": 7, "viewed_by_others": 6, "used": 5},
    }
    cal = facts_json(engine, CAL)["artifacts"]  # Ana's view of Cal's dashboard counts for Cal
    assert cal["ai"]["created"] == 1 and cal["ai"]["viewed_by_others"] == 1


def test_the_digest_leads_with_the_ai_assisted_numbers(engine: Engine) -> None:
    load(engine, anas_week())
    out = io.StringIO()
    with Session(engine) as session:
        ana = person_by_email(session, ANA)
    run_digest(engine, [ana], week=W47, tz=UTC, deliverer=ConsoleDeliverer(out), now=FROZEN_NOW)
    text = out.getvalue()
    dashboards = "12 AI-assisted dashboards created, 2 opened by anyone else"
    pull_requests = "6 AI-assisted pull requests opened, 5 reviewed by colleagues, 4 merged"
    assert dashboards in text and pull_requests in text
    assert text.index(dashboards) < text.index("Artifacts: 22 created")  # it leads
    assert "No source marks AI-assisted artifacts" not in text
    with Session(engine) as session:
        facts = facts_for(session, ana, W47, UTC)
    blocks, fallback = digest_message(facts, "A reflection.", week_label="Nov 16–22")
    assert_valid_message(blocks, fallback)
    assert [b.get("block_id") for b in blocks][:3] == [
        "digest_header",
        "digest_ai",
        "digest_reflection",
    ]
    assert pull_requests in blocks[1]["text"]["text"] and dashboards in blocks[1]["text"]["text"]


def test_without_any_mark_the_digest_says_so_plainly(engine: Engine) -> None:
    load(
        engine,
        [
            created("c1", ANA, "d1", "dashboard"),
            created("c2", ANA, "d2", "dashboard", tags=["finance"]),
            happened("v1", "artifact.viewed", BEN, "d1"),
        ],
    )
    data = facts_json(engine, ANA)
    assert data["artifacts"]["ai"]["marks_in_org"] is False
    assert data["artifacts"]["ai"]["created"] == 0 and data["artifacts"]["created"] == 2
    with Session(engine) as session:
        facts = facts_for(session, person_by_email(session, ANA), W47, UTC)
    blocks, fallback = digest_message(facts, "A reflection.", week_label="Nov 16–22")
    assert_valid_message(blocks, fallback)
    note = "No source marks AI-assisted artifacts yet, so these figures count every artifact."
    assert note in fallback and note in json.dumps(blocks)
    assert "digest_ai" not in json.dumps(blocks) and "AI-assisted dashboards" not in fallback


def test_the_app_home_leads_with_the_ai_assisted_numbers_or_says_none_are_marked(
    engine: Engine,
) -> None:
    load(engine, anas_week())
    with Session(engine) as session:
        facts = facts_for(session, person_by_email(session, ANA), W47, UTC)
    view = home_view(_home_state(facts))
    texts = [json.dumps(block) for block in view["blocks"]]
    lead = next(i for i, t in enumerate(texts) if "AI-assisted" in t)
    totals = next(i for i, t in enumerate(texts) if "22 created" in t)
    assert lead < totals
    assert "6 AI-assisted pull requests opened, 5 reviewed by colleagues, 4 merged" in texts[lead]
    unmarked = home_view(_home_state(replace(facts, ai_marks_in_org=False)))
    assert "No source marks AI-assisted artifacts yet" in json.dumps(unmarked)


def _home_state(facts: Facts) -> HomeState:
    return HomeState(
        name="Ana",
        week_label="Nov 16–22",
        facts_so_far=facts,
        last_digest=None,
        last_digest_week=None,
        opted_out=False,
        snoozed_until=None,
        min_group_size=5,
        retention_days=180,
        is_admin=False,
    )


def _agent_pull_request(key: str, requester: str, author: str = "Copilot") -> NormalizedEvent:
    return NormalizedEvent(
        key=key,
        type=EventType.ARTIFACT_CREATED,
        occurred_at=datetime(2026, 11, 17, 9, tzinfo=UTC),
        actor=Actor("github", author),
        artifact=ArtifactRef(
            key,
            kind="pull_request",
            title="Fix the flaky test",
            traits=ArtifactTraits(author=author, author_is_bot=True, requested_by=requester),
        ),
    )


def _write(engine: Engine, source: str, events: list[NormalizedEvent]) -> None:
    batch = prepare_batch(source, events, FROZEN_NOW, time_binder(engine.dialect.name))
    with transaction(engine) as session:
        write_batches(session, [batch])


def test_agent_pull_requests_count_for_whoever_asked_and_their_own_look_is_no_review(
    engine: Engine,
) -> None:
    load(engine, [created("c-x", ANA, "x", "doc"), created("c-y", BEN, "y", "doc")])
    with transaction(engine) as session:
        ana = person_by_email(session, ANA)
        assert ana.id is not None
        session.add(Identity(kind="github", value="ana-gh", person_id=ana.id))
    _write(
        engine,
        "github",
        [
            _agent_pull_request("pr-a", "ana-gh"),
            _agent_pull_request("pr-b", "bob-gh"),  # bob is not in the directory yet
            NormalizedEvent(  # the requester reads it: a self-view
                key="view-a-ana",
                type=EventType.ARTIFACT_VIEWED,
                occurred_at=datetime(2026, 11, 18, 9, tzinfo=UTC),
                actor=Actor("github", "ana-gh"),
                artifact=ArtifactRef("pr-a"),
            ),
            NormalizedEvent(
                key="view-a-ben",
                type=EventType.ARTIFACT_VIEWED,
                occurred_at=datetime(2026, 11, 18, 10, tzinfo=UTC),
                actor=Actor("github", "ben-gh"),
                artifact=ArtifactRef("pr-a"),
            ),
        ],
    )
    ai = facts_json(engine, ANA)["artifacts"]["ai"]
    assert ai["by_kind"] == {"pull_request": {"created": 1, "viewed_by_others": 1, "used": 0}}
    with transaction(engine) as session:
        creator = session.exec(
            select(Event.actor_kind, Event.actor_value, Event.person_id).where(Event.key == "pr-b")
        ).one()
        assert creator == ("github", "bob-gh", None)  # unattributed, like any unmapped login
        bob = Person(email="bob@example.com")
        session.add(bob)
        session.flush()
        assert bob.id is not None
        assert attribute_events(session, "github", "bob-gh", bob.id) == 1
    bob_ai = facts_json(engine, "bob@example.com")["artifacts"]["ai"]
    assert bob_ai["created"] == 1 and bob_ai["viewed_by_others"] == 0


def test_a_rule_change_and_reapply_move_the_numbers(engine: Engine) -> None:
    load(engine, anas_week())
    with transaction(engine) as session:
        preview = ai_marks.preview(session, Rule(RuleKind.TITLE, "*[ai]*"))
        assert preview == ai_marks.RulePreview(matches=1, newly_marked=1)  # d14
        session.add(AiRule(kind="title", pattern="*[ai]*", tool="chatgpt"))
        session.execute(
            sa.update(AiRule)
            .where(col(AiRule.kind) == "tag", col(AiRule.pattern) == "ai-generated")
            .values(enabled=False)
        )
    with transaction(engine) as session:
        assert ai_marks.reapply(session) == 13  # d1–d12 unmarked, d14 marked
    ai = facts_json(engine, ANA)["artifacts"]["ai"]
    assert ai["by_kind"]["dashboard"] == {"created": 1, "viewed_by_others": 0, "used": 0}
    assert ai["by_kind"]["pull_request"]["created"] == 6  # the source's marks stay


def test_the_team_report_leads_with_the_ai_assisted_numbers(engine: Engine) -> None:
    from bot.domain.team_render import render_text, report_json
    from bot.slack.blocks.team_report import render_blocks
    from bot.teams.report import Viewer, team_report

    members = [f"m{n}@example.com" for n in range(5)]
    events = []
    for n, email in enumerate(members):
        events.append(created(f"c-ai{n}", email, f"ai{n}", "dashboard", tool="chatgpt"))
        events.append(created(f"c-plain{n}", email, f"plain{n}", "dashboard"))
        events.append(happened(f"v-ai{n}", "artifact.viewed", members[(n + 1) % 5], f"ai{n}"))
        events.append(happened(f"s-ai{n}", "artifact.viewed", email, f"ai{n}"))  # self-views
    load(engine, events)
    with transaction(engine) as session:
        report = team_report(
            session,
            viewer=Viewer.cli(),
            team_name=None,
            week=W47,
            weeks=1,
            tz=UTC,
            k=5,
            now=FROZEN_NOW,
        )
    data = report_json(report)
    assert data["ai_marks_in_org"] is True
    assert data["weeks"][0]["artifacts"]["ai"] == {
        "created": 5,
        "viewed_by_others": 5,
        "used": 0,
        "by_kind": {"dashboard": {"created": 5, "viewed_by_others": 5, "used": 0}},
    }
    text = render_text(report)
    assert "AI-assisted  5 AI-assisted dashboards created, 5 opened by anyone else" in text
    assert text.index("AI-assisted  5") < text.index("artifacts  10 created")
    blocks, fallback = render_blocks(report)
    assert_valid_message(blocks, fallback)
    assert "5 AI-assisted dashboards created, 5 opened by anyone else" in json.dumps(blocks)


def test_forget_clears_the_traits_of_what_the_person_created(engine: Engine) -> None:
    from bot.store.forget import forget_person

    load(
        engine,
        [
            created("c1", ANA, "d1", "dashboard", tags=["ai-generated"]),
            created("c2", BEN, "d2", "dashboard", tags=["ai-generated"]),
        ],
    )
    with transaction(engine) as session:
        forget_person(session, ANA, actor="cli", now=FROZEN_NOW)
    with Session(engine) as session:
        traits = dict(session.exec(select(Artifact.external_id, Artifact.traits)).all())
    assert traits["d1"] is None and traits["d2"] is not None
