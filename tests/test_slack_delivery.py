"""Digests as Slack DMs: the rate gate, error mapping, and ingest → digest → DMs end to end
through a fake Slack Web API on loopback (429s, permanent errors, a kill -9 mid-run)."""

from __future__ import annotations

import threading
import time
from itertools import pairwise

import pytest

from bot.slack.rate_gate import RateGate

# The rate gate -----------------------------------------------------------------------------


class FakeTime:
    """A monotonic clock that only moves when someone sleeps."""

    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []
        self.on_sleep: list[object] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(round(seconds, 6))
        self.now += seconds
        if self.on_sleep:
            action = self.on_sleep.pop(0)
            assert callable(action)
            action()


def test_the_gate_paces_messages() -> None:
    t = FakeTime()
    gate = RateGate(min_interval=1.0, clock=t.clock, sleep=t.sleep)
    for _ in range(3):
        gate.wait()
    assert t.sleeps == [1.0, 1.0]
    t.now += 5  # idle time counts: no wait after a pause
    gate.wait()
    assert t.sleeps == [1.0, 1.0]


def test_retry_after_holds_every_request_and_a_shorter_one_does_not_shorten_it() -> None:
    t = FakeTime()
    gate = RateGate(min_interval=0.5, clock=t.clock, sleep=t.sleep)
    gate.wait()
    gate.retry_after(30)
    gate.retry_after(2)
    assert gate.blocked_for() == 30
    gate.wait(paced=False)  # look-ups are not paced, but Retry-After holds them too
    assert t.sleeps == [30.0]
    assert gate.blocked_for() == 0
    gate.wait()
    assert t.sleeps == [30.0]  # 30 s passed since the last message: no pacing wait


def test_a_retry_after_that_arrives_while_waiting_is_honoured() -> None:
    t = FakeTime()
    gate = RateGate(min_interval=1.0, clock=t.clock, sleep=t.sleep)
    gate.wait()
    t.on_sleep.append(lambda: gate.retry_after(4))  # another sender got a 429 meanwhile
    gate.wait()
    assert t.sleeps == [1.0, 4.0]


def test_absurd_retry_after_values_are_bounded() -> None:
    t = FakeTime()
    gate = RateGate(clock=t.clock, sleep=t.sleep)
    gate.retry_after(-3)
    assert gate.blocked_for() == 0
    gate.retry_after(10**9)
    assert gate.blocked_for() == 15 * 60
    with pytest.raises(ValueError):
        RateGate(min_interval=-1)


def test_the_gate_is_shared_safely_between_threads() -> None:
    gate = RateGate(min_interval=0.02)
    stamps: list[float] = []
    lock = threading.Lock()

    def sender() -> None:
        for _ in range(5):
            gate.wait()
            with lock:
                stamps.append(time.monotonic())

    threads = [threading.Thread(target=sender) for _ in range(4)]
    gate.retry_after(0.1)
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    stamps.sort()
    assert len(stamps) == 20
    assert stamps[0] - started >= 0.09  # nobody went before the Retry-After
    gaps = [later - earlier for earlier, later in pairwise(stamps)]
    assert min(gaps) >= 0.018
