"""The summarizer against a fake OpenAI-compatible server on loopback."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator

import httpx
import pytest

from bot.digest.summarizer import CIRCUIT_OPEN, Reflection, Summarizer
from bot.domain.facts import Facts, ToolUsage
from bot.domain.prompt import MAX_INPUT_TOKENS, MAX_OUTPUT_TOKENS, estimate_tokens
from bot.settings import load_settings
from fakes.openai_api import MALFORMED_KINDS, FakeOpenAI, MalformedKind
from tests.support.facts import ana_week

MODEL = "gpt-4.1-mini"
LABEL = "Nov 16–22"
TEMPLATE = "42 artifacts created, 4 viewed by others, 1 used. What would you build again?"
GROUNDED = (
    "Your two reports were read by 14 colleagues, while 38 of your 40 dashboards stayed "
    "unopened. 1.9M tokens ($23). Which dashboard would you not build again?"
)


@pytest.fixture
def fake() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as server:
        yield server


class Sleeps(list[float]):
    """Records the summarizer's retry waits instead of sleeping them."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def summarizer(fake: FakeOpenAI, sleeps: Sleeps) -> Iterator[Summarizer]:
    with Summarizer(fake.api_key, fake.base_url, MODEL, timeout=0.5, sleep=sleeps) as s:
        yield s


def write(summarizer: Summarizer, facts: Facts | None = None) -> Reflection:
    return summarizer.write(
        facts or ana_week(), first_name="Ana", week_label=LABEL, template_text=TEMPLATE
    )


# Good answers --------------------------------------------------------------------------------


def test_a_grounded_answer_is_used_and_its_tokens_recorded(
    fake: FakeOpenAI, summarizer: Summarizer
) -> None:
    fake.reply(GROUNDED, prompt_tokens=412, completion_tokens=37)
    reflection = write(summarizer)
    assert reflection == Reflection(GROUNDED, "llm", 412, 37, None)
    assert len(fake.requests) == 1


def test_the_request_is_a_chat_completion_within_the_budgets(
    fake: FakeOpenAI, summarizer: Summarizer
) -> None:
    fake.reply(GROUNDED)
    write(summarizer)
    body = fake.requests[0]
    assert body["model"] == MODEL
    assert body["max_tokens"] <= MAX_OUTPUT_TOKENS
    assert 0 <= body["temperature"] <= 0.5
    assert [m["role"] for m in body["messages"]] == ["system", "user"]
    assert estimate_tokens(body["messages"]) <= MAX_INPUT_TOKENS
    assert fake.request_headers[0]["authorization"] == f"Bearer {fake.api_key}"


def test_the_prompt_carries_this_persons_facts_and_nobody_elses(
    fake: FakeOpenAI, summarizer: Summarizer
) -> None:
    ana = ana_week()
    ben = ana_week(user="ben@example.com", viewers=77, by_tool=[ToolUsage("cursor", 5, 0)])
    fake.reply(GROUNDED)
    write(summarizer, ana)
    write(summarizer, ben)
    ana_prompt = json.dumps(fake.requests[0]["messages"])
    assert "ana@example.com" not in ana_prompt
    assert "ben@example.com" not in ana_prompt
    assert "cursor" not in ana_prompt and "77" not in ana_prompt
    user_message = fake.requests[0]["messages"][1]["content"]
    facts_json = json.loads(user_message.split("(JSON): ", 1)[1])
    expected = ana.to_json()
    del expected["user"]
    del expected["artifacts"]["ai"]  # nothing in the organisation is marked AI-assisted
    assert facts_json == expected


def test_big_facts_still_fit_the_input_budget(fake: FakeOpenAI, summarizer: Summarizer) -> None:
    tools = [
        ToolUsage(f"assistant-{i:03d}-with-a-rather-long-name", 1_000 + i, i) for i in range(300)
    ]
    fake.reply("You tried many tools this week. Which one would you keep?")
    reflection = write(summarizer, ana_week(by_tool=tools))
    assert reflection.writer == "llm"
    assert estimate_tokens(fake.requests[0]["messages"]) <= MAX_INPUT_TOKENS


def test_openai_gets_max_completion_tokens_and_other_servers_max_tokens(fake: FakeOpenAI) -> None:
    assert Summarizer("sk-x", None, MODEL).token_param == "max_completion_tokens"
    assert (
        Summarizer("sk-x", "https://api.openai.com/v1", MODEL).token_param
        == "max_completion_tokens"
    )
    assert Summarizer("sk-x", fake.base_url, MODEL).token_param == "max_tokens"
    fake.reply(GROUNDED)
    with Summarizer(
        fake.api_key, fake.base_url, MODEL, token_param="max_completion_tokens"
    ) as summarizer:
        assert write(summarizer).writer == "llm"
    assert fake.requests[0]["max_completion_tokens"] == MAX_OUTPUT_TOKENS
    assert "max_tokens" not in fake.requests[0]


def test_reasoning_models_get_no_temperature(fake: FakeOpenAI) -> None:
    fake.reply(GROUNDED)
    with Summarizer(fake.api_key, fake.base_url, "o4-mini") as summarizer:
        write(summarizer)
    assert "temperature" not in fake.requests[0]


def test_an_injected_http_client_is_used(fake: FakeOpenAI) -> None:
    """The SDK's ``http_client`` seam: an httpx client with a mock transport, no server."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        completion = {
            "id": "chatcmpl-mock",
            "object": "chat.completion",
            "created": 0,
            "model": MODEL,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": GROUNDED},
                    "finish_reason": "stop",
                }
            ],
            "usage": {"prompt_tokens": 400, "completion_tokens": 40, "total_tokens": 440},
        }
        return httpx.Response(200, json=completion)

    client = httpx.Client(transport=httpx.MockTransport(handler))
    with Summarizer("sk-mock", "http://llm.invalid/v1", MODEL, http_client=client) as summarizer:
        reflection = write(summarizer)
    assert reflection.writer == "llm"
    assert reflection.input_tokens == 400
    assert str(seen[0].url) == "http://llm.invalid/v1/chat/completions"
    assert fake.requests == []


# Falling back to the template ----------------------------------------------------------------


def test_no_api_key_means_the_template_and_no_request(fake: FakeOpenAI) -> None:
    with Summarizer(None, fake.base_url, MODEL) as summarizer:
        assert not summarizer.enabled
        reflection = write(summarizer)
    assert reflection == Reflection(TEMPLATE, "template", 0, 0, "no OpenAI API key")
    assert fake.requests == []


def test_from_settings(fake: FakeOpenAI) -> None:
    settings = load_settings(
        env_file=None,
        openai_api_key=fake.api_key,
        openai_base_url=fake.base_url,
        openai_model="gpt-4.1-nano",
    )
    fake.reply(GROUNDED)
    with Summarizer.from_settings(settings, timeout=0.5) as summarizer:
        assert write(summarizer).writer == "llm"
    assert fake.requests[0]["model"] == "gpt-4.1-nano"
    with Summarizer.from_settings(load_settings(env_file=None)) as summarizer:
        assert not summarizer.enabled


def test_invented_numbers_fall_back_but_the_tokens_spent_are_recorded(
    fake: FakeOpenAI, summarizer: Summarizer
) -> None:
    fake.reply_invented()
    reflection = write(summarizer)
    assert reflection.text == TEMPLATE
    assert reflection.writer == "template"
    assert reflection.input_tokens > 0 and reflection.output_tokens > 0
    assert reflection.reason is not None and reflection.reason.startswith("not grounded")
    assert "9,431" not in reflection.text


def test_a_server_error_falls_back_after_one_retry(
    fake: FakeOpenAI, summarizer: Summarizer, sleeps: Sleeps
) -> None:
    fake.fail(500)
    reflection = write(summarizer)
    assert reflection == Reflection(TEMPLATE, "template", 0, 0, "server error 500")
    assert len(fake.requests) == 2
    assert sleeps == [0.5]


def test_a_server_error_then_an_answer_succeeds(fake: FakeOpenAI, summarizer: Summarizer) -> None:
    fake.fail(503, once=True).reply(GROUNDED)
    assert write(summarizer).writer == "llm"
    assert len(fake.requests) == 2


def test_a_rate_limit_is_retried_once_after_retry_after(
    fake: FakeOpenAI, summarizer: Summarizer, sleeps: Sleeps
) -> None:
    fake.rate_limit(retry_after=2, once=True).reply(GROUNDED)
    assert write(summarizer).writer == "llm"
    assert len(fake.requests) == 2
    assert sleeps == [2.0]


def test_a_rate_limit_that_persists_falls_back(
    fake: FakeOpenAI, summarizer: Summarizer, sleeps: Sleeps
) -> None:
    fake.rate_limit(retry_after=1)
    reflection = write(summarizer)
    assert (reflection.writer, reflection.reason) == ("template", "rate limited")
    assert len(fake.requests) == 2  # bounded: one retry
    assert sleeps == [1.0]


def test_a_long_retry_after_is_not_waited_for(
    fake: FakeOpenAI, summarizer: Summarizer, sleeps: Sleeps
) -> None:
    fake.rate_limit(retry_after=60)
    assert write(summarizer).reason == "rate limited"
    assert len(fake.requests) == 1
    assert sleeps == []


def test_real_waits_are_short_without_an_injected_sleep(fake: FakeOpenAI) -> None:
    fake.rate_limit(retry_after=0.2, once=True).reply(GROUNDED)
    started = time.monotonic()
    with Summarizer(fake.api_key, fake.base_url, MODEL, timeout=0.5) as summarizer:
        assert write(summarizer).writer == "llm"
    assert 0.2 <= time.monotonic() - started < 2


def test_out_of_quota_opens_the_circuit_at_once(fake: FakeOpenAI, summarizer: Summarizer) -> None:
    fake.rate_limit(quota=True)
    assert write(summarizer).reason == "out of quota"
    assert summarizer.circuit_open
    assert write(summarizer).reason == CIRCUIT_OPEN
    assert len(fake.requests) == 1


def test_a_hang_falls_back_within_the_short_timeout(
    fake: FakeOpenAI, summarizer: Summarizer
) -> None:
    fake.hang(30)
    started = time.monotonic()
    reflection = write(summarizer)
    elapsed = time.monotonic() - started
    assert (reflection.writer, reflection.reason) == ("template", "timeout")
    assert len(fake.requests) == 2
    assert elapsed < 3  # two attempts of 0.5 s; the wait between them is not slept here


def test_a_slow_answer_within_the_timeout_is_used(fake: FakeOpenAI) -> None:
    fake.hang(0.2, once=True).reply(GROUNDED)
    with Summarizer(fake.api_key, fake.base_url, MODEL, timeout=2) as summarizer:
        assert write(summarizer).writer == "llm"


def test_a_hanging_server_shuts_down_promptly() -> None:
    with FakeOpenAI() as fake:
        fake.hang(60)
        with Summarizer(fake.api_key, fake.base_url, MODEL, timeout=0.3, max_retries=0) as s:
            write(s)
        started = time.monotonic()
    assert time.monotonic() - started < 2


@pytest.mark.parametrize("kind", MALFORMED_KINDS)
def test_malformed_output_falls_back(
    fake: FakeOpenAI, summarizer: Summarizer, kind: MalformedKind
) -> None:
    fake.malformed(kind)
    reflection = write(summarizer)
    assert reflection.writer == "template"
    assert reflection.text == TEMPLATE
    assert reflection.reason is not None and reflection.reason.startswith("malformed output")
    assert len(fake.requests) == 1  # a malformed 200 is not retried
    if kind not in ("not_json", "html"):  # a completion object with usage: tokens were spent
        assert reflection.input_tokens > 0


def test_an_answer_cut_at_the_token_limit_is_malformed(
    fake: FakeOpenAI, summarizer: Summarizer
) -> None:
    fake.reply("word " * 400 + "?")
    reflection = write(summarizer)
    assert reflection.reason == "malformed output: cut off at the token limit"
    assert reflection.output_tokens == MAX_OUTPUT_TOKENS


def test_an_overlong_prompt_uses_the_template_without_a_call(
    fake: FakeOpenAI, summarizer: Summarizer
) -> None:
    nudges = [{"rule": f"rule_number_{i}_with_a_long_name", "level": "info"} for i in range(300)]
    reflection = write(summarizer, ana_week(nudges=nudges))
    assert reflection.writer == "template"
    assert reflection.reason is not None and reflection.reason.startswith("prompt over budget")
    assert fake.requests == []


# The circuit breaker ---------------------------------------------------------------------------


def test_the_breaker_stops_calling_after_three_failures(
    fake: FakeOpenAI, summarizer: Summarizer
) -> None:
    fake.fail(500)
    reasons = [write(summarizer).reason for _ in range(6)]
    assert reasons == ["server error 500"] * 3 + [CIRCUIT_OPEN] * 3
    assert len(fake.requests) == 3 * (1 + 1)
    assert summarizer.circuit_open


def test_the_breaker_counts_timeouts_and_the_threshold_is_settable(fake: FakeOpenAI) -> None:
    fake.hang(30)
    with Summarizer(
        fake.api_key, fake.base_url, MODEL, timeout=0.3, max_retries=0, breaker_threshold=2
    ) as summarizer:
        reasons = [write(summarizer).reason for _ in range(4)]
    assert reasons == ["timeout", "timeout", CIRCUIT_OPEN, CIRCUIT_OPEN]
    assert len(fake.requests) == 2


def test_a_success_resets_the_count(fake: FakeOpenAI) -> None:
    fake.fail(500, once=True).fail(500, once=True).reply(GROUNDED)
    with Summarizer(fake.api_key, fake.base_url, MODEL, max_retries=0) as summarizer:
        assert [write(summarizer).writer for _ in range(3)] == ["template", "template", "llm"]
        fake.fail(500)
        write(summarizer)
        write(summarizer)
        assert not summarizer.circuit_open  # two failures since the last success
        write(summarizer)
        assert summarizer.circuit_open


def test_grounding_rejections_do_not_open_the_circuit(
    fake: FakeOpenAI, summarizer: Summarizer
) -> None:
    fake.reply_invented()
    for _ in range(5):
        assert write(summarizer).reason is not None
    assert not summarizer.circuit_open
    assert len(fake.requests) == 5


def test_a_wrong_key_opens_the_circuit_and_is_never_logged(
    fake: FakeOpenAI, caplog: pytest.LogCaptureFixture
) -> None:
    secret = "sk-wrong-key-9f8e7d6c5b4a39281706"
    caplog.set_level(logging.DEBUG)
    with Summarizer(secret, fake.base_url, MODEL, timeout=0.5) as summarizer:
        assert write(summarizer).reason == "authentication failed"
        assert write(summarizer).reason == CIRCUIT_OPEN
        assert secret not in repr(summarizer)
    assert len(fake.requests) == 1
    assert secret not in caplog.text
    assert secret not in "".join(str(r.exc_info) for r in caplog.records)


def test_each_kind_of_failure_is_logged_once_with_its_traceback(
    fake: FakeOpenAI, caplog: pytest.LogCaptureFixture
) -> None:
    fake.fail(500)
    caplog.set_level(logging.WARNING, logger="bot.digest.summarizer")
    with Summarizer(
        fake.api_key, fake.base_url, MODEL, max_retries=0, breaker_threshold=5, sleep=Sleeps()
    ) as summarizer:
        for _ in range(4):
            write(summarizer)
    failures = [r for r in caplog.records if "server error 500" in r.getMessage()]
    assert len(failures) == 1
    assert failures[0].exc_info is not None
    assert fake.api_key not in caplog.text


def test_the_completion_text_is_never_logged(
    fake: FakeOpenAI, summarizer: Summarizer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    fake.reply_invented()
    write(summarizer)
    assert "9,431" not in caplog.text
