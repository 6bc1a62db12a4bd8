"""Signed Slack requests for tests: slash commands, interactivity and events, as Slack sends them.

    request = slash_command(user_id="U0ANA0001", text="team Data",
                            response_url=slack.new_response_url(), trigger_id=slack.new_trigger_id())
    live.client.post("/slack/events", content=request.body,
                     headers=request.headers(SIGNING_SECRET))

Bodies follow Slack's payload references: a slash command is form-encoded fields; block_actions
and view_submission are a form field ``payload`` holding JSON; events are a JSON
``event_callback``. ``headers()`` signs the exact bytes: ``X-Slack-Signature: v0=`` + hex
HMAC-SHA256 of ``"v0:{timestamp}:{body}"`` with the signing secret, and
``X-Slack-Request-Timestamp``; pass ``age=600`` for a stale request or another secret for a
forged one. Ids default to the fake workspace of ``fakes.slack_api``; a default
``response_url`` points at a closed loopback port, never at slack.com.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode

from fakes.slack_api import APP_ID, BOT_ID, BOT_USER_ID, TEAM_DOMAIN, TEAM_ID

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
UNUSED_RESPONSE_URL = "http://127.0.0.1:9/response/unused"  # port 9: nothing listens
VERIFICATION_TOKEN = "deprecated-verification-token"  # Slack still sends it; Bolt ignores it


def sign_slack(signing_secret: str, body: bytes, timestamp: int) -> dict[str, str]:
    """The two headers Slack adds to every request it sends an app."""
    base = b"v0:" + str(timestamp).encode() + b":" + body
    digest = hmac.new(signing_secret.encode(), base, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": str(timestamp), "X-Slack-Signature": f"v0={digest}"}


@dataclass(frozen=True)
class SlackRequest:
    """A request body as Slack would send it, ready to be signed."""

    body: bytes
    content_type: str

    def headers(
        self, signing_secret: str, *, timestamp: int | None = None, age: int = 0
    ) -> dict[str, str]:
        """Content-Type plus the signature; ``age`` seconds back from now (or ``timestamp``)."""
        ts = timestamp if timestamp is not None else int(time.time()) - age
        return {"Content-Type": self.content_type, **sign_slack(signing_secret, self.body, ts)}

    def form(self) -> dict[str, str]:
        """The form fields (slash commands)."""
        return dict(parse_qsl(self.body.decode()))

    def payload(self) -> dict[str, Any]:
        """The JSON payload (interactivity: the ``payload`` field; events: the body)."""
        if self.content_type == JSON:
            return dict(json.loads(self.body))
        return dict(json.loads(self.form()["payload"]))


def random_trigger_id() -> str:
    """A well-formed trigger_id the fake Slack does not know (views.open → expired_trigger_id)."""
    return f"{secrets.randbelow(10**6)}.{int(time.time())}.{secrets.token_hex(16)}"


def slash_command(
    *,
    user_id: str,
    text: str = "",
    command: str = "/ai-roi",
    user_name: str | None = None,
    channel_id: str = "D0AIROI01",
    channel_name: str = "directmessage",
    response_url: str = UNUSED_RESPONSE_URL,
    trigger_id: str | None = None,
    team_id: str = TEAM_ID,
) -> SlackRequest:
    """A slash command invocation, form-encoded with the fields Slack sends."""
    fields = {
        "token": VERIFICATION_TOKEN,
        "team_id": team_id,
        "team_domain": TEAM_DOMAIN,
        "channel_id": channel_id,
        "channel_name": channel_name,
        "user_id": user_id,
        "user_name": user_name or user_id.lower(),
        "command": command,
        "text": text,
        "api_app_id": APP_ID,
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": trigger_id or random_trigger_id(),
    }
    return SlackRequest(urlencode(fields).encode(), FORM)


def block_actions(
    *,
    user_id: str,
    action_id: str,
    value: str | None = None,
    block_id: str = "actions",
    action_type: str = "button",
    selected_option: dict[str, Any] | None = None,
    view: dict[str, Any] | None = None,
    message: dict[str, Any] | None = None,
    channel_id: str = "D0AIROI01",
    response_url: str = UNUSED_RESPONSE_URL,
    trigger_id: str | None = None,
    team_id: str = TEAM_ID,
) -> SlackRequest:
    """A button press (or select) in a message, or in a view when ``view`` is given.

    From a message the payload carries ``container.type == "message"``, the message, the channel
    and a ``response_url``; from the App Home or a modal, ``container.type == "view"`` and the
    view (``view_dict(...)`` builds one as Slack echoes it), and no response_url.
    """
    action: dict[str, Any] = {
        "type": action_type,
        "action_id": action_id,
        "block_id": block_id,
        "action_ts": f"{time.time():.6f}",
    }
    if value is not None:
        action["value"] = value
    if selected_option is not None:
        action["selected_option"] = selected_option
    payload: dict[str, Any] = {
        "type": "block_actions",
        **_common(user_id, team_id, trigger_id),
        "actions": [action],
    }
    if view is not None:
        payload["container"] = {"type": "view", "view_id": view.get("id", "V0AIROI01")}
        payload["view"] = view
    else:
        ts = (message or {}).get("ts", "1700000000.000100")
        payload["container"] = {
            "type": "message",
            "message_ts": ts,
            "channel_id": channel_id,
            "is_ephemeral": False,
        }
        payload["channel"] = {"id": channel_id, "name": "directmessage"}
        payload["message"] = message or {"type": "message", "ts": ts, "user": BOT_USER_ID}
        payload["response_url"] = response_url
    return _interaction(payload)


def view_submission(
    *,
    user_id: str,
    callback_id: str,
    values: dict[str, dict[str, Any]] | None = None,
    private_metadata: str = "",
    view_id: str = "V0AIROI01",
    blocks: list[dict[str, Any]] | None = None,
    trigger_id: str | None = None,
    team_id: str = TEAM_ID,
) -> SlackRequest:
    """A modal submitted. ``values`` is ``{block_id: {action_id: value}}``: a str stands for a
    plain_text_input's value; a dict is used as the element's state as it is."""
    state = {
        block: {action: _state(value) for action, value in actions.items()}
        for block, actions in (values or {}).items()
    }
    view = view_dict(
        "modal",
        callback_id=callback_id,
        private_metadata=private_metadata,
        view_id=view_id,
        blocks=blocks,
        state=state,
        team_id=team_id,
    )
    payload = {
        "type": "view_submission",
        **_common(user_id, team_id, trigger_id),
        "view": view,
        "response_urls": [],
    }
    return _interaction(payload)


def app_home_opened(
    *,
    user_id: str,
    tab: str = "home",
    view: dict[str, Any] | None = None,
    channel_id: str = "D0AIROI01",
    team_id: str = TEAM_ID,
) -> SlackRequest:
    """The Events API ``event_callback`` for a user opening the app's Home (or Messages) tab."""
    now = time.time()
    event: dict[str, Any] = {
        "type": "app_home_opened",
        "user": user_id,
        "channel": channel_id,
        "tab": tab,
        "event_ts": f"{now:.6f}",
    }
    if view is not None:
        event["view"] = view
    body = {
        "token": VERIFICATION_TOKEN,
        "team_id": team_id,
        "api_app_id": APP_ID,
        "event": event,
        "type": "event_callback",
        "event_id": f"Ev0{secrets.token_hex(5).upper()}",
        "event_time": int(now),
        "authorizations": [
            {
                "enterprise_id": None,
                "team_id": team_id,
                "user_id": BOT_USER_ID,
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        "is_ext_shared_channel": False,
        "event_context": f"4-{secrets.token_hex(8)}",
    }
    return SlackRequest(json.dumps(body).encode(), JSON)


def url_verification(
    challenge: str = "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P",
) -> SlackRequest:
    """The handshake Slack sends when an Events request URL is saved."""
    body = {"token": VERIFICATION_TOKEN, "challenge": challenge, "type": "url_verification"}
    return SlackRequest(json.dumps(body).encode(), JSON)


def view_dict(
    kind: str = "home",
    *,
    callback_id: str = "",
    private_metadata: str = "",
    view_id: str = "V0AIROI01",
    blocks: list[dict[str, Any]] | None = None,
    state: dict[str, Any] | None = None,
    team_id: str = TEAM_ID,
) -> dict[str, Any]:
    """A view as Slack echoes it inside interaction payloads (server fields included)."""
    view: dict[str, Any] = {
        "id": view_id,
        "team_id": team_id,
        "type": kind,
        "blocks": blocks or [],
        "private_metadata": private_metadata,
        "callback_id": callback_id,
        "state": {"values": state or {}},
        "hash": f"{int(time.time())}.{secrets.token_hex(4)}",
        "clear_on_close": False,
        "notify_on_close": False,
        "close": None,
        "submit": None,
        "previous_view_id": None,
        "root_view_id": view_id,
        "app_id": APP_ID,
        "external_id": "",
        "app_installed_team_id": team_id,
        "bot_id": BOT_ID,
    }
    if kind == "modal":
        view.update(
            title={"type": "plain_text", "text": "ai-roi"},
            close={"type": "plain_text", "text": "Cancel"},
            submit={"type": "plain_text", "text": "Save"},
        )
    return view


def _common(user_id: str, team_id: str, trigger_id: str | None) -> dict[str, Any]:
    return {
        "user": {
            "id": user_id,
            "username": user_id.lower(),
            "name": user_id.lower(),
            "team_id": team_id,
        },
        "api_app_id": APP_ID,
        "token": VERIFICATION_TOKEN,
        "trigger_id": trigger_id or random_trigger_id(),
        "team": {"id": team_id, "domain": TEAM_DOMAIN},
        "enterprise": None,
        "is_enterprise_install": False,
    }


def _state(value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        return value
    return {"type": "plain_text_input", "value": value}


def _interaction(payload: dict[str, Any]) -> SlackRequest:
    return SlackRequest(urlencode({"payload": json.dumps(payload)}).encode(), FORM)
