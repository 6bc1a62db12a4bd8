"""Who is this Slack user in ai-roi, and may they administer it?"""

from __future__ import annotations

import threading
import time
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlmodel import Session

from bot.settings import Settings
from bot.store.models import Person
from bot.store.people import link_slack_user, person_by_slack_id

ADMIN_VERDICT_TTL = 15 * 60.0  # seconds an admin verdict from Slack is trusted for submissions

_verdicts: dict[str, tuple[bool, float]] = {}
_verdicts_lock = threading.Lock()


def slack_profile(client: WebClient, user_id: str) -> dict[str, Any]:
    try:
        response = client.users_info(user=user_id)
    except SlackApiError:
        return {}
    user = response.get("user") or {}
    return dict(user)


def person_for_slack_user(session: Session, client: WebClient, user_id: str) -> Person | None:
    """The person with this Slack id; else matched by the Slack profile's email, and linked."""
    person = person_by_slack_id(session, user_id)
    if person is not None:
        return person
    profile = slack_profile(client, user_id)
    email = ((profile.get("profile") or {}).get("email") or "").strip().lower()
    if not email:
        return None
    return link_slack_user(
        session,
        email=email,
        slack_user_id=user_id,
        name=profile.get("real_name") or None,
        tz=profile.get("tz") or None,
        is_admin=bool(profile.get("is_admin") or profile.get("is_owner")),
    )


def is_admin(settings: Settings, client: WebClient, user_id: str) -> bool:
    """Checked afresh on every admin action: ADMIN_USER_IDS, or a workspace owner/admin (asks
    Slack, ``users.info``; call it after the ack). The verdict is remembered for
    ``known_admin``."""
    if user_id in settings.admin_user_id_list:
        return True
    profile = slack_profile(client, user_id)
    verdict = bool(
        profile.get("is_admin") or profile.get("is_owner") or profile.get("is_primary_owner")
    )
    with _verdicts_lock:
        _verdicts[user_id] = (verdict, time.monotonic())
    return verdict


def known_admin(settings: Settings, user_id: str) -> bool | None:
    """The admin verdict without asking Slack: ``ADMIN_USER_IDS``, or the verdict this process
    gave within ``ADMIN_VERDICT_TTL``; None when this process does not know (then ack first and
    ask ``is_admin`` after)."""
    if user_id in settings.admin_user_id_list:
        return True
    with _verdicts_lock:
        known = _verdicts.get(user_id)
    if known is not None and time.monotonic() - known[1] < ADMIN_VERDICT_TTL:
        return known[0]
    return None
