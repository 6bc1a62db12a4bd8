"""How ``ai-roi serve`` runs the HTTP app: uvicorn with connection limits.

Slow or idle clients must not starve the others:

- ``HTTP_MAX_CONNECTIONS`` caps open connections; a request beyond it gets 503 at once.
- ``HTTP_HEADER_TIMEOUT_SECONDS``: a connection must deliver a complete request head within
  this time of opening, or of its previous response; else it is closed. (uvicorn drops idle
  keep-alive connections, but not one that sends a byte and stops, nor one that never sends.)
- ``HTTP_BODY_TIMEOUT_SECONDS``: the whole body must arrive within this time (408), enforced
  where bodies are read (``bot.http.limits``).
- ``HTTP_KEEP_ALIVE_SECONDS``: an idle keep-alive connection is closed after this time.
"""

from __future__ import annotations

import asyncio
import gc
from typing import Any

import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from bot.http.deadlines import deadlines
from bot.settings import Settings

try:  # uvicorn's C parser when installed (a third less CPU per request), else h11
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol as _BaseProtocol
except ImportError:  # pragma: no cover - httptools is a dependency; kept for odd platforms
    _BaseProtocol = H11Protocol  # type: ignore[assignment,misc]


class HeaderDeadlineProtocol(_BaseProtocol):
    """uvicorn's HTTP protocol, closing a connection whose request head is late."""

    header_timeout: float = 10.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._deadlines = deadlines(self.loop)
        self._head_armed = False
        self._waiting_after: object = None  # the cycle before the request we wait for

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self._head_armed and self.cycle is not self._waiting_after:
            self._disarm()  # a new request's head is complete: its body has its own timeout

    def on_response_complete(self) -> None:
        super().on_response_complete()
        cycle = self.cycle
        # Unless a pipelined request started meanwhile, wait for the next request's head.
        if not self.transport.is_closing() and cycle is not None and cycle.response_complete:
            self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        self._waiting_after = self.cycle
        self._head_armed = True
        self._deadlines.arm(self, self.header_timeout, self._head_too_late)

    def _disarm(self) -> None:
        if self._head_armed:
            self._head_armed = False
            self._deadlines.disarm(self)

    def _head_too_late(self) -> None:
        self._head_armed = False
        if self.cycle is self._waiting_after and not self.transport.is_closing():
            self.transport.close()


def protocol_with_header_timeout(seconds: float) -> type[HeaderDeadlineProtocol]:
    """``HeaderDeadlineProtocol`` with its timeout set (uvicorn builds protocols itself)."""
    return type(
        "HeaderDeadlineProtocol", (HeaderDeadlineProtocol,), {"header_timeout": float(seconds)}
    )


def server_config(app: Any, settings: Settings, *, host: str, port: int) -> uvicorn.Config:
    """The uvicorn configuration of ``ai-roi serve`` (and of the tests that serve the app)."""
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=settings.log_level.lower(),
        log_config=None,  # uvicorn's lines go through bot.observability.logs' handler
        http=protocol_with_header_timeout(settings.http_header_timeout_seconds),
        limit_concurrency=settings.http_max_connections,
        timeout_keep_alive=settings.http_keep_alive_seconds,
        lifespan="on",
    )


def serve_forever(config: uvicorn.Config) -> None:
    """Run uvicorn with ``config`` until it is stopped, with the cycle collector set for a
    long-running server (``collector_for_serving``)."""
    collector_for_serving()
    uvicorn.Server(config).run()


# Allocations, net of frees, between two collections of the youngest generation (Python's
# default is 700). The objects of requests under way are alive at every collection: the more
# often it runs, the more often they are walked; each walk is short either way.
YOUNG_COLLECTION_THRESHOLD = 20_000


def collector_for_serving() -> None:
    """What start-up loaded (modules, the app, the table models) lives as long as the process:
    it is moved out of the cycle collector's reach, which every full collection would otherwise
    walk again. The youngest generation is collected less often. Under steady webhook traffic,
    the two together took the collector from a sixth of the server's CPU to under 1 %."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_COLLECTION_THRESHOLD, *gc.get_threshold()[1:])
