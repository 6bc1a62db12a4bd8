"""Digest DMs are paced at SLACK_MESSAGES_PER_MINUTE: the gate's arithmetic on a fake clock,
the setting's validation, and the deliverer the app builds honouring it against the fake Slack."""

from __future__ import annotations

from bisect import bisect_left
from itertools import pairwise
from pathlib import Path

import pytest

from bot.context import AppContext
from bot.digest.deliverers import Recipient
from bot.errors import ConfigError
from bot.outbound.gate import WINDOW, WINDOW_MARGIN, RateGate, shared_gate
from bot.settings import DEFAULT_SLACK_MESSAGES_PER_MINUTE, load_settings
from bot.slack.dm import UserDirectory, pacing_interval, slack_deliverer
from bot.store.db import create_engine
from fakes.slack_api import FakeSlack


class SteppedClock:
    """Monotonic seconds that move only when the gate sleeps (or the test says so)."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def sent_at(gate: RateGate, clock: SteppedClock, count: int, work: float = 0.0) -> list[float]:
    """When each of ``count`` paced requests was let through, ``work`` seconds apart at least."""
    times = []
    for _ in range(count):
        gate.wait()
        times.append(clock.now)
        clock.now += work
    return times


@pytest.mark.parametrize("per_minute", [60, 600, 6000])
def test_the_gate_lets_through_exactly_the_rate(per_minute: int) -> None:
    clock = SteppedClock()
    gate = RateGate(min_interval=pacing_interval(per_minute), clock=clock.clock, sleep=clock.sleep)
    times = sent_at(gate, clock, 11)
    interval = 60 / per_minute
    assert [round(b - a, 9) for a, b in pairwise(times)] == [round(interval, 9)] * 10
    assert times[-1] - times[0] == pytest.approx(10 * interval)


def test_time_spent_working_counts_towards_the_interval() -> None:
    """The gate waits only for what is left of the interval: 100 ms of work, 250 ms interval."""
    clock = SteppedClock()
    gate = RateGate(min_interval=pacing_interval(240), clock=clock.clock, sleep=clock.sleep)
    times = sent_at(gate, clock, 5, work=0.1)
    assert [round(b - a, 9) for a, b in pairwise(times)] == [0.25] * 4
    assert [round(s, 9) for s in clock.sleeps] == [0.15] * 4


def test_slower_work_than_the_rate_is_never_held_back() -> None:
    clock = SteppedClock()
    gate = RateGate(min_interval=pacing_interval(6000), clock=clock.clock, sleep=clock.sleep)
    sent_at(gate, clock, 5, work=0.05)
    assert clock.sleeps == []


def test_time_lost_to_slow_work_is_won_back_by_the_next_requests() -> None:
    """100 a second: one request's work takes 35 ms; the next ones go at once until the
    schedule is met again, so the run ends when it would have without the slow one."""
    clock = SteppedClock()
    gate = RateGate(min_interval=pacing_interval(6000), clock=clock.clock, sleep=clock.sleep)
    times = []
    for n in range(20):
        gate.wait()
        times.append(clock.now)
        clock.now += 0.035 if n == 5 else 0.002
    assert [round(t - 1000.0, 6) for t in times[5:10]] == [0.05, 0.085, 0.087, 0.089, 0.091]
    assert [round(t - 1000.0, 6) for t in times[10:]] == [n / 100 for n in range(10, 20)]
    assert times[-1] - times[0] == pytest.approx(19 * 0.01)


def test_a_request_later_than_catch_up_starts_a_new_schedule() -> None:
    """Up to ``catch_up`` late, the schedule is kept; later (a pause, a long stall), nothing is
    let through at once to make up for it."""
    clock = SteppedClock()
    gate = RateGate(
        min_interval=pacing_interval(600), catch_up=0.3, clock=clock.clock, sleep=clock.sleep
    )
    gate.wait()
    clock.now += 0.35  # 0.25 s late for the next slot (1000.1): won back
    times = sent_at(gate, clock, 5)
    assert [round(t - 1000.0, 6) for t in times] == [0.35, 0.35, 0.35, 0.4, 0.5]
    clock.now += 0.45  # 0.35 s late: a new schedule from here
    times = sent_at(gate, clock, 3)
    assert [round(t - 1000.0, 6) for t in times] == [0.95, 1.05, 1.15]


def test_the_rate_a_minute_holds_with_a_small_margin() -> None:
    """One a minute: the second request waits the minute and the margin (requests reach the
    server unevenly late, and the server counts by arrival)."""
    clock = SteppedClock()
    gate = RateGate(min_interval=pacing_interval(1), clock=clock.clock, sleep=clock.sleep)
    times = sent_at(gate, clock, 3)
    assert [round(b - a, 6) for a, b in pairwise(times)] == [WINDOW + WINDOW_MARGIN] * 2


def test_catching_up_never_exceeds_the_rate_in_any_minute() -> None:
    """Work that is often slower than the interval, then fast: the schedule is won back only as
    far as the last minute has room (a minute and a small margin, for requests that reach the
    server unevenly late)."""
    clock = SteppedClock()
    gate = RateGate(
        min_interval=pacing_interval(600), catch_up=5.0, clock=clock.clock, sleep=clock.sleep
    )
    assert gate.per_minute == 600
    times = []
    for n in range(2400):
        gate.wait()
        times.append(clock.now)
        clock.now += 0.25 if n % 50 == 0 else 0.02
    window = WINDOW + WINDOW_MARGIN
    busiest = max(bisect_left(times, start + window) - index for index, start in enumerate(times))
    assert busiest == 600
    assert times[-1] - times[0] >= 2399 * 0.1 * (WINDOW / window) - 5.0


def test_a_retry_after_holds_paced_and_unpaced_requests() -> None:
    clock = SteppedClock()
    gate = RateGate(min_interval=pacing_interval(600), clock=clock.clock, sleep=clock.sleep)
    gate.wait()
    gate.retry_after(3)
    gate.wait(paced=False)
    assert clock.now == pytest.approx(1003.0)


def test_time_held_by_a_retry_after_is_not_won_back() -> None:
    clock = SteppedClock()
    gate = RateGate(
        min_interval=pacing_interval(600), catch_up=5.0, clock=clock.clock, sleep=clock.sleep
    )
    gate.wait()
    gate.retry_after(0.5)
    times = sent_at(gate, clock, 4)
    assert [round(t - 1000.0, 6) for t in times] == [0.5, 0.6, 0.7, 0.8]


def test_pacing_interval_is_sixty_over_the_rate() -> None:
    assert pacing_interval(60) == 1.0
    assert pacing_interval(6000) == pytest.approx(0.01)
    with pytest.raises(ValueError):
        pacing_interval(0)


# The setting ----------------------------------------------------------------------------------


def test_the_setting_defaults_to_one_message_per_second() -> None:
    settings = load_settings(env_file=None)
    assert settings.slack_messages_per_minute == DEFAULT_SLACK_MESSAGES_PER_MINUTE == 60


def test_the_setting_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_MESSAGES_PER_MINUTE", "600")
    assert load_settings(env_file=None).slack_messages_per_minute == 600


@pytest.mark.parametrize("value", ["0", "-5", "fast"])
def test_a_bad_rate_names_the_variable(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("SLACK_MESSAGES_PER_MINUTE", value)
    with pytest.raises(ConfigError, match="SLACK_MESSAGES_PER_MINUTE"):
        load_settings(env_file=None)


def _context(tmp_path: Path, slack: FakeSlack, per_minute: int) -> AppContext:
    settings = load_settings(
        env_file=None,
        database_url=f"sqlite:///{tmp_path / 'pacing.db'}",
        slack_bot_token=slack.token,
        slack_api_url=slack.base_url,
        slack_messages_per_minute=per_minute,
    )
    return AppContext(settings=settings, engine=create_engine(settings.database_url))


def test_the_deliverer_paces_the_process_gate_at_the_setting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    gate = shared_gate()
    monkeypatch.setattr(gate, "min_interval", gate.min_interval)  # restored after the test
    with FakeSlack() as slack:
        context = _context(tmp_path, slack, 1200)
        deliverer = slack_deliverer(context)
        assert deliverer.gate is gate
        assert gate.min_interval == pytest.approx(0.05)

        own = RateGate(min_interval=0.5)
        assert slack_deliverer(context, gate=own).gate is own
        assert own.min_interval == 0.5  # a gate that is passed in is used as it is
        context.engine.dispose()


def test_dms_go_out_no_faster_than_the_setting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Slack allows 1,200 a minute here; paced at 1,200 a minute nothing is refused."""
    gate = shared_gate()
    monkeypatch.setattr(gate, "min_interval", gate.min_interval)
    with FakeSlack() as slack:
        slack.set_rate_limit("chat.postMessage", per_minute=1200)
        users = [f"U0PACE{n:04d}" for n in range(12)]
        for user in users:
            slack.add_user(id=user, email=f"{user.lower()}@example.com")
        context = _context(tmp_path, slack, 1200)
        deliverer = slack_deliverer(context)
        deliverer.directory = UserDirectory()
        released: list[float] = []  # when the gate let each message go (its own clock)
        wait = gate.wait

        def recorded_wait(*, paced: bool = True) -> None:
            wait(paced=paced)
            if paced:
                released.append(gate.last_passed)

        monkeypatch.setattr(gate, "wait", recorded_wait)
        for number, user in enumerate(users):
            recipient = Recipient(number + 1, f"{user.lower()}@example.com", user, user)
            deliverer.send(recipient, [], f"Your AI week {number}")
        context.engine.dispose()

        posts = slack.calls_to("chat.postMessage")
        assert [call.status for call in posts] == [200] * len(users)
        assert len(released) == len(users)
        # One slot every 50 ms from the first: a message that went late lets the next go sooner,
        # never more than the rate in all.
        assert released[-1] - released[0] >= 0.05 * (len(users) - 1) - 1e-9
        # The server sees them about 50 ms apart too (one request may be delayed in transit
        # on a loaded machine, so only the whole run is held to the rate there).
        assert posts[-1].time - posts[0].time >= 0.05 * (len(users) - 1) * 0.95
        assert slack.violations == []
        assert sorted(m.user for m in slack.messages if m.user) == sorted(users)
