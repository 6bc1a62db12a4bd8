"""facts_for_many (grouped queries, what production uses) gives exactly the facts of the plain
one-query-per-number reference in fakes/reference_facts.py, on both databases:
for a hand-made week and a seeded random organisation (unmapped viewers, self-views, org-level
usage, several tools and models, baseline weeks, last week's warnings), in two time zones."""

from __future__ import annotations

import gc
import io
import json
import random
import sys
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.context import AppContext
from bot.digest import service, weekly_facts
from bot.digest.deliverers import ConsoleDeliverer
from bot.digest.service import digest_now
from bot.digest.weekly_facts import facts_for_many, facts_in_batches
from bot.domain.facts import Facts
from bot.domain.weeks import Week, parse_week
from bot.ingest.pipeline import ingest_body
from bot.slack.digest_delivery import render_digest, run_digest
from bot.store import batch_aggregates
from bot.store.db import transaction
from bot.store.models import Delivery, WeeklyTotal
from bot.store.people import all_people, people_by_id
from bot.store.workspace import THRESHOLDS, set_setting
from fakes.reference_facts import reference_facts
from tests.conftest import FROZEN_NOW, make_settings
from tests.helpers import artifact_event, dumps, usage_event
from tests.test_facts import week_batch

KINDS = ["dashboard", "report", "doc", "deck", "query", "pull_request", "Spreadsheet"]
TOOLS = [("chatgpt", "gpt-4.1"), ("chatgpt", "gpt-4.1-mini"), ("claude", "claude-sonnet-4")]
EMAILS = [f"person{n}@example.com" for n in range(14)]
W47 = parse_week("2026-W47")


def random_org(seed: int = 47) -> list[dict[str, Any]]:
    """Six weeks of varied events for 14 people, some of them only ever mentioned by others."""
    rng = random.Random(seed)
    start = datetime(2026, 10, 12, tzinfo=UTC)  # Monday of 2026-W42
    events: list[dict[str, Any]] = []
    artifacts: list[tuple[str, str]] = []  # (external id, creator email)

    def when(day: int) -> str:
        moment = start + timedelta(days=day, minutes=rng.randrange(24 * 60))
        return moment.isoformat().replace("+00:00", "Z")

    for n in range(420):
        day = rng.randrange(42)
        actor = rng.choice(EMAILS[:12])  # the last two never act, so they have no events at all
        roll = rng.random()
        if roll < 0.45:
            tool, model = rng.choice(TOOLS)
            events.append(
                usage_event(
                    f"r-u{n}",
                    actor,
                    when(day),
                    input_tokens=rng.randrange(0, 50_000),
                    cached_tokens=rng.randrange(0, 100),
                    output_tokens=rng.randrange(0, 5_000),
                    cost_usd=f"{rng.randrange(0, 900)}.{rng.randrange(0, 10_000):04d}",
                    tool=tool,
                    model=model,
                    requests=rng.randrange(1, 5),
                )
            )
        elif roll < 0.65 or not artifacts:
            external = f"art-{n}"
            artifacts.append((external, actor))
            made = artifact_event(
                f"r-c{n}", "artifact.created", actor, when(day), external, rng.choice(KINDS)
            )
            if n % 3 == 0:  # AI-assisted by its source's word; one in three by a tag rule
                made["tool"] = "chatgpt"
            elif n % 3 == 1:
                made["artifact"]["tags"] = ["ai-generated"]  # type: ignore[index]
            events.append(made)
        elif roll < 0.9:
            external, creator = rng.choice(artifacts)
            viewer = creator if rng.random() < 0.2 else rng.choice(EMAILS[:12])
            event = artifact_event(f"r-v{n}", "artifact.viewed", viewer, when(day), external)
            if rng.random() < 0.15:  # someone the directory does not know
                event["actor"] = {"external_id": f"ext-{rng.randrange(3)}", "source": "datadog"}
            events.append(event)
        else:
            external, creator = rng.choice(artifacts)
            events.append(artifact_event(f"r-x{n}", "artifact.used", creator, when(day), external))
    # Org-level usage with an actor nobody maps, in the reported week.
    unmapped = usage_event("r-org", EMAILS[0], "2026-11-18T10:00:00Z", input_tokens=77)
    unmapped["actor"] = {"external_id": "svc-1", "source": "openai"}
    events.append(unmapped)
    return events


@pytest.fixture
def org(engine: Engine) -> Engine:
    for batch in (week_batch(), random_org()):
        outcome = ingest_body(engine, "usage", dumps({"events": batch}), "application/json")
        assert outcome.rejected == []
    with transaction(engine) as session:
        set_setting(
            session,
            THRESHOLDS,
            {"unused_min_created": 1, "unused_max_viewed_share": 0.5, "spike_min_tokens": 1000},
            actor="test",
            now=FROZEN_NOW,
        )
    return engine


def one_by_one(engine: Engine, week: Week, tz: ZoneInfo) -> dict[int, Facts]:
    with Session(engine) as session:
        return {p.id: reference_facts(session, p, week, tz) for p in all_people(session) if p.id}


def batched(
    engine: Engine, week: Week, tz: ZoneInfo, batch_size: int, *, everyone: bool = False
) -> dict[int, Facts]:
    with Session(engine) as session:
        return facts_for_many(
            session, all_people(session), week, tz, batch_size=batch_size, everyone=everyone
        )


def both_ways(engine: Engine, week: Week, tz: ZoneInfo, batch_size: int) -> list[dict[int, Facts]]:
    """The facts queried by person and read from everyone's rows."""
    return [batched(engine, week, tz, batch_size, everyone=everyone) for everyone in (False, True)]


@pytest.mark.parametrize("zone", ["UTC", "Europe/Berlin"])
@pytest.mark.parametrize("week", ["2026-W43", "2026-W45", "2026-W47", "2026-W48"])
def test_the_same_facts_as_one_person_at_a_time(org: Engine, zone: str, week: str) -> None:
    tz = ZoneInfo(zone)
    expected = one_by_one(org, parse_week(week), tz)
    assert len(expected) >= 14
    assert any(f.is_empty for f in expected.values())
    if week != "2026-W48":  # W48 is after the data: everyone's facts are (nearly) empty
        assert any(f.nudges for f in expected.values())
        assert any(f.artifacts_viewed_by_others for f in expected.values())
        assert any(f.unopened_recent for f in expected.values())
        assert any(f.viewers for f in expected.values())
        assert any(0 < f.ai_created < f.artifacts_created for f in expected.values())
        assert any(f.ai_viewed_by_others for f in expected.values())
    assert all(f.ai_marks_in_org for f in expected.values())
    for batch_size in (4, 500):
        assert both_ways(org, parse_week(week), tz, batch_size) == [expected, expected]


def test_the_same_recovery_notes_after_last_weeks_warnings(org: Engine) -> None:
    """Last week's warnings (read from the deliveries) give the same recovery notes."""
    tz = ZoneInfo("UTC")
    with transaction(org) as session:
        people = all_people(session)
        for person in people:
            assert person.id is not None
            nudges = [
                {"rule": "spend_spike", "level": "warning"},
                {"rule": "unused_artifacts", "level": "warning"},
                {"rule": "praise", "level": "info"},
            ]
            session.add(
                Delivery(
                    person_id=person.id,
                    week="2026-W46",
                    status="sent",
                    facts_json=json.dumps({"nudges": nudges}),
                )
            )
    expected = one_by_one(org, W47, tz)
    assert any(n.get("recovered") for f in expected.values() for n in f.nudges)
    assert both_ways(org, W47, tz, 3) == [expected, expected]


def test_the_same_baseline_when_old_weeks_were_purged_into_weekly_totals(org: Engine) -> None:
    """Weekly totals left by the retention purge count in the baseline, batched or not."""
    with transaction(org) as session:
        for n, person in enumerate(all_people(session)[:9]):
            assert person.id is not None
            for week in ("2026-W44", "2026-W45", "2026-W38"):  # W38: outside every baseline
                session.add(
                    WeeklyTotal(
                        person_id=person.id,
                        week=week,
                        week_start=parse_week(week).bounds(ZoneInfo("UTC"))[0],
                        input_tokens=1_000 * (n + 1),
                        output_tokens=7 * n,
                    )
                )
    for zone in ("UTC", "Europe/Berlin"):
        tz = ZoneInfo(zone)
        expected = one_by_one(org, W47, tz)
        assert sum(sum(f.baseline_tokens) for f in expected.values()) > 45_000
        assert both_ways(org, W47, tz, 4) == [expected, expected]


def test_nobody_and_people_without_events(engine: Engine) -> None:
    with Session(engine) as session:
        assert facts_for_many(session, [], W47, ZoneInfo("UTC")) == {}
        assert batch_aggregates.usage(session, [], *W47.bounds(ZoneInfo("UTC"))) == {}


def test_run_digest_uses_the_facts_it_is_given(org: Engine) -> None:
    """Precomputed facts are what the digest is built from; anyone missing is computed."""
    tz = ZoneInfo("UTC")
    expected = one_by_one(org, W47, tz)
    with Session(org) as session:
        people = all_people(session)
        given = facts_for_many(session, people[1:], W47, tz)
    assert people[1].id is not None
    marked = replace(given[people[1].id], viewers=4242)
    given[people[1].id] = marked
    outcomes = run_digest(
        org,
        people,
        week=W47,
        tz=tz,
        deliverer=ConsoleDeliverer(io.StringIO()),
        now=FROZEN_NOW,
        dry_run=True,
        facts=given,
    )
    assert outcomes[1].facts is marked
    assert [o.facts for o in outcomes] == [
        marked if p.id == people[1].id else expected[p.id] for p in people if p.id
    ]


def test_people_by_id_in_chunks_give_the_same_facts_as_a_list(org: Engine) -> None:
    """Everyone's rows read beside people streamed a chunk at a time in id order (the weekly
    run's way) give each person the reference facts; people out of id order are refused."""
    tz = ZoneInfo("Europe/Berlin")
    expected = one_by_one(org, W47, tz)
    with Session(org) as people_session, Session(org) as session:
        people = (p for chunk in people_by_id(people_session, batch_size=3) for p in chunk)
        chunks = list(facts_in_batches(session, people, W47, tz, batch_size=4, everyone=True))
    assert [len(chunk) for chunk in chunks[:-1]] == [4] * (len(chunks) - 1)
    got = [(person.id, facts) for chunk in chunks for person, facts in chunk]
    assert [pid for pid, _ in got] == sorted(expected)
    assert dict(got) == expected
    with Session(org) as session:
        backwards = sorted(all_people(session), key=lambda p: -(p.id or 0))
        with pytest.raises(ValueError, match="person-id order"):
            list(facts_in_batches(session, iter(backwards), W47, tz, everyone=True))


def test_a_run_over_everyone_leaves_the_process_as_it_found_it(org: Engine) -> None:
    """While everyone's rows stream, the garbage collector runs once per ten chunks and the lock
    changes hands quickly; afterwards (finished, or stopped early) both are as they were, and
    objects someone else froze before the run are still frozen."""
    tz = ZoneInfo("UTC")
    interval = sys.getswitchinterval()
    during: list[tuple[bool, float]] = []
    gc.freeze()  # as a command that froze what it loaded at start (``ai-roi ingest``)
    try:
        with Session(org) as session:
            people = all_people(session)
            for _chunk in facts_in_batches(session, people, W47, tz, batch_size=2, everyone=True):
                during.append((gc.isenabled(), sys.getswitchinterval()))
            assert during and all(
                not enabled and switch == batch_aggregates.READER_SWITCH_INTERVAL
                for enabled, switch in during
            )
            assert gc.isenabled() and sys.getswitchinterval() == interval
            assert gc.get_freeze_count() > 0  # not unfrozen by the run
            gc.unfreeze()
            stopped = facts_in_batches(session, people, W47, tz, batch_size=2, everyone=True)
            next(stopped)
            assert gc.get_freeze_count() > 0  # nothing was frozen: the run froze what it found
            stopped.close()
            assert gc.isenabled() and sys.getswitchinterval() == interval
            assert gc.get_freeze_count() == 0  # and unfroze it
    finally:
        gc.unfreeze()


def test_digest_for_everyone_reads_everyone_rows_with_the_same_digests(
    org: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``ai-roi digest`` for a whole organisation (chunks of people, everyone's rows) previews
    the same digests, in the same order, as when it queries person by person."""
    context = AppContext(
        settings=make_settings(str(org.url.render_as_string(hide_password=False))),
        engine=org,
        clock=lambda: FROZEN_NOW,
    )

    def preview() -> list[tuple[str, str, str | None]]:
        run = digest_now(
            context,
            week=W47,
            user=None,
            dry_run=True,
            deliverer=ConsoleDeliverer(io.StringIO()),
            render=render_digest,
        )
        return [(o.email, o.status, o.text) for o in run.outcomes]

    by_person = preview()
    assert any(status == "preview" for _, status, _ in by_person)
    monkeypatch.setattr(service, "EVERYONE_MIN_PEOPLE", 1)
    monkeypatch.setattr(weekly_facts, "EVERYONE_BATCH_SIZE", 4)
    seen: list[bool] = []
    reading = weekly_facts.facts_in_batches

    def spy(*args: Any, **kwargs: Any) -> Any:
        seen.append(kwargs["everyone"])
        return reading(*args, **kwargs)

    monkeypatch.setattr(service, "facts_in_batches", spy)
    assert preview() == by_person
    assert seen == [True]
