"""The first digest: template reflection, Block Kit within Slack's limits, idempotent delivery."""

from __future__ import annotations

import io
import re
from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.digest.deliverers import ConsoleDeliverer, DeliveryError, Receipt, Recipient
from bot.domain.facts import KindCounts, ToolUsage, UsageTotals, build_facts
from bot.domain.reflection import template_reflection
from bot.domain.weeks import Week
from bot.ingest.pipeline import ingest_body
from bot.slack.blocks.digest import digest_message
from bot.slack.digest_delivery import run_digest
from bot.store.models import Delivery, Person
from fakes.blockkit import assert_valid_message
from tests.conftest import FROZEN_NOW
from tests.helpers import artifact_event, dumps, usage_event

UTC_ZONE = ZoneInfo("UTC")
W47 = Week(2026, 47)


def facts(
    created: int = 40,
    viewed: int = 2,
    viewers: int = 3,
    tokens: int = 1_900_000,
    tools: int = 2,
    **kw,
):  # type: ignore[no-untyped-def]
    return build_facts(
        user="ana@example.com",
        week="2026-W47",
        usage=UsageTotals(tokens - tokens // 5, tokens // 10, tokens // 5, 23_410_000_000, 120),
        by_tool=[ToolUsage(f"tool-{i}", tokens // max(tools, 1), 1_000_000) for i in range(tools)],
        by_kind=[KindCounts("dashboard", created, viewed, 0)] if created else [],
        viewers=viewers,
        baseline_tokens=kw.get("baseline", [1_000_000, 1_200_000, 0, 900_000]),
        nudges=kw.get("nudges"),
    )


def words(text: str) -> int:
    return len(text.split())


def test_template_for_the_prolific_builder() -> None:
    text = template_reflection(facts(), week_label="Nov 16–22")
    assert text.startswith("40 dashboards created, 2 viewed by others.")
    assert "1.9M tokens ($23.41)." in text
    assert text.endswith("Which of the 38 unopened dashboards would you not build again?")
    assert "paid off" not in text  # no praise for work nobody opened
    assert words(text) <= 60


def test_template_praises_work_that_was_read_and_asks_one_question() -> None:
    text = template_reflection(
        facts(created=2, viewed=2, viewers=14, tokens=200_000), week_label="Nov 16–22"
    )
    assert "opened by 14 colleagues; that is where your tokens paid off" in text
    assert text.count("?") == 1 and text.endswith("?")


def test_template_for_usage_without_artifacts_and_for_nothing_at_all() -> None:
    text = template_reflection(
        facts(created=0, viewed=0, viewers=0, tokens=45_000), week_label="Nov 16–22"
    )
    assert text.startswith("45K tokens ($23.41).")
    empty = build_facts(
        user="x@example.com",
        week="2026-W47",
        usage=UsageTotals(),
        by_tool=[],
        by_kind=[],
        viewers=0,
        baseline_tokens=[],
    )
    assert empty.is_empty
    assert "No AI use was recorded" in template_reflection(empty, week_label="Nov 16–22")


def test_blocks_are_valid_and_carry_privacy_note_buttons_and_fallback() -> None:
    f = facts(
        nudges=[
            {"rule": "unused_artifacts", "level": "warning", "message": "38 dashboards unopened"}
        ]
    )
    blocks, text = digest_message(
        f, template_reflection(f, week_label="Nov 16–22"), week_label="Nov 16–22"
    )
    assert_valid_message(blocks, text)
    assert blocks[0] == {
        "type": "header",
        "block_id": "digest_header",
        "text": {"type": "plain_text", "text": "Your AI week, Nov 16–22", "emoji": True},
    }
    assert any(
        "Only you can see this" in e["text"]
        for b in blocks
        if b["type"] == "context"
        for e in b["elements"]
    )
    actions = next(b for b in blocks if b["type"] == "actions")["elements"]
    assert [a["action_id"] for a in actions] == [
        "digest_useful",
        "digest_not_useful",
        "digest_snooze",
        "digest_share_with_lead",
        "digest_details",
    ]
    assert "confirm" in actions[3]
    assert text.startswith("Your AI week, Nov 16–22\n40 dashboards created")


def test_blocks_stay_within_limits_for_huge_and_hostile_facts() -> None:
    f = facts(
        created=5000,
        viewed=3,
        tools=400,
        nudges=[
            {"rule": f"r{i}", "level": "info", "message": "<!channel> " + "x" * 5000}
            for i in range(60)
        ],
    )
    long_reflection = "word " * 2000
    blocks, text = digest_message(f, long_reflection, week_label="Nov 16–22")
    assert_valid_message(blocks, text)
    assert "<!channel>" not in str(blocks)  # escaped: no mass mention from data


def load(engine: Engine) -> None:
    events = [
        usage_event(
            "u1", "ana@example.com", "2026-11-18T09:00:00Z", input_tokens=1000, output_tokens=100
        ),
        artifact_event(
            "a1", "artifact.created", "ana@example.com", "2026-11-18T09:00:00Z", "d1", "dashboard"
        ),
        artifact_event("v1", "artifact.viewed", "ben@example.com", "2026-11-18T10:00:00Z", "d1"),
        usage_event("u2", "ben@example.com", "2026-11-18T09:00:00Z"),
    ]
    ingest_body(engine, "usage", dumps(events), "application/json")
    ingest_body(
        engine,
        "usage",
        dumps(
            [
                {
                    "id": "c1",
                    "type": "ai.usage",
                    "occurred_at": "2026-11-01T09:00:00Z",
                    "actor": {"email": "cal@example.com"},
                    "usage": {},
                }
            ]
        ),
        "application/json",
    )


def people(engine: Engine) -> list[Person]:
    with Session(engine) as session:
        return list(session.exec(select(Person).order_by(Person.email)).all())


def test_run_is_idempotent_with_one_delivery_row_per_person_week(engine: Engine) -> None:
    load(engine)
    out = io.StringIO()
    first = run_digest(
        engine,
        people(engine),
        week=W47,
        tz=UTC_ZONE,
        deliverer=ConsoleDeliverer(out),
        now=FROZEN_NOW,
    )
    assert [(o.email, o.status) for o in first] == [
        ("ana@example.com", "sent"),
        ("ben@example.com", "sent"),
        ("cal@example.com", "skipped"),
    ]
    assert out.getvalue().count("DM to ") == 2
    assert "1 dashboard created, 1 viewed by others." in out.getvalue()
    second = run_digest(
        engine,
        people(engine),
        week=W47,
        tz=UTC_ZONE,
        deliverer=ConsoleDeliverer(out),
        now=FROZEN_NOW,
    )
    assert {o.status for o in second} == {"already"}
    assert out.getvalue().count("DM to ") == 2
    with Session(engine) as session:
        rows = session.exec(select(Delivery)).all()
    assert sorted((r.status, r.week) for r in rows) == [  # the console shows previews
        ("preview", "2026-W47"),
        ("preview", "2026-W47"),
        ("skipped", "2026-W47"),
    ]
    sent = [r for r in rows if r.status == "sent"]
    assert all(r.writer == "template" and r.text and r.facts_json for r in sent)


def test_each_person_gets_only_their_own_numbers(engine: Engine) -> None:
    load(engine)
    out = io.StringIO()
    run_digest(
        engine,
        people(engine),
        week=W47,
        tz=UTC_ZONE,
        deliverer=ConsoleDeliverer(out),
        now=FROZEN_NOW,
    )
    ana, ben = out.getvalue().split("DM to ")[1:3]
    assert "1.1K" in ana and "ben@" not in ana.split("\n", 1)[1]
    assert "110 tokens" in ben and "1.1K" not in ben


class Flaky:
    channel = "test"

    def __init__(self, permanent: bool) -> None:
        self.permanent = permanent
        self.calls = 0

    def send(self, recipient: Recipient, blocks: list, text: str) -> Receipt:  # type: ignore[type-arg]
        self.calls += 1
        if self.calls == 1:
            raise DeliveryError(
                "user_not_found" if self.permanent else "ratelimited", permanent=self.permanent
            )
        return Receipt("D1", "1.0")


def test_transient_failure_is_retried_on_the_next_run_permanent_is_not(engine: Engine) -> None:
    load(engine)
    ana = [p for p in people(engine) if p.email == "ana@example.com"]
    transient = Flaky(permanent=False)
    assert (
        run_digest(engine, ana, week=W47, tz=UTC_ZONE, deliverer=transient, now=FROZEN_NOW)[
            0
        ].status
        == "failed"
    )
    later = FROZEN_NOW + timedelta(hours=1)
    assert (
        run_digest(engine, ana, week=W47, tz=UTC_ZONE, deliverer=transient, now=later)[0].status
        == "sent"
    )
    permanent = Flaky(permanent=True)
    ben = [p for p in people(engine) if p.email == "ben@example.com"]
    assert (
        run_digest(engine, ben, week=W47, tz=UTC_ZONE, deliverer=permanent, now=FROZEN_NOW)[
            0
        ].status
        == "failed"
    )
    assert (
        run_digest(engine, ben, week=W47, tz=UTC_ZONE, deliverer=permanent, now=later)[0].status
        == "already"
    )
    assert permanent.calls == 1
    with Session(engine) as session:
        row = session.exec(select(Delivery).where(Delivery.status == "failed")).one()
    assert row.reason == "user_not_found"


def test_dry_run_records_nothing(engine: Engine) -> None:
    load(engine)
    out = io.StringIO()
    outcomes = run_digest(
        engine,
        people(engine),
        week=W47,
        tz=UTC_ZONE,
        deliverer=ConsoleDeliverer(out),
        now=FROZEN_NOW,
        dry_run=True,
    )
    assert [o.status for o in outcomes] == ["preview", "preview", "skipped"]
    assert out.getvalue() == ""
    assert outcomes[0].text and re.search(r"1 dashboard created", outcomes[0].text)
    with Session(engine) as session:
        assert session.exec(select(Delivery)).all() == []
