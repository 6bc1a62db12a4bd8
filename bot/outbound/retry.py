"""When an outbound call is tried again, and after how long.

A call is retried only when the failure says so: ``RateLimitedError`` (429, or Slack's
``ratelimited``) waits the destination's ``Retry-After`` through its gate; ``UnavailableError``
(5xx, a network error on a request that is safe to repeat) waits an exponential backoff with full jitter. Anything else is
raised at once. Attempts and total waiting are bounded, so a destination that never recovers
fails the call instead of holding a worker forever.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TypeVar

from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt
from tenacity.wait import wait_random_exponential

from bot.errors import RateLimitedError, RetryableError
from bot.outbound.gate import MAX_RETRY_AFTER, RateGate

T = TypeVar("T")

DEFAULT_RETRY_AFTER = 1.0  # seconds, when a 429 carries no usable Retry-After


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 5
    backoff_base: float = 0.5  # seconds, the first backoff's upper bound
    backoff_cap: float = 30.0  # seconds, the largest backoff


DEFAULT_POLICY = RetryPolicy()


def retry_after_seconds(
    headers: Mapping[str, str] | None, *, now: datetime | None = None
) -> float | None:
    """``Retry-After`` (delta-seconds or an HTTP date, RFC 9110 §10.2.3) in seconds, clamped to
    ``[0, MAX_RETRY_AFTER]``; ``None`` when absent or unreadable."""
    if not headers:
        return None
    value = next((str(v) for k, v in headers.items() if str(k).lower() == "retry-after"), None)
    if value is None:
        return None
    value = value.strip()
    seconds: float
    if value.isdigit() and len(value) <= 12:
        seconds = float(value)
    else:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


def call_with_retries(
    attempt: Callable[[], T],
    *,
    gate: RateGate,
    policy: RetryPolicy = DEFAULT_POLICY,
    paced: bool = False,
    retry_on: tuple[type[RetryableError], ...] = (RetryableError,),
    sleep: Callable[[float], None] = time.sleep,
    rng: random.Random | None = None,
) -> T:
    """Run ``attempt`` after the gate lets it through; on ``RateLimitedError`` hold the gate for its
    ``Retry-After`` and try again, on ``UnavailableError`` back off with jitter and try again; after
    ``policy.max_attempts`` the last failure is raised.

    ``retry_on`` narrows what is tried again: a request that must not be repeated blindly (a
    message that may already have been posted) passes ``(RateLimitedError,)``, since a 429 means
    the request was not carried out."""
    backoff: Callable[[RetryCallState], float] = wait_random_exponential(
        multiplier=policy.backoff_base, max=policy.backoff_cap
    )
    if rng is not None:
        # tenacity draws from the random module; a seeded generator keeps tests repeatable
        backoff = _SeededBackoff(policy, rng)

    def wait(state: RetryCallState) -> float:
        failure = state.outcome.exception() if state.outcome else None
        if isinstance(failure, RateLimitedError):
            gate.retry_after(failure.retry_after)
            return 0.0  # the gate holds this and every other sender until Retry-After passes
        return float(backoff(state))

    retrying = Retrying(
        stop=stop_after_attempt(policy.max_attempts),
        wait=wait,
        retry=retry_if_exception_type(retry_on),
        sleep=lambda seconds: sleep(seconds) if seconds > 0 else None,
        reraise=True,
    )
    for try_ in retrying:
        with try_:
            gate.wait(paced=paced)
            return attempt()
    raise AssertionError("unreachable: tenacity re-raises the last failure")  # pragma: no cover


class _SeededBackoff:
    """Full-jitter exponential backoff drawn from a given generator."""

    def __init__(self, policy: RetryPolicy, rng: random.Random) -> None:
        self.policy = policy
        self.rng = rng

    def __call__(self, state: RetryCallState) -> float:
        ceiling = min(
            self.policy.backoff_cap, self.policy.backoff_base * 2 ** (state.attempt_number - 1)
        )
        return self.rng.uniform(0, ceiling)
