"""A fake Slack Web API on 127.0.0.1 for tests: it checks, answers and limits the way Slack does.

    with FakeSlack() as slack:
        slack.add_user(id="U0ANA0001", email="ana@example.com", name="ana")
        client = WebClient(token=slack.token, base_url=slack.base_url)
        client.chat_postMessage(channel="U0ANA0001", text="Your AI week", blocks=[...])
        assert slack.dms_to("U0ANA0001")[0].text == "Your AI week"

Point the app at it with ``SLACK_API_URL=slack.base_url`` and ``SLACK_BOT_TOKEN=slack.token``.

What it reproduces, from tests/fixtures/slack-reference (method metadata: required arguments, error
codes, rate-limit tiers; Block Kit schema and limits via ``fakes.blockkit``):

- requests as GET with a query string, or POST as form, JSON or multipart; HTTP 200 with
  ``{"ok": false, "error": …}`` for every failure except 429. The token comes from
  ``Authorization: Bearer`` or a ``token`` form field (not from a JSON body nor the query string,
  which Slack refuses for apps created since 2021): missing → ``not_authed``, wrong →
  ``invalid_auth``, revoked (``revoke_token()``, as when the app is uninstalled or the token
  rotated) → ``token_revoked``, on every method. An unknown method → ``unknown_method``. The app-level token
  (``slack.app_token``) works for ``apps.connections.open`` only, and only it does
  (``not_allowed_token_type``); that method opens Socket Mode (``slack.socket_mode``, see
  ``fakes.slack_socket``).
- required arguments with each method's own code (``channel_not_found``, ``user_not_found``,
  ``no_text`` …, else ``invalid_arguments`` with ``response_metadata.messages``); blocks and views
  validated, answered with ``invalid_blocks`` / ``invalid_arguments`` and Slack-style messages
  (``[ERROR] … [json-pointer:/blocks/0/text/text]``). Stricter than Slack on one point, this app's
  rule: blocks without a non-empty ``text`` fallback get ``no_text`` (``require_fallback_text``).
- chat.postMessage to a user id opens the DM implicitly; unknown user → ``channel_not_found``;
  a deactivated user → ``deleted_user_dm_error`` (``is_archived`` by default; real Slack has been
  seen to accept such posts silently — set it to None for that); chat.update wants the ``D…`` id.
- users.list with cursor pagination (it lists Slackbot, whose ``is_bot`` is false, and this app's
  bot user, as Slack does; deactivated members keep ``deleted: true`` and lose ``tz`` and the
  ``is_admin``/``is_owner`` flags), users.info, users.lookupByEmail (``users_not_found``, also for
  deactivated accounts), usergroups, team.info.
- views.publish / open / update / push with hashes, ``trigger_id``s that expire after 3 s and work
  once (``slack.new_trigger_id()``), the file-upload flow (getUploadURLExternal → the upload URL,
  served here, which takes exactly the announced ``length`` bytes, once, before it expires after
  ``upload_url_ttl`` seconds → completeUploadExternal, which answers ``file_not_found`` for a file
  never uploaded or already completed, returns the file objects, and wants a ``C/G/D/Z`` id as
  ``channel_id`` as in Slack; without a channel the file stays private to the app), files.delete
  (``file_deleted`` the second time, ``file_not_found`` for an unknown id), image blocks
  whose ``slack_file`` must be a completed image file (``invalid_blocks`` otherwise),
  and ``response_url``s (``slack.new_response_url()``; five uses, 30 minutes).
- rate limits per method by tier (Tier 2 = 20/min, 3 = 50, 4 = 100; chat.postMessage 60/min per
  channel), a sliding minute; a 429 carries ``Retry-After`` and holds that method until then.
  Requests that arrive while a Retry-After is in force are answered 429 again and recorded in
  ``slack.violations``. ``set_rate_limit(method, per_minute=…)`` replaces a method's limit
  (workspace-wide), ``FakeSlack(tier_limits=False)`` drops the defaults (benchmarks).
  Injection: ``inject_429``, ``fail_next``, ``latency``.

Recorded: ``calls`` (every request), ``messages`` (accepted posts), ``views``, ``files``,
``deleted_files``,
``responses`` (accepted response_url posts), ``violations``; helpers ``calls_to``, ``dms_to``,
``ephemerals_to``, ``home_view``, ``files_to``. Thread-safe; the port is bound when the object is
made and released on leaving the ``with`` block (always use one). A bug in the fake itself
answers HTTP 500 and leaves its traceback in ``internal_errors``.
"""

from __future__ import annotations

import base64
import contextlib
import email.parser
import email.policy
import itertools
import json
import math
import random
import re
import secrets
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

from fakes.blockkit import (
    MESSAGE_MAX_TEXT,
    REFERENCE_DIR,
    Problem,
    check_message,
    check_view,
)
from fakes.slack_socket import SocketModeServer

METADATA_DIR = REFERENCE_DIR / "slack-web-api-method-metadata" / "methods"

DEFAULT_TOKEN = "xoxb-1000000001-2000000002-aIrOiFaKeSlAcKtOkEn0001"
# An app-level token, the only kind apps.connections.open (Socket Mode) takes.
APP_TOKEN = "xapp-1-A0AIROI0001-3000000003-aIrOiFaKeApPlEvElToKeN0001"
TEAM_ID = "T0AIROI00"
TEAM_NAME = "ai-roi test workspace"
TEAM_DOMAIN = "airoi-test"
BOT_USER_ID = "U0AIROIBOT"
BOT_ID = "B0AIROIBOT"
APP_ID = "A0AIROIAPP"
SLACKBOT_ID = "USLACKBOT"

WINDOW = 60.0  # seconds: rate limits are per minute
TIER_PER_MINUTE = {"1": 1, "2": 20, "3": 50, "4": 100}
POST_MESSAGE_PER_CHANNEL = 60  # "1 per second per channel, short bursts allowed"
USERS_LIST_MAX_LIMIT = 1000
RESPONSE_URL_USES = 5
ALT_TXT_MAX = 1000  # files.getUploadURLExternal: alt_txt_too_large beyond this
CHANNEL_ID_PATTERN = re.compile(r"^[CGDZ][A-Z0-9]{8,}$")  # files.completeUploadExternal
USER_ID_PATTERN = re.compile(r"^[UW][A-Z0-9]{2,}$")
TRIGGER_PATTERN = re.compile(r"^\d+\.\d+\.[0-9a-f]+$")
# Required argument missing: the code Slack answers, where it is not `invalid_arguments`.
MISSING_ARGUMENT_ERRORS = {
    ("chat.postMessage", "channel"): "channel_not_found",
    ("chat.postEphemeral", "channel"): "channel_not_found",
    ("chat.postEphemeral", "user"): "user_not_in_channel",
    ("chat.update", "channel"): "channel_not_found",
    ("chat.update", "ts"): "message_not_found",
    ("users.info", "user"): "user_not_found",
    ("users.lookupByEmail", "email"): "users_not_found",
    ("usergroups.users.list", "usergroup"): "no_such_subteam",
}
JSON_ARGS = ("blocks", "view", "attachments", "files", "metadata")


# Records --------------------------------------------------------------------------------


@dataclass
class Call:
    """One request to the API (or to an upload or response URL). ``time`` is time.monotonic()."""

    method: str
    args: dict[str, Any]
    time: float
    status: int = 200
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == 200 and self.error is None


@dataclass
class Message:
    """An accepted chat.postMessage / chat.postEphemeral (or a file shared into a channel)."""

    channel: str
    user: str | None  # the DM's other member, or the recipient of an ephemeral message
    text: str | None
    blocks: list[dict[str, Any]] | None
    ts: str
    method: str
    thread_ts: str | None = None
    files: list[str] = field(default_factory=list)
    edits: int = 0  # how many times chat.update changed it

    @property
    def ephemeral(self) -> bool:
        return self.method == "chat.postEphemeral"


@dataclass
class ViewRecord:
    """A view as the app sent it, with the id and hash the fake gave it."""

    method: str
    view: dict[str, Any]
    id: str
    hash: str
    user_id: str | None
    trigger_id: str | None
    time: float


@dataclass
class UploadedFile:
    id: str
    filename: str
    length: int
    alt_txt: str | None = None
    content: bytes | None = None
    title: str | None = None
    channels: list[str] = field(default_factory=list)
    initial_comment: str | None = None
    completed: bool = False
    issued_at: float = 0.0  # time.monotonic() when its upload URL was handed out
    created: int = 0  # Unix seconds, as the file object shows it


@dataclass
class ResponseURLPost:
    """An accepted POST to a response_url; ``post["text"]`` reads the payload."""

    url: str
    payload: dict[str, Any]
    time: float

    def __getitem__(self, key: str) -> Any:
        return self.payload[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self.payload.get(key, default)

    @property
    def text(self) -> str | None:
        return self.payload.get("text")

    @property
    def blocks(self) -> list[dict[str, Any]] | None:
        return self.payload.get("blocks")

    @property
    def response_type(self) -> str:
        return str(self.payload.get("response_type", "ephemeral"))


@dataclass
class Violation:
    """A request that arrived while a Retry-After the fake had sent was still in force."""

    method: str
    key: str
    time: float
    blocked_until: float

    @property
    def early_by(self) -> float:
        return self.blocked_until - self.time


@dataclass
class Reply:
    status: int
    body: bytes
    content_type: str = "application/json; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)


class SlackError(Exception):
    """Answer ``{"ok": false, "error": code, **extra}`` (raised inside method handlers)."""

    def __init__(self, code: str, *messages: str, **extra: Any) -> None:
        super().__init__(code)
        self.code = code
        self.extra = dict(extra)
        if messages:
            self.extra["response_metadata"] = {"messages": list(messages)}


@dataclass
class _Limit:
    per_minute: int
    per_channel: bool = False


@dataclass
class _Failure:
    error: str
    retry_after: int
    status: int


@dataclass
class _Injection:
    probability: float
    retry_after: int
    rng: random.Random


# Reference data -------------------------------------------------------------------------


@cache
def method_metadata(method: str) -> dict[str, Any] | None:
    """The vendored docs.slack.dev metadata of one Web API method, or None if unknown."""
    path = METADATA_DIR / f"{method}.json"
    return dict(json.loads(path.read_text(encoding="utf-8"))) if path.is_file() else None


def required_args(method: str) -> list[str]:
    meta = method_metadata(method) or {}
    return [name for name, spec in meta.get("args", {}).items() if spec.get("required")]


def tier_limit(method: str) -> int | None:
    """Requests per minute of the method's tier ("Tier 3: 50+ per minute" → 50)."""
    label = (method_metadata(method) or {}).get("rate_limit", {}).get("label", "")
    match = re.match(r"Tier (\d)", label)
    return TIER_PER_MINUTE.get(match.group(1)) if match else None


# The fake -------------------------------------------------------------------------------


class FakeSlack:
    """Slack's Web API on loopback. Use as a context manager; see the module docstring."""

    def __init__(
        self,
        *,
        token: str = DEFAULT_TOKEN,
        tier_limits: bool = True,
        require_fallback_text: bool = True,
    ) -> None:
        self.token = token
        self.app_token = APP_TOKEN
        self.socket_mode: SocketModeServer | None = None  # started by apps.connections.open
        self.require_fallback_text = require_fallback_text
        self.latency = 0.0
        self.trigger_ttl = 3.0
        self.response_url_ttl = 30 * 60.0
        self.upload_url_ttl = 10 * 60.0
        self.deleted_user_dm_error: str | None = "is_archived"
        self.messages_tab_enabled = True
        self.home_tab_enabled = True
        self.calls: list[Call] = []
        self.messages: list[Message] = []
        self.views: list[ViewRecord] = []
        self.files: list[UploadedFile] = []
        self.deleted_files: list[str] = []  # ids, in the order files.delete removed them
        self.responses: list[ResponseURLPost] = []
        self.violations: list[Violation] = []
        self.internal_errors: list[str] = []  # tracebacks of bugs in the fake itself (HTTP 500)
        self._lock = threading.RLock()
        self._ids = itertools.count(1)
        self._tier_limits = tier_limits
        self._users: dict[str, dict[str, Any]] = {}
        self._dms: dict[str, str] = {}  # user id → D id
        self._dm_users: dict[str, str] = {}  # D id → user id
        self._channels: dict[str, dict[str, Any]] = {}
        self._usergroups: dict[str, dict[str, Any]] = {}
        self._triggers: dict[str, tuple[float, bool]] = {}
        self._response_urls: dict[str, tuple[float, int]] = {}
        self._uploads: dict[str, UploadedFile] = {}
        self._stored_views: dict[str, dict[str, Any]] = {}
        self._home_ids: dict[str, str] = {}
        self._external_ids: dict[str, str] = {}
        self._limits: dict[str, _Limit | None] = {}
        self._revoked: set[str] = set()
        self._windows: dict[str, deque[float]] = {}
        self._blocked: dict[str, float] = {}
        self._failures: dict[str, deque[_Failure]] = {}
        self._injections: dict[str, _Injection] = {}
        self._server = _Server(self)
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.02,), name="fake-slack", daemon=True
        )

    # lifecycle

    def __enter__(self) -> FakeSlack:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join(timeout=10)
        self._server.server_close()
        if self.socket_mode is not None:
            self.socket_mode.close()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def base_url(self) -> str:
        """The Web API base URL, for WebClient(base_url=…) and SLACK_API_URL."""
        return f"{self.url}/api/"

    # workspace set-up

    def add_user(
        self,
        *,
        id: str,
        email: str | None = None,
        name: str | None = None,
        real_name: str | None = None,
        display_name: str | None = None,
        tz: str = "Europe/Berlin",
        is_admin: bool = False,
        is_owner: bool = False,
        deleted: bool = False,
        is_bot: bool = False,
    ) -> dict[str, Any]:
        """Add a member (``deleted=True`` = deactivated). Returns it as users.info shows it."""
        if not USER_ID_PATTERN.match(id):
            raise ValueError(f"Slack user ids look like U0123ABCD or W0123ABCD, not {id!r}")
        ZoneInfo(tz)  # fail early on a misspelt zone
        name = name or (email.split("@")[0] if email else id.lower())
        user = {
            "id": id,
            "email": email,
            "name": name,
            "real_name": real_name or name.replace(".", " ").title(),
            "display_name": display_name if display_name is not None else name,
            "tz": tz,
            "is_admin": is_admin or is_owner,
            "is_owner": is_owner,
            "deleted": deleted,
            "is_bot": is_bot,
        }
        with self._lock:
            self._users[id] = user
            return self._member(user)

    def set_user(self, user_id: str, **changes: Any) -> None:
        """Change a member, e.g. ``set_user("U…", deleted=True)`` to deactivate them."""
        with self._lock:
            self._users[user_id].update(changes)

    def add_channel(
        self, *, id: str, name: str, members: list[str] | None = None, is_archived: bool = False
    ) -> None:
        """A channel for chat.postEphemeral and file shares; ``members=None`` means everyone."""
        with self._lock:
            self._channels[id] = {
                "id": id,
                "name": name,
                "members": members,
                "is_archived": is_archived,
            }

    def add_usergroup(
        self,
        *,
        id: str,
        handle: str,
        name: str | None = None,
        users: list[str] | None = None,
        description: str = "",
        is_disabled: bool = False,
    ) -> None:
        with self._lock:
            self._usergroups[id] = {
                "id": id,
                "handle": handle,
                "name": name or handle,
                "users": list(users or []),
                "description": description,
                "is_disabled": is_disabled,
            }

    def new_trigger_id(self) -> str:
        """A trigger_id as an interaction payload carries: valid for ``trigger_ttl`` s, once."""
        with self._lock:
            trigger = f"{next(self._ids)}.{int(time.time())}.{secrets.token_hex(16)}"
            self._triggers[trigger] = (time.monotonic(), False)
            return trigger

    def new_response_url(self) -> str:
        """A response_url served here (five uses within ``response_url_ttl`` seconds)."""
        with self._lock:
            key = f"{TEAM_ID}/{next(self._ids)}/{secrets.token_hex(12)}"
            self._response_urls[key] = (time.monotonic(), 0)
            return f"{self.url}/response/{key}"

    # credentials

    def revoke_token(self, token: str | None = None) -> None:
        """From now on ``token`` (the bot token by default) is answered ``token_revoked``."""
        with self._lock:
            self._revoked.add(token or self.token)

    # rate limits and faults

    def set_rate_limit(
        self, method: str, per_minute: int | None, *, per_channel: bool = False
    ) -> None:
        """Replace the method's limit (a sliding minute); None lifts it."""
        with self._lock:
            self._limits[method] = _Limit(per_minute, per_channel) if per_minute else None

    def inject_429(
        self,
        method: str,
        probability: float = 0.25,
        retry_after: int = 1,
        seed: int | None = None,
    ) -> None:
        """Answer 429 to a random share of requests (``method="*"``: every method)."""
        if not 0 <= probability <= 1:
            raise ValueError("probability is between 0 and 1")
        with self._lock:
            self._injections[method] = _Injection(probability, retry_after, random.Random(seed))

    def fail_next(
        self,
        method: str,
        error: str = "ratelimited",
        times: int = 1,
        retry_after: int = 1,
        status: int | None = None,
    ) -> None:
        """The next ``times`` requests fail with ``error`` ("ratelimited" = HTTP 429)."""
        code = status or (429 if error == "ratelimited" else 200)
        with self._lock:
            queue = self._failures.setdefault(method, deque())
            queue.extend(_Failure(error, retry_after, code) for _ in range(times))

    # reading the records

    def calls_to(self, method: str) -> list[Call]:
        with self._lock:
            return [call for call in self.calls if call.method == method]

    def dms_to(self, user_id: str) -> list[Message]:
        """Messages the app posted in its DM with this user (not ephemeral ones)."""
        with self._lock:
            channel = self._dms.get(user_id)
            return [m for m in self.messages if m.channel == channel and not m.ephemeral]

    def ephemerals_to(self, user_id: str) -> list[Message]:
        with self._lock:
            return [m for m in self.messages if m.ephemeral and m.user == user_id]

    def home_view(self, user_id: str) -> dict[str, Any] | None:
        """The App Home last published for this user, as the app sent it."""
        with self._lock:
            published = [v for v in self.views if v.method == "views.publish"]
            mine = [v.view for v in published if v.user_id == user_id]
            return mine[-1] if mine else None

    def files_to(self, user_id: str) -> list[UploadedFile]:
        with self._lock:
            channel = self._dms.get(user_id)
            return [f for f in self.files if channel in f.channels]

    def dm_channel(self, user_id: str) -> str | None:
        with self._lock:
            return self._dms.get(user_id)

    # request handling (called from the server's threads)

    def handle(self, verb: str, path: str, headers: Any, body: bytes) -> Reply:
        if self.latency > 0:
            time.sleep(self.latency)
        parts = urlsplit(path)
        route, _, rest = parts.path.lstrip("/").partition("/")
        with self._lock:
            if route == "api" and rest:
                return self._api(rest, verb, parts.query, headers, body)
            if route == "upload" and rest.startswith("v1/"):
                return self._upload(rest[3:], body, headers)
            if route == "response":
                return self._respond(rest, headers, body)
            return _text(404, "not found")

    def _api(self, method: str, verb: str, query: str, headers: Any, body: bytes) -> Reply:
        now = time.monotonic()
        args, token, parse_error = _parse_args(verb, query, headers, body)
        call = Call(method, _recorded(args), now)
        self.calls.append(call)
        reply = self._answer(method, args, token, parse_error, now)
        call.status = reply.status
        if reply.status == 200:
            answer = json.loads(reply.body)
            call.error = None if answer.get("ok") else answer.get("error")
        else:
            call.error = "ratelimited"
        return reply

    def _answer(
        self,
        method: str,
        args: dict[str, Any],
        token: str | None,
        parse_error: str | None,
        now: float,
    ) -> Reply:
        handler = HANDLERS.get(method)
        if handler is None:
            return _json(200, {"ok": False, "error": "unknown_method", "req_method": method})
        try:
            if parse_error:
                raise SlackError(parse_error)
            if not token:
                raise SlackError("not_authed")
            if token in self._revoked:
                raise SlackError("token_revoked")
            if token not in (self.token, self.app_token):
                raise SlackError("invalid_auth")
            if (token == self.app_token) != (method in APP_TOKEN_METHODS):
                raise SlackError("not_allowed_token_type")
            limited = self._rate_limit(method, args, now)
            if limited is not None:
                return limited
            self._check_required(method, args)
            return _json(200, {"ok": True, **handler(self, args)})
        except SlackError as error:
            return _json(200, {"ok": False, "error": error.code, **error.extra})

    def _check_required(self, method: str, args: dict[str, Any]) -> None:
        for name in required_args(method):
            if args.get(name) in (None, ""):
                code = MISSING_ARGUMENT_ERRORS.get((method, name))
                if code is None and "missing_argument" in (method_metadata(method) or {}).get(
                    "errors", {}
                ):
                    code = "missing_argument"
                if code is None:
                    raise SlackError("invalid_arguments", f"[ERROR] missing required field: {name}")
                raise SlackError(code)

    # rate limiting

    def _rate_limit(self, method: str, args: dict[str, Any], now: float) -> Reply | None:
        keys = [method]
        limit = self._limit_for(method)
        if limit is not None and limit.per_channel:
            channel = str(args.get("channel", ""))
            channel = self._open_dm(channel) if channel in self._users else channel
            keys = [method, f"{method}#{channel}"]
        for key in keys:
            until = self._blocked.get(key, 0.0)
            if now < until:
                self.violations.append(Violation(method, key, now, until))
                return _too_many(math.ceil(until - now))
        failure = self._next_failure(method)
        if failure is not None:
            if failure.status == 429:
                return self._block(method, now, failure.retry_after)
            if failure.status != 200:
                return _json(failure.status, {"ok": False, "error": failure.error})
            raise SlackError(failure.error)
        injection = self._injections.get(method) or self._injections.get("*")
        if injection is not None and injection.rng.random() < injection.probability:
            return self._block(method, now, injection.retry_after)
        if limit is not None:
            full = self._window_full(keys[-1], limit.per_minute, now)
            if full is not None:
                return full
        for key in keys:  # every accepted request counts, whichever limit applies later
            self._recent(key, now).append(now)
        return None

    def _limit_for(self, method: str) -> _Limit | None:
        if method in self._limits:
            return self._limits[method]
        if not self._tier_limits:
            return None
        if method == "chat.postMessage":
            return _Limit(POST_MESSAGE_PER_CHANNEL, per_channel=True)
        per_minute = tier_limit(method)
        return _Limit(per_minute) if per_minute else None

    def _next_failure(self, method: str) -> _Failure | None:
        queue = self._failures.get(method)
        return queue.popleft() if queue else None

    def _recent(self, key: str, now: float) -> deque[float]:
        """Accepted requests under this key in the last minute (a sliding window)."""
        window = self._windows.setdefault(key, deque())
        while window and window[0] <= now - WINDOW:
            window.popleft()
        return window

    def _window_full(self, key: str, per_minute: int, now: float) -> Reply | None:
        window = self._recent(key, now)
        if len(window) >= per_minute:
            return self._block(key, now, max(1, math.ceil(window[0] + WINDOW - now)))
        return None

    def _block(self, key: str, now: float, retry_after: int) -> Reply:
        self._blocked[key] = max(self._blocked.get(key, 0.0), now + retry_after)
        return _too_many(retry_after)

    # shared pieces of the methods

    def _user(self, user_id: Any) -> dict[str, Any] | None:
        return self._users.get(user_id) if isinstance(user_id, str) else None

    def _open_dm(self, user_id: str) -> str:
        if user_id not in self._dms:
            channel = self._new_id("D")
            self._dms[user_id] = channel
            self._dm_users[channel] = user_id
        return self._dms[user_id]

    def _new_id(self, prefix: str) -> str:
        return f"{prefix}0{next(self._ids):08X}"

    def _new_ts(self) -> str:
        return f"{int(time.time())}.{next(self._ids):06d}"

    def _destination(self, channel: Any, *, user_ids: bool = True) -> tuple[str, str | None]:
        """(channel id, the DM's user or None) for a post, or the error Slack gives."""
        if not isinstance(channel, str) or not channel:
            raise SlackError("channel_not_found")
        if USER_ID_PATTERN.match(channel) and channel in self._users:
            if not user_ids:
                raise SlackError("channel_not_found")
            self._reachable(channel)
            return self._open_dm(channel), channel
        if channel in self._dm_users:
            self._reachable(self._dm_users[channel])
            return channel, self._dm_users[channel]
        found = self._channels.get(channel) or next(
            (c for c in self._channels.values() if f"#{c['name']}" == channel), None
        )
        if found is None:
            raise SlackError("channel_not_found")
        if found["is_archived"]:
            raise SlackError("is_archived")
        return str(found["id"]), None

    def _reachable(self, user_id: str) -> None:
        if self._users[user_id]["deleted"] and self.deleted_user_dm_error:
            raise SlackError(self.deleted_user_dm_error)
        if not self.messages_tab_enabled:
            raise SlackError("messages_tab_disabled")

    def _content(self, args: dict[str, Any]) -> tuple[list[dict[str, Any]] | None, str | None]:
        """The message's blocks and text, checked as Slack (and this app) check them."""
        blocks = _json_arg(args, "blocks", "invalid_blocks_format")
        if blocks is not None and not isinstance(blocks, list):
            raise SlackError("invalid_blocks_format")
        text = args.get("text")
        text = None if text is None else str(text)
        if args.get("markdown_text") and (blocks or text):
            raise SlackError("markdown_text_conflict")
        has_other = bool(
            args.get("markdown_text") or _json_arg(args, "attachments", "invalid_attachments")
        )
        if not blocks and not (text and text.strip()) and not has_other:
            raise SlackError("no_text")
        if blocks:
            self._check_blocks(blocks, text)
        if text is not None and len(text) > MESSAGE_MAX_TEXT:
            raise SlackError("msg_too_long")
        return blocks or None, text

    def _check_blocks(self, blocks: list[dict[str, Any]], text: str | None) -> None:
        problems = check_message(blocks, text)
        block_problems = [p for p in problems if p.pointer != "/text"]
        block_problems += self._slack_file_problems(blocks, "")
        if block_problems:
            lines = [_slack_line(p, "/blocks") for p in block_problems]
            raise SlackError(
                "invalid_blocks", *lines, errors=[line[len("[ERROR] ") :] for line in lines]
            )
        fallback = [p for p in problems if p.pointer == "/text" and "fallback" in p.message]
        if fallback and self.require_fallback_text:
            raise SlackError("no_text", _slack_line(fallback[0], "/text"))

    def _slack_file_problems(self, blocks: list[Any], prefix: str) -> list[Problem]:
        """Image blocks showing a Slack file: the file must exist, be completed (an upload
        whose completeUploadExternal never came is not a file yet), and be an image."""
        problems = []
        for index, block in enumerate(blocks):
            if not isinstance(block, dict) or block.get("type") != "image":
                continue
            reference = block.get("slack_file")
            if not isinstance(reference, dict) or "id" not in reference:
                continue
            upload = self._uploads.get(str(reference["id"]))
            pointer = f"{prefix}/blocks/{index}/slack_file"
            if upload is None or not upload.completed:
                problems.append(Problem(pointer, "invalid slack file"))
            elif _image_type(upload) is None:
                problems.append(Problem(pointer, "slack file is not an image"))
        return problems

    def _post(self, method: str, channel: str, user: str | None, args: dict[str, Any]) -> Message:
        blocks, text = self._content(args)
        message = Message(
            channel, user, text, blocks, self._new_ts(), method, args.get("thread_ts") or None
        )
        self.messages.append(message)
        return message

    def _message_json(self, message: Message) -> dict[str, Any]:
        shown: dict[str, Any] = {
            "type": "message",
            "text": message.text or "",
            "user": BOT_USER_ID,
            "bot_id": BOT_ID,
            "app_id": APP_ID,
            "team": TEAM_ID,
            "ts": message.ts,
        }
        if message.blocks:
            shown["blocks"] = message.blocks
        if message.thread_ts:
            shown["thread_ts"] = message.thread_ts
        return shown

    def _member(self, user: dict[str, Any]) -> dict[str, Any]:
        """A users.list / users.info member object, shaped like Slack's."""
        profile = {
            "real_name": user["real_name"],
            "real_name_normalized": user["real_name"],
            "display_name": user["display_name"],
            "display_name_normalized": user["display_name"],
            "team": TEAM_ID,
            "image_72": f"https://avatars.example.invalid/{user['id']}_72.png",
        }
        if user["email"]:
            profile["email"] = user["email"]
        if user["is_bot"]:
            profile.update(bot_id=BOT_ID, api_app_id=APP_ID, always_active=True)
        member: dict[str, Any] = {
            "id": user["id"],
            "team_id": TEAM_ID,
            "name": user["name"],
            "deleted": user["deleted"],
            "real_name": user["real_name"],
            "profile": profile,
            "is_bot": user["is_bot"],
            "is_app_user": False,
            "updated": 1_700_000_000,
        }
        if not user["deleted"]:
            member.update(_time_zone(user["tz"]))
            member.update(
                is_admin=user["is_admin"],
                is_owner=user["is_owner"],
                is_primary_owner=False,
                is_restricted=False,
                is_ultra_restricted=False,
            )
        return member

    def _everyone(self) -> list[dict[str, Any]]:
        slackbot = {
            "id": SLACKBOT_ID,
            "email": None,
            "name": "slackbot",
            "real_name": "Slackbot",
            "display_name": "Slackbot",
            "tz": "America/Los_Angeles",
            "is_admin": False,
            "is_owner": False,
            "deleted": False,
            "is_bot": False,  # Slack's own quirk: Slackbot is not a bot
        }
        bot = {**slackbot, "id": BOT_USER_ID, "name": "ai-roi", "real_name": "ai-roi"}
        bot.update(display_name="ai-roi", is_bot=True)
        return [slackbot, bot, *self._users.values()]

    def _trigger(self, args: dict[str, Any]) -> str:
        trigger = args.get("trigger_id") or args.get("interactivity_pointer")
        if not trigger:
            raise SlackError("invalid_arguments", "[ERROR] missing required field: trigger_id")
        if not isinstance(trigger, str) or not TRIGGER_PATTERN.match(trigger):
            raise SlackError("invalid_trigger_id")
        issued = self._triggers.get(trigger)
        if issued is None or time.monotonic() - issued[0] > self.trigger_ttl:
            raise SlackError("expired_trigger_id")
        if issued[1]:
            raise SlackError("exchanged_trigger_id")
        self._triggers[trigger] = (issued[0], True)
        return trigger

    def _view_arg(self, args: dict[str, Any], kinds: tuple[str, ...]) -> dict[str, Any]:
        view = _json_arg(args, "view", "invalid_arguments")
        if not isinstance(view, dict):
            raise SlackError(
                "invalid_arguments", "[ERROR] must provide an object [json-pointer:/view]"
            )
        if view.get("type") not in kinds:
            expected = " or ".join(kinds)
            raise SlackError(
                "invalid_arguments",
                f"[ERROR] view type must be {expected} [json-pointer:/view/type]",
            )
        problems = check_view(view)
        blocks = view.get("blocks")
        if not problems and isinstance(blocks, list):
            problems = self._slack_file_problems(blocks, "")
        if problems:
            raise SlackError(
                "invalid_arguments", *(_slack_line(p, "/view/blocks", "/view") for p in problems)
            )
        return view

    def _store_view(
        self,
        method: str,
        view: dict[str, Any],
        *,
        view_id: str | None = None,
        user_id: str | None = None,
        trigger_id: str | None = None,
    ) -> dict[str, Any]:
        external_id = view.get("external_id")
        view_id = view_id or (self._external_ids.get(external_id) if external_id else None)
        view_id = view_id or self._new_id("V")
        if external_id:
            owner = self._external_ids.setdefault(external_id, view_id)
            if owner != view_id:
                raise SlackError("duplicate_external_id")
        stored = _view_json(view, view_id, f"{int(time.time())}.{secrets.token_hex(4)}")
        self._stored_views[view_id] = stored
        self.views.append(
            ViewRecord(method, view, view_id, stored["hash"], user_id, trigger_id, time.monotonic())
        )
        return stored

    def _check_hash(self, args: dict[str, Any], view_id: str | None) -> None:
        wanted = args.get("hash")
        current = self._stored_views.get(view_id or "", {}).get("hash")
        if wanted and current and wanted != current:
            raise SlackError("hash_conflict")

    # upload and response URLs

    def _upload(self, file_id: str, body: bytes, headers: Any) -> Reply:
        upload = self._uploads.get(file_id)
        now = time.monotonic()
        call = Call("upload", {"file_id": file_id, "bytes": len(body)}, now)
        self.calls.append(call)
        content = _multipart_file(headers, body) or body
        reply = _text(200, f"OK - {len(content)}")
        if upload is None or upload.completed:
            reply = _text(404, "file not found")
        elif now - upload.issued_at > self.upload_url_ttl:
            reply = _text(404, "upload URL expired")
        elif upload.content is not None:
            reply = _text(400, "already uploaded")
        elif len(content) != upload.length:
            reply = _text(400, f"expected {upload.length} bytes, received {len(content)}")
        else:
            upload.content = content
        call.status = reply.status
        call.error = None if reply.status == 200 else reply.body.decode()
        return reply

    def _respond(self, key: str, headers: Any, body: bytes) -> Reply:
        call = Call("response_url", {}, time.monotonic())
        self.calls.append(call)
        reply = self._response_reply(key, headers, body, call)
        call.status = reply.status
        call.error = None if reply.status == 200 else reply.body.decode()
        return reply

    def _response_reply(self, key: str, headers: Any, body: bytes, call: Call) -> Reply:
        registered = self._response_urls.get(key)
        if registered is None:
            return _text(404, "no_service")
        created, uses = registered
        if time.monotonic() - created > self.response_url_ttl:
            return _text(404, "expired_url")
        if uses >= RESPONSE_URL_USES:
            return _text(404, "used_url")
        payload = _response_payload(headers, body)
        if payload is None:
            return _text(400, "invalid_payload")
        call.args = _recorded(payload)
        problem = self._response_problem(payload)
        if problem:
            return _text(400, problem)
        self._response_urls[key] = (created, uses + 1)
        self.responses.append(ResponseURLPost(f"{self.url}/response/{key}", payload, call.time))
        return _text(200, "ok")

    def _response_problem(self, payload: dict[str, Any]) -> str | None:
        if payload.get("delete_original"):
            return None
        try:
            self._content(payload)
        except SlackError as error:
            return error.code
        return None


# Method handlers: each takes the fake and the arguments, returns the fields beside "ok": true.

Handler = Callable[[FakeSlack, dict[str, Any]], dict[str, Any]]


def _auth_test(slack: FakeSlack, args: dict[str, Any]) -> dict[str, Any]:
    return {
        "url": f"https://{TEAM_DOMAIN}.slack.com/",
        "team": TEAM_NAME,
        "user": "ai-roi",
        "team_id": TEAM_ID,
        "user_id": BOT_USER_ID,
        "bot_id": BOT_ID,
        "is_enterprise_install": False,
    }


def _apps_connections_open(slack: FakeSlack, args: dict[str, Any]) -> dict[str, Any]:
    if slack.socket_mode is None:
        slack.socket_mode = SocketModeServer()
    return {"url": slack.socket_mode.url}


def _chat_post_message(slack: FakeSlack, args: dict[str, Any]) -> dict[str, Any]:
    channel, user = slack._destination(args["channel"])
    message = slack._post("chat.postMessage", channel, user, args)
    return {"channel": channel, "ts": message.ts, "message": slack._message_json(message)}


def _chat_post_ephemeral(slack: FakeSlack, args: dict[str, Any]) -> dict[str, Any]:
    user = slack._user(args["user"])
    if user is None or user["deleted"]:
        raise SlackError("user_not_in_channel")
    channel, dm_user = slack._destination(args["channel"])
    members = slack._channels.get(channel, {}).get("members")
    if (dm_user is not None and dm_user != user["id"]) or (
        members is not None and user["id"] not in members
    ):
        raise SlackError("user_not_in_channel")
    message = slack._post("chat.postEphemeral", channel, user["id"], args)
    return {"message_ts": message.ts}


def _chat_update(slack: FakeSlack, args: dict[str, Any]) -> dict[str, Any]:
    channel, _ = slack._destination(args["channel"], user_ids=False)
    found = [
        m for m in slack.messages if m.channel == channel and m.ts == args["ts"] and not m.ephemeral
    ]
    if not found:
        raise SlackError("message_not_found")
    message = found[0]
    message.blocks, message.text = slack._content(args)
    message.edits += 1
    shown = slack._message_json(message)
    return {"channel": channel, "ts": message.ts, "text": message.text or "", "message": shown}


def _conversations_open(slack: FakeSlack, args: dict[str, Any]) -> dict[str, Any]:
    channel = args.get("channel")
    if channel:
        if channel not in slack._dm_users:
            raise SlackError("channel_not_found")
        return {"no_op": True, "already_open": True, "channel": {"id": channel}}
    users = [u.strip() for u in str(args.get("users") or "").split(",") if u.strip()]
    if not users:
        raise SlackError("users_list_not_supplied")
    if len(users) > 8:
        raise SlackError("too_many_users")
    for user_id in users:
        user = slack._user(user_id)
        if user is None:
            raise SlackError("user_not_found")
        if user["deleted"]:
            raise SlackError("user_disabled")
    if len(users) > 1:
        return {"channel": {"id": slack._new_id("G"), "is_mpim": True}}
    existed = users[0] in slack._dms
    channel_id = slack._open_dm(users[0])
    shown: dict[str, Any] = {"id": channel_id}
    if _flag(args.get("return_im")):
        shown.update(created=int(time.time()), is_im=True, is_org_shared=False, user=users[0])
        shown.update(is_user_deleted=False, priority=0)
    return {"no_op": existed, "already_open": existed, "channel": shown}


def _users_list(slack: FakeSlack, args: dict[str, Any]) -> dict[str, Any]:
    members = slack._everyone()
    limit = _int_arg(args, "limit", default=0)
    if limit < 0:
        raise SlackError(
            "invalid_arguments", "[ERROR] limit must be positive [json-pointer:/limit]"
        )
    start = 0
    if args.get("cursor"):
        start = _cursor_position(str(args["cursor"]), members)
    size = min(limit or len(members), USERS_LIST_MAX_LIMIT)
    page = members[start : start + size]
    following = members[start + size : start + size + 1]
    next_cursor = _cursor(following[0]["id"]) if following else ""
    return {
        "members": [slack._member(u) for u in page],
        "cache_ts": int(time.time()),
        "response_metadata": {"next_cursor": next_cursor},
    }


def _users_info(slack: FakeSlack, args: dict[str, Any]) -> dict[str, Any]:
    user = next((u for u in slack._everyone() if u["id"] == args["user"]), None)
    if user is None:
        raise SlackError("user_not_found")
    member = slack._member(user)
    if _flag(args.get("include_locale")):
        member["locale"] = "en-US"
    return {"user": member}


def _users_lookup_by_email(slack: FakeSlack, args: dict[str, Any]) -> dict[str, Any]:
    wanted = str(args["email"]).strip().lower()
    for user in slack._users.values():
        if (user["email"] or "").lower() == wanted and not user["deleted"]:
            return {"user": slack._member(user)}
    raise SlackError("users_not_found")


def _views_publish(slack: FakeSlack, args: dict[str, Any]) -> dict[str, Any]:
    user_id = args["user_id"]
    if slack._user(user_id) is None:
        raise SlackError("invalid_arguments", "[ERROR] invalid user_id [json-pointer:/user_id]")
    if not slack.home_tab_enabled:
        raise SlackError("not_enabled")
    view = slack._view_arg(args, ("home",))
    current = slack._home_ids.get(user_id)
    slack._check_hash(args, current)
    stored = slack._store_view("views.publish", view, view_id=current, user_id=user_id)
    slack._home_ids[user_id] = stored["id"]
    return {"view": stored}


def _views_open(slack: FakeSlack, args: dict[str, Any]) -> dict[str, Any]:
    trigger = slack._trigger(args)
    view = slack._view_arg(args, ("modal",))
    return {"view": slack._store_view("views.open", view, trigger_id=trigger)}


def _views_push(slack: FakeSlack, args: dict[str, Any]) -> dict[str, Any]:
    trigger = slack._trigger(args)
    view = slack._view_arg(args, ("modal",))
    return {"view": slack._store_view("views.push", view, trigger_id=trigger)}


def _views_update(slack: FakeSlack, args: dict[str, Any]) -> dict[str, Any]:
    view_id = args.get("view_id") or slack._external_ids.get(str(args.get("external_id") or ""))
    if not args.get("view_id") and not args.get("external_id"):
        raise SlackError("invalid_arguments", "[ERROR] view_id or external_id is required")
    if not view_id or view_id not in slack._stored_views:
        raise SlackError("not_found")
    slack._check_hash(args, view_id)
    kind = slack._stored_views[view_id]["type"]
    view = slack._view_arg(args, (kind,))
    return {"view": slack._store_view("views.update", view, view_id=view_id)}


def _usergroups_list(slack: FakeSlack, args: dict[str, Any]) -> dict[str, Any]:
    shown = []
    for group in slack._usergroups.values():
        if group["is_disabled"] and not _flag(args.get("include_disabled")):
            continue
        item = _usergroup_json(group)
        if _flag(args.get("include_users")):
            item["users"] = list(group["users"])
        if _flag(args.get("include_count")):
            item["user_count"] = len(group["users"])
        shown.append(item)
    return {"usergroups": shown}


def _usergroups_users_list(slack: FakeSlack, args: dict[str, Any]) -> dict[str, Any]:
    group = slack._usergroups.get(args["usergroup"])
    if group is None:
        raise SlackError("no_such_subteam")
    return {"users": list(group["users"])}


def _files_get_upload_url(slack: FakeSlack, args: dict[str, Any]) -> dict[str, Any]:
    length = _int_arg(args, "length", default=0)
    if length <= 0:
        raise SlackError("invalid_arguments", "[ERROR] length must be a positive integer")
    alt_txt = args.get("alt_txt")
    if alt_txt is not None and len(str(alt_txt)) > ALT_TXT_MAX:
        raise SlackError("alt_txt_too_large")
    file_id = slack._new_id("F")
    slack._uploads[file_id] = UploadedFile(
        file_id,
        str(args["filename"]),
        length,
        alt_txt=alt_txt,
        issued_at=time.monotonic(),
        created=int(time.time()),
    )
    return {"upload_url": f"{slack.url}/upload/v1/{file_id}", "file_id": file_id}


def _files_complete_upload(slack: FakeSlack, args: dict[str, Any]) -> dict[str, Any]:
    items = _json_arg(args, "files", "invalid_arguments")
    if not isinstance(items, list) or not items:
        raise SlackError("invalid_arguments", "[ERROR] files must be a non-empty array")
    for index, item in enumerate(items):
        if not isinstance(item, dict) or not isinstance(item.get("id"), str):
            raise SlackError(
                "invalid_arguments",
                f"[ERROR] missing required field: id [json-pointer:/files/{index}/id]",
            )
    uploads = [_uploaded(slack, item) for item in items]
    channels = _share_targets(slack, args)
    comment = args.get("initial_comment")
    if not comment and args.get("blocks"):
        # blocks beside a file need no text of their own: the file is the content
        slack._check_blocks(_json_arg(args, "blocks", "invalid_blocks"), "file")
    for item, upload in zip(items, uploads, strict=True):
        upload.title = item.get("title") or upload.filename
        upload.channels, upload.initial_comment, upload.completed = channels, comment, True
        slack.files.append(upload)
    for channel in channels:
        dm_user = slack._dm_users.get(channel)
        method = "files.completeUploadExternal"
        message = Message(channel, dm_user, comment, None, slack._new_ts(), method)
        message.files = [upload.id for upload in uploads]
        slack.messages.append(message)
    return {"files": [_file_json(slack, upload) for upload in uploads]}


def _files_delete(slack: FakeSlack, args: dict[str, Any]) -> dict[str, Any]:
    """Deletes a file the app uploaded: ``file_deleted`` the second time, ``file_not_found`` for
    an id never handed out."""
    file_id = str(args["file"])
    if file_id in slack.deleted_files:
        raise SlackError("file_deleted")
    upload = slack._uploads.pop(file_id, None)
    if upload is None:
        raise SlackError("file_not_found")
    slack.files = [f for f in slack.files if f.id != file_id]
    slack.deleted_files.append(file_id)
    return {}


def _uploaded(slack: FakeSlack, item: Any) -> UploadedFile:
    upload = slack._uploads.get(str(item.get("id"))) if isinstance(item, dict) else None
    if upload is None or upload.content is None or upload.completed:
        raise SlackError("file_not_found")  # never uploaded, or its ticket was already used
    return upload


IMAGE_TYPES = {b"\x89PNG\r\n\x1a\n": "png", b"\xff\xd8\xff": "jpg", b"GIF8": "gif"}


def _image_type(upload: UploadedFile) -> str | None:
    """``png``, ``jpg`` or ``gif`` by the file's first bytes (what an image block can show)."""
    content = upload.content or b""
    return next((kind for magic, kind in IMAGE_TYPES.items() if content.startswith(magic)), None)


def _file_json(slack: FakeSlack, upload: UploadedFile) -> dict[str, Any]:
    """A file object as files.completeUploadExternal answers it."""
    kind = _image_type(upload)
    filetype = kind or upload.filename.rsplit(".", 1)[-1].lower()
    ims = [c for c in upload.channels if c.startswith("D")]
    return {
        "id": upload.id,
        "created": upload.created,
        "timestamp": upload.created,
        "name": upload.filename,
        "title": upload.title,
        "mimetype": f"image/{'jpeg' if kind == 'jpg' else kind}"
        if kind
        else "application/octet-stream",
        "filetype": filetype,
        "pretty_type": filetype.upper(),
        "user": BOT_USER_ID,
        "user_team": TEAM_ID,
        "editable": False,
        "size": len(upload.content or b""),
        "mode": "hosted",
        "is_external": False,
        "external_type": "",
        "is_public": bool(set(upload.channels) - set(ims)),
        "public_url_shared": False,
        "display_as_bot": False,
        "username": "",
        "url_private": f"{slack.url}/files-pri/{TEAM_ID}-{upload.id}/{upload.filename}",
        "url_private_download": f"{slack.url}/files-pri/{TEAM_ID}-{upload.id}/download/"
        f"{upload.filename}",
        "permalink": f"https://{TEAM_DOMAIN}.slack.com/files/{BOT_USER_ID}/{upload.id}/"
        f"{upload.filename}",
        "alt_txt": upload.alt_txt,
        "channels": [c for c in upload.channels if c.startswith("C")],
        "groups": [c for c in upload.channels if c.startswith("G")],
        "ims": ims,
        "has_rich_preview": False,
        "file_access": "visible",
    }


def _share_targets(slack: FakeSlack, args: dict[str, Any]) -> list[str]:
    channel_id = args.get("channel_id")
    if channel_id:
        if not CHANNEL_ID_PATTERN.match(str(channel_id)):
            raise SlackError(
                "invalid_arguments",
                f"[ERROR] input must match regex pattern: {CHANNEL_ID_PATTERN.pattern} "
                "[json-pointer:/channel_id]",
            )
        return [slack._destination(channel_id, user_ids=False)[0]]
    named = [c.strip() for c in str(args.get("channels") or "").split(",") if c.strip()]
    return [slack._destination(c)[0] for c in named]


def _team_info(slack: FakeSlack, args: dict[str, Any]) -> dict[str, Any]:
    if args.get("team") not in (None, "", TEAM_ID):
        raise SlackError("team_not_found")
    return {
        "team": {
            "id": TEAM_ID,
            "name": TEAM_NAME,
            "url": f"https://{TEAM_DOMAIN}.slack.com/",
            "domain": TEAM_DOMAIN,
            "email_domain": "example.com",
            "icon": {"image_default": True},
            "is_verified": False,
        }
    }


HANDLERS: dict[str, Handler] = {
    "apps.connections.open": _apps_connections_open,
    "auth.test": _auth_test,
    "chat.postMessage": _chat_post_message,
    "chat.postEphemeral": _chat_post_ephemeral,
    "chat.update": _chat_update,
    "conversations.open": _conversations_open,
    "users.list": _users_list,
    "users.info": _users_info,
    "users.lookupByEmail": _users_lookup_by_email,
    "views.publish": _views_publish,
    "views.open": _views_open,
    "views.update": _views_update,
    "views.push": _views_push,
    "usergroups.list": _usergroups_list,
    "usergroups.users.list": _usergroups_users_list,
    "files.getUploadURLExternal": _files_get_upload_url,
    "files.completeUploadExternal": _files_complete_upload,
    "files.delete": _files_delete,
    "team.info": _team_info,
}
APP_TOKEN_METHODS = {"apps.connections.open"}


# HTTP plumbing and small helpers --------------------------------------------------------


class _Server(ThreadingHTTPServer):
    daemon_threads = False  # server_close() waits for the handlers: no socket outlives a test
    request_queue_size = 128  # concurrent senders; the default 5 drops SYNs (1 s retransmits)

    def __init__(self, fake: FakeSlack) -> None:
        self.fake = fake
        super().__init__(("127.0.0.1", 0), _Handler)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.0"  # one request per connection: nothing idles at shutdown
    timeout = 10

    def do_GET(self) -> None:
        self._serve(b"")

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self._serve(self.rfile.read(length) if length else b"")

    def _serve(self, body: bytes) -> None:
        try:
            reply = self.server.fake.handle(self.command, self.path, self.headers, body)
        except Exception as exc:  # a bug in the fake: answer loudly, keep it for the test
            self.server.fake.internal_errors.append("".join(traceback.format_exception(exc)))
            reply = _text(500, f"fake Slack failed: {exc!r}")
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(reply.body)))
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(reply.body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def _json(status: int, body: dict[str, Any]) -> Reply:
    return Reply(status, json.dumps(body).encode())


def _text(status: int, body: str) -> Reply:
    return Reply(status, body.encode(), "text/plain; charset=utf-8")


def _too_many(retry_after: int) -> Reply:
    reply = _json(429, {"ok": False, "error": "ratelimited"})
    reply.headers["Retry-After"] = str(retry_after)
    return reply


def _slack_line(problem: Problem, whole: str, prefix: str = "") -> str:
    if problem.pointer:
        return problem.slack_line(prefix)
    return f"[ERROR] {problem.message} [json-pointer:{whole}]"


def _parse_args(
    verb: str, query: str, headers: Any, body: bytes
) -> tuple[dict[str, Any], str | None, str | None]:
    """(arguments, token, error) of one request, read the way Slack reads them."""
    args: dict[str, Any] = {k: v[-1] for k, v in parse_qs(query, keep_blank_values=True).items()}
    args.pop("token", None)  # Slack refuses tokens in the query string (apps since 2021)
    auth = str(headers.get("Authorization") or "")
    token = auth[len("Bearer ") :].strip() if auth.startswith("Bearer ") else None
    if verb != "POST" or not body:
        return args, token, None
    kind = str(headers.get("Content-Type") or "").split(";")[0].strip().lower()
    if not kind:
        return args, token, "missing_post_type"
    if kind == "application/json":
        try:
            data = json.loads(body)
        except ValueError:
            return args, token, "invalid_json"
        if not isinstance(data, dict):
            return args, token, "invalid_json"
        data.pop("token", None)  # a JSON body's token is not read: it must be in the header
        return {**args, **data}, token, None
    if kind in ("application/x-www-form-urlencoded", "text/plain"):
        form = {k: v[-1] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
    elif kind == "multipart/form-data":
        form = _multipart_fields(headers, body)
    else:
        return args, token, "invalid_post_type"
    form_token = form.pop("token", None)
    return {**args, **form}, token or form_token, None


def _multipart_parts(headers: Any, body: bytes) -> list[Any]:
    head = f"Content-Type: {headers.get('Content-Type')}\r\n\r\n".encode()
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    return list(message.iter_parts()) if message.is_multipart() else []


def _multipart_fields(headers: Any, body: bytes) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for part in _multipart_parts(headers, body):
        name = part.get_param("name", header="content-disposition")
        if name and not part.get_filename():
            fields[str(name)] = part.get_content()
    return fields


def _multipart_file(headers: Any, body: bytes) -> bytes | None:
    if "multipart/form-data" not in str(headers.get("Content-Type") or ""):
        return None
    for part in _multipart_parts(headers, body):
        if part.get_filename():
            payload = part.get_payload(decode=True)
            return payload if isinstance(payload, bytes) else None
    return None


def _json_arg(args: dict[str, Any], name: str, error: str) -> Any:
    value = args.get(name)
    if isinstance(value, str):
        try:
            return json.loads(value) if value.strip() else None
        except ValueError:
            raise SlackError(error) from None
    return value


def _recorded(args: dict[str, Any]) -> dict[str, Any]:
    """The arguments as a test wants to read them: JSON strings parsed, no token."""
    shown = {k: v for k, v in args.items() if k != "token"}
    for name in JSON_ARGS:
        if isinstance(shown.get(name), str):
            with contextlib.suppress(ValueError):
                shown[name] = json.loads(shown[name])
    return shown


def _flag(value: Any) -> bool:
    return value is True or str(value).lower() in ("true", "1")


def _int_arg(args: dict[str, Any], name: str, default: int) -> int:
    value = args.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except (TypeError, ValueError):
        raise SlackError(
            "invalid_arguments", f"[ERROR] {name} must be an integer [json-pointer:/{name}]"
        ) from None


def _cursor(user_id: str) -> str:
    return base64.b64encode(f"user:{user_id}".encode()).decode()


def _cursor_position(cursor: str, members: list[dict[str, Any]]) -> int:
    try:
        kind, _, user_id = base64.b64decode(cursor, validate=True).decode().partition(":")
    except ValueError:
        raise SlackError("invalid_cursor") from None
    ids = [member["id"] for member in members]
    if kind != "user" or user_id not in ids:
        raise SlackError("invalid_cursor")
    return ids.index(user_id)


def _time_zone(tz: str) -> dict[str, Any]:
    now = datetime.now(UTC).astimezone(ZoneInfo(tz))
    offset = now.utcoffset()
    return {
        "tz": tz,
        "tz_label": now.tzname() or tz,
        "tz_offset": int(offset.total_seconds()) if offset is not None else 0,
    }


def _view_json(view: dict[str, Any], view_id: str, view_hash: str) -> dict[str, Any]:
    """The view as Slack answers it: what was sent plus the fields Slack fills in."""
    return {
        "id": view_id,
        "team_id": TEAM_ID,
        "private_metadata": "",
        "callback_id": "",
        "external_id": "",
        "state": {"values": {}},
        "clear_on_close": False,
        "notify_on_close": False,
        "close": None,
        "submit": None,
        "previous_view_id": None,
        "root_view_id": view_id,
        "app_id": APP_ID,
        "app_installed_team_id": TEAM_ID,
        "bot_id": BOT_ID,
        **view,
        "hash": view_hash,
    }


def _usergroup_json(group: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": group["id"],
        "team_id": TEAM_ID,
        "is_usergroup": True,
        "name": group["name"],
        "description": group["description"],
        "handle": group["handle"],
        "is_external": False,
        "date_create": 1_700_000_000,
        "date_update": 1_700_000_000,
        "date_delete": 1_700_000_001 if group["is_disabled"] else 0,
        "auto_type": None,
        "created_by": SLACKBOT_ID,
        "updated_by": SLACKBOT_ID,
        "deleted_by": SLACKBOT_ID if group["is_disabled"] else None,
        "prefs": {"channels": [], "groups": []},
    }


def _response_payload(headers: Any, body: bytes) -> dict[str, Any] | None:
    kind = str(headers.get("Content-Type") or "").split(";")[0].strip().lower()
    raw: Any = body
    if kind == "application/x-www-form-urlencoded":
        raw = parse_qs(body.decode("utf-8", "replace")).get("payload", [""])[-1]
    try:
        payload = json.loads(raw)
    except ValueError:
        return None
    return payload if isinstance(payload, dict) else None
