"""Directory CSV import: an upsert of people, teams, leads and identities, with late attribution."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.domain.directory import parse_directory
from bot.ingest.pipeline import ingest_body
from bot.store.db import transaction
from bot.store.directory import apply_directory
from bot.store.identities import unattributed_identities
from bot.store.models import Event, Identity, Membership, Person, Team
from tests.helpers import dumps

CSV = """email,name,team,lead_of,openai_user_id,github_login,slack_user_id,favourite_colour
Ana@Example.com,Ana Lopez,Data;Platform,Data,user-abc,AnaL,U0ANA,blue
ben@example.com,Ben Okafor,Data,,,,,
not-an-email,X,,,,,,
ben@example.com,Duplicate,,,,,,
"""


def test_parse_reports_bad_rows_and_keeps_the_rest() -> None:
    parsed = parse_directory(CSV)
    assert [r.email for r in parsed.rows] == ["ana@example.com", "ben@example.com"]
    ana = parsed.rows[0]
    assert ana.teams == ("Data", "Platform") and ana.lead_of == ("Data",)
    assert ana.identities == {"openai": "user-abc", "github": "anal", "slack": "U0ANA"}
    assert [(p.line, p.error) for p in parsed.problems] == [
        (4, "'not-an-email' is not an email address"),
        (5, "ben@example.com appears more than once; the first row was used"),
    ]
    assert parsed.ignored_columns == ["favourite_colour"]
    with pytest.raises(ValueError, match="email"):
        parse_directory("name,team\nx,y\n")


def test_import_is_an_upsert_that_never_deletes(engine: Engine) -> None:
    with transaction(engine) as session:
        first = apply_directory(session, parse_directory(CSV).rows)
    assert (first.people_created, first.teams_created, first.identities_added) == (2, 2, 3)
    with transaction(engine) as session:
        again = apply_directory(
            session, parse_directory("email,name,team\nana@example.com,,Sales\n").rows
        )
    assert (again.people_created, again.people_updated, again.teams_created) == (0, 0, 1)
    with Session(engine) as session:
        ana = session.exec(select(Person).where(Person.email == "ana@example.com")).one()
        assert ana.name == "Ana Lopez" and ana.slack_user_id == "U0ANA"
        teams = {t.id: t.name for t in session.exec(select(Team))}
        memberships = session.exec(select(Membership).where(Membership.person_id == ana.id)).all()
        assert sorted((teams[m.team_id], m.is_member, m.is_lead) for m in memberships) == [
            ("Data", True, True),
            ("Platform", True, False),
            ("Sales", True, False),
        ]
        assert len(session.exec(select(Identity)).all()) == 2


def test_unknown_identities_are_kept_and_attributed_once_mapped(engine: Engine) -> None:
    events = [
        {
            "id": "o1",
            "type": "ai.usage",
            "occurred_at": "2026-11-18T09:00:00Z",
            "actor": {"external_id": "user-abc", "source": "openai"},
            "usage": {"input_tokens": 5},
        },
        {
            "id": "s1",
            "type": "ai.usage",
            "occurred_at": "2026-11-18T09:00:00Z",
            "actor": {"slack_user_id": "U0ANA"},
            "usage": {"input_tokens": 7},
        },
    ]
    assert ingest_body(engine, "usage", dumps(events), "application/json").accepted == 2
    with Session(engine) as session:
        assert unattributed_identities(session) == [
            ("openai", "user-abc", 1),
            ("slack", "U0ANA", 1),
        ]
    with transaction(engine) as session:
        result = apply_directory(session, parse_directory(CSV).rows)
    assert result.events_attributed == 2
    with Session(engine) as session:
        ana = session.exec(select(Person).where(Person.email == "ana@example.com")).one()
        assert {e.person_id for e in session.exec(select(Event))} == {ana.id}
        assert unattributed_identities(session) == []


def test_an_identity_owned_by_someone_else_is_reported(engine: Engine) -> None:
    with transaction(engine) as session:
        apply_directory(session, parse_directory(CSV).rows)
    with transaction(engine) as session:
        result = apply_directory(
            session, parse_directory("email,openai_user_id\nben@example.com,user-abc\n").rows
        )
    assert result.problems and "already belongs to ana@example.com" in result.problems[0].error
