"""The demo: a synthetic organisation through the real pipeline, every digest printed."""

from __future__ import annotations

import io
import json
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlmodel import Session

from bot.demo.run import run_demo
from bot.demo.synthetic import generate
from bot.digest.weekly_facts import facts_for
from bot.domain.weeks import Week
from bot.store.db import create_engine
from bot.store.people import person_by_email

NOW = datetime(2026, 11, 25, 12, tzinfo=UTC)


def test_synthetic_org_is_big_enough_and_deterministic() -> None:
    org = generate(7, Week(2026, 47))
    assert len(org.people) >= 30
    assert len({p.team for p in org.people}) >= 4
    assert len(org.weeks) == 5
    personas = Counter(p.persona for p in org.people)
    assert {"prolific", "focused", "light", "non_user"} <= set(personas)
    assert json.dumps(generate(7, Week(2026, 47)).events) == json.dumps(org.events)
    assert json.dumps(generate(8, Week(2026, 47)).events) != json.dumps(org.events)


def test_demo_prints_every_persons_digest_with_their_numbers(tmp_path: Path) -> None:
    out = io.StringIO()
    database = tmp_path / "demo.db"
    assert run_demo(seed=7, now=NOW, tz=ZoneInfo("UTC"), out=out, database=database) == 0
    printed = out.getvalue()
    org = generate(7, Week(2026, 47))
    engine = create_engine(f"sqlite:///{database}")
    try:
        with Session(engine) as session:
            for person in org.people:
                facts = facts_for(
                    session, person_by_email(session, person.email), Week(2026, 47), ZoneInfo("UTC")
                )
                if person.persona == "non_user":
                    assert (
                        f"no DM for {person.name} <{person.email}>: no AI activity this week"
                        in printed
                    )
                    continue
                section = printed.split(f"DM to {person.name} <{person.email}>", 1)[1].split(
                    "DM to ", 1
                )[0]
                expected = (
                    f"Artifacts: {facts.artifacts_created} created, {facts.artifacts_viewed_by_others} "
                    f"opened by others"
                )
                assert expected in section
    finally:
        engine.dispose()
    assert "digests delivered" in printed and "0 failed" in printed
    assert "LiteLLM gateway records" in printed and "0 rejected" in printed
    teams = printed.split("Team reports", 1)[1].split("Next: connect Slack", 1)[0]
    assert teams.count("Team report: ") == 4
    assert not any(p.email in teams or p.name in teams for p in org.people)  # aggregates only
    assert "manifest.yml" in printed  # how to connect Slack
    again = io.StringIO()
    run_demo(seed=7, now=NOW, tz=ZoneInfo("UTC"), out=again, database=database)
    assert again.getvalue() == printed
