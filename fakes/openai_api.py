"""A fake OpenAI-compatible chat completions API on 127.0.0.1, for tests.

It answers ``POST /v1/chat/completions`` the way OpenAI does: Bearer authentication (401 with
OpenAI's error body on a wrong key), 400 for a missing ``model`` or ``messages``, and a
``chat.completion`` object with ``usage``. What it answers is set per test:

    with FakeOpenAI() as fake:
        fake.reply("…")                     # every request from now on
        fake.rate_limit(retry_after=1, once=True)   # the next request only, then the above
        summarizer = Summarizer(fake.api_key, fake.base_url, "gpt-4.1-mini")
        …
        assert len(fake.requests) == 2

Behaviours: ``reply``, ``reply_invented``, ``fail``, ``rate_limit``, ``hang`` and ``malformed``.
Each sets the standing behaviour, or with ``once=True`` queues a one-shot answer; queued answers
are used first, in order. ``fake.requests`` holds every request body received.
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections import deque
from dataclasses import dataclass, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal

DEFAULT_API_KEY = "sk-test-fake-4f1c9a7e2b6d"
GOOD_TEXT = (
    "Your work was opened by colleagues this week; that is where your tokens paid off. "
    "What would you like to build again next week?"
)
# Numbers no test's facts contain.
INVENTED_TEXT = (
    "You built 9,431 dashboards this week and 87% of them were opened, saving $1,234.56. "
    "What will you build next?"
)
MalformedKind = Literal[
    "not_json", "html", "no_choices", "missing_choices", "empty_content", "null_content", "length"
]
MALFORMED_KINDS: tuple[MalformedKind, ...] = (
    "not_json",
    "html",
    "no_choices",
    "missing_choices",
    "empty_content",
    "null_content",
    "length",
)


@dataclass(frozen=True)
class Behaviour:
    """One way to answer a chat completion request."""

    kind: Literal["reply", "fail", "rate_limit", "hang", "malformed"] = "reply"
    text: str = GOOD_TEXT
    status: int = 500
    retry_after: float = 1.0
    quota: bool = False
    seconds: float = 0.0
    malformed: MalformedKind = "not_json"
    prompt_tokens: int | None = None
    completion_tokens: int | None = None


def openai_error(
    message: str, type_: str, *, param: str | None = None, code: str | None = None
) -> dict[str, Any]:
    """OpenAI's error body."""
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}


def estimate_tokens(text: str) -> int:
    """Roughly four characters a token, as OpenAI's tokenizers average on English."""
    return max(1, math.ceil(len(text) / 4)) if text else 0


class FakeOpenAI:
    """A context manager serving the fake API on a free loopback port."""

    def __init__(self, *, api_key: str = DEFAULT_API_KEY) -> None:
        self.api_key = api_key
        self.requests: list[dict[str, Any]] = []
        self.request_headers: list[dict[str, str]] = []
        self._standing = Behaviour()
        self._script: deque[Behaviour] = deque()
        self._lock = threading.Lock()
        self._released = threading.Event()
        self._counter = 0
        self._server = _Server(self)
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.02,), name="fake-openai", daemon=True
        )

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    def __enter__(self) -> FakeOpenAI:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._released.set()  # wakes any hanging handler
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join(timeout=10)
        self._server.server_close()  # joins the handler threads

    # Behaviours ---------------------------------------------------------------------------

    def reply(
        self,
        text: str = GOOD_TEXT,
        *,
        prompt_tokens: int | None = None,
        completion_tokens: int | None = None,
        once: bool = False,
    ) -> FakeOpenAI:
        """A good answer (``finish_reason`` stop); token counts estimated unless given."""
        return self._set(
            Behaviour(
                "reply", text=text, prompt_tokens=prompt_tokens, completion_tokens=completion_tokens
            ),
            once,
        )

    def reply_invented(self, *, once: bool = False) -> FakeOpenAI:
        """A well-formed answer stating numbers that no test's facts contain."""
        return self._set(Behaviour("reply", text=INVENTED_TEXT), once)

    def fail(self, status: int = 500, *, once: bool = False) -> FakeOpenAI:
        """An error status with OpenAI's error body."""
        return self._set(Behaviour("fail", status=status), once)

    def rate_limit(
        self, retry_after: float = 1, *, quota: bool = False, once: bool = False
    ) -> FakeOpenAI:
        """429 with ``Retry-After``; ``quota=True`` is OpenAI's ``insufficient_quota`` instead."""
        return self._set(Behaviour("rate_limit", retry_after=retry_after, quota=quota), once)

    def hang(self, seconds: float, *, once: bool = False) -> FakeOpenAI:
        """Answer (well) only after ``seconds``; shutting the server down releases it at once."""
        return self._set(Behaviour("hang", seconds=seconds), once)

    def malformed(self, kind: MalformedKind = "not_json", *, once: bool = False) -> FakeOpenAI:
        """A 200 that is not a usable completion (see ``MALFORMED_KINDS``)."""
        if kind not in MALFORMED_KINDS:
            raise ValueError(f"unknown malformed kind {kind!r}; use one of {MALFORMED_KINDS}")
        return self._set(Behaviour("malformed", malformed=kind), once)

    def script(self, *behaviours: Behaviour) -> FakeOpenAI:
        """Queue one-shot answers, used in order before the standing behaviour."""
        with self._lock:
            self._script.extend(behaviours)
        return self

    @property
    def queued(self) -> int:
        with self._lock:
            return len(self._script)

    def _set(self, behaviour: Behaviour, once: bool) -> FakeOpenAI:
        with self._lock:
            if once:
                self._script.append(behaviour)
            else:
                self._standing = behaviour
        return self

    # Used by the handler ------------------------------------------------------------------

    def _record(self, body: dict[str, Any], headers: dict[str, str]) -> None:
        with self._lock:
            self.requests.append(body)
            self.request_headers.append(headers)

    def _next(self) -> tuple[Behaviour, int]:
        with self._lock:
            self._counter += 1
            behaviour = self._script.popleft() if self._script else self._standing
            return behaviour, self._counter

    def _masked_key(self, key: str) -> str:
        return f"{key[:5]}{'*' * 10}{key[-4:]}" if len(key) > 9 else "*" * len(key)


class _Server(ThreadingHTTPServer):
    daemon_threads = False  # server_close() waits for handlers: no socket outlives the test

    def __init__(self, fake: FakeOpenAI) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.fake = fake


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    timeout = 10  # an idle connection never holds a handler thread for long

    def log_message(self, format: str, *args: Any) -> None:  # quiet test output
        return

    def do_POST(self) -> None:
        fake = self.server.fake
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        fake._record(
            body if isinstance(body, dict) else {"_raw": raw.decode("utf-8", "replace")},
            {k.lower(): v for k, v in self.headers.items()},
        )
        problem = self._refusal(fake, body)
        if problem is not None:
            self._json(*problem)
            return
        assert isinstance(body, dict)
        behaviour, number = fake._next()
        self._answer(fake, behaviour, body, number)

    def _refusal(self, fake: FakeOpenAI, body: Any) -> tuple[int, dict[str, Any]] | None:
        """The 404, 401 or 400 OpenAI would answer, if any."""
        if self.path.rstrip("/") != "/v1/chat/completions":
            return 404, openai_error(f"Invalid URL (POST {self.path})", "invalid_request_error")
        auth = self.headers.get("Authorization", "")
        if not auth.startswith("Bearer "):
            message = (
                "You didn't provide an API key. You need to provide your API key in an "
                "Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY)."
            )
            return 401, openai_error(message, "invalid_request_error")
        key = auth.removeprefix("Bearer ").strip()
        if key != fake.api_key:
            message = (
                f"Incorrect API key provided: {fake._masked_key(key)}. You can find your API key "
                "at https://platform.openai.com/account/api-keys."
            )
            return 401, openai_error(message, "invalid_request_error", code="invalid_api_key")
        if not isinstance(body, dict):
            message = (
                "We could not parse the JSON body of your request. (HINT: This likely means you "
                "aren't using your HTTP library correctly.)"
            )
            return 400, openai_error(message, "invalid_request_error")
        if not body.get("model"):
            return 400, openai_error("you must provide a model parameter", "invalid_request_error")
        if not isinstance(body.get("messages"), list) or not body["messages"]:
            return 400, openai_error(
                "Missing required parameter: 'messages'.",
                "invalid_request_error",
                param="messages",
                code="missing_required_parameter",
            )
        return None

    def _answer(
        self, fake: FakeOpenAI, behaviour: Behaviour, body: dict[str, Any], number: int
    ) -> None:
        if behaviour.kind == "hang":
            if fake._released.wait(behaviour.seconds):
                self.close_connection = True
                return  # shutting down: drop the connection without an answer
            behaviour = replace(behaviour, kind="reply")
        if behaviour.kind == "fail":
            self._json(behaviour.status, _server_error(behaviour.status))
        elif behaviour.kind == "rate_limit":
            self._rate_limited(behaviour, body)
        elif behaviour.kind == "malformed":
            self._malformed(behaviour.malformed, body, number)
        else:
            self._json(200, _completion(body, behaviour.text, behaviour, number))

    def _rate_limited(self, behaviour: Behaviour, body: dict[str, Any]) -> None:
        if behaviour.quota:
            error = openai_error(
                "You exceeded your current quota, please check your plan and billing details.",
                "insufficient_quota",
                code="insufficient_quota",
            )
        else:
            wait = f"{behaviour.retry_after:g}"
            error = openai_error(
                f"Rate limit reached for {body['model']} in organization org-fake on requests per "
                f"min (RPM): Limit 3, Used 3, Requested 1. Please try again in {wait}s.",
                "requests",
                code="rate_limit_exceeded",
            )
        headers = {"retry-after": f"{behaviour.retry_after:g}", "x-ratelimit-limit-requests": "3"}
        self._json(429, error, headers=headers)

    def _malformed(self, kind: MalformedKind, body: dict[str, Any], number: int) -> None:
        if kind == "not_json":
            self._send(200, b'{"id": "chatcmpl-broken", "choices": [', "application/json")
        elif kind == "html":
            self._send(200, b"<html><body>502 Bad Gateway</body></html>", "text/html")
        else:
            completion = _completion(body, GOOD_TEXT, Behaviour(), number)
            choice = completion["choices"][0]
            if kind == "no_choices":
                completion["choices"] = []
            elif kind == "missing_choices":
                del completion["choices"]
            elif kind == "empty_content":
                choice["message"]["content"] = ""
            elif kind == "null_content":
                choice["message"]["content"] = None
            elif kind == "length":
                choice["message"]["content"] = GOOD_TEXT[:40]
                choice["finish_reason"] = "length"
            self._json(200, completion)

    def _json(
        self, status: int, payload: dict[str, Any], *, headers: dict[str, str] | None = None
    ) -> None:
        self._send(status, json.dumps(payload).encode(), "application/json", headers)

    def _send(
        self, status: int, data: bytes, content_type: str, headers: dict[str, str] | None = None
    ) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Connection", "close")
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)
        except OSError:  # the client gave up (a timeout) before the answer
            pass
        self.close_connection = True


def _server_error(status: int) -> dict[str, Any]:
    if status == 503:
        return openai_error(
            "The engine is currently overloaded, please try again later.", "server_error"
        )
    if status >= 500:
        return openai_error(
            "The server had an error while processing your request. Sorry about that!",
            "server_error",
        )
    return openai_error(f"Request failed with status {status}.", "invalid_request_error")


def _completion(
    body: dict[str, Any], text: str, behaviour: Behaviour, number: int
) -> dict[str, Any]:
    """A ``chat.completion``; cut at the request's token limit like the real API."""
    prompt_text = "".join(
        str(m.get("content", "")) for m in body["messages"] if isinstance(m, dict)
    )
    prompt_tokens = behaviour.prompt_tokens
    if prompt_tokens is None:
        prompt_tokens = estimate_tokens(prompt_text) + 4 * len(body["messages"])
    completion_tokens = behaviour.completion_tokens
    if completion_tokens is None:
        completion_tokens = estimate_tokens(text)
    limit = body.get("max_completion_tokens") or body.get("max_tokens")
    finish_reason = "stop"
    if isinstance(limit, int) and completion_tokens > limit:
        text, completion_tokens, finish_reason = text[: limit * 4], limit, "length"
    return {
        "id": f"chatcmpl-fake{number:06d}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body["model"],
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": text, "refusal": None},
                "logprobs": None,
                "finish_reason": finish_reason,
            }
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
        "system_fingerprint": "fp_fake",
    }
