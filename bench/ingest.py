"""Ingest benchmark, run on demand: ``python -m bench.ingest`` (``make bench``).

Measures events per second through

(a) ``ai-roi ingest`` bulk: the generic adapter through ``ingest_in_batches``, a commit per
    5,000 events (its default), the best of three;
(b) HTTP, one event per request: a real uvicorn server (one worker, loopback, its own process)
    driven by concurrent keep-alive clients; every 202 is committed (durable) before it is sent;
(c) HTTP, batches of 500 events per request;
(d) the same events sent again (all duplicates), in bulk and over HTTP, beside new events;

each printed beside the raw rate of inserting the same rows with ``sqlite3.executemany`` into one
table with one unique index, with the same durability (WAL, ``synchronous=FULL``, a commit per
5,000 rows, the best of three), measured in the same run. SQLite always, on a temporary file; PostgreSQL too when
``--database-url`` or ``TEST_DATABASE_URL`` names a server (a database is created and dropped).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from bot.store.event_rows import COLUMNS

TOKEN = "bench-token-0123456789abcdef"
BULK_ATTEMPTS = 3  # bulk and raw are each the best of three
BULK_BATCH = 5000  # ``ai-roi ingest --batch-size`` default; the raw baseline commits as often
HTTP_BATCH = 500
PEOPLE = 200
START = datetime(2026, 11, 2, tzinfo=UTC)

# Targets from the issue.
BULK_SHARE_TARGET = 0.30
HTTP_SINGLE_TARGET = 1500.0


@dataclass(frozen=True)
class Result:
    label: str
    events: int
    seconds: float
    requests: int = 0
    server_cpu: float | None = None  # seconds of server CPU, for the HTTP runs

    @property
    def rate(self) -> float:
        return self.events / self.seconds if self.seconds else 0.0

    @property
    def request_rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def requests_per_server_cpu_second(self) -> float | None:
        if not self.server_cpu or self.server_cpu != self.server_cpu:  # none, zero or NaN
            return None
        return self.requests / self.server_cpu


# Data ------------------------------------------------------------------------------------------


def usage_events(count: int, prefix: str) -> list[dict[str, Any]]:
    """``count`` generic usage events with distinct ids, spread over people and a month."""
    events = []
    for i in range(count):
        events.append(
            {
                "id": f"{prefix}-{i}",
                "type": "ai.usage",
                "occurred_at": (START + timedelta(seconds=17 * i)).isoformat(),
                "actor": {"email": f"person{i % PEOPLE}@example.com"},
                "tool": "chatgpt",
                "model": "gpt-4.1",
                "usage": {
                    "input_tokens": 1000 + i % 5000,
                    "cached_tokens": i % 300,
                    "output_tokens": 100 + i % 700,
                    "cost_usd": f"0.{i % 10000:04d}",
                    "requests": 1,
                },
            }
        )
    return events


def body_of(events: Sequence[dict[str, Any]]) -> bytes:
    return json.dumps({"events": list(events)}).encode()


# Raw baseline ---------------------------------------------------------------------------------

# The events table's columns but the artifact and the metrics, which usage events leave empty.
RAW_COLUMNS = COLUMNS[: COLUMNS.index("artifact_id")]


def raw_rows(events: Sequence[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """The same rows, already normalised: what a store with no work to do would write."""
    from bot.ingest.adapters import adapter_for

    parsed = adapter_for("usage")(body_of(events), "application/json")
    now = datetime.now(UTC).isoformat()
    return [
        (
            "usage",
            e.key,
            e.type.value,
            e.occurred_at.isoformat(),
            now,
            None,
            e.actor.kind if e.actor else None,
            e.actor.value if e.actor else None,
            e.tool,
            e.model,
            e.input_tokens,
            e.cached_tokens,
            e.output_tokens,
            e.cost_nanos,
            e.requests,
        )
        for e in parsed.events
    ]


def raw_insert_rate(rows: Sequence[tuple[Any, ...]], folder: Path, attempt: int = 0) -> Result:
    """``sqlite3.executemany`` into one table with one unique index, a commit per ``BULK_BATCH``
    rows."""
    path = folder / f"raw-{attempt}.db"
    connection = sqlite3.connect(path)
    try:
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=FULL")
        columns = ", ".join(RAW_COLUMNS)
        connection.execute(f"CREATE TABLE event (id INTEGER PRIMARY KEY, {columns})")
        connection.execute("CREATE UNIQUE INDEX event_key ON event (source, key)")
        connection.commit()
        marks = ", ".join("?" for _ in RAW_COLUMNS)
        statement = f"INSERT INTO event ({columns}) VALUES ({marks})"
        started = time.perf_counter()
        for start in range(0, len(rows), BULK_BATCH):
            connection.executemany(statement, rows[start : start + BULK_BATCH])
            connection.commit()
        seconds = time.perf_counter() - started
    finally:
        connection.close()
    return Result("raw sqlite3.executemany (1 table, 1 unique index)", len(rows), seconds)


# Databases ------------------------------------------------------------------------------------


@contextmanager
def sqlite_database(folder: Path) -> Iterator[str]:
    yield f"sqlite:///{folder / 'bench.db'}"


@contextmanager
def postgres_database(base_url: str) -> Iterator[str]:
    """A fresh database on the server of ``base_url``, dropped afterwards."""
    import sqlalchemy as sa
    from sqlalchemy.engine import make_url

    admin = sa.create_engine(base_url, isolation_level="AUTOCOMMIT")
    name = f"airoi_bench_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    try:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
        yield make_url(base_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def migrate(url: str) -> None:
    from bot.store.db import create_engine, upgrade

    engine = create_engine(url)
    try:
        upgrade(engine)
    finally:
        engine.dispose()


# (a) bulk and (d) bulk duplicates ------------------------------------------------------------


def bulk(url: str, events: Sequence[dict[str, Any]], label: str) -> tuple[Result, Any]:
    """What ``ai-roi ingest`` does with one file: ``ingest_in_batches``, ``BULK_BATCH`` per commit."""
    from bot.ingest.bulk import ingest_in_batches
    from bot.store.db import create_engine

    body = body_of(events)
    engine = create_engine(url)
    try:
        started = time.perf_counter()
        outcome = ingest_in_batches(
            engine, "usage", body, "application/json", batch_size=BULK_BATCH
        )
        seconds = time.perf_counter() - started
    finally:
        engine.dispose()
    return Result(label, len(events), seconds), outcome


# (b), (c) HTTP ---------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def server(url: str) -> Iterator[tuple[str, int]]:
    """``python -m bench.ingest serve``: the real app under uvicorn, one worker, its own process."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.ingest", "serve", "--database-url", url, "--port", str(port)],
        cwd=Path(__file__).resolve().parents[1],
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("benchmark server did not start")
            time.sleep(0.1)
        yield base, process.pid
    finally:
        process.terminate()
        process.wait(timeout=30)


def serve(url: str, port: int) -> None:
    import uvicorn

    from bot.context import AppContext
    from bot.settings import load_settings
    from bot.store.db import create_engine
    from bot.wiring import build_app

    settings = load_settings(env_file=None, database_url=url, webhook_tokens=TOKEN)
    context = AppContext(settings=settings, engine=create_engine(url))
    uvicorn.run(
        build_app(context),
        host="127.0.0.1",
        port=port,
        workers=1,
        log_level="warning",
        access_log=False,
        lifespan="off",
    )


async def drive(base: str, bodies: Sequence[bytes], concurrency: int) -> dict[str, int]:
    """POST every body over ``concurrency`` keep-alive connections; the summed answers.

    A minimal HTTP/1.1 client on asyncio streams: the clients share the machine's cores with
    the server, and a general-purpose client (httpx) spent more CPU per request than the
    server did, so the run measured the clients rather than the server.
    """
    url = httpx.URL(base)
    head = (
        f"POST /webhooks/usage HTTP/1.1\r\nHost: {url.host}:{url.port}\r\n"
        f"Authorization: Bearer {TOKEN}\r\nContent-Type: application/json\r\n"
    ).encode()
    totals = {"accepted": 0, "duplicates": 0, "rejected": 0, "errors": 0}
    queue = iter(bodies)

    async def client() -> None:
        reader, writer = await asyncio.open_connection(url.host, url.port)
        try:
            for body in queue:
                writer.write(head + b"Content-Length: %d\r\n\r\n" % len(body) + body)
                status, answer = await _response(reader)
                if status != 202:
                    totals["errors"] += 1
                    continue
                totals["accepted"] += answer["accepted"]
                totals["duplicates"] += answer["duplicates"]
                totals["rejected"] += len(answer["rejected"])
        finally:
            writer.close()

    await asyncio.gather(*(client() for _ in range(concurrency)))
    return totals


async def _response(reader: asyncio.StreamReader) -> tuple[int, Any]:
    """Status and JSON body of one response (the server sends Content-Length)."""
    status_line = await reader.readline()
    length = 0
    while (line := await reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    body = await reader.readexactly(length)
    return int(status_line.split()[1]), json.loads(body) if body else None


def drive_share(
    base: str, events: Sequence[dict[str, Any]], per_request: int, concurrency: int, start: float
) -> tuple[dict[str, int], float, float]:
    """One client process: its bodies, sent from wall-clock ``start``; totals, start, end."""
    bodies = [body_of(events[i : i + per_request]) for i in range(0, len(events), per_request)]
    time.sleep(max(0.0, start - time.time()))
    began = time.time()
    totals = asyncio.run(drive(base, bodies, concurrency))
    return totals, began, time.time()


def server_cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux), or NaN elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def http_run(
    base: str,
    pid: int,
    events: Sequence[dict[str, Any]],
    per_request: int,
    options: argparse.Namespace,
    label: str,
) -> tuple[Result, dict[str, int]]:
    """Split the events over ``options.clients`` processes that start together."""
    processes = options.clients
    per_process = -(-len(events) // processes)
    per_process += -per_process % per_request  # whole requests in each share
    shares = [events[i : i + per_process] for i in range(0, len(events), per_process)]
    concurrency = max(1, options.concurrency // len(shares))
    start = time.time() + 1.0  # after every process has built its bodies
    cpu_before = server_cpu_seconds(pid)
    with ProcessPoolExecutor(len(shares)) as pool:
        runs = list(
            pool.map(
                drive_share,
                [base] * len(shares),
                shares,
                [per_request] * len(shares),
                [concurrency] * len(shares),
                [start] * len(shares),
            )
        )
    cpu = server_cpu_seconds(pid) - cpu_before
    totals = {name: sum(run[0][name] for run in runs) for name in runs[0][0]}
    if totals["errors"]:
        raise RuntimeError(f"{label}: {totals['errors']} requests were not answered 202")
    seconds = max(run[2] for run in runs) - min(run[1] for run in runs)
    requests = -(-len(events) // per_request)
    return Result(label, len(events), seconds, requests=requests, server_cpu=cpu), totals


# The run ---------------------------------------------------------------------------------------


def check_counts(label: str, answers: Any, accepted: int, duplicates: int) -> None:
    got = (answers["accepted"], answers["duplicates"])
    if got != (accepted, duplicates):
        raise RuntimeError(f"{label}: expected {(accepted, duplicates)} accepted/duplicates, {got}")


def run_backend(url: str, options: argparse.Namespace) -> list[Result]:
    migrate(url)
    results: list[Result] = []
    # New events: the best of three, as for raw (each attempt with its own events, so each
    # finds its table a little fuller than the one before: the later ones are not flattered).
    attempts = []
    for attempt in range(BULK_ATTEMPTS):
        new = usage_events(options.events, f"bulk{attempt}")
        result, outcome = bulk(url, new, "(a) ai-roi ingest, bulk, new events")
        check_counts(result.label, outcome.to_json(), len(new), 0)
        attempts.append(result)
    results.append(min(attempts, key=lambda r: r.seconds))
    again, outcome = bulk(url, new, "(d) ai-roi ingest, bulk, the same events again")
    check_counts(again.label, outcome.to_json(), 0, len(new))
    results.append(again)

    with server(url) as (base, pid):
        # Warm up the server (imports, connection pool) before measuring.
        http_run(base, pid, usage_events(500, "warm"), 1, options, "warm-up")
        single = usage_events(options.requests, "single")
        result, totals = http_run(base, pid, single, 1, options, "(b) HTTP, 1 event per request")
        check_counts(result.label, totals, len(single), 0)
        results.append(result)
        result, totals = http_run(
            base, pid, single, 1, options, "(d) HTTP, 1 event per request, again"
        )
        check_counts(result.label, totals, 0, len(single))
        results.append(result)
        batched = usage_events(options.batch_events, "batch")
        result, totals = http_run(
            base, pid, batched, HTTP_BATCH, options, "(c) HTTP, 500 events per request"
        )
        check_counts(result.label, totals, len(batched), 0)
        results.append(result)
        result, totals = http_run(
            base, pid, batched, HTTP_BATCH, options, "(d) HTTP, 500 per request, again"
        )
        check_counts(result.label, totals, 0, len(batched))
        results.append(result)
    return results


def verdicts(results: list[Result], raw: Result) -> list[str]:
    """The issue's targets, checked against this run."""
    lines = []
    bulk_new, bulk_again, single, single_again, batch, batch_again = results
    share = bulk_new.rate / raw.rate
    lines.append(_verdict(f"bulk ≥ 30 % of raw: {share:.0%}", share >= BULK_SHARE_TARGET))
    capacity = single.requests_per_server_cpu_second
    lines.append(
        _verdict(
            f"HTTP single-event durable ≥ 1,500 requests/s: {single.request_rate:,.0f}"
            + (f" (server alone: {capacity:,.0f} per CPU-second)" if capacity else ""),
            single.request_rate >= HTTP_SINGLE_TARGET,
        )
    )
    for new, again in ((bulk_new, bulk_again), (single, single_again), (batch, batch_again)):
        lines.append(
            _verdict(
                f"duplicates no slower than new, {new.label[4:]}: "
                f"{again.rate:,.0f} vs {new.rate:,.0f} events/s",
                again.rate >= new.rate * 0.95,  # within 5 %: run-to-run noise
            )
        )
    return lines


def _verdict(text: str, met: bool) -> str:
    return f"  {'met ' if met else 'MISS'}  {text}"


def report(name: str, results: list[Result], raw: Result, out: Callable[[str], None]) -> None:
    out(f"\n{name}")
    out(
        f"  {'':<50}{'events':>8}{'seconds':>8}{'events/s':>10}{'of raw':>8}"
        f"{'req/s':>8}{'req/server-CPU-s':>18}"
    )
    for r in [raw, *results]:
        requests = f"{r.request_rate:,.0f}" if r.requests else ""
        capacity = r.requests_per_server_cpu_second
        out(
            f"  {r.label:<50}{r.events:>8,}{r.seconds:>8.2f}{r.rate:>10,.0f}"
            f"{r.rate / raw.rate:>8.1%}{requests:>8}{f'{capacity:,.0f}' if capacity else '':>18}"
        )
    for line in verdicts(results, raw):
        out(line)


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{os.cpu_count()} CPUs ({cpu}), {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}"
    )


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.ingest", description=__doc__)
    parser.add_argument("--events", type=int, default=100_000, help="bulk events (a)")
    parser.add_argument("--requests", type=int, default=10_000, help="single-event requests (b)")
    parser.add_argument("--batch-events", type=int, default=50_000, help="events sent in (c)")
    parser.add_argument("--concurrency", type=int, default=64, help="requests in flight")
    parser.add_argument("--clients", type=int, default=2, help="client processes")
    parser.add_argument(
        "--database-url",
        default=os.environ.get("TEST_DATABASE_URL"),
        help="a PostgreSQL server to run on too (default: $TEST_DATABASE_URL)",
    )
    commands = parser.add_subparsers(dest="command")
    serve_command = commands.add_parser("serve", help=argparse.SUPPRESS)
    serve_command.add_argument("--database-url", required=True)
    serve_command.add_argument("--port", type=int, required=True)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    options = parse_args(argv)
    if options.command == "serve":
        serve(options.database_url, options.port)
        return 0
    print(f"ai-roi ingest benchmark on {machine()}")
    print(
        f"{options.events:,} bulk events, {options.requests:,} single-event requests, "
        f"{options.batch_events:,} events in batches of {HTTP_BATCH}, "
        f"{options.concurrency} HTTP clients in flight"
    )
    with tempfile.TemporaryDirectory(prefix="ai-roi-bench-") as folder:
        rows = raw_rows(usage_events(options.events, "raw"))
        # The best of three, like bulk, so a busy moment flatters no ratio.
        raw = min(
            (raw_insert_rate(rows, Path(folder), attempt) for attempt in range(BULK_ATTEMPTS)),
            key=lambda r: r.seconds,
        )
        backends: list[tuple[str, Any]] = [
            ("SQLite (WAL, synchronous=FULL)", sqlite_database(Path(folder)))
        ]
        if options.database_url:
            backends.append(("PostgreSQL", postgres_database(options.database_url)))
        for name, database in backends:
            with database as url:
                report(name, run_backend(url, options), raw, print)
    return 0


if __name__ == "__main__":
    sys.exit(main())
