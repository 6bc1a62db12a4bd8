"""Migration 0009 on a populated database, SQLite and PostgreSQL: the artifacts, events and weekly
totals stored before it stay as they were, start unmarked, and the built-in rules are seeded."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url

from bot.domain.ai_rules import DEFAULT_RULES
from bot.store import ai_marks
from bot.store.db import create_engine, current_revision, head_revision, transaction, upgrade

WHEN = datetime(2026, 11, 17, 9, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """An engine on a database with no tables yet."""
    if request.param == "sqlite":
        engine = create_engine(f"sqlite:///{tmp_path / 'old.db'}")
        yield engine
        engine.dispose()
        return
    base = os.environ.get("TEST_DATABASE_URL")
    if not base:
        pytest.skip("PostgreSQL tests need TEST_DATABASE_URL")
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    name = f"airoi_mig_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    engine = create_engine(make_url(base).set(database=name).render_as_string(hide_password=False))
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def _populate_as_0008(engine: Engine) -> None:
    """What a version before AI-assisted marks stored, written with that version's columns."""
    metadata = sa.MetaData()
    metadata.reflect(engine, only=["people", "artifacts", "events", "weekly_totals"])
    people, artifacts = metadata.tables["people"], metadata.tables["artifacts"]
    events, totals = metadata.tables["events"], metadata.tables["weekly_totals"]
    with engine.begin() as connection:
        connection.execute(
            people.insert(),
            [
                {
                    "id": 1,
                    "email": "ana@example.com",
                    "is_slack_admin": False,
                    "opted_out": False,
                    "share_with_lead_default": False,
                    "created_at": WHEN,
                    "updated_at": WHEN,
                },
            ],
        )
        connection.execute(
            artifacts.insert(),
            [
                {
                    "id": n,
                    "source": "usage",
                    "external_id": f"d{n}",
                    "kind": "dashboard",
                    "title": "Q4 [AI] churn" if n == 1 else f"Dashboard {n}",
                    "created_at": WHEN,
                }
                for n in (1, 2, 3)
            ],
        )
        connection.execute(
            events.insert(),
            [
                {
                    "source": "usage",
                    "key": f"c{n}",
                    "type": "artifact.created",
                    "occurred_at": WHEN,
                    "received_at": WHEN,
                    "person_id": 1,
                    "actor_kind": "email",
                    "actor_value": "ana@example.com",
                    "tool": "chatgpt",
                    "input_tokens": 0,
                    "cached_tokens": 0,
                    "output_tokens": 0,
                    "cost_nanos": 0,
                    "requests": 0,
                    "artifact_id": n,
                }
                for n in (1, 2, 3)
            ],
        )
        connection.execute(
            totals.insert(),
            [
                {
                    "person_id": 1,
                    "week": "2026-W20",
                    "week_start": WHEN,
                    "input_tokens": 10,
                    "cached_tokens": 0,
                    "output_tokens": 5,
                    "cost_nanos": 7,
                    "requests": 1,
                    "artifacts_created": 4,
                    "artifacts_viewed_by_others": 2,
                    "artifacts_used": 1,
                    "updated_at": WHEN,
                },
            ],
        )


def test_the_upgrade_keeps_existing_data_unmarked_and_seeds_the_rules(
    fresh_engine: Engine,
) -> None:
    upgrade(fresh_engine, "0008")
    _populate_as_0008(fresh_engine)
    upgrade(fresh_engine)
    assert current_revision(fresh_engine) == head_revision()
    with fresh_engine.connect() as connection:
        stored = connection.execute(
            sa.text(
                "SELECT external_id, title, ai_assisted, ai_tool, ai_marked_by, traits "
                "FROM artifacts ORDER BY id"
            )
        ).all()
        assert [tuple(row) for row in stored] == [
            ("d1", "Q4 [AI] churn", False, None, None, None),
            ("d2", "Dashboard 2", False, None, None, None),
            ("d3", "Dashboard 3", False, None, None, None),
        ]
        assert connection.execute(sa.text("SELECT count(*) FROM events")).scalar_one() == 3
        total = connection.execute(
            sa.text(
                "SELECT artifacts_created, ai_artifacts_created, ai_artifacts_viewed_by_others,"
                " ai_artifacts_used FROM weekly_totals"
            )
        ).one()
        assert tuple(total) == (4, 0, 0, 0)
    with transaction(fresh_engine) as session:
        rules = ai_marks.rules_in_force(session)
        assert [(r.kind, r.pattern, r.tool, r.builtin) for r in rules] == [
            (r.kind, r.pattern, r.tool, True) for r in DEFAULT_RULES
        ]
        assert not ai_marks.any_marked(session)  # nothing claims what no source said
        assert ai_marks.reapply(session) == 0  # and no built-in rule reads a title
        session.execute(
            sa.text(
                "INSERT INTO ai_rules (kind, pattern, tool, enabled, builtin, created_at, updated_at)"
                " VALUES ('title', '*[ai]*', 'chatgpt', :yes, :no, :at, :at)"
            ),
            {"yes": True, "no": False, "at": WHEN},
        )
        assert ai_marks.reapply(session) == 1  # an admin's rule marks the old artifact
        assert ai_marks.any_marked(session)
