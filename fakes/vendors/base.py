"""What the fake vendor servers share: a threaded HTTP server on 127.0.0.1:0, a request log,
scripted faults, ``Retry-After`` bookkeeping and opaque cursors that can expire."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    at: float  # time.monotonic() when it arrived
    body: bytes = b""


@dataclass
class Fault:
    status: int
    retry_after: int | None = None
    path: str | None = None  # only requests to this path (prefix); None = any
    message: str = "scripted failure"


@dataclass
class Answer:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


class HttpError(Exception):
    def __init__(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        super().__init__(status)
        self.answer = Answer(status, body, headers or {})


class FakeVendor:
    """Subclasses implement ``authenticate`` (raise ``HttpError``), ``route`` and ``error_body``."""

    name = "vendor"

    def __init__(self) -> None:
        self.requests: list[Request] = []
        self.faults: deque[Fault] = deque()
        self.rate_limit_every: int | None = None  # answer 429 to every n-th request
        self.rate_limit_seconds = 1
        self.early_requests: list[Request] = []  # arrived before a Retry-After had passed
        self._blocked_until = 0.0
        self._served = 0
        self._lock = threading.Lock()
        self._secret = hashlib.sha256(f"{self.name}-{id(self)}".encode()).digest()
        self._cursor_epoch = 0
        self._expire_on_next_cursor = False
        self._server: ThreadingHTTPServer | None = None

    # Test controls ------------------------------------------------------------------------

    def fail(
        self,
        status: int,
        *,
        times: int = 1,
        retry_after: int | None = None,
        path: str | None = None,
        message: str = "scripted failure",
    ) -> None:
        """The next ``times`` requests (to ``path``) answer ``status`` (with ``message``)."""
        for _ in range(times):
            self.faults.append(Fault(status, retry_after, path, message))

    def expire_cursors(self) -> None:
        """Every cursor handed out so far answers 410 from now on."""
        with self._lock:
            self._cursor_epoch += 1

    def expire_next_cursor(self) -> None:
        """The next request that brings a cursor finds every cursor expired (410)."""
        with self._lock:
            self._expire_on_next_cursor = True

    def requests_to(self, path: str) -> list[Request]:
        return [r for r in self.requests if r.path == path]

    # Cursors --------------------------------------------------------------------------------

    def make_cursor(self, state: dict[str, Any]) -> str:
        payload = json.dumps({**state, "epoch": self._cursor_epoch}, sort_keys=True).encode()
        mac = hmac.new(self._secret, payload, hashlib.sha256).digest()[:8]
        return "page_" + base64.urlsafe_b64encode(mac + payload).decode().rstrip("=")

    def read_cursor(self, cursor: str) -> dict[str, Any]:
        """The state of a cursor this server made; 400 if forged, 410 if it expired."""
        try:
            encoded = cursor.removeprefix("page_")
            raw = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
            mac, payload = raw[:8], raw[8:]
            if not hmac.compare_digest(
                mac, hmac.new(self._secret, payload, hashlib.sha256).digest()[:8]
            ):
                raise ValueError
            state: dict[str, Any] = json.loads(payload)
        except ValueError:
            raise HttpError(400, self.error_body(400, "invalid page cursor")) from None
        with self._lock:
            if self._expire_on_next_cursor:
                self._expire_on_next_cursor = False
                self._cursor_epoch += 1
        if state.pop("epoch") != self._cursor_epoch:
            raise HttpError(410, self.error_body(410, "the page cursor has expired; start again"))
        return state

    # Serving --------------------------------------------------------------------------------

    def authenticate(self, request: Request) -> None:
        raise NotImplementedError

    def route(self, request: Request) -> Any:
        raise NotImplementedError

    def error_body(self, status: int, message: str) -> Any:
        raise NotImplementedError

    def handle(self, request: Request) -> Answer:
        with self._lock:
            self.requests.append(request)
            if request.at < self._blocked_until:
                self.early_requests.append(request)
            fault = next(
                (f for f in self.faults if f.path is None or request.path.startswith(f.path)), None
            )
            if fault is not None:
                self.faults.remove(fault)
            self._served += 1
            limited = (
                bool(self.rate_limit_every) and self._served % (self.rate_limit_every or 1) == 0
            )
        try:
            self.authenticate(request)
            if limited:
                fault = Fault(429, self.rate_limit_seconds)
            if fault is not None:
                headers = {}
                if fault.retry_after is not None:
                    headers["Retry-After"] = str(fault.retry_after)
                    with self._lock:
                        self._blocked_until = max(
                            self._blocked_until, request.at + fault.retry_after
                        )
                raise HttpError(fault.status, self.error_body(fault.status, fault.message), headers)
            routed = self.route(request)
            return routed if isinstance(routed, Answer) else Answer(200, routed)
        except HttpError as exc:
            return exc.answer

    def __enter__(self) -> FakeVendor:
        vendor = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self._serve("GET")

            def do_POST(self) -> None:
                self._serve("POST")

            def _serve(self, method: str) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                payload = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                request = Request(
                    method,
                    parts.path,
                    parse_qs(parts.query, keep_blank_values=True),
                    {k.lower(): v for k, v in self.headers.items()},
                    time.monotonic(),
                    payload,
                )
                answer = vendor.handle(request)
                if answer.status == 204:
                    self.send_response(204)
                    self.end_headers()
                    return
                raw = isinstance(answer.body, bytes)
                body = answer.body if raw else json.dumps(answer.body).encode()
                self.send_response(answer.status)
                if "Content-Type" not in answer.headers:
                    self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.shutdown()
        self._server.server_close()

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"


def one(
    request: Request, name: str, error: Callable[[str], HttpError], *, required: bool = False
) -> str | None:
    values = request.query.get(name)
    if not values:
        if required:
            raise error(f"{name} is required")
        return None
    return values[-1]


def integer(
    request: Request,
    name: str,
    error: Callable[[str], HttpError],
    *,
    default: int,
    low: int,
    high: int,
) -> int:
    value = one(request, name, error)
    if value is None:
        return default
    if not value.isdigit() or not low <= int(value) <= high:
        raise error(f"{name} must be an integer from {low} to {high}")
    return int(value)
