"""Digest DMs are paced at SLACK_MESSAGES_PER_MINUTE: the gate's arithmetic on a fake clock,
the setting's validation, and the deliverer the app builds honouring it against the fake Slack."""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path

import pytest

from bot.context import AppContext
from bot.digest.deliverers import Recipient
from bot.errors import ConfigError
from bot.outbound.gate import RateGate, shared_gate
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


@pytest.mark.parametrize("per_minute", [1, 60, 600, 6000])
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


def test_a_retry_after_holds_paced_and_unpaced_requests() -> None:
    clock = SteppedClock()
    gate = RateGate(min_interval=pacing_interval(600), clock=clock.clock, sleep=clock.sleep)
    gate.wait()
    gate.retry_after(3)
    gate.wait(paced=False)
    assert clock.now == pytest.approx(1003.0)


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
                released.append(gate._last_paced)

        monkeypatch.setattr(gate, "wait", recorded_wait)
        for number, user in enumerate(users):
            recipient = Recipient(number + 1, f"{user.lower()}@example.com", user, user)
            deliverer.send(recipient, [], f"Your AI week {number}")
        context.engine.dispose()

        posts = slack.calls_to("chat.postMessage")
        assert [call.status for call in posts] == [200] * len(users)
        assert len(released) == len(users)
        assert min(b - a for a, b in pairwise(released)) >= 0.05  # sent at most one per 50 ms
        # The server sees them about 50 ms apart too (one request may be delayed in transit
        # on a loaded machine, so only the whole run is held to the rate there).
        assert posts[-1].time - posts[0].time >= 0.05 * (len(users) - 1) * 0.95
        assert slack.violations == []
        assert sorted(m.user for m in slack.messages if m.user) == sorted(users)
