"""One timer per event loop for the server's deadlines: what is due fires, on time, once; what
is disarmed never does; the body read tells its own deadline from someone else's cancel."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from starlette.requests import Request

from bot.http.deadlines import Deadlines, deadlines
from bot.http.limits import BodyTimeoutError, read_limited

# Seconds a busy machine may add to any timer: still well short of the 1 s check interval that
# a deadline left to the longest one's check would wait for.
SLACK = 0.3


def test_due_deadlines_fire_once_within_a_quarter_of_their_length() -> None:
    async def scenario() -> dict[str, float]:
        loop = asyncio.get_running_loop()
        watch = deadlines()
        assert deadlines() is watch  # one per loop
        started = loop.time()
        fired: dict[str, float] = {}

        def at(name: str) -> Any:
            return lambda: fired.setdefault(name, loop.time() - started)

        watch.arm("short", 0.2, at("short"))
        watch.arm("disarmed", 0.1, at("disarmed"))
        watch.arm("moved", 0.1, at("moved"))
        watch.arm("moved", 0.4, at("moved"))  # armed again: the later deadline holds
        watch.disarm("disarmed")
        await asyncio.sleep(0.7)
        assert len(watch) == 0
        return fired

    fired = asyncio.run(scenario())
    assert set(fired) == {"short", "moved"}
    assert 0.2 <= fired["short"] <= 0.2 + 0.2 / 4 + SLACK
    assert 0.4 <= fired["moved"] <= 0.4 + 0.4 / 4 + SLACK


def test_a_shorter_deadline_is_not_held_up_by_the_check_of_longer_ones() -> None:
    async def scenario() -> float:
        loop = asyncio.get_running_loop()
        watch = Deadlines(loop)
        started = loop.time()
        fired: list[float] = []
        watch.arm("long", 30, lambda: None)  # checked once a second
        watch.arm("short", 0.2, lambda: fired.append(loop.time() - started))
        await asyncio.sleep(0.4)
        watch.disarm("long")
        return fired[0]

    assert asyncio.run(scenario()) <= 0.2 + 0.2 / 4 + SLACK


def test_a_failing_callback_does_not_stop_the_others() -> None:
    async def scenario() -> tuple[list[str], list[dict[str, Any]]]:
        loop = asyncio.get_running_loop()
        reported: list[dict[str, Any]] = []
        loop.set_exception_handler(lambda _loop, context: reported.append(context))
        watch = Deadlines(loop)
        fired: list[str] = []

        def fail() -> None:
            raise RuntimeError("broken callback")

        watch.arm("first", 0.05, fail)
        watch.arm("second", 0.05, lambda: fired.append("second"))
        await asyncio.sleep(0.2)
        return fired, reported

    fired, reported = asyncio.run(scenario())
    assert fired == ["second"]
    assert [str(context["exception"]) for context in reported] == ["broken callback"]


def stalled_request() -> Request:
    """A request whose body never arrives."""

    async def receive() -> dict[str, Any]:
        await asyncio.sleep(3600)
        raise AssertionError("unreachable")

    scope = {"type": "http", "method": "POST", "headers": [(b"content-length", b"10")]}
    return Request(scope, receive)


def test_a_body_past_its_deadline_is_refused_and_the_task_is_not_left_cancelled() -> None:
    async def scenario() -> int:
        with pytest.raises(BodyTimeoutError, match=r"within 0\.1 seconds"):
            await read_limited(stalled_request(), 1024, timeout=0.1)
        task = asyncio.current_task()
        assert task is not None
        await asyncio.sleep(0)  # a cancel left pending would be raised here
        return task.cancelling()

    assert asyncio.run(scenario()) == 0


def test_a_cancel_from_elsewhere_stays_a_cancel() -> None:
    async def scenario() -> None:
        reading = asyncio.create_task(read_limited(stalled_request(), 1024, timeout=30))
        await asyncio.sleep(0.05)
        reading.cancel()
        with pytest.raises(asyncio.CancelledError):
            await reading
        assert len(deadlines()) == 0  # its deadline went with it

    asyncio.run(scenario())
