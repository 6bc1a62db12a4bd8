"""ASGI middleware: an id for every HTTP request, and its answer counted.

The id is the caller's ``X-Request-ID`` when it is sane (1-128 characters of letters, digits and
``-_.:``), else a new one; it is set for the log lines written while the request is served
(``bot.observability.logs.request_id``) and returned in the response's ``X-Request-ID``.
"""

from __future__ import annotations

import itertools
import os
import re
import time
import uuid
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.observability import metrics
from bot.observability.logs import request_id

HEADER = b"x-request-id"
_SANE = re.compile(r"[A-Za-z0-9._:-]{1,128}")
UNMATCHED = "unmatched"
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def sane_request_id(value: str | None) -> str:
    """The caller's id when it is safe to log and echo, else a fresh one."""
    if value is not None and _SANE.fullmatch(value):
        return value
    return f"{_prefix}{next(_numbers):016x}"


# A fresh id is 32 hex digits: 16 random ones drawn once per process, then a counter. Unique
# like a random UUID, without asking the system for random bytes on every request.
_prefix = uuid.uuid4().hex[:16]
_numbers = itertools.count()


def _new_process() -> None:
    global _prefix, _numbers
    _prefix, _numbers = uuid.uuid4().hex[:16], itertools.count()


os.register_at_fork(after_in_child=_new_process)


def route_template(scope: Scope) -> str:
    """The route's path template (``/webhooks/{source}``), never the raw path: a bounded label."""
    route: Any = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else UNMATCHED


class RequestIdMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = None
        for name, value in scope["headers"]:
            if name.lower() == HEADER:
                incoming = value.decode("latin-1")
                break
        rid = sane_request_id(incoming)
        stamp = (HEADER, rid.encode("latin-1"))
        token = request_id.set(rid)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                headers = [pair for pair in message.get("headers", ()) if pair[0].lower() != HEADER]
                headers.append(stamp)
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            # The id stays set: the server's error handler logs this failure after us, in the
            # same task (each request has its own context, so nothing leaks to the next).
            self._count(scope, 500, started)
            raise
        self._count(scope, status, started)
        request_id.reset(token)

    @staticmethod
    def _count(scope: Scope, status: int, started: float) -> None:
        method = scope["method"] if scope["method"] in METHODS else "OTHER"
        metrics.count_response(route_template(scope), method, status, time.perf_counter() - started)
