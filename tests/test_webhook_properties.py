"""Property tests over HTTP: random and mutated bodies posted to the live app, for every source.

Whatever arrives — random bytes, random JSON, vendor fixtures with values swapped, dropped,
negated, blown up or cut short, under any content type or encoding — the answer is one of
202/400/413/415 with a JSON body, never a 5xx, and every rejected event says why.

One server per test (Hypothesis runs many examples against it), so each source costs one start.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlmodel import Session, func, select

from bot.context import AppContext
from bot.ingest import group_commit as group_commit_module
from bot.ingest.adapters import ADAPTERS, adapter_for
from bot.ingest.signatures import github_signature
from bot.store.db import create_engine
from bot.store.event_rows import PreparedBatch, prepare_batch, time_binder
from bot.store.events import StoreResult
from bot.store.models import Event, Person
from tests.adapters.test_adapter_properties import (
    NDJSON,
    VALID_BODIES,
    _documents,
    _mutate,
    json_values,
)
from tests.conftest import FROZEN_NOW, WEBHOOK_TOKEN, make_settings, serve_app
from tests.helpers import dumps, usage_event

LIMIT = 16 * 1024
GITHUB_SECRET = "github-webhook-secret"
EXAMPLES = 20  # per property; three properties per route
ROUTES = [f"/webhooks/{source}" for source in sorted(ADAPTERS)] + ["/v1/traces"]
ALLOWED = {202, 400, 413, 415}

content_types = st.sampled_from(
    [
        "application/json",
        "application/json; charset=utf-8",
        NDJSON,
        "application/x-protobuf",
        "text/plain",
        None,
    ]
)
encodings = st.sampled_from([None, None, None, "gzip", "gzip-broken", "br"])


def fixtures_for(route: str) -> list[tuple[str, str]]:
    source = "otel" if route == "/v1/traces" else route.rsplit("/", 1)[1]
    return VALID_BODIES[source]


def send(
    client: httpx.Client,
    route: str,
    body: bytes,
    content_type: str | None,
    encoding: str | None,
    pad: bool,
) -> None:
    if pad:
        body += b" " * LIMIT
    headers = {"authorization": f"Bearer {WEBHOOK_TOKEN}"}
    if content_type:
        headers["content-type"] = content_type
    if encoding == "gzip":
        body = gzip.compress(body)
        headers["content-encoding"] = "gzip"
    elif encoding == "gzip-broken":
        body = gzip.compress(body)[: max(1, len(body) // 2)]
        headers["content-encoding"] = "gzip"
    elif encoding:
        headers["content-encoding"] = encoding
    if route == "/webhooks/github":  # GitHub signs its deliveries instead
        del headers["authorization"]
        headers["x-github-event"] = "pull_request"
        headers["x-github-delivery"] = str(uuid.uuid4())
        headers["x-hub-signature-256"] = github_signature(GITHUB_SECRET, body)
    response = client.post(route, content=body, headers=headers)
    check(response)


def check(response: httpx.Response) -> None:
    assert response.status_code in ALLOWED, (response.status_code, response.text)
    assert response.headers["content-type"] == "application/json"
    answer: Any = response.json()
    if response.status_code != 202:
        assert isinstance(answer["error"], str) and answer["error"].strip()
        return
    assert set(answer) == {"accepted", "duplicates", "rejected"}
    assert isinstance(answer["accepted"], int) and answer["accepted"] >= 0
    assert isinstance(answer["duplicates"], int) and answer["duplicates"] >= 0
    for rejection in answer["rejected"]:
        assert isinstance(rejection["index"], int) and rejection["index"] >= 0
        assert isinstance(rejection["error"], str) and rejection["error"].strip()


@pytest.mark.parametrize("route", ROUTES)
def test_no_body_makes_a_5xx(route: str, database_url: str) -> None:
    engine = create_engine(database_url)
    context = AppContext(
        make_settings(
            database_url, webhook_max_body_bytes=LIMIT, github_webhook_secret=GITHUB_SECRET
        ),
        engine,
        lambda: FROZEN_NOW,
    )
    property_settings = settings(max_examples=EXAMPLES, deadline=None, database=None)
    try:
        with serve_app(context) as live:
            client = live.client

            @property_settings
            @given(
                body=st.binary(max_size=400),
                content_type=content_types,
                encoding=encodings,
                pad=st.booleans(),
            )
            def random_bytes(
                body: bytes, content_type: str | None, encoding: str | None, pad: bool
            ) -> None:
                send(client, route, body, content_type, encoding, pad)

            @property_settings
            @given(document=json_values, content_type=content_types, as_lines=st.booleans())
            def random_json(document: Any, content_type: str | None, as_lines: bool) -> None:
                if as_lines and isinstance(document, list):
                    body = "\n".join(json.dumps(item) for item in document).encode()
                else:
                    body = json.dumps(document).encode()
                send(client, route, body, content_type, None, False)

            @property_settings
            @given(data=st.data())
            def mutated_fixtures(data: st.DataObject) -> None:
                text, content_type = data.draw(st.sampled_from(fixtures_for(route)))
                documents = [_mutate(d, data) for d in _documents(text, content_type)]
                if content_type == NDJSON:
                    body = "\n".join(json.dumps(d) for d in documents).encode()
                else:
                    body = json.dumps(documents[0]).encode()
                if data.draw(st.booleans(), label="truncate"):
                    body = body[: data.draw(st.integers(0, len(body)), label="cut")]
                send(client, route, body, content_type, data.draw(encodings), False)

            random_bytes()
            random_json()
            mutated_fixtures()
    finally:
        engine.dispose()


# Concurrent senders share commits; each still gets its own, exact answer ----------------------


def test_concurrent_overlapping_requests_count_every_key_once(
    database_url: str, context: AppContext
) -> None:
    """24 senders at once, each re-sending part of what others send: every key is accepted
    exactly once over all the answers, and stored once."""

    def body(sender: int) -> bytes:
        keys = [f"k{(sender * 3 + i) % 40}" for i in range(6)]  # overlaps its neighbours
        return dumps([usage_event(k, "ana@example.com", "2026-11-18T09:12:00Z") for k in keys])

    headers = {"authorization": f"Bearer {WEBHOOK_TOKEN}", "content-type": "application/json"}
    with serve_app(context) as live:

        def send_one(sender: int) -> dict[str, Any]:
            with httpx.Client(base_url=live.url, timeout=30) as client:
                response = client.post("/webhooks/usage", content=body(sender), headers=headers)
            assert response.status_code == 202, response.text
            answer: dict[str, Any] = response.json()
            return answer

        with ThreadPoolExecutor(24) as pool:
            answers = list(pool.map(send_one, range(24)))
    distinct = {f"k{(s * 3 + i) % 40}" for s in range(24) for i in range(6)}
    assert sum(a["accepted"] for a in answers) == len(distinct)
    assert sum(a["accepted"] + a["duplicates"] for a in answers) == 24 * 6
    with Session(context.engine) as session:
        assert session.exec(select(func.count()).select_from(Event)).one() == len(distinct)


def test_a_request_that_cannot_be_stored_fails_alone(
    context: AppContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When the shared transaction fails, each request is stored in its own; only the bad one
    gets the error, the others their results."""

    def batch(key: str) -> PreparedBatch:
        body = dumps([usage_event(key, "ana@example.com", "2026-11-18T09:12:00Z")])
        events = adapter_for("usage")(body, "application/json").events
        return prepare_batch("usage", events, datetime.now(UTC), time_binder(dialect_name))

    dialect_name = context.engine.dialect.name
    real_write = group_commit_module.write_batches

    def write_batches(session: Any, batches: list[PreparedBatch]) -> Any:
        if len(batches) > 1:
            raise RuntimeError("the shared transaction failed")
        if batches[0].rows[0][1] == "poison":
            raise RuntimeError("this body cannot be stored")
        return real_write(session, batches)

    monkeypatch.setattr(group_commit_module, "write_batches", write_batches)
    group = [
        group_commit_module.Pending(batch(key), lambda _pending: None)
        for key in ("good-1", "poison", "good-2")
    ]
    group_commit_module.GroupCommit(context.engine).store_group(group)
    good_1, poison, good_2 = group
    assert good_1.result is not None and good_1.result.accepted == 1
    assert good_2.result is not None and good_2.result.accepted == 1
    assert poison.result is None and str(poison.error) == "this body cannot be stored"


def test_requests_of_one_commit_get_their_own_counts(context: AppContext) -> None:
    """A shared commit inserts everyone's rows together; each request is still told what became
    of its own events: a key stored before, or sent by a request ahead of it in the same
    commit, is its duplicate, and new emails become people."""
    dialect_name = context.engine.dialect.name

    def batch(*keys_and_emails: tuple[str, str]) -> PreparedBatch:
        body = dumps([usage_event(k, e, "2026-11-18T09:12:00Z") for k, e in keys_and_emails])
        events = adapter_for("usage")(body, "application/json").events
        return prepare_batch("usage", events, datetime.now(UTC), time_binder(dialect_name))

    writer = group_commit_module.GroupCommit(context.engine)
    writer.store_group([group_commit_module.Pending(batch(("old", "ana@example.com")))])
    group = [
        group_commit_module.Pending(batch(("a1", "ana@example.com"), ("a2", "bo@example.com"))),
        group_commit_module.Pending(batch(("a2", "bo@example.com"), ("b1", "cy@example.com"))),
        group_commit_module.Pending(batch(("old", "ana@example.com"))),
    ]
    writer.store_group(group)
    counts = [(p.result.accepted, p.result.duplicates) for p in group if p.result is not None]
    assert counts == [(2, 0), (1, 1), (0, 1)]
    with Session(context.engine) as session:
        rows = session.exec(select(Event.key, Event.actor_value, Event.person_id)).all()
        people = dict(session.exec(select(Person.email, Person.id)).all())
    assert sorted(k for k, _, _ in rows) == ["a1", "a2", "b1", "old"]
    assert set(people) == {"ana@example.com", "bo@example.com", "cy@example.com"}
    assert all(person_id == people[email] for _, email, person_id in rows)


def test_a_commit_wakes_each_event_loop_once() -> None:
    """The writer settles the futures of one loop with one call into it (a wake-up of the loop
    per commit, not per request); a closed loop is skipped, and other waiters still hear."""
    result = StoreResult(accepted=1, duplicates=0)
    loop = asyncio.new_event_loop()
    calls: list[object] = []
    real_call = loop.call_soon_threadsafe

    def counting_call(*args: Any) -> Any:
        calls.append(args)
        return real_call(*args)

    loop.call_soon_threadsafe = counting_call  # type: ignore[method-assign]
    futures = [loop.create_future() for _ in range(3)]
    closed = asyncio.new_event_loop()
    orphan = closed.create_future()
    closed.close()
    heard: list[group_commit_module.Pending] = []
    group = [
        group_commit_module.Pending(batch=None, future=future)  # type: ignore[arg-type]
        for future in [*futures, orphan]
    ] + [group_commit_module.Pending(batch=None, done=heard.append)]  # type: ignore[arg-type]
    for pending in group:
        pending.result = result
    group[1].result, group[1].error = None, RuntimeError("this body cannot be stored")
    try:
        group_commit_module.notify(group)  # as the writer's thread does after a commit
        settled = loop.run_until_complete(asyncio.gather(*futures, return_exceptions=True))
    finally:
        loop.close()
    assert len(calls) == 1
    assert settled[0] == result and settled[2] == result
    assert isinstance(settled[1], RuntimeError)
    assert not orphan.done() and heard == [group[-1]]


@pytest.mark.parametrize(
    ("waiting", "delayed"), [(group_commit_module.DELAY_FROM, True), (3, False)]
)
def test_under_load_a_commit_waits_for_more_requests_to_join_it(
    context: AppContext, monkeypatch: pytest.MonkeyPatch, waiting: int, delayed: bool
) -> None:
    """With ``DELAY_FROM`` requests waiting together, the writer waits a moment before it
    commits, and what arrives meanwhile joins the same commit, as it does for the commit after a
    large one; fewer waiting, after small commits, go at once."""
    dialect_name = context.engine.dialect.name

    def pending(key: str) -> group_commit_module.Pending:
        body = dumps([usage_event(key, "ana@example.com", "2026-11-18T09:12:00Z")])
        events = adapter_for("usage")(body, "application/json").events
        batch = prepare_batch("usage", events, datetime.now(UTC), time_binder(dialect_name))
        return group_commit_module.Pending(batch, done=lambda p: answered.release())

    writer = group_commit_module.GroupCommit(context.engine)
    answered = threading.Semaphore(0)
    first_commit_started, go_on = threading.Event(), threading.Event()
    sizes: list[int] = []
    real_store_group = writer.store_group

    def store_group(group: list[group_commit_module.Pending]) -> None:
        sizes.append(len(group))
        first_commit_started.set()
        go_on.wait(10)  # the first commit holds the writer while the others queue up
        real_store_group(group)

    waits: list[float] = []

    def wait_for_more(seconds: float) -> None:  # a request arrives during the delay
        waits.append(seconds)
        writer.submit(pending(f"late-{len(waits)}"))

    monkeypatch.setattr(writer, "store_group", store_group)
    monkeypatch.setattr(group_commit_module, "wait_for_more", wait_for_more)
    writer.submit(pending("first"))
    assert first_commit_started.wait(10)
    for index in range(waiting):
        writer.submit(pending(f"queued-{index}"))
    go_on.set()
    expected = 1 + waiting + (1 if delayed else 0)
    for _ in range(expected):
        assert answered.acquire(timeout=10)
    if delayed:
        assert sizes == [1, waiting + 1]
        assert waits == [group_commit_module.DELAY_SECONDS]
    else:
        assert sizes == [1, waiting]
        assert waits == []
    # The next request, alone: after a large commit it waits for company; after small ones not.
    writer.submit(pending("next"))
    expected += 2 if delayed else 1
    for _ in range(2 if delayed else 1):
        assert answered.acquire(timeout=10)
    assert sizes[2:] == ([2] if delayed else [1])
    assert len(waits) == (2 if delayed else 0)
    with Session(context.engine) as session:
        assert session.exec(select(func.count()).select_from(Event)).one() == expected
