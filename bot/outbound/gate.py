"""One gate in front of every call this process makes to one destination (Slack, a vendor API).

A destination answers a burst with ``429 Too Many Requests`` and a ``Retry-After``. Once any
sender sees one, no request from this process to that destination goes out before it has passed.
Requests can also be paced: Slack's ``chat.postMessage`` allows about one message a second,
Cursor's Admin API 20 calls a minute, so a long run stays under the limit instead of bouncing off
it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

DEFAULT_MIN_INTERVAL = 1.0  # seconds between messages: chat.postMessage's special rate limit
MAX_RETRY_AFTER = 15 * 60.0  # a Retry-After beyond this is treated as this


class RateGate:
    """Thread-safe: ``wait()`` before each request, ``retry_after(s)`` on each 429.

    ``clock`` is monotonic seconds and ``sleep`` blocks; both are injectable so tests run
    without sleeping.
    """

    def __init__(
        self,
        *,
        min_interval: float = DEFAULT_MIN_INTERVAL,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if min_interval < 0:
            raise ValueError("min_interval must not be negative")
        self.min_interval = min_interval
        self._clock = clock
        self._sleep = sleep
        self._state = threading.Lock()  # guards the two instants below, never held while sleeping
        self._turn = threading.Lock()  # one waiter at a time, so pacing holds across threads
        self._blocked_until = float("-inf")
        self._last_paced = float("-inf")

    def wait(self, *, paced: bool = True) -> None:
        """Block until any Retry-After has passed and, when ``paced``, until ``min_interval``
        has elapsed since the previous paced request; then count this request as sent."""
        with self._turn:
            while True:
                with self._state:
                    now = self._clock()
                    ready = self._blocked_until
                    if paced:
                        ready = max(ready, self._last_paced + self.min_interval)
                    if now >= ready:
                        if paced:
                            self._last_paced = now
                        return
                # A 429 seen by another thread while we sleep moves ``ready``: look again.
                self._sleep(ready - now)

    def try_pass(self, *, paced: bool = True) -> bool:
        """``wait()`` without the waiting: count this request as sent and return True when it may
        go now, else return False at once (another thread waiting, a Retry-After in force, or,
        when ``paced``, ``min_interval`` not yet elapsed). For requests worth making only now."""
        if not self._turn.acquire(blocking=False):
            return False
        try:
            with self._state:
                now = self._clock()
                ready = self._blocked_until
                if paced:
                    ready = max(ready, self._last_paced + self.min_interval)
                if now < ready:
                    return False
                if paced:
                    self._last_paced = now
                return True
        finally:
            self._turn.release()

    def retry_after(self, seconds: float) -> None:
        """No request goes out before ``seconds`` from now (a later block is kept)."""
        seconds = min(max(float(seconds), 0.0), MAX_RETRY_AFTER)
        with self._state:
            self._blocked_until = max(self._blocked_until, self._clock() + seconds)

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
