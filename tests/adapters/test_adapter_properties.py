"""Property tests: no body makes an adapter raise anything but a documented ``AiRoiError``.

For every registered adapter: random bytes, random JSON built from the field names vendors use,
and mutations of the valid fixtures (values swapped for other types, negatives, huge numbers,
keys dropped, bodies cut short). Each call either returns events and rejections, every
rejection with a reason, or raises ``PayloadError`` / ``UnsupportedMediaError``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.domain.events import NormalizedEvent, ParseResult
from bot.domain.text import event_problem
from bot.errors import AiRoiError, PayloadError, UnsupportedMediaError
from bot.ingest.adapters import ADAPTERS

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "vendors"
JSON = "application/json"
NDJSON = "application/x-ndjson"
SOURCES = sorted(ADAPTERS)

GENERIC_EVENTS = {
    "events": [
        {
            "id": "evt_1",
            "type": "ai.usage",
            "occurred_at": "2026-11-18T09:12:00Z",
            "actor": {"email": "ana@example.com"},
            "tool": "chatgpt",
            "model": "gpt-4.1",
            "usage": {"input_tokens": 1200, "output_tokens": 300, "cost_usd": "0.0123"},
        },
        {
            "id": "evt_2",
            "type": "artifact.created",
            "occurred_at": "2026-11-18T10:00:00+01:00",
            "actor": {"external_id": "u-1", "source": "openai"},
            "artifact": {"id": "dash-42", "kind": "dashboard", "title": "Churn"},
        },
    ]
}
VALID_BODIES: dict[str, list[tuple[str, str]]] = {
    "usage": [(json.dumps(GENERIC_EVENTS), JSON)],
    "litellm": [
        ((FIXTURES / "litellm-generic-api-batch.json").read_text(), JSON),
        ((FIXTURES / "litellm-user-daily-activity.json").read_text(), JSON),
    ],
    "otel": [((FIXTURES / "otel-genai-traces.json").read_text(), JSON)],
    "openai": [((FIXTURES / "openai-usage-completions-by-user.json").read_text(), JSON)],
    "anthropic": [((FIXTURES / "anthropic-messages-usage-report.json").read_text(), JSON)],
    "claude-code": [((FIXTURES / "claude-code-analytics-report.json").read_text(), JSON)],
    "cursor": [
        ((FIXTURES / "cursor-daily-usage-data.json").read_text(), JSON),
        ((FIXTURES / "cursor-filtered-usage-events.json").read_text(), JSON),
    ],
    "copilot": [((FIXTURES / "copilot-users-1-day.ndjson").read_text(), NDJSON)],
    "datadog": [
        ((FIXTURES / "datadog-dashboards-usage.json").read_text(), JSON),
        ((FIXTURES / "datadog-audit-events-search.json").read_text(), JSON),
    ],
    "google-drive": [((FIXTURES / "google-drive-activities.json").read_text(), JSON)],
    "github": [((FIXTURES / "github-pull-request-records.json").read_text(), JSON)],
}


def _collect_keys(value: Any, into: set[str]) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            into.add(key)
            _collect_keys(item, into)
    elif isinstance(value, list):
        for item in value:
            _collect_keys(item, into)


def _documents(text: str, content_type: str) -> list[Any]:
    if content_type == NDJSON:
        return [json.loads(line) for line in text.splitlines() if line.strip()]
    return [json.loads(text)]


# Field names the adapters look for, so random documents reach past the first checks.
_names: set[str] = set()
for _bodies in VALID_BODIES.values():
    for _text, _type in _bodies:
        for _document in _documents(_text, _type):
            _collect_keys(_document, _names)
FIELD_NAMES = sorted(_names)

PROPERTY_SETTINGS = settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# Strings neither database can store as they are (NUL, lone surrogates, control characters)
# or that overflow the columns they land in: every one must be a per-record rejection.
HOSTILE_STRINGS = ["\x00", "a\x00b", "\ud800", "x\udfffy", "\x1b[31m", "\x85", "s" * 33, "U" * 321]
hostile_text = st.sampled_from(HOSTILE_STRINGS) | st.text(
    st.characters(exclude_categories=()), max_size=12
)

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**20), max_value=10**20)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.sampled_from(
        ["", "0", "-1", "1794993123500", "2026-11-18", "2026-11-18T09:12:00Z", "a@b.co", "x" * 300]
    )
    | st.text(max_size=20)
    | hostile_text
)
keys = st.sampled_from(FIELD_NAMES) | st.text(max_size=10)
json_values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(keys, children, max_size=6),
    max_leaves=30,
)
content_types = st.sampled_from(
    [JSON, NDJSON, None, "application/json; charset=utf-8", "text/plain"]
)


def check(result: ParseResult) -> None:
    """What every successful parse promises."""
    assert isinstance(result, ParseResult)
    for rejection in result.rejected:
        assert isinstance(rejection.index, int) and rejection.index >= 0
        assert isinstance(rejection.error, str) and rejection.error.strip()
    for event in result.events:
        assert isinstance(event, NormalizedEvent)
        assert event.key and len(event.key) <= 255
        assert event.occurred_at.tzinfo is not None
        assert 0 <= event.cached_tokens <= event.input_tokens
        assert min(event.output_tokens, event.cost_nanos, event.requests) >= 0
        assert all(isinstance(v, int) and v >= 0 for v in event.metrics.values())
        assert event_problem(event) is None  # storable as it is, on either database


def run(source: str, body: bytes, content_type: str | None) -> None:
    try:
        result = ADAPTERS[source](body, content_type)
    except (PayloadError, UnsupportedMediaError) as exc:
        assert isinstance(exc, AiRoiError)
        assert str(exc).strip()
        return
    check(result)


@pytest.mark.parametrize("source", SOURCES)
@PROPERTY_SETTINGS
@given(body=st.binary(max_size=300), content_type=content_types)
def test_random_bytes_never_escape(source: str, body: bytes, content_type: str | None) -> None:
    run(source, body, content_type)


@pytest.mark.parametrize("source", SOURCES)
@PROPERTY_SETTINGS
@given(document=json_values, content_type=content_types, as_lines=st.booleans())
def test_random_json_never_escapes(
    source: str, document: Any, content_type: str | None, as_lines: bool
) -> None:
    if as_lines and isinstance(document, list):
        body = "\n".join(json.dumps(item) for item in document).encode()
    else:
        body = json.dumps(document).encode()
    run(source, body, content_type)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _paths(item, (*prefix, index))
    return found


def _mutate(document: Any, data: st.DataObject) -> Any:
    paths = _paths(document)
    for _ in range(data.draw(st.integers(min_value=1, max_value=4), label="mutations")):
        path = data.draw(st.sampled_from(paths), label="path")
        if not path:
            document = data.draw(json_values, label="root")
            paths = _paths(document)
            continue
        parent = document
        try:
            for step in path[:-1]:
                parent = parent[step]
            current = parent[path[-1]]
        except (KeyError, IndexError, TypeError):
            continue  # the path went away with an earlier mutation
        if not isinstance(parent, dict | list):
            continue
        operation = data.draw(
            st.sampled_from(
                ["replace", "delete", "negate", "huge", "stringify", "null", "hostile"]
            ),
            label="operation",
        )
        if operation == "delete":
            del parent[path[-1]]
        elif operation == "negate" and isinstance(current, int | float) and current:
            parent[path[-1]] = -current
        elif operation == "huge":
            parent[path[-1]] = data.draw(st.sampled_from([10**13, 10**30, 1e300, 3e11]))
        elif operation == "stringify":
            parent[path[-1]] = json.dumps(current)
        elif operation == "null":
            parent[path[-1]] = None
        elif operation == "hostile":
            bad = data.draw(hostile_text, label="hostile")
            parent[path[-1]] = current + bad if isinstance(current, str) else bad
        else:
            parent[path[-1]] = data.draw(json_values, label="value")
    return document


@pytest.mark.parametrize("source", SOURCES)
@PROPERTY_SETTINGS
@given(data=st.data())
def test_mutated_fixtures_never_escape(source: str, data: st.DataObject) -> None:
    text, content_type = data.draw(st.sampled_from(VALID_BODIES[source]), label="fixture")
    documents = [_mutate(document, data) for document in _documents(text, content_type)]
    if content_type == NDJSON:
        body = "\n".join(json.dumps(document) for document in documents).encode()
    else:
        body = json.dumps(documents[0]).encode()
    if data.draw(st.booleans(), label="truncate"):
        body = body[: data.draw(st.integers(min_value=0, max_value=len(body)), label="cut")]
    run(source, body, content_type)


@pytest.mark.parametrize("source", SOURCES)
def test_every_fixture_parses_cleanly(source: str) -> None:
    for text, content_type in VALID_BODIES[source]:
        result = ADAPTERS[source](text.encode(), content_type)
        check(result)
        assert result.events and not result.rejected


KNOWN_ESCAPES: dict[str, str] = {}


def _hostile(source: str) -> pytest.MarkDecorator | tuple[()]:
    if source in KNOWN_ESCAPES:
        return pytest.mark.xfail(reason=KNOWN_ESCAPES[source], strict=False)
    return ()


@pytest.mark.parametrize(
    "source", [pytest.param(source, marks=_hostile(source)) for source in SOURCES]
)
@pytest.mark.parametrize("content_type", [JSON, NDJSON])
def test_deeply_nested_bodies_are_refused_cleanly(source: str, content_type: str) -> None:
    deep = b"[" * 100_000 + b"]" * 100_000
    run(source, deep, content_type)


OUT_OF_RANGE = "0001-01-01T00:00:00+01:00"
DATED_BODIES = {
    "usage": {**GENERIC_EVENTS["events"][0], "occurred_at": OUT_OF_RANGE},
    "anthropic": {"data": [{"starting_at": OUT_OF_RANGE, "results": [{"output_tokens": 1}]}]},
    "claude-code": {"date": OUT_OF_RANGE, "actor": {"email_address": "a@example.com"}},
    "datadog": {"data": {"id": "d", "attributes": {"created_at": OUT_OF_RANGE}}},
    "google-drive": {
        "kind": "admin#reports#activities",
        "items": [{"id": {"time": OUT_OF_RANGE, "applicationName": "drive"}, "events": []}],
    },
}


@pytest.mark.parametrize(
    "source", [pytest.param(source, marks=_hostile(source)) for source in sorted(DATED_BODIES)]
)
def test_dates_out_of_range_are_rejected_not_raised(source: str) -> None:
    result = ADAPTERS[source](json.dumps(DATED_BODIES[source]).encode(), JSON)
    check(result)
    assert "out of range" in result.rejected[0].error
