"""Who may see which team report, and the audit entry of each report viewed."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from bot.store import audit
from bot.store.models import Membership, Person, Team


def person_id_for_slack_user(session: Session, slack_user_id: str) -> int | None:
    return session.exec(select(Person.id).where(Person.slack_user_id == slack_user_id)).first()


def teams_led_by(session: Session, person_id: int) -> list[str]:
    """Names of the teams ``person_id`` leads, by name."""
    rows = session.exec(
        select(Team.name)
        .join(Membership, col(Membership.team_id) == col(Team.id))
        .where(Membership.person_id == person_id, col(Membership.is_lead))
        .order_by(col(Team.name))
    ).all()
    return [str(name) for name in rows]


def audit_report_view(
    session: Session, *, actor: str, team: str, weeks: list[str], action: str, now: datetime
) -> None:
    """One entry per report viewed: who, which team, which weeks — never a number of people."""
    audit.record(
        session, actor=actor, action=action, target=team, details={"weeks": weeks}, now=now
    )
    session.flush()
