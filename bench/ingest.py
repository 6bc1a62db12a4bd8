"""Ingest benchmark, run on demand: ``python -m bench.ingest`` (``make bench``).

Measures what users run, against baselines measured in the same run:

(a) bulk: the whole ``ai-roi ingest --source usage FILE`` command, as a subprocess (interpreter
    start-up included), on an NDJSON file of generic usage events from 2,000 people: 100,000
    events, and 1,000,000 with ``--million``; its peak memory; the best of three (one run for a
    million), each into a fresh migrated database. Beside it, **raw**: a ``python -c`` subprocess that reads the same
    file line by line, ``json.loads`` each line and inserts the rows with
    ``sqlite3.executemany`` into one table with one unique index (WAL, ``synchronous=FULL``, a
    commit per 5,000 rows, as ``ai-roi ingest`` commits), run the same way;
(b) HTTP, one signed event per request (Standard Webhooks), to the real app under uvicorn as
    ``ai-roi serve`` runs it, and to the HTTP baseline (``bench.http_baseline``: the smallest
    FastAPI app that checks the same signature and commits the event to SQLite before
    answering); the ratio is ai-roi's requests per server CPU-second to the baseline's, the
    best of ``--rounds`` alternating runs of each;
(c) HTTP, batches of 500 events per request;
(d) the same events sent again (all duplicates), in bulk and over HTTP.

SQLite always, on a temporary file; PostgreSQL too when ``--database-url`` or
``TEST_DATABASE_URL`` names a server (a database is created and dropped for each run).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import platform
import resource
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
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

from bot.ingest.signatures import sign
from bot.store.event_rows import COLUMNS

ROOT = Path(__file__).resolve().parents[1]
SECRET = "whsec_" + base64.b64encode(b"bench-secret-0123456789abcdef").decode()
ATTEMPTS = 3  # bulk and raw are each the best of three…
LARGE_ATTEMPTS = 1  # …but files of a million events are run once (each run takes minutes)
BULK_BATCH = 5000  # ``ai-roi ingest --batch-size`` default; the raw baseline commits as often
HTTP_BATCH = 500
PEOPLE = 2000
START = datetime(2026, 11, 2, tzinfo=UTC)
MB = 1024 * 1024

# Targets from the issue.
BULK_SHARE_TARGET = 0.30
PEAK_TARGET_MB = 300
HTTP_CPU_SHARE_TARGET = 0.9


@dataclass(frozen=True)
class Result:
    label: str
    events: int
    seconds: float
    requests: int = 0
    server_cpu: float | None = None  # seconds of server CPU, for the HTTP runs
    peak_mb: float | None = None  # the command's processes' peak memory, for bulk
    peak_pss_mb: float | None = None
    cpu: float | None = None  # seconds of CPU of the command's processes, for bulk

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


def usage_event(i: int, prefix: str) -> dict[str, Any]:
    return {
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


def usage_events(count: int, prefix: str) -> list[dict[str, Any]]:
    """``count`` generic usage events with distinct ids, spread over people and a month."""
    return [usage_event(i, prefix) for i in range(count)]


def write_ndjson(path: Path, count: int, prefix: str) -> Path:
    """An NDJSON file of ``count`` events, written a line at a time."""
    with path.open("w") as out:
        for i in range(count):
            out.write(json.dumps(usage_event(i, prefix)))
            out.write("\n")
    return path


def body_of(events: Sequence[dict[str, Any]]) -> bytes:
    return json.dumps({"events": list(events)}).encode()


# Process trees: time and peak memory ----------------------------------------------------------


def _tree(pid: int) -> list[int]:
    found, pending = [], [pid]
    while pending:
        current = pending.pop()
        found.append(current)
        try:
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except OSError:
            continue
        pending.extend(int(child) for child in children)
    return found


def _status_kb(pid: int, field: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _pss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


@dataclass(frozen=True)
class Measured:
    seconds: float
    peak_mb: float
    pss_mb: float
    cpu: float
    out: str


def run_measured(command: Sequence[str], env: dict[str, str]) -> Measured:
    """Run ``command``: its wall-clock seconds, peak memory in MB (the sum over its processes
    of each one's peak RSS, ``VmHWM``: shared pages counted in each), the peak of the sum of
    their proportional set sizes (sampled every 20 ms), the CPU seconds (user + system) of it
    and of the processes it waited for, and its standard output."""
    peaks: dict[int, int] = {}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    pss_peak = 0
    started = time.perf_counter()
    process = subprocess.Popen(
        command, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    done = threading.Event()

    def sample() -> None:
        nonlocal pss_peak
        while not done.is_set():
            pids = _tree(process.pid)
            total = 0
            for pid in pids:
                peaks[pid] = max(peaks.get(pid, 0), _status_kb(pid, "VmHWM"))
                total += _pss_kb(pid)
            pss_peak = max(pss_peak, total)
            done.wait(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, err = process.communicate()
    seconds = time.perf_counter() - started
    done.set()
    sampler.join()
    if process.returncode != 0:
        raise RuntimeError(f"{' '.join(command[:4])}… exited {process.returncode}: {err.decode()}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return Measured(seconds, sum(peaks.values()) / 1024, pss_peak / 1024, cpu, out.decode())


# Raw baseline ---------------------------------------------------------------------------------

# The events table's columns but the artifact and the metrics, which usage events leave empty.
RAW_COLUMNS = COLUMNS[: COLUMNS.index("artifact_id")]
RAW_SCRIPT = f"""
import sys, sqlite3, datetime
path, database, decoder = sys.argv[1:4]
if decoder == "orjson":
    from orjson import loads
else:
    from json import loads
columns = {RAW_COLUMNS!r}
connection = sqlite3.connect(database)
connection.execute("PRAGMA journal_mode=WAL")
connection.execute("PRAGMA synchronous=FULL")
connection.execute(f"CREATE TABLE event (id INTEGER PRIMARY KEY, {{', '.join(columns)}})")
connection.execute("CREATE UNIQUE INDEX event_key ON event (source, key)")
connection.commit()
statement = f"INSERT INTO event ({{', '.join(columns)}}) VALUES ({{', '.join('?' * len(columns))}})"
now = datetime.datetime.now(datetime.UTC).isoformat()
rows = []
with open(path, "rb") as lines:
    for line in lines:
        event = loads(line)
        usage, actor = event["usage"], event["actor"]
        rows.append((
            "usage", event["id"], event["type"], event["occurred_at"], now, None, "email",
            actor["email"], event.get("tool"), event.get("model"), usage.get("input_tokens", 0),
            usage.get("cached_tokens", 0), usage.get("output_tokens", 0), usage.get("cost_usd"),
            usage.get("requests", 1),
        ))
        if len(rows) == {BULK_BATCH}:
            connection.executemany(statement, rows)
            connection.commit()
            rows.clear()
connection.executemany(statement, rows)
connection.commit()
"""


def attempts(events: int) -> int:
    return ATTEMPTS if events < 1_000_000 else LARGE_ATTEMPTS


def raw_run(path: Path, events: int, folder: Path, decoder: str = "json") -> Result:
    """The raw baseline as a subprocess: read, decode, insert, commit per ``BULK_BATCH``."""
    best: Result | None = None
    for attempt in range(attempts(events)):
        database = folder / f"raw-{decoder}-{attempt}.db"
        run = run_measured(
            [sys.executable, "-c", RAW_SCRIPT, str(path), str(database), decoder], dict(os.environ)
        )
        database.unlink()
        result = Result(
            f"raw: {decoder}.loads + executemany",
            events,
            run.seconds,
            peak_mb=run.peak_mb,
            peak_pss_mb=run.pss_mb,
            cpu=run.cpu,
        )
        if best is None or result.seconds < best.seconds:
            best = result
    assert best is not None
    return best


# Databases ------------------------------------------------------------------------------------


@contextmanager
def sqlite_database(folder: Path) -> Iterator[str]:
    path = folder / f"bench-{uuid.uuid4().hex[:8]}.db"
    try:
        yield f"sqlite:///{path}"
    finally:
        for leftover in folder.glob(path.name + "*"):
            leftover.unlink()


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


Database = Callable[[], Any]  # a context manager that gives a fresh database's URL


def migrate(url: str) -> None:
    from bot.store.db import create_engine, upgrade

    engine = create_engine(url)
    try:
        upgrade(engine)
    finally:
        engine.dispose()


# (a) bulk and (d) bulk duplicates ------------------------------------------------------------


def command_env(url: str) -> dict[str, str]:
    env = dict(os.environ)
    env["DATABASE_URL"] = url
    env.pop("SLACK_BOT_TOKEN", None)
    return env


def ingest_command(path: Path) -> list[str]:
    return [sys.executable, "-m", "bot", "ingest", "--source", "usage", str(path)]


def bulk_run(database: Database, path: Path, events: int, label: str) -> tuple[Result, Result]:
    """``ai-roi ingest FILE`` into a fresh migrated database, the best of ``attempts(events)``;
    then the same file again into the last of them (all duplicates)."""
    runs: list[Result] = []
    for attempt in range(attempts(events)):
        with database() as url:
            migrate(url)  # as after ``ai-roi db upgrade``: not part of the import
            run = run_measured(ingest_command(path), command_env(url))
            check_counts(label, run.out, events, 0)
            runs.append(_result(label, events, run))
            if attempt == attempts(events) - 1:
                run = run_measured(ingest_command(path), command_env(url))
                check_counts(label, run.out, 0, events)
                again = _result("(d) the same file again", events, run)
    best = min(runs, key=lambda r: r.seconds)
    worst_peak = max(r.peak_mb or 0 for r in runs)
    worst_pss = max(r.peak_pss_mb or 0 for r in runs)
    best = Result(
        best.label, events, best.seconds, peak_mb=worst_peak, peak_pss_mb=worst_pss, cpu=best.cpu
    )
    return best, again


def _result(label: str, events: int, run: Measured) -> Result:
    return Result(
        label, events, run.seconds, peak_mb=run.peak_mb, peak_pss_mb=run.pss_mb, cpu=run.cpu
    )


def check_counts(label: str, out: str, accepted: int, duplicates: int) -> None:
    expected = f"{accepted} accepted, {duplicates} duplicates, 0 rejected"
    if expected not in out:
        raise RuntimeError(f"{label}: expected {expected!r}, got {out.strip()!r}")


# (b), (c) HTTP ---------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def server(command: Sequence[str], port: int) -> Iterator[tuple[str, int]]:
    """A server process on 127.0.0.1:``port``, once it answers ``/healthz``."""
    process = subprocess.Popen(command, cwd=ROOT)
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


def ai_roi_server(url: str) -> Any:
    port = free_port()
    command = [sys.executable, "-m", "bench.ingest", "serve", "--database-url", url]
    return server([*command, "--port", str(port)], port)


def baseline_server(folder: Path) -> Any:
    port = free_port()
    database = folder / f"baseline-{uuid.uuid4().hex[:8]}.db"
    command = [sys.executable, "-m", "bench.http_baseline", "--database", str(database)]
    return server([*command, "--port", str(port), "--secret", SECRET], port)


def serve(url: str, port: int) -> None:
    """The app as ``ai-roi serve`` runs it (its uvicorn configuration and start-up), without
    the scheduler and at log level WARNING, as the baseline runs."""
    from bot.context import AppContext
    from bot.http.server import serve_forever, server_config
    from bot.settings import load_settings
    from bot.store.db import create_engine
    from bot.wiring import build_app

    settings = load_settings(
        env_file=None, database_url=url, webhook_secrets=SECRET, log_level="WARNING"
    )
    context = AppContext(settings=settings, engine=create_engine(url))
    serve_forever(server_config(build_app(context), settings, host="127.0.0.1", port=port))


def signed_request(host: str, body: bytes) -> bytes:
    """One signed POST /webhooks/usage, as a Standard Webhooks sender sends it."""
    msg_id = f"msg_{uuid.uuid4().hex}"
    timestamp = int(time.time())
    return (
        f"POST /webhooks/usage HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
        f"webhook-id: {msg_id}\r\nwebhook-timestamp: {timestamp}\r\n"
        f"webhook-signature: {sign(SECRET, msg_id, timestamp, body)}\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body


async def drive(base: str, requests: Sequence[bytes], concurrency: int) -> dict[str, int]:
    """Send every request over ``concurrency`` keep-alive connections; the summed answers.

    A minimal HTTP/1.1 client on asyncio streams: the clients share the machine's cores with
    the server, and a general-purpose client (httpx) spent more CPU per request than the
    server did, so the run measured the clients rather than the server.
    """
    url = httpx.URL(base)
    totals = {"accepted": 0, "duplicates": 0, "rejected": 0, "errors": 0}
    queue = iter(requests)

    async def client() -> None:
        reader, writer = await asyncio.open_connection(url.host, url.port)
        try:
            for request in queue:
                writer.write(request)
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
    """One client process: its requests, signed, sent from wall-clock ``start``; totals, start,
    end. A request that is sent twice is signed twice (a new ``webhook-id``), as a sender's
    retry of an event it could not confirm would be."""
    host = httpx.URL(base).netloc.decode()
    requests = [
        signed_request(
            host,
            body_of(events[i : i + per_request])
            if per_request > 1
            else json.dumps(events[i]).encode(),
        )
        for i in range(0, len(events), per_request)
    ]
    time.sleep(max(0.0, start - time.time()))
    began = time.time()
    totals = asyncio.run(drive(base, requests, concurrency))
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
    start = time.time() + 1.5  # after every process has built and signed its requests
    with ProcessPoolExecutor(len(shares)) as pool:
        futures = [
            pool.submit(drive_share, base, share, per_request, concurrency, start)
            for share in shares
        ]
        time.sleep(max(0.0, start - time.time() - 0.05))
        cpu_before = server_cpu_seconds(pid)
        runs = [future.result() for future in futures]
    cpu = server_cpu_seconds(pid) - cpu_before
    totals = {name: sum(run[0][name] for run in runs) for name in runs[0][0]}
    if totals["errors"]:
        raise RuntimeError(f"{label}: {totals['errors']} requests were not answered 202")
    seconds = max(run[2] for run in runs) - min(run[1] for run in runs)
    requests = -(-len(events) // per_request)
    return Result(label, len(events), seconds, requests=requests, server_cpu=cpu), totals


def check_totals(label: str, answers: dict[str, int], accepted: int, duplicates: int) -> None:
    got = (answers["accepted"], answers["duplicates"])
    if got != (accepted, duplicates):
        raise RuntimeError(f"{label}: expected {(accepted, duplicates)} accepted/duplicates, {got}")


def http_results(url: str, folder: Path, options: argparse.Namespace) -> list[Result]:
    """(b) against the baseline, alternating servers, then (d): the same events sent again. Of
    ``options.rounds`` rounds the best of each counts (a shared machine's disk and neighbours
    make single runs vary by a fifth). Then (c), and (d) for it."""
    best: dict[str, Result] = {}

    def keep(name: str, result: Result) -> None:
        if name not in best or _cpu(result) < _cpu(best[name]):
            best[name] = result

    results: list[Result] = []
    with ai_roi_server(url) as (base, pid):
        http_run(base, pid, usage_events(500, "warm"), 1, options, "warm-up")
        for round_ in range(options.rounds):
            with baseline_server(folder) as (baseline_base, baseline_pid):
                http_run(baseline_base, baseline_pid, usage_events(500, "warm"), 1, options, "warm")
                result, totals = http_run(
                    baseline_base,
                    baseline_pid,
                    usage_events(options.requests, f"b{round_}"),
                    1,
                    options,
                    "(b) HTTP baseline, 1 event per request",
                )
                check_totals(result.label, totals, options.requests, 0)
                keep("baseline", result)
            events = usage_events(options.requests, f"single{round_}")
            result, totals = http_run(
                base, pid, events, 1, options, "(b) HTTP, 1 event per request"
            )
            check_totals(result.label, totals, options.requests, 0)
            keep("single", result)
            result, totals = http_run(
                base, pid, events, 1, options, "(d) HTTP, 1 per request, again"
            )
            check_totals(result.label, totals, 0, options.requests)
            keep("again", result)
        results += [best["baseline"], best["single"], best["again"]]
        batched = usage_events(options.batch_events, "batch")
        result, totals = http_run(
            base, pid, batched, HTTP_BATCH, options, "(c) HTTP, 500 per request"
        )
        check_totals(result.label, totals, len(batched), 0)
        results.append(result)
        result, totals = http_run(
            base, pid, batched, HTTP_BATCH, options, "(d) HTTP, 500 per request, again"
        )
        check_totals(result.label, totals, 0, len(batched))
        results.append(result)
    return results


def _cpu(result: Result) -> float:
    return (result.server_cpu or 0) / max(1, result.requests)


# The run ---------------------------------------------------------------------------------------


def _verdict(text: str, met: bool) -> str:
    return f"  {'met ' if met else 'MISS'}  {text}"


def report_bulk(
    name: str, raw: Result, raw_orjson: Result, bulk: Result, again: Result
) -> list[str]:
    lines = [f"\n{name}: {bulk.events:,} events from {PEOPLE:,} people, NDJSON"]
    lines.append(
        f"  {'':<40}{'seconds':>8}{'events/s':>10}{'of raw':>8}{'CPU s':>7}{'of raw CPU':>11}"
        f"{'peak MB':>9}{'PSS MB':>8}"
    )
    for r in (raw, raw_orjson, bulk, again):
        lines.append(
            f"  {r.label:<40}{r.seconds:>8.2f}{r.rate:>10,.0f}{r.rate / raw.rate:>8.1%}"
            f"{r.cpu or 0:>7.2f}{(raw.cpu or 0) / (r.cpu or 1):>11.1%}"
            f"{r.peak_mb or 0:>9,.0f}{r.peak_pss_mb or 0:>8,.0f}"
        )
    share = bulk.rate / raw.rate
    lines.append(_verdict(f"bulk ≥ 30 % of raw: {share:.1%}", share >= BULK_SHARE_TARGET))
    if bulk.events >= 1_000_000:
        lines.append(
            _verdict(
                f"peak ≤ {PEAK_TARGET_MB} MB at 1 M events: {bulk.peak_mb:,.0f} MB "
                f"(PSS {bulk.peak_pss_mb:,.0f} MB)",
                (bulk.peak_mb or 0) <= PEAK_TARGET_MB,
            )
        )
    lines.append(
        _verdict(
            f"duplicates no slower than new: {again.rate:,.0f} vs {bulk.rate:,.0f} events/s",
            again.rate >= bulk.rate * 0.95,
        )
    )
    return lines


def report_http(name: str, results: list[Result]) -> list[str]:
    baseline, single, single_again, batch, batch_again = results
    lines = [f"\n{name}: HTTP, signed requests (Standard Webhooks)"]
    lines.append(
        f"  {'':<46}{'events':>8}{'seconds':>8}{'events/s':>10}{'req/s':>8}{'req/CPU-s':>11}"
    )
    for r in results:
        capacity = r.requests_per_server_cpu_second
        lines.append(
            f"  {r.label:<46}{r.events:>8,}{r.seconds:>8.2f}{r.rate:>10,.0f}"
            f"{r.request_rate:>8,.0f}{f'{capacity:,.0f}' if capacity else '':>11}"
        )
    ours, theirs = single.requests_per_server_cpu_second, baseline.requests_per_server_cpu_second
    if ours and theirs:
        lines.append(
            _verdict(
                f"HTTP single-event ≥ 0.9 of the baseline's requests per CPU-second: "
                f"{ours / theirs:.2f} ({ours:,.0f} vs {theirs:,.0f})",
                ours / theirs >= HTTP_CPU_SHARE_TARGET,
            )
        )
    # Compared by server CPU, as the runs were chosen (the best of the rounds): wall-clock rates
    # also measure the clients, which share the cores. Even so, the best of three runs of the
    # same requests differ by up to a tenth here: within that, duplicates cost the same.
    for new, again in ((single, single_again), (batch, batch_again)):
        fresh, repeated = new.requests_per_server_cpu_second, again.requests_per_server_cpu_second
        if fresh and repeated:
            lines.append(
                _verdict(
                    f"duplicates cost no more server CPU than new (within a tenth), "
                    f"{new.label[4:]}: {repeated:,.1f} vs {fresh:,.1f} requests per CPU-second",
                    repeated >= fresh * 0.9,
                )
            )
    return lines


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


def load() -> str:
    try:
        return "load average " + " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "load average unknown"


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.ingest", description=__doc__)
    parser.add_argument("--events", type=int, default=100_000, help="bulk events (a)")
    parser.add_argument(
        "--million", action="store_true", help="also bulk with 1,000,000 events (minutes)"
    )
    parser.add_argument("--requests", type=int, default=10_000, help="single-event requests (b)")
    parser.add_argument("--batch-events", type=int, default=50_000, help="events sent in (c)")
    parser.add_argument("--concurrency", type=int, default=64, help="requests in flight")
    parser.add_argument("--clients", type=int, default=2, help="client processes")
    parser.add_argument(
        "--rounds", type=int, default=3, help="(b) and (d) runs of each server; the best counts"
    )
    parser.add_argument("--no-bulk", action="store_true", help="leave out (a)")
    parser.add_argument("--no-http", action="store_true", help="leave out (b) and (c)")
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
    print(f"ai-roi ingest benchmark on {machine()}; {load()}", flush=True)
    with tempfile.TemporaryDirectory(prefix="ai-roi-bench-") as name:
        folder = Path(name)
        backends: list[tuple[str, Database]] = [
            ("SQLite (WAL, synchronous=FULL)", lambda: sqlite_database(folder))
        ]
        if options.database_url:
            server_url: str = options.database_url
            backends.append(("PostgreSQL", lambda: postgres_database(server_url)))
        if not options.no_bulk:
            sizes = [options.events] + ([1_000_000] if options.million else [])
            for size in sizes:
                path = write_ndjson(folder / f"events-{size}.ndjson", size, f"e{size}")
                raw = raw_run(path, size, folder)
                raw_orjson = raw_run(path, size, folder, "orjson")
                for backend, database in backends:
                    bulk, again = bulk_run(database, path, size, "(a) ai-roi ingest FILE")
                    for line in report_bulk(backend, raw, raw_orjson, bulk, again):
                        print(line, flush=True)
                    print(f"  ({load()})", flush=True)
                path.unlink()
        if not options.no_http:
            for backend, database in backends:
                with database() as url:
                    migrate(url)
                    for line in report_http(backend, http_results(url, folder, options)):
                        print(line, flush=True)
                    print(f"  ({load()})", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
