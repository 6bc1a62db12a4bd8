"""One gate in front of every call this process makes to one destination (Slack, a vendor API).

A destination answers a burst with ``429 Too Many Requests`` and a ``Retry-After``. Once any
sender sees one, no request from this process to that destination goes out before it has passed.
Requests can also be paced: Slack's ``chat.postMessage`` allows about one message a second,
Cursor's Admin API 20 calls a minute, so a long run stays under the limit instead of bouncing off
it.

Pacing keeps a schedule, one slot every ``min_interval``: a request that finds its slot passed
goes at once, and the next slot is counted from the missed one, not from when the late request
went, so time lost to slow work between requests (a long render, a slow commit, a sleep that
woke late) is won back by the requests after it instead of being lost for good. Two bounds keep
that honest:

- a request at most ``catch_up`` seconds late keeps the schedule; one later than that (after a
  pause, or a stall too long to win back) starts a new schedule from itself, so a gate never
  lets a backlog through at once; time held by a ``Retry-After`` is never won back;
- never more requests in any minute than the rate allows (``60 / min_interval``): the gate keeps
  the times of the last minute's requests (and a small margin, for requests that reach the server
  unevenly late) and holds a request that would exceed it. Destinations count their limits per
  minute, so this is the limit itself, not an approximation of it.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

DEFAULT_MIN_INTERVAL = 1.0  # seconds between messages: chat.postMessage's special rate limit
DEFAULT_CATCH_UP = 1.0  # a request at most this many seconds late keeps the schedule
MAX_RETRY_AFTER = 15 * 60.0  # a Retry-After beyond this is treated as this
WINDOW = 60.0  # seconds: rates are per minute
WINDOW_MARGIN = 0.25  # seconds added to the minute: requests reach the server unevenly late


class RateGate:
    """Thread-safe: ``wait()`` before each request, ``retry_after(s)`` on each 429.

    ``clock`` is monotonic seconds and ``sleep`` blocks; both are injectable so tests run
    without sleeping.
    """

    def __init__(
        self,
        *,
        min_interval: float = DEFAULT_MIN_INTERVAL,
        catch_up: float = DEFAULT_CATCH_UP,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if catch_up < 0:
            raise ValueError("catch_up must not be negative")
        self.catch_up = catch_up
        self._clock = clock
        self._sleep = sleep
        self._state = threading.Lock()  # guards the fields below, never held while sleeping
        self._turn = threading.Lock()  # one waiter at a time, so pacing holds across threads
        self._blocked_until = float("-inf")
        self._slot: float | None = None  # when the next paced request is due (None: no pacing yet)
        self._minute: deque[float] = deque()  # when the paced requests of the last minute went
        self.last_passed = float("-inf")  # when the latest paced request went
        self.min_interval = min_interval

    @property
    def min_interval(self) -> float:
        return self._min_interval

    @min_interval.setter
    def min_interval(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("min_interval must not be negative")
        with self._state:
            self._min_interval = seconds
            # the requests a minute allows; 0: not paced (no interval, no per-minute count)
            self._per_minute = max(1, int(WINDOW / seconds + 1e-9)) if seconds > 0 else 0
            self._slot = None  # a new rate starts a new schedule

    @property
    def per_minute(self) -> int:
        """Paced requests allowed in any minute (0: the gate does not pace)."""
        return self._per_minute

    def wait(self, *, paced: bool = True) -> None:
        """Block until any Retry-After has passed and, when ``paced``, until this request's slot
        has come and the last minute has room for it; then count this request as sent."""
        with self._turn:
            while True:
                with self._state:
                    now = self._clock()
                    ready = self._ready(now, paced)
                    if now >= ready:
                        if paced:
                            self._pass(now)
                        return
                # A 429 seen by another thread while we sleep moves ``ready``: look again.
                self._sleep(ready - now)

    def try_pass(self, *, paced: bool = True) -> bool:
        """``wait()`` without the waiting: count this request as sent and return True when it may
        go now, else return False at once (another thread waiting, a Retry-After in force, or,
        when ``paced``, its slot not yet come). For requests worth making only now."""
        if not self._turn.acquire(blocking=False):
            return False
        try:
            with self._state:
                now = self._clock()
                if now < self._ready(now, paced):
                    return False
                if paced:
                    self._pass(now)
                return True
        finally:
            self._turn.release()

    def _ready(self, now: float, paced: bool) -> float:
        """When a request may go (under ``_state``)."""
        ready = self._blocked_until
        if not paced or not self._per_minute:
            return ready
        if self._slot is not None:
            ready = max(ready, self._slot)
        minute = self._minute
        while minute and minute[0] <= now - WINDOW - WINDOW_MARGIN:
            minute.popleft()
        if len(minute) >= self._per_minute:
            ready = max(ready, minute[0] + WINDOW + WINDOW_MARGIN)
        return ready

    def _pass(self, now: float) -> None:
        """Count a paced request that goes at ``now`` (under ``_state``)."""
        self.last_passed = now
        if not self._per_minute:
            return
        self._minute.append(now)
        slot = self._slot
        if slot is None or now - slot > self.catch_up:
            slot = now  # the first request, or one after a pause or a long stall: a new schedule
        self._slot = slot + self._min_interval

    def retry_after(self, seconds: float) -> None:
        """No request goes out before ``seconds`` from now (a later block is kept); the time
        blocked is not won back afterwards."""
        seconds = min(max(float(seconds), 0.0), MAX_RETRY_AFTER)
        with self._state:
            self._blocked_until = max(self._blocked_until, self._clock() + seconds)
            if self._slot is not None:
                self._slot = max(self._slot, self._blocked_until)

    def blocked_for(self) -> float:
        """Seconds until a Retry-After passes (0 when none is in force)."""
        with self._state:
            return max(0.0, self._blocked_until - self._clock())


_gates: dict[str, RateGate] = {}
_gates_lock = threading.Lock()


def gate_for(destination: str, *, min_interval: float = DEFAULT_MIN_INTERVAL) -> RateGate:
    """The process-wide gate of one destination (``"slack"``, ``"cursor"``, …), made on first
    use with ``min_interval`` between paced requests."""
    with _gates_lock:
        gate = _gates.get(destination)
        if gate is None:
            gate = _gates[destination] = RateGate(min_interval=min_interval)
        return gate


def shared_gate() -> RateGate:
    """The process-wide gate every Slack sender uses."""
    return gate_for("slack")
