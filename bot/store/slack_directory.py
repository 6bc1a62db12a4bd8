"""People and user-group teams from Slack, applied to the directory.

Slack fills in what it knows — the Slack id, the time zone, whether someone is a workspace admin,
and a name where the directory has none — and never deletes: a deactivated member keeps their
person (their history is theirs until ``forget``) but loses the admin flag. A name set by the
directory CSV is kept. Events stored under a Slack id that becomes known are attributed.

A team chosen from a Slack user group (``Team.slack_usergroup_id``) follows the group: each sync
adds its new members and removes those who left. Leads stay leads (admins assign them), and no
other team's memberships are touched.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from bot.store import audit
from bot.store.identities import attribute_events
from bot.store.memberships import record_join, record_leave
from bot.store.models import Membership, Person, Team

SLACKBOT_ID = "USLACKBOT"


@dataclass(frozen=True)
class SlackMember:
    """What ai-roi keeps of one ``users.list`` member."""

    id: str
    email: str | None
    name: str | None
    tz: str | None
    is_admin: bool
    deleted: bool
    is_bot: bool

    @property
    def is_person(self) -> bool:
        """A human account: not a bot or app user, not Slackbot (whose ``is_bot`` is false)."""
        return not self.is_bot and self.id != SLACKBOT_ID


def member_from_api(member: Mapping[str, Any]) -> SlackMember:
    """A ``users.list`` / ``users.info`` member object as a SlackMember."""
    profile = member.get("profile") or {}
    email = str(profile.get("email") or "").strip().lower() or None
    name = (
        str(
            profile.get("real_name") or member.get("real_name") or profile.get("display_name") or ""
        ).strip()
        or None
    )
    return SlackMember(
        id=str(member["id"]),
        email=email,
        name=name[:200] if name else None,
        tz=(str(member["tz"])[:64] if member.get("tz") else None),
        is_admin=bool(
            member.get("is_admin") or member.get("is_owner") or member.get("is_primary_owner")
        ),
        deleted=bool(member.get("deleted")),
        is_bot=bool(member.get("is_bot") or member.get("is_app_user")),
    )


@dataclass
class SlackSyncResult:
    people_created: int = 0
    people_updated: int = 0
    deactivated: int = 0
    skipped: int = 0  # bots, Slackbot, deactivated members, members without a visible email
    events_attributed: int = 0
    problems: list[str] = field(default_factory=list)


def apply_slack_members(session: Session, members: Iterable[SlackMember]) -> SlackSyncResult:
    """Create or update a person for every active human member with an email."""
    result = SlackSyncResult()
    for member in members:
        if not member.is_person:
            result.skipped += 1
            continue
        if member.deleted:
            result.skipped += 1
            person = session.exec(select(Person).where(Person.slack_user_id == member.id)).first()
            if person is not None and person.is_slack_admin:
                person.is_slack_admin = False
                session.add(person)
                result.deactivated += 1
            continue
        if member.email is None:
            result.skipped += 1
            continue
        _apply_member(session, member, result)
    session.flush()
    return result


def _apply_member(session: Session, member: SlackMember, result: SlackSyncResult) -> None:
    assert member.email is not None
    person = session.exec(select(Person).where(Person.email == member.email)).first()
    holder = session.exec(select(Person).where(Person.slack_user_id == member.id)).first()
    created = changed = False
    if person is None and holder is not None:
        # The member changed their email in Slack: the person holding the Slack id follows.
        person, changed = holder, True
        person.email = member.email
    elif person is None:
        person, created = Person(email=member.email), True
        session.add(person)
    if holder is not None and holder is not person:
        result.problems.append(
            f"Slack user {member.id} ({member.email}): that Slack id belongs to another person "
            "in the directory; kept there"
        )
    elif person.slack_user_id != member.id:
        person.slack_user_id, changed = member.id, True
    if member.name and not person.name:  # a name from the directory CSV is kept
        person.name, changed = member.name, True
    if member.tz and person.tz != member.tz:
        person.tz, changed = member.tz, True
    if person.is_slack_admin != member.is_admin:
        person.is_slack_admin, changed = member.is_admin, True
    session.flush()
    result.people_created += created
    result.people_updated += changed and not created
    assert person.id is not None
    if person.slack_user_id == member.id:
        result.events_attributed += attribute_events(session, "slack", member.id, person.id)


# User groups as teams ---------------------------------------------------------------------


@dataclass(frozen=True)
class UserGroup:
    id: str
    name: str
    handle: str


def usergroup_from_api(group: Mapping[str, Any]) -> UserGroup:
    handle = str(group.get("handle") or "")
    return UserGroup(str(group["id"]), str(group.get("name") or handle or group["id"]), handle)


def usergroup_teams(session: Session) -> list[Team]:
    return list(
        session.exec(
            select(Team).where(col(Team.slack_usergroup_id).is_not(None)).order_by(col(Team.name))
        ).all()
    )


def _audit(
    session: Session, now: datetime, actor: str, action: str, target: str, **details: Any
) -> None:
    audit.record(session, actor=actor, action=action, target=target, details=details, now=now)


def _team_name(session: Session, group: UserGroup) -> str:
    """The group's name, or with its handle (then its id) when a team already has that name."""
    for candidate in (group.name, f"{group.name} (@{group.handle})", f"{group.name} ({group.id})"):
        candidate = candidate[:200]
        if session.exec(select(Team.id).where(Team.name == candidate)).first() is None:
            return candidate
    return group.id


def choose_usergroups(
    session: Session,
    chosen: Iterable[UserGroup],
    *,
    offered: Iterable[str] | None,
    actor: str,
    now: datetime,
) -> tuple[list[Team], list[str]]:
    """Make ``chosen`` groups teams and drop the teams of groups no longer chosen.

    Only groups that were ``offered`` (shown to the admin) can be dropped; ``None`` = all.
    Returns (teams added, names of teams removed). Each change is audited.
    """
    current = {team.slack_usergroup_id: team for team in usergroup_teams(session)}
    wanted = {group.id: group for group in chosen}
    droppable = None if offered is None else set(offered)
    added: list[Team] = []
    removed: list[str] = []
    for group_id, team in current.items():
        if group_id in wanted or (droppable is not None and group_id not in droppable):
            continue
        removed.append(team.name)
        _audit(
            session,
            now,
            actor,
            "team.usergroup_removed",
            f"team:{team.id}",
            usergroup=group_id,
            team=team.name,
        )
        session.delete(team)
    for group_id, group in sorted(wanted.items()):
        if group_id in current:
            continue
        team = Team(name=_team_name(session, group), slack_usergroup_id=group_id, created_at=now)
        session.add(team)
        session.flush()
        added.append(team)
        _audit(
            session,
            now,
            actor,
            "team.usergroup_added",
            f"team:{team.id}",
            usergroup=group_id,
            team=team.name,
        )
    session.flush()
    return added, removed


@dataclass
class TeamSync:
    added: int = 0
    removed: int = 0
    unknown: int = 0  # group members ai-roi has no person for (yet)


def follow_usergroup(
    session: Session, team: Team, slack_user_ids: Iterable[str], *, actor: str, now: datetime
) -> TeamSync:
    """Make the team's members exactly the group's (as far as ai-roi knows them); leads stay."""
    assert team.id is not None
    ids = set(slack_user_ids)
    known = (
        dict(
            session.exec(
                select(Person.slack_user_id, Person.id).where(col(Person.slack_user_id).in_(ids))
            ).all()
        )
        if ids
        else {}
    )
    wanted = {int(person_id) for person_id in known.values() if person_id is not None}
    sync = TeamSync(unknown=len(ids) - len(known))
    memberships = {
        m.person_id: m
        for m in session.exec(select(Membership).where(Membership.team_id == team.id)).all()
    }
    for person_id in sorted(wanted):
        membership = memberships.get(person_id)
        if membership is None:
            session.add(Membership(team_id=team.id, person_id=person_id, joined_at=now))
            record_join(session, team_id=team.id, person_id=person_id, at=now)
            sync.added += 1
        elif not membership.is_member:
            membership.is_member = True
            session.add(membership)
            record_join(session, team_id=team.id, person_id=person_id, at=now)
            sync.added += 1
    for person_id, membership in memberships.items():
        if person_id in wanted or not membership.is_member:
            continue
        sync.removed += 1
        record_leave(session, team_id=team.id, person_id=person_id, at=now)
        if membership.is_lead:
            membership.is_member = False
            session.add(membership)
        else:
            session.delete(membership)
    if sync.added or sync.removed:
        _audit(
            session,
            now,
            actor,
            "team.members_synced",
            f"team:{team.id}",
            usergroup=team.slack_usergroup_id,
            added=sync.added,
            removed=sync.removed,
        )
    session.flush()
    return sync


def set_team_leads(
    session: Session, team: Team, people: Iterable[Person], *, actor: str, now: datetime
) -> tuple[int, int]:
    """Make ``people`` the team's leads (added and removed); audited. Returns (added, removed)."""
    assert team.id is not None
    wanted = {person.id: person for person in people if person.id is not None}
    memberships = {
        m.person_id: m
        for m in session.exec(select(Membership).where(Membership.team_id == team.id)).all()
    }
    before = sorted(pid for pid, m in memberships.items() if m.is_lead)
    added = removed = 0
    for person_id in sorted(wanted):
        membership = memberships.get(person_id)
        if membership is None:
            session.add(
                Membership(
                    team_id=team.id,
                    person_id=person_id,
                    is_member=False,
                    is_lead=True,
                    joined_at=now,
                )
            )
            added += 1
        elif not membership.is_lead:
            membership.is_lead = True
            session.add(membership)
            added += 1
    for person_id, membership in memberships.items():
        if not membership.is_lead or person_id in wanted:
            continue
        removed += 1
        if membership.is_member:
            membership.is_lead = False
            session.add(membership)
        else:
            session.delete(membership)
    if added or removed:
        _audit(
            session,
            now,
            actor,
            "team.leads",
            f"team:{team.id}",
            team=team.name,
            before=before,
            after=sorted(wanted),
            slack_user_ids=sorted(p.slack_user_id for p in wanted.values() if p.slack_user_id),
        )
    session.flush()
    return added, removed


def teams_with_leads(session: Session) -> list[tuple[Team, list[Person]]]:
    """Every team, by name, with its leads."""
    teams = list(session.exec(select(Team).order_by(col(Team.name))).all())
    rows = session.exec(
        select(Membership.team_id, Person)
        .join(Person, col(Person.id) == col(Membership.person_id))
        .where(col(Membership.is_lead))
        .order_by(col(Person.email))
    ).all()
    leads: dict[int, list[Person]] = {}
    for team_id, person in rows:
        leads.setdefault(int(team_id), []).append(person)
    return [(team, leads.get(team.id or 0, [])) for team in teams]


def team_by_id(session: Session, team_id: int) -> Team | None:
    return session.get(Team, team_id)
