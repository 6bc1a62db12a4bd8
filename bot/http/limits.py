"""What every route may read before it knows who is asking: a capped body, within a deadline.

Bodies are streamed and counted as they arrive; past the limit the request is refused with 413
before more is read (a declared ``Content-Length`` over the limit is refused unread), so an
unauthenticated sender cannot make the server buffer more than the limit. A body that does not
arrive within the body timeout is refused with 408, so a slow sender cannot hold a worker.
"""

from __future__ import annotations

import asyncio

from fastapi import Request

from bot.errors import PayloadError, PayloadTooLargeError
from bot.http.deadlines import deadlines


class BodyTimeoutError(PayloadError):
    """The body did not arrive within the body timeout (HTTP 408)."""


async def read_limited(request: Request, limit: int, timeout: float | None = None) -> bytes:
    """The body, refusing more than ``limit`` bytes, or a body slower than ``timeout`` seconds.

    The limit holds whatever ``Content-Length`` claims, and when there is none (chunked). The
    body is read from the ASGI channel itself (``request.stream()`` wraps it in a generator per
    request): read it here and nowhere else.
    """
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLargeError(f"body is {declared} bytes; the limit is {limit}")
    receive = request.receive
    chunks: list[bytes] = []
    size = 0
    task = asyncio.current_task()
    assert task is not None
    expired = False

    def expire() -> None:
        nonlocal expired
        expired = True
        task.cancel()

    watch = deadlines()
    if timeout is not None:
        watch.arm(task, timeout, expire)
    try:
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise PayloadError("the body ended early: the client disconnected")
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise PayloadTooLargeError(f"body is over the limit of {limit} bytes")
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
    except asyncio.CancelledError:
        if not expired:
            raise
        task.uncancel()
        raise BodyTimeoutError(
            f"the body did not arrive within {timeout:g} seconds; send it faster or smaller"
        ) from None
    finally:
        watch.disarm(task)
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)
