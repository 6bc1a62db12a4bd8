"""The summarizer: an LLM writes the reflection from one person's facts, or the template does.

The I/O edge around ``bot.domain.prompt`` and ``bot.domain.grounding``. It calls any
OpenAI-compatible chat completions API through the official ``openai`` SDK with a short timeout,
bounded retries of its own (a ``Retry-After`` is honoured only up to ``max_retry_wait``) and a
circuit breaker, and it falls back to the deterministic template whenever the model cannot be
asked, fails, answers malformed output, or writes a number the facts do not support. The tokens
a call spent are reported even when its text is thrown away.

One ``Summarizer`` serves one digest run: the breaker's count lives in the instance.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, cast
from urllib.parse import urlsplit

import openai
from openai.types.chat import ChatCompletion

from bot.domain.facts import Facts
from bot.domain.grounding import check_grounding
from bot.domain.prompt import (
    BYTES_PER_TOKEN,
    MAX_OUTPUT_TOKENS,
    build_messages,
    estimate_tokens,
    fits_budget,
)
from bot.observability import metrics

if TYPE_CHECKING:
    import httpx

    from bot.settings import Settings

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://api.openai.com/v1"
DEFAULT_TIMEOUT = 15.0
TEMPERATURE = 0.3
RETRY_DELAY = 0.5  # before the first retry of a 5xx or a timeout; doubled after
CIRCUIT_OPEN = "circuit open"

Writer = Literal["llm", "template"]
TokenParam = Literal["max_tokens", "max_completion_tokens"]

# Errors after which every further call would fail the same way: open the breaker at once.
_PERMANENT = (openai.AuthenticationError, openai.PermissionDeniedError, openai.NotFoundError)
_RETRYABLE_STATUS = frozenset({408, 409, 429})
_REASONING_PREFIXES = ("o1", "o3", "o4", "gpt-5")


@dataclass(frozen=True)
class Reflection:
    """What a digest shows as its reflection, who wrote it, and what writing it cost."""

    text: str
    writer: Writer = "template"
    input_tokens: int = 0
    output_tokens: int = 0
    reason: str | None = None


class _CallFailed(Exception):
    """A chat completion could not be obtained; ``kind`` names why (for logs and reasons)."""

    def __init__(self, kind: str, *, permanent: bool = False) -> None:
        super().__init__(kind)
        self.kind = kind
        self.permanent = permanent


@dataclass(frozen=True)
class _Answer:
    text: str | None
    problem: str | None  # why the answer is malformed, if it is
    input_tokens: int
    output_tokens: int


class Summarizer:
    """Writes reflections with an LLM when it can, with the template when it cannot."""

    def __init__(
        self,
        api_key: str | None,
        base_url: str | None,
        model: str,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        max_retries: int = 1,
        breaker_threshold: int = 3,
        http_client: httpx.Client | None = None,
        max_retry_wait: float = 5.0,
        token_param: TokenParam | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        """No ``api_key`` disables the summarizer (every reflection is the template).

        ``token_param`` None picks ``max_completion_tokens`` for OpenAI's own API and
        ``max_tokens`` (which every OpenAI-compatible server reads) for any other base URL.
        ``http_client`` (httpx or httpx2) is owned from then on: ``close()`` closes it.
        """
        self.model = model
        self.max_retries = max(0, max_retries)
        self.breaker_threshold = max(1, breaker_threshold)
        self.max_retry_wait = max_retry_wait
        self.token_param: TokenParam = token_param or _token_param_for(base_url)
        self._sleep = sleep
        self._failures = 0
        self._open = False
        self._logged: set[str] = set()
        self._client: openai.OpenAI | None = None
        if api_key:
            self._client = openai.OpenAI(
                api_key=api_key,
                base_url=base_url or DEFAULT_BASE_URL,
                timeout=timeout,
                max_retries=0,  # retried here, so that a long Retry-After cannot stall a run
                http_client=cast(Any, http_client),  # the SDK takes an httpx or httpx2 client
            )

    @classmethod
    def from_settings(cls, settings: Settings, **options: Any) -> Summarizer:
        return cls(
            settings.openai_api_key,
            settings.openai_base_url,
            settings.openai_model,
            **options,
        )

    # State ---------------------------------------------------------------------------------

    @property
    def enabled(self) -> bool:
        return self._client is not None

    @property
    def circuit_open(self) -> bool:
        return self._open

    def close(self) -> None:
        if self._client is not None:
            self._client.close()

    def __enter__(self) -> Summarizer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "disabled" if not self.enabled else "open" if self._open else "closed"
        return f"Summarizer(model={self.model!r}, circuit={state})"

    # Writing -------------------------------------------------------------------------------

    def write(
        self, facts: Facts, *, first_name: str | None, week_label: str, template_text: str
    ) -> Reflection:
        """The reflection for one person-week; ``template_text`` whenever the LLM's is unusable."""
        if self._client is None:
            return Reflection(template_text, reason="no OpenAI API key")
        if self._open:
            return Reflection(template_text, reason=CIRCUIT_OPEN)
        messages = build_messages(facts, first_name=first_name, week_label=week_label)
        if not fits_budget(messages):
            return Reflection(
                template_text, reason=f"prompt over budget ({estimate_tokens(messages)} tokens)"
            )
        try:
            answer = self._complete(self._client, messages)
        except _CallFailed as failure:
            self._record_failure(permanent=failure.permanent)
            return Reflection(template_text, reason=failure.kind)
        metrics.count_summarizer_tokens(answer.input_tokens, answer.output_tokens)
        if answer.problem or answer.text is None:
            self._record_failure(permanent=False)
            self._log_once("malformed", f"summarizer answer unusable: {answer.problem}")
            return self._template(template_text, answer, f"malformed output: {answer.problem}")
        self._failures = 0
        grounding = check_grounding(answer.text, facts)
        if not grounding.ok:
            self._log_once("ungrounded", f"summarizer text rejected: {grounding.reason}")
            return self._template(template_text, answer, f"not grounded: {grounding.reason}")
        return Reflection(
            answer.text,
            writer="llm",
            input_tokens=answer.input_tokens,
            output_tokens=answer.output_tokens,
        )

    @staticmethod
    def _template(template_text: str, answer: _Answer, reason: str) -> Reflection:
        return Reflection(
            template_text,
            input_tokens=answer.input_tokens,
            output_tokens=answer.output_tokens,
            reason=reason,
        )

    def _record_failure(self, *, permanent: bool) -> None:
        self._failures += 1
        if permanent or self._failures >= self.breaker_threshold:
            if not self._open:
                log.warning(
                    "summarizer circuit open after %d failure(s); the template writes the rest",
                    self._failures,
                )
            self._open = True

    def _log_once(self, kind: str, message: str, *, exc_info: bool = False) -> None:
        if kind not in self._logged:
            self._logged.add(kind)
            log.warning(message, exc_info=exc_info)

    # Calling -------------------------------------------------------------------------------

    def _complete(self, client: openai.OpenAI, messages: list[dict[str, str]]) -> _Answer:
        """One chat completion with bounded retries; raises ``_CallFailed``."""
        attempt = 0
        while True:
            try:
                completion = client.chat.completions.create(**self._request(messages))
            except openai.APIStatusError as exc:
                wait = self._retry_wait(exc, attempt)
                if wait is None:
                    raise self._failed(_status_kind(exc), exc) from None
            except openai.APIConnectionError as exc:  # includes APITimeoutError
                wait = self._retry_wait(exc, attempt)
                if wait is None:
                    raise self._failed(_connection_kind(exc), exc) from None
            except Exception as exc:  # anything else the SDK raises, e.g. a body that is not JSON
                raise self._failed("malformed output: unreadable response", exc) from None
            else:
                return _read_answer(completion, messages)
            attempt += 1
            self._sleep(wait)

    def _request(self, messages: list[dict[str, str]]) -> dict[str, Any]:
        request: dict[str, Any] = {
            "model": self.model,
            "messages": messages,
            self.token_param: MAX_OUTPUT_TOKENS,
            "n": 1,
        }
        if not self.model.startswith(_REASONING_PREFIXES):  # they accept only the default
            request["temperature"] = TEMPERATURE
        return request

    def _retry_wait(self, exc: openai.APIError, attempt: int) -> float | None:
        """Seconds to wait before retrying ``exc``, or None to give up."""
        if attempt >= self.max_retries:
            return None
        if isinstance(exc, openai.APIStatusError):
            status = exc.status_code
            if (status not in _RETRYABLE_STATUS and status < 500) or _out_of_quota(exc):
                return None
            retry_after = _retry_after(exc)
            if retry_after is not None:
                return retry_after if retry_after <= self.max_retry_wait else None
        return min(RETRY_DELAY * 2.0**attempt, self.max_retry_wait)

    def _failed(self, kind: str, exc: Exception) -> _CallFailed:
        self._log_once(kind, f"summarizer call failed ({kind}); using the template", exc_info=True)
        permanent = isinstance(exc, _PERMANENT) or (
            isinstance(exc, openai.APIStatusError) and _out_of_quota(exc)
        )
        return _CallFailed(kind, permanent=permanent)


# Helpers -------------------------------------------------------------------------------------


def _token_param_for(base_url: str | None) -> TokenParam:
    host = urlsplit(base_url).hostname if base_url else "api.openai.com"
    return "max_completion_tokens" if host == "api.openai.com" else "max_tokens"


def _out_of_quota(exc: openai.APIStatusError) -> bool:
    """OpenAI answers 429 ``insufficient_quota`` when billing, not pacing, is the problem."""
    return exc.status_code == 429 and exc.code == "insufficient_quota"


def _status_kind(exc: openai.APIStatusError) -> str:
    if _out_of_quota(exc):
        return "out of quota"
    if isinstance(exc, openai.RateLimitError):
        return "rate limited"
    if isinstance(exc, openai.AuthenticationError):
        return "authentication failed"
    if exc.status_code >= 500:
        return f"server error {exc.status_code}"
    return f"request refused {exc.status_code}"


def _connection_kind(exc: openai.APIConnectionError) -> str:
    return "timeout" if isinstance(exc, openai.APITimeoutError) else "connection error"


def _retry_after(exc: openai.APIStatusError) -> float | None:
    headers = exc.response.headers
    for name, divisor in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        value = headers.get(name)
        if value is None:
            continue
        try:
            seconds = float(value) / divisor
        except ValueError:
            continue
        if math.isfinite(seconds) and seconds >= 0:
            return seconds
    return None


def _read_answer(completion: object, messages: list[dict[str, str]]) -> _Answer:
    """The text and token usage of a completion, or why it cannot be used."""
    if not isinstance(completion, ChatCompletion):
        return _Answer(None, "not a chat completion", 0, 0)
    input_tokens, output_tokens = _usage(completion, messages)
    choices = getattr(completion, "choices", None) or []
    if not choices:
        return _Answer(None, "no choices", input_tokens, output_tokens)
    choice = choices[0]
    message = getattr(choice, "message", None)
    content = getattr(message, "content", None)
    text = content.strip().strip('"').strip() if isinstance(content, str) else ""
    finish_reason = getattr(choice, "finish_reason", None)
    if finish_reason == "length":
        return _Answer(None, "cut off at the token limit", input_tokens, output_tokens)
    if finish_reason == "content_filter":
        return _Answer(None, "withheld by a content filter", input_tokens, output_tokens)
    if not text:
        return _Answer(None, "empty content", input_tokens, output_tokens)
    return _Answer(text, None, input_tokens, output_tokens)


def _usage(completion: ChatCompletion, messages: list[dict[str, str]]) -> tuple[int, int]:
    """Tokens spent as the server reports them; estimated when it does not."""
    usage = getattr(completion, "usage", None)
    prompt = getattr(usage, "prompt_tokens", None)
    output = getattr(usage, "completion_tokens", None)
    if not isinstance(prompt, int):
        prompt = estimate_tokens(messages)
    if not isinstance(output, int):
        output = _estimate_output(completion)
    return prompt, output


def _estimate_output(completion: ChatCompletion) -> int:
    total = 0
    for choice in getattr(completion, "choices", None) or []:
        content = getattr(getattr(choice, "message", None), "content", None)
        if isinstance(content, str):
            total += math.ceil(len(content.encode("utf-8")) / BYTES_PER_TOKEN)
    return total
