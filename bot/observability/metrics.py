"""The process's Prometheus metrics and the one-line calls that update them.

Every series is per process. Several replicas are each scraped by Prometheus and summed there
(``sum by (source) (rate(ai_roi_events_total[5m]))``); ``ai-roi serve`` runs one worker process,
so there is no multi-process aggregation to do. Labels are bounded sets (a source that passed
the adapter lookup, a route template, a status code, a digest status, a Slack method): never a
person, so the metrics cannot become a leaderboard (DESIGN §5).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import Any, Protocol

from prometheus_client import CollectorRegistry, Counter, Histogram

REGISTRY = CollectorRegistry(auto_describe=True)

EVENTS = Counter(
    "ai_roi_events",
    "Events received by the ingest pipeline, by source and outcome (accepted, duplicate, rejected).",
    ["source", "outcome"],
    registry=REGISTRY,
)
HTTP_RESPONSES = Counter(
    "ai_roi_http_responses",
    "HTTP responses by route template, method and status code.",
    ["route", "method", "status"],
    registry=REGISTRY,
)
HTTP_DURATION = Histogram(
    "ai_roi_http_request_duration_seconds",
    "Time to answer an HTTP request, by route template.",
    ["route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
    registry=REGISTRY,
)
DIGESTS = Counter(
    "ai_roi_digests",
    "Digest outcomes per person-week handled (sent, skipped, failed, already, preview).",
    ["outcome"],
    registry=REGISTRY,
)
RATE_LIMITED = Counter(
    "ai_roi_rate_limited",
    "429 answers (and Slack's 'ratelimited') received, by destination and API method.",
    ["destination", "method"],
    registry=REGISTRY,
)
RATE_LIMIT_WAIT = Counter(
    "ai_roi_rate_limit_wait_seconds",
    "Seconds of Retry-After this process was told to wait, by destination.",
    ["destination"],
    registry=REGISTRY,
)
SUMMARIZER_TOKENS = Counter(
    "ai_roi_summarizer_tokens",
    "Tokens the summarizer spent on reflections (kind: input, output), used or not.",
    ["kind"],
    registry=REGISTRY,
)

EVENT_OUTCOMES = ("accepted", "duplicate", "rejected")
DIGEST_OUTCOMES = ("sent", "skipped", "failed", "already", "preview")


class _Outcome(Protocol):
    @property
    def status(self) -> str: ...


def count_events(source: str, *, accepted: int, duplicates: int, rejected: int) -> None:
    """One ingested body's counts (the source has passed ``adapter_for``: a bounded set)."""
    for outcome, n in zip(EVENT_OUTCOMES, (accepted, duplicates, rejected), strict=True):
        if n:
            _series(EVENTS, source, outcome).inc(n)


@functools.cache
def _series(metric: Any, *labels: str) -> Any:
    """``metric.labels(*labels)``, looked up once: the label sets counted on every request are
    few (sources, route templates, statuses), and ``labels`` takes a lock and checks them."""
    return metric.labels(*labels)


def count_digests(outcomes: Iterable[_Outcome]) -> None:
    for outcome in outcomes:
        DIGESTS.labels(outcome.status).inc()


def count_rate_limited(destination: str, method: str, seconds: float) -> None:
    RATE_LIMITED.labels(destination, method).inc()
    RATE_LIMIT_WAIT.labels(destination).inc(max(0.0, seconds))


def count_summarizer_tokens(input_tokens: int, output_tokens: int) -> None:
    SUMMARIZER_TOKENS.labels("input").inc(max(0, input_tokens))
    SUMMARIZER_TOKENS.labels("output").inc(max(0, output_tokens))


def count_response(route: str, method: str, status: int, seconds: float) -> None:
    _series(HTTP_RESPONSES, route, method, str(status)).inc()
    _series(HTTP_DURATION, route).observe(seconds)


def _declare_known_series() -> None:
    """Zero-valued series for the outcomes Prometheus should see before the first event, so
    ``rate()`` and alerts work from the first scrape."""
    for outcome in DIGEST_OUTCOMES:
        DIGESTS.labels(outcome)
    for kind in ("input", "output"):
        SUMMARIZER_TOKENS.labels(kind)


_declare_known_series()
