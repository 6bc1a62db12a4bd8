"""Deadlines for many connections and requests, checked by one timer per event loop.

Nearly every deadline the server sets is disarmed before it passes: a request's head or body
arrives in time. A loop timer for each would cost microseconds to make and again to cancel, on
every request. Here arming and disarming is a dictionary update; one timer, running only while
something is armed, fires what is due. A deadline fires at most a quarter of its own length (and
at most ``MAX_LATENESS`` seconds) after it passes.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable, Hashable

MAX_LATENESS = 1.0  # seconds
MIN_INTERVAL = 0.01  # seconds between checks, however short a deadline


class Deadlines:
    """The deadlines of one event loop; use them from that loop only."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop_ref = weakref.ref(loop)  # the registry below must not keep loops alive
        self._armed: dict[Hashable, tuple[float, Callable[[], None]]] = {}
        self._interval = MAX_LATENESS
        self._timer: asyncio.TimerHandle | None = None

    def arm(self, key: Hashable, seconds: float, expire: Callable[[], None]) -> None:
        """Call ``expire()`` once ``seconds`` have passed, unless ``key`` is disarmed first.
        Arming ``key`` again replaces its deadline."""
        loop = self._loop()
        self._armed[key] = (loop.time() + seconds, expire)
        interval = max(MIN_INTERVAL, min(seconds / 4, MAX_LATENESS))
        if interval < self._interval:
            self._interval = interval
            self._stop()
        if self._timer is None:
            self._timer = loop.call_later(self._interval, self._check)

    def disarm(self, key: Hashable) -> None:
        self._armed.pop(key, None)

    def __len__(self) -> int:
        return len(self._armed)

    def _stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _loop(self) -> asyncio.AbstractEventLoop:
        loop = self._loop_ref()
        if loop is None:  # pragma: no cover - a closed loop's objects are not used again
            raise RuntimeError("the event loop of these deadlines is gone")
        return loop

    def _check(self) -> None:
        loop = self._loop()
        self._timer = None
        now = loop.time()
        due = [key for key, (at, _) in self._armed.items() if at <= now]
        for key in due:
            _, expire = self._armed.pop(key)
            try:
                expire()
            except Exception as error:  # one failing callback must not stop the others
                loop.call_exception_handler(
                    {"message": "a deadline's callback failed", "exception": error}
                )
        if self._armed and self._timer is None:
            self._timer = loop.call_later(self._interval, self._check)


_BY_LOOP: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Deadlines] = (
    weakref.WeakKeyDictionary()
)


def deadlines(loop: asyncio.AbstractEventLoop | None = None) -> Deadlines:
    """The ``Deadlines`` of ``loop`` (by default the running one)."""
    loop = loop or asyncio.get_running_loop()
    found = _BY_LOOP.get(loop)
    if found is None:
        found = _BY_LOOP[loop] = Deadlines(loop)
    return found
