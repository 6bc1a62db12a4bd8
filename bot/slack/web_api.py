"""One way to call the Slack Web API: through the process-wide Slack gate and the one retry helper.

``call`` runs one Web API method and maps what goes wrong to the typed errors of ``bot.errors``,
so every Slack caller (DMs, directory and user-group sync, views) handles the same few cases:

* ``429`` or ``ratelimited`` → ``RateLimitedError`` with Slack's ``Retry-After`` (1 s when absent);
  the gate holds every Slack sender until it has passed, then the call is tried again;
* 5xx, Slack-side errors (``internal_error``, ``fatal_error``, …) and network errors →
  ``UnavailableError``; retried with jittered backoff only when the caller says the request is
  safe to repeat (a read), never for a message that may already have been posted;
* the token itself refused (``invalid_auth``, ``token_revoked``, ``missing_scope``, …) →
  ``CredentialRefusedError``: nothing else will work either;
* any other error → ``RequestFailedError`` with Slack's error code.

Each error carries Slack's ``code`` and the HTTP ``status``; no message holds the token or the
request's text.
"""

from __future__ import annotations

import http.client
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import httpx
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.web import SlackResponse

from bot.errors import (
    CredentialRefusedError,
    OutboundError,
    RateLimitedError,
    RequestFailedError,
    RetryableError,
    UnavailableError,
)
from bot.observability import metrics
from bot.outbound.gate import RateGate, gate_for
from bot.outbound.retry import (
    DEFAULT_RETRY_AFTER,
    RetryPolicy,
    call_with_retries,
    retry_after_seconds,
)

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5  # per request, when Slack keeps answering 429

AUTH_ERRORS = frozenset(
    {
        "invalid_auth",
        "not_authed",
        "token_revoked",
        "token_expired",
        "account_inactive_token",
        "org_login_required",
        "team_access_not_granted",
        "missing_scope",
        "not_allowed_token_type",
        "no_permission",
        "ekm_access_denied",
        "access_denied",
        "accesslimited",
        "enterprise_is_restricted",
        "two_factor_setup_required",
    }
)
RATE_LIMIT_ERRORS = frozenset({"ratelimited", "rate_limited"})
TRANSIENT_ERRORS = frozenset(
    {
        "message_limit_exceeded",
        "internal_error",
        "fatal_error",
        "service_unavailable",
        "request_timeout",
        "team_added_to_org",
    }
)


def call(
    method: str,
    request: Callable[[], SlackResponse],
    *,
    gate: RateGate,
    paced: bool = False,
    repeatable: bool = True,
    max_attempts: int = MAX_ATTEMPTS,
) -> SlackResponse:
    """Run ``request`` (one Web API call named ``method``) through ``gate`` with the shared retry
    helper. ``repeatable=False`` retries only rate limits (the request was not carried out)."""

    def attempt() -> SlackResponse:
        try:
            return request()
        except SlackApiError as exc:
            raise error_for(method, exc.response) from None
        except (OSError, http.client.HTTPException) as exc:
            raise UnavailableError(
                f"network error talking to Slack ({type(exc).__name__})"
            ) from None

    retry_on: tuple[type[RetryableError], ...] = (
        (RetryableError,) if repeatable else (RateLimitedError,)
    )
    return call_with_retries(
        attempt,
        gate=gate,
        policy=RetryPolicy(max_attempts=max_attempts),
        paced=paced,
        retry_on=retry_on,
    )


def error_code(response: SlackResponse) -> str | None:
    data = response.data
    if isinstance(data, dict):
        error = data.get("error")
        return str(error) if error else None
    return None


def error_for(method: str, response: SlackResponse) -> OutboundError:
    """The typed error for a Slack answer that is not ``ok``."""
    code = error_code(response)
    status = int(response.status_code)
    if status == 429 or code in RATE_LIMIT_ERRORS:
        seconds = retry_after_seconds(_flat_headers(response.headers))
        wait = DEFAULT_RETRY_AFTER if seconds is None else seconds
        log.info("%s: rate limited by Slack, waiting %.1f s", method, wait)
        metrics.count_rate_limited("slack", method, wait)
        return RateLimitedError(
            f"Slack {method}: ratelimited",
            retry_after=wait,
            code=code or "ratelimited",
            status=status,
        )
    if code in AUTH_ERRORS:
        return CredentialRefusedError(f"Slack {method}: {code}", code=code, status=status)
    if status >= 500 or code in TRANSIENT_ERRORS:
        return UnavailableError(
            f"Slack {method}: {code or f'HTTP {status}'}", code=code, status=status
        )
    return RequestFailedError(
        f"Slack {method}: {code or f'HTTP {status}'}", status=status, code=code
    )


def _flat_headers(headers: object) -> dict[str, str]:
    """Response headers as ``str → str`` (the SDK may hand a header over as a list)."""
    if not isinstance(headers, Mapping):
        return {}
    flat: dict[str, str] = {}
    for key, value in headers.items():
        if isinstance(value, list):
            if not value:
                continue
            value = value[0]
        flat[str(key)] = str(value)
    return flat


# File uploads -------------------------------------------------------------------------------

GET_UPLOAD_URL = "files.getUploadURLExternal"
COMPLETE_UPLOAD = "files.completeUploadExternal"
TIER_4_INTERVAL = 60.0 / 100  # seconds between calls: Tier 4, "100+ per minute", per method
ALT_TXT_MAX = 1000  # files.getUploadURLExternal: alt_txt_too_large beyond this


def method_gate(method: str, *, min_interval: float = TIER_4_INTERVAL) -> RateGate:
    """The process-wide gate of one Web API method with its own rate tier: Slack counts each
    method's requests apart, so its ``Retry-After`` holds that method only, not every Slack call."""
    return gate_for(f"slack:{method}", min_interval=min_interval)


@dataclass(frozen=True)
class UploadGates:
    get_url: RateGate
    complete: RateGate

    @classmethod
    def shared(cls) -> UploadGates:
        return cls(method_gate(GET_UPLOAD_URL), method_gate(COMPLETE_UPLOAD))

    def blocked_for(self) -> float:
        """Seconds until a ``Retry-After`` on either method has passed (0 when none)."""
        return max(self.get_url.blocked_for(), self.complete.blocked_for())


def upload_file(
    client: WebClient,
    uploads: httpx.Client,
    *,
    filename: str,
    content: bytes,
    title: str,
    alt_text: str | None = None,
    gates: UploadGates,
    url_turn_taken: bool = False,
) -> str:
    """Upload ``content`` with Slack's external upload flow and return the file's id:
    ``files.getUploadURLExternal`` (name, length) → POST the bytes to the ``upload_url`` →
    ``files.completeUploadExternal`` with no channel, so the file stays private to the app (an
    image block can show it). Each step is tried once; a rate limit holds that method's gate for
    its ``Retry-After`` and is raised, like any other failure (the caller decides what to send
    instead). ``url_turn_taken``: the caller already took the first method's paced turn
    (``RateGate.try_pass``), so it is not paced again."""
    ticket = _once(
        GET_UPLOAD_URL,
        lambda: client.files_getUploadURLExternal(
            filename=filename,
            length=len(content),
            **({"alt_txt": alt_text[:ALT_TXT_MAX]} if alt_text else {}),
        ),
        gates.get_url,
        paced=not url_turn_taken,
    )
    upload_url, file_id = ticket.get("upload_url"), ticket.get("file_id")
    if not isinstance(upload_url, str) or not isinstance(file_id, str):
        raise RequestFailedError(
            f"Slack {GET_UPLOAD_URL}: no upload_url or file_id in the answer", status=200
        )
    try:
        posted = uploads.post(
            upload_url, content=content, headers={"Content-Type": "application/octet-stream"}
        )
    except httpx.HTTPError as exc:
        raise UnavailableError(
            f"network error uploading a file to Slack ({type(exc).__name__})"
        ) from None
    if posted.status_code != 200:
        status = posted.status_code
        error = UnavailableError if status >= 500 else RequestFailedError
        raise error(f"Slack file upload: HTTP {status}", status=status)
    _once(
        COMPLETE_UPLOAD,
        lambda: client.files_completeUploadExternal(files=[{"id": file_id, "title": title}]),
        gates.complete,
    )
    return file_id


DELETE_FILE = "files.delete"
FILE_GONE = frozenset({"file_not_found", "file_deleted"})


def delete_file(client: WebClient, file_id: str, *, gate: RateGate) -> bool:
    """Delete a file the app uploaded: True when deleted now, False when Slack no longer has it
    (deleted before). Deleting is safe to repeat, so it is retried like a read."""
    try:
        call(DELETE_FILE, lambda: client.files_delete(file=file_id), gate=gate)
    except RequestFailedError as exc:
        if exc.code in FILE_GONE:
            return False
        raise
    return True


def _once(
    method: str, request: Callable[[], SlackResponse], gate: RateGate, *, paced: bool = True
) -> SlackResponse:
    try:
        return call(method, request, gate=gate, paced=paced, repeatable=False, max_attempts=1)
    except RateLimitedError as exc:
        gate.retry_after(exc.retry_after)  # no retry here, so hold the gate ourselves
        raise
