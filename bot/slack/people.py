"""Who is this Slack user in ai-roi, and may they administer it?"""

from __future__ import annotations

from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlmodel import Session, select

from bot.settings import Settings
from bot.store.models import Person


def slack_profile(client: WebClient, user_id: str) -> dict[str, Any]:
    try:
        response = client.users_info(user=user_id)
    except SlackApiError:
        return {}
    user = response.get("user") or {}
    return dict(user)


def person_for_slack_user(session: Session, client: WebClient, user_id: str) -> Person | None:
    """The person with this Slack id; else matched by the Slack profile's email, and linked."""
    person = session.exec(select(Person).where(Person.slack_user_id == user_id)).first()
    if person is not None:
        return person
    profile = slack_profile(client, user_id)
    email = ((profile.get("profile") or {}).get("email") or "").strip().lower()
    if not email:
        return None
    person = session.exec(select(Person).where(Person.email == email)).first()
    if person is None:
        person = Person(email=email, name=(profile.get("real_name") or None))
        session.add(person)
    person.slack_user_id = user_id
    person.tz = profile.get("tz") or person.tz
    person.is_slack_admin = bool(profile.get("is_admin") or profile.get("is_owner"))
    session.flush()
    return person


def is_admin(settings: Settings, client: WebClient, user_id: str) -> bool:
    """Checked afresh on every admin action: ADMIN_USER_IDS, or a workspace owner/admin."""
    if user_id in settings.admin_user_id_list:
        return True
    profile = slack_profile(client, user_id)
    return bool(
        profile.get("is_admin") or profile.get("is_owner") or profile.get("is_primary_owner")
    )
