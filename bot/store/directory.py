"""Apply a parsed directory: upsert people, teams, memberships, leads and identities.

An import only adds and updates; it never deletes what other rows or Slack provided. Identities
that become known attribute the events stored under them so far.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, select

from bot.domain.directory import DirectoryProblem, DirectoryRow
from bot.store.identities import attribute_events
from bot.store.memberships import record_join
from bot.store.models import Identity, Membership, Person, Team, utcnow


@dataclass
class DirectoryResult:
    people_created: int = 0
    people_updated: int = 0
    teams_created: int = 0
    identities_added: int = 0
    events_attributed: int = 0
    problems: list[DirectoryProblem] | None = None


def get_or_create_team(session: Session, name: str, result: DirectoryResult | None = None) -> Team:
    team = session.exec(select(Team).where(Team.name == name)).first()
    if team is None:
        team = Team(name=name)
        session.add(team)
        session.flush()
        if result is not None:
            result.teams_created += 1
    return team


def apply_directory(
    session: Session, rows: list[DirectoryRow], *, now: datetime | None = None
) -> DirectoryResult:
    """Upsert every row; a new membership is recorded in the history as a join at ``now``."""
    now = now or utcnow()
    result = DirectoryResult(problems=[])
    for row in rows:
        person = session.exec(select(Person).where(Person.email == row.email)).first()
        if person is None:
            person = Person(email=row.email, name=row.name)
            session.add(person)
            session.flush()
            result.people_created += 1
        elif row.name and person.name != row.name:
            person.name = row.name
            result.people_updated += 1
        assert person.id is not None
        for team_name in row.teams:
            _set_membership(
                session,
                get_or_create_team(session, team_name, result),
                person.id,
                member=True,
                now=now,
            )
        for team_name in row.lead_of:
            _set_membership(
                session,
                get_or_create_team(session, team_name, result),
                person.id,
                lead=True,
                now=now,
            )
        for kind, value in row.identities.items():
            problem = _add_identity(session, person, kind, value, result)
            if problem:
                result.problems.append(DirectoryProblem(row.line, problem))  # type: ignore[union-attr]
    return result


def _set_membership(
    session: Session,
    team: Team,
    person_id: int,
    *,
    now: datetime,
    member: bool = False,
    lead: bool = False,
) -> None:
    assert team.id is not None
    membership = session.get(Membership, (team.id, person_id))
    if member and (membership is None or not membership.is_member):
        record_join(session, team_id=team.id, person_id=person_id, at=now)
    if membership is None:
        session.add(
            Membership(
                team_id=team.id, person_id=person_id, is_member=member, is_lead=lead, joined_at=now
            )
        )
        session.flush()
        return
    membership.is_member = membership.is_member or member
    membership.is_lead = membership.is_lead or lead


def _add_identity(
    session: Session, person: Person, kind: str, value: str, result: DirectoryResult
) -> str | None:
    assert person.id is not None
    if kind == "slack":
        owner = session.exec(select(Person).where(Person.slack_user_id == value)).first()
        if owner is not None and owner.id != person.id:
            return f"slack_user_id {value} already belongs to {owner.email}; kept there"
        if person.slack_user_id != value:
            person.slack_user_id = value
            session.flush()
            result.identities_added += 1
        result.events_attributed += attribute_events(session, "slack", value, person.id)
        return None
    existing = session.exec(
        select(Identity).where(Identity.kind == kind, Identity.value == value)
    ).first()
    if existing is not None and existing.person_id != person.id:
        owner = session.get(Person, existing.person_id)
        return f"{kind} id {value} already belongs to {owner.email if owner else 'someone else'}; kept there"
    if existing is None:
        session.add(Identity(kind=kind, value=value, person_id=person.id))
        session.flush()
        result.identities_added += 1
    result.events_attributed += attribute_events(session, kind, value, person.id)
    return None
