"""The digest with an LLM writer: grounded text goes out, invented numbers never do, and a
summarizer that is down or hangs does not hold digests back."""

from __future__ import annotations

import io
import json
import time

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.digest.deliverers import ConsoleDeliverer
from bot.digest.run import summarizer_writer
from bot.digest.summarizer import Summarizer
from bot.domain.weeks import Week
from bot.slack.digest_delivery import run_digest
from bot.store.models import Delivery, Person
from fakes.openai_api import FakeOpenAI
from tests.conftest import FROZEN_NOW
from tests.test_digest import UTC_ZONE, load, people

W47 = Week(2026, 47)


def run(engine: Engine, summarizer: Summarizer) -> tuple[str, list[Delivery]]:
    out = io.StringIO()
    run_digest(
        engine,
        people(engine),
        week=W47,
        tz=UTC_ZONE,
        deliverer=ConsoleDeliverer(out),
        now=FROZEN_NOW,
        writer=summarizer_writer(summarizer),
    )
    with Session(engine) as session:
        rows = list(
            session.exec(
                select(Delivery).where(Delivery.status == "preview").order_by(Delivery.person_id)
            )
        )
    return out.getvalue(), rows


def test_grounded_llm_text_is_sent_and_its_tokens_recorded(engine: Engine) -> None:
    load(engine)
    text = "You created 1 dashboard and someone else opened it. What made it worth opening?"
    with FakeOpenAI() as fake:
        fake.reply(text, prompt_tokens=321, completion_tokens=23)
        with Summarizer(fake.api_key, fake.base_url, "gpt-4.1-mini", timeout=2) as summarizer:
            printed, rows = run(engine, summarizer)
        prompts = [json.dumps(r) for r in fake.requests]
    assert printed.count(text) == 2
    assert all(
        r.writer == "llm" and (r.summarizer_input_tokens, r.summarizer_output_tokens) == (321, 23)
        for r in rows
    )
    with Session(engine) as session:
        emails = [p.email for p in session.exec(select(Person))]
    for prompt in prompts:  # each prompt carries one person's facts and nobody's address
        assert not any(email in prompt for email in emails)


def test_invented_numbers_never_reach_a_digest(engine: Engine) -> None:
    load(engine)
    with FakeOpenAI() as fake:
        fake.reply_invented()
        with Summarizer(fake.api_key, fake.base_url, "gpt-4.1-mini", timeout=2) as summarizer:
            printed, rows = run(engine, summarizer)
    assert "1 dashboard created, 1 viewed by others." in printed  # the template
    assert all(r.writer == "template" and r.summarizer_output_tokens > 0 for r in rows)


def test_a_hanging_summarizer_does_not_hold_digests_back(engine: Engine) -> None:
    load(engine)
    with FakeOpenAI() as fake:
        fake.hang(30)
        started = time.monotonic()
        with Summarizer(
            fake.api_key,
            fake.base_url,
            "gpt-4.1-mini",
            timeout=0.5,
            max_retries=0,
            breaker_threshold=1,
        ) as summarizer:
            _printed, rows = run(engine, summarizer)
        elapsed = time.monotonic() - started
    assert len(rows) == 2 and all(r.writer == "template" for r in rows)
    assert len(fake.requests) == 1  # the breaker opened after the first timeout
    assert elapsed < 5
