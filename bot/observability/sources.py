"""The pull connectors' health as metrics, read from ``source_state`` when Prometheus scrapes.

The connectors record each run in the database (``bot.store.source_state``) and know nothing
of metrics. Every replica reads the same table, so these series are the same on each: take
``max by (source)`` across replicas, not ``sum``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from bot.store import source_state

log = logging.getLogger(__name__)


class SourceStateCollector(Collector):
    """Per source: lag of the watermark behind now, failures in a row, the last success, rows
    pulled; and whether the table could be read at all."""

    def __init__(self, engine: Engine, clock: Callable[[], datetime]) -> None:
        self.engine = engine
        self.clock = clock

    def describe(self) -> list[GaugeMetricFamily]:
        return []  # read at scrape time only: registering must not query the database

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        readable = GaugeMetricFamily(
            "ai_roi_source_state_readable",
            "1 when the source_state table could be read for this scrape, else 0.",
        )
        try:
            with Session(self.engine) as session:
                statuses = source_state.all_statuses(session)
        except SQLAlchemyError:
            log.warning("metrics: source_state could not be read", exc_info=True)
            readable.add_metric([], 0)
            yield readable
            return
        readable.add_metric([], 1)
        yield readable
        now = self.clock()
        lag = GaugeMetricFamily(
            "ai_roi_source_lag_seconds",
            "Seconds between now and the time the source's data is complete through (watermark).",
            labels=["source"],
        )
        failures = GaugeMetricFamily(
            "ai_roi_source_consecutive_failures",
            "Runs of the source that failed in a row (0 after a success).",
            labels=["source"],
        )
        failing = GaugeMetricFamily(
            "ai_roi_source_failing",
            "1 when the source's last run failed (its error is shown by `ai-roi sources`).",
            labels=["source"],
        )
        last_success = GaugeMetricFamily(
            "ai_roi_source_last_success_timestamp_seconds",
            "Unix time of the source's last successful run.",
            labels=["source"],
        )
        rows = CounterMetricFamily(
            "ai_roi_source_rows_pulled",
            "Rows the source's runs have pulled, in total.",
            labels=["source"],
        )
        for status in statuses:
            labels = [status.source]
            if status.watermark is not None:
                lag.add_metric(labels, max(0.0, (now - _utc(status.watermark)).total_seconds()))
            failures.add_metric(labels, status.consecutive_failures)
            failing.add_metric(labels, 1 if status.consecutive_failures else 0)
            if status.last_success_at is not None:
                last_success.add_metric(labels, _utc(status.last_success_at).timestamp())
            rows.add_metric(labels, status.rows_pulled)
        yield from (lag, failures, failing, last_success, rows)


def _utc(value: datetime) -> datetime:
    """Stored times are UTC; SQLite hands them back naive."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
