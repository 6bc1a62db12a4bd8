"""``Outbound``: calls to one vendor's HTTP API with the manners every destination is owed.

Each request waits at the destination's gate (a ``Retry-After`` seen by any sender holds all of
them; optional pacing), counts against a per-run request budget, and is retried by
``bot.outbound.retry`` when the answer says it may pass. Answers map to typed errors:

    429            → RateLimitedError (Retry-After honoured, then retried)
    408, 5xx       → UnavailableError (backoff with jitter, then retried; a 503's Retry-After too)
    network error  → UnavailableError when the request is safe to repeat, else OutboundError
    401, 403       → CredentialRefusedError (not retried: the source stops with a visible error)
    410            → CursorExpiredError (the caller starts its listing again)
    other 4xx      → RequestFailedError with the destination's own short reason

A destination that reports its rate limit in headers, as GitHub does (``ratelimit_headers``),
is owed more: when an answer says ``x-ratelimit-remaining: 0``, no request goes out before
``x-ratelimit-reset`` (Unix seconds); a ``403`` or ``429`` with ``retry-after``, a spent limit or
a "secondary rate limit" message is rate limiting, not a refused credential (``retry-after``
first, else the reset, else a minute). A wait longer than ``max_wait`` is not sat through: the
run stops with ``BudgetExhaustedError`` and the next one goes on from its checkpoint.

No message ever holds a credential: requests are described by method, host and path only.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Mapping
from typing import Any
from urllib.parse import urlsplit

import httpx

from bot.errors import (
    BudgetExhaustedError,
    CredentialRefusedError,
    CursorExpiredError,
    OutboundError,
    RateLimitedError,
    RequestFailedError,
    UnavailableError,
)
from bot.observability import metrics
from bot.outbound.gate import MAX_RETRY_AFTER, RateGate
from bot.outbound.retry import (
    DEFAULT_POLICY,
    DEFAULT_RETRY_AFTER,
    RetryPolicy,
    call_with_retries,
    retry_after_seconds,
)

RETRYABLE_STATUSES = frozenset({408, 500, 502, 503, 504})
REASON_CHARS = 200  # of a refusal's body, in an error message
SECONDARY_LIMIT_WAIT = 60.0  # seconds, when a secondary limit names no time (GitHub's advice)


class Outbound:
    """One destination: a client, its gate, a retry policy and a request budget for this run."""

    def __init__(
        self,
        name: str,
        client: httpx.Client,
        *,
        gate: RateGate,
        policy: RetryPolicy = DEFAULT_POLICY,
        paced: bool = False,
        budget: int | None = None,
        sleep: Callable[[float], None] = time.sleep,
        ratelimit_headers: bool = False,
        max_wait: float = MAX_RETRY_AFTER,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.name = name
        self.client = client
        self.gate = gate
        self.policy = policy
        self.paced = paced
        self.budget = budget
        self.sleep = sleep
        self.ratelimit_headers = ratelimit_headers
        self.max_wait = max_wait
        self.wall_clock = wall_clock
        self.requests_made = 0
        self.rate_limited = 0  # 429s (and rate-limiting 403s) seen, for metrics and tests
        self._spent_until: float | None = None  # Unix seconds: the limit resets then

    def request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        safe_to_repeat: bool | None = None,
        answer_as_is: Collection[int] = (),
    ) -> httpx.Response:
        """The answer to ``method url`` once it is a 2xx (or 3xx), or the typed error above.
        ``safe_to_repeat`` defaults to true for GET and HEAD; read-only POST queries pass it.
        Statuses in ``answer_as_is`` are returned, not raised, for a caller that reads the
        refusal itself (an OAuth token endpoint's ``{"error": "invalid_grant"}``)."""
        repeatable = method.upper() in {"GET", "HEAD"} if safe_to_repeat is None else safe_to_repeat

        def attempt() -> httpx.Response:
            self._spend()
            try:
                response = self.client.request(
                    method, url, params=params, json=json, content=content, headers=headers
                )
            except httpx.TransportError as exc:
                what = f"{self.name}: {method} {_where(self.client, url)} failed ({type(exc).__name__})"
                if repeatable:
                    raise UnavailableError(what) from None
                raise OutboundError(what) from None
            if response.status_code not in answer_as_is:
                self._check(method, url, response)
            return response

        return call_with_retries(
            attempt, gate=self.gate, policy=self.policy, paced=self.paced, sleep=self.sleep
        )

    def get_json(self, url: str, *, params: Mapping[str, Any] | None = None) -> Any:
        return _json(self.request("GET", url, params=params), self.name)

    def post_json(self, url: str, *, json: Any, safe_to_repeat: bool = False) -> Any:
        return _json(self.request("POST", url, json=json, safe_to_repeat=safe_to_repeat), self.name)

    def download(self, url: str) -> bytes:
        """The bytes behind an absolute, pre-signed link (a report download). The client's
        credentials are not sent to another host; a link that expired is ``CursorExpiredError``."""
        same_host = urlsplit(url).netloc in {"", self.client.base_url.netloc.decode()}

        def attempt() -> bytes:
            self._spend()
            try:
                if same_host:
                    response = self.client.get(url)
                else:
                    with httpx.Client(timeout=self.client.timeout, follow_redirects=True) as bare:
                        response = bare.get(url)
            except httpx.TransportError as exc:
                raise UnavailableError(
                    f"{self.name}: download from {urlsplit(url).netloc} failed ({type(exc).__name__})"
                ) from None
            if response.status_code in {400, 403, 404} and not same_host:
                # object stores answer an expired signature with 403 (or 400/404), not 410
                raise CursorExpiredError(
                    f"{self.name}: the download link expired or was refused ({response.status_code})"
                )
            self._check("GET", url, response)
            return response.content

        return call_with_retries(
            attempt, gate=self.gate, policy=self.policy, paced=False, sleep=self.sleep
        )

    def _spend(self) -> None:
        if self.budget is not None and self.requests_made >= self.budget:
            raise BudgetExhaustedError(
                f"{self.name}: the budget of {self.budget} requests for this run is spent"
            )
        if self._spent_until is not None and self.wall_clock() < self._spent_until:
            raise self._spent_error()
        self.requests_made += 1

    def _spent_error(self) -> BudgetExhaustedError:
        assert self._spent_until is not None
        until = time.strftime("%H:%M:%S UTC", time.gmtime(self._spent_until))
        return BudgetExhaustedError(
            f"{self.name}: the API rate limit is spent until {until}, longer than this run "
            f"waits ({self.max_wait:g} s); the next run goes on from here"
        )

    def _limit_reset_in(self, response: httpx.Response) -> float | None:
        """Seconds until the rate limit resets when the answer says it is spent, else ``None``."""
        if response.headers.get("x-ratelimit-remaining", "").strip() != "0":
            return None
        reset = response.headers.get("x-ratelimit-reset", "").strip()
        if not (reset.isascii() and reset.isdigit()) or len(reset) > 12:
            return None
        return max(float(reset) - self.wall_clock(), 0.0) + 1.0  # a second for clock skew

    def _hold_until_reset(self, wait: float) -> None:
        """No request before the limit resets; past ``max_wait`` the next one stops the run."""
        if wait > self.max_wait:
            self._spent_until = self.wall_clock() + wait
        else:
            self.gate.retry_after(wait)

    def _rate_limited(self, method: str, where: str, status: int, response: httpx.Response) -> None:
        """For ``ratelimit_headers`` destinations: raise when a 403/429 is rate limiting."""
        wait = retry_after_seconds(response.headers)
        if wait is None:
            wait = self._limit_reset_in(response)
            if wait is None and "rate limit" in _reason(response).lower():
                wait = SECONDARY_LIMIT_WAIT
        if wait is None:
            return
        self.rate_limited += 1
        if wait > self.max_wait:
            self._spent_until = self.wall_clock() + wait
            raise self._spent_error()
        metrics.count_rate_limited(self.name, method, wait)
        raise RateLimitedError(
            f"{where} was rate limited ({status}{_reason(response)})", retry_after=wait
        )

    def _check(self, method: str, url: str, response: httpx.Response) -> None:
        status = response.status_code
        if self.ratelimit_headers and status < 400:
            reset_in = self._limit_reset_in(response)
            if reset_in is not None:  # that was the last request before the reset
                self._hold_until_reset(reset_in)
        if status < 400:
            return
        where = f"{self.name}: {method} {_where(self.client, url)}"
        if self.ratelimit_headers and status in {403, 429}:
            self._rate_limited(method, where, status, response)
        wait = retry_after_seconds(response.headers)
        if status == 429:
            self.rate_limited += 1
            metrics.count_rate_limited(
                self.name, method, DEFAULT_RETRY_AFTER if wait is None else wait
            )
            raise RateLimitedError(
                f"{where} was rate limited (429)",
                retry_after=DEFAULT_RETRY_AFTER if wait is None else wait,
            )
        if status in RETRYABLE_STATUSES:
            if wait:
                self.gate.retry_after(wait)
            raise UnavailableError(f"{where} answered {status}")
        reason = _reason(response)
        if status in {401, 403}:
            raise CredentialRefusedError(f"{where} refused the credential ({status}{reason})")
        if status == 410:
            raise CursorExpiredError(f"{where}: the cursor or link expired (410{reason})")
        raise RequestFailedError(f"{where} answered {status}{reason}", status=status)


def _where(client: httpx.Client, url: str) -> str:
    """Host and path only: never a query string (signed links carry their signature there)."""
    full = client.base_url.join(url) if not urlsplit(url).scheme else httpx.URL(url)
    return f"{full.host}{full.path}"


def _reason(response: httpx.Response) -> str:
    """The destination's own short reason (``error.message`` or ``message``), if it gave one."""
    try:
        body = response.json()
    except (ValueError, UnicodeDecodeError):
        return ""
    message: object = None
    if isinstance(body, dict):
        error = body.get("error")
        message = error.get("message") if isinstance(error, dict) else error or body.get("message")
    if not isinstance(message, str) or not message.strip():
        return ""
    return ": " + message.strip()[:REASON_CHARS]


def _json(response: httpx.Response, name: str) -> Any:
    try:
        return response.json()
    except (ValueError, UnicodeDecodeError):
        raise RequestFailedError(
            f"{name}: expected JSON, got {response.headers.get('content-type', 'no content type')}",
            status=response.status_code,
        ) from None
