"""Digest benchmark (on demand, not part of the test suite): ``python -m bench.digest``.

1. Set-up: a synthetic organisation — ``--people`` people, ``--weeks`` weeks, ``--events`` events
   (usage, artifact created / viewed / used) — written straight into the tables with
   ``executemany`` (set-up only: the ingest pipeline has its own benchmark, ``bench.ingest``).
2. Build: facts (``facts_for_many``: grouped SQL), template reflection and Block Kit for every
   person for the last week; seconds and memory (peak RSS during the build, and its growth).
   A sample is also built one person at a time with the one-query-per-number reference
   (fakes/reference_facts.py) for comparison, and checked to
   give the same facts.
3. Send: ``--send`` DMs through ``run_digest`` and ``SlackDeliverer`` (claim, send, mark sent) to
   the fake Slack Web API on loopback, which allows ``--rate`` chat.postMessage a minute (a
   sliding minute; beyond it, 429 with Retry-After); the app is paced with
   ``SLACK_MESSAGES_PER_MINUTE=--rate``. Wall time against N/R, duplicates, 429s, violations.

Targets (issue 4): build ≤ 60 s and ≤ 500 MB; sending ≥ 90 % of the allowed rate, no duplicates.
Default database: a temporary SQLite file; ``--database-url postgresql+psycopg://…`` (an empty
database; it is migrated here) for PostgreSQL.
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import resource
import shutil
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session, col, select

from bot.context import AppContext
from bot.digest.weekly_facts import facts_for_many
from bot.domain.reflection import template_reflection
from bot.domain.weeks import Week, parse_week
from bot.outbound.gate import RateGate
from bot.settings import load_settings
from bot.slack.blocks.digest import digest_message
from bot.slack.digest_delivery import run_digest
from bot.slack.dm import UserDirectory, pacing_interval, slack_deliverer
from bot.store.db import create_engine, upgrade
from bot.store.models import Artifact, Event, Person
from fakes.reference_facts import reference_facts
from fakes.slack_api import FakeSlack

WEEK = parse_week("2026-W47")  # the digest's week: the last of the generated ones
TZ = ZoneInfo("UTC")
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # Monday 09:00 after it
SOURCE = "bench"
KINDS = ("dashboard", "report", "doc", "deck", "query", "pull_request", "agent", "other")
TOOLS = (
    ("chatgpt", "gpt-4.1"),
    ("chatgpt", "gpt-4.1-mini"),
    ("claude", "claude-sonnet-4"),
    ("cursor", "claude-sonnet-4"),
    ("copilot", "gpt-4.1"),
)
# Shares of the events: usage, artifact created, viewed, used.
MIX = (0.60, 0.12, 0.24, 0.04)
CHUNK_PEOPLE = 500
DEFAULT_EVENTS = 1_000_000  # people whose events are generated and written together


# Memory ---------------------------------------------------------------------------------------


def rss_bytes() -> int:
    """Resident set size now (Linux /proc; 0 elsewhere)."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * resource.getpagesize()
    except OSError:
        return 0


def peak_rss_bytes() -> int:
    """The process's peak RSS (VmHWM, which ``reset_peak`` resets; else ru_maxrss)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def reset_peak() -> bool:
    """Reset the kernel's peak-RSS mark to the current RSS (Linux ≥ 4.0)."""
    try:
        with open("/proc/self/clear_refs", "w") as clear_refs:
            clear_refs.write("5")
        return True
    except OSError:
        return False


class RssSampler:
    """Samples RSS every ``interval`` seconds in a thread: a peak that needs no kernel help."""

    def __init__(self, interval: float = 0.05) -> None:
        self.interval = interval
        self.peak = rss_bytes()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.peak = max(self.peak, rss_bytes())

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_bytes())


def mb(value: int) -> str:
    return f"{value / 1_000_000:,.0f} MB"


@contextmanager
def timed(label: str) -> Iterator[dict[str, float]]:
    result: dict[str, float] = {}
    start = time.perf_counter()
    yield result
    result["seconds"] = time.perf_counter() - start
    print(f"  {label}: {result['seconds']:.1f} s")


# Set-up ---------------------------------------------------------------------------------------


@dataclass
class Counts:
    people: int = 0
    artifacts: int = 0
    events: int = 0
    by_type: Counter[str] | None = None


def email_of(n: int) -> str:
    return f"person{n:06d}@bench.example.com"


def slack_id_of(n: int) -> str:
    return f"U{n:09d}"


def populate(engine: Engine, people: int, weeks: int, events: int, seed: int) -> Counts:
    """Write the synthetic organisation with executemany (set-up only, not the ingest path)."""
    rng = random.Random(seed)
    first_week = WEEK.shift(-(weeks - 1))
    week_bounds = [first_week.shift(w).bounds(TZ) for w in range(weeks)]
    per_person_week = events / (people * weeks)
    counts = Counts(by_type=Counter())
    assert counts.by_type is not None
    now = NOW

    with engine.begin() as connection:
        connection.execute(
            sa.insert(Person),
            [
                {
                    "id": n + 1,
                    "email": email_of(n),
                    "name": f"Person {n}",
                    "slack_user_id": slack_id_of(n),
                    "tz": "UTC",
                    "is_slack_admin": False,
                    "opted_out": False,
                    "share_with_lead_default": False,
                    "created_at": now,
                    "updated_at": now,
                }
                for n in range(people)
            ],
        )
    counts.people = people

    # Artifacts per person-week: the created events' share of that person-week's events.
    created_share = MIX[1]
    artifact_rows: list[dict[str, Any]] = []
    artifacts_by_week: list[list[tuple[int, int, datetime]]] = [[] for _ in range(weeks)]
    for n in range(people):
        for w, (start, _end) in enumerate(week_bounds):
            for _ in range(_poisson_like(rng, per_person_week * created_share)):
                artifact_id = len(artifact_rows) + 1
                at = start + timedelta(seconds=rng.randrange(7 * 86400 - 7200))
                kind = rng.choice(KINDS)
                artifact_rows.append(
                    {
                        "id": artifact_id,
                        "source": SOURCE,
                        "external_id": f"art-{artifact_id}",
                        "kind": kind,
                        "kind_label": None,
                        "title": f"{kind} {artifact_id}",
                        "created_at": at,
                    }
                )
                artifacts_by_week[w].append((artifact_id, n + 1, at))
    with engine.begin() as connection:
        for offset in range(0, len(artifact_rows), 50_000):
            connection.execute(sa.insert(Artifact), artifact_rows[offset : offset + 50_000])
    counts.artifacts = len(artifact_rows)
    del artifact_rows

    # Events, a chunk of people at a time (their created events, views and uses and usage).
    by_creator: dict[int, list[tuple[int, int, datetime]]] = {}
    for week in artifacts_by_week:
        for artifact in week:
            by_creator.setdefault(artifact[1], []).append(artifact)
    visible: list[list[tuple[int, int, datetime]]] = []  # artifacts existing by week w
    for w in range(weeks):
        visible.append([a for week in artifacts_by_week[: w + 1] for a in week])
    key = 0
    for first in range(0, people, CHUNK_PEOPLE):
        rows: list[dict[str, Any]] = []
        for n in range(first, min(first + CHUNK_PEOPLE, people)):
            person_id = n + 1
            for artifact_id, _creator, at in by_creator.get(person_id, []):
                key += 1
                rows.append(_event(key, "artifact.created", at, person_id, artifact_id=artifact_id))
            for w, (start, _end) in enumerate(week_bounds):
                for _ in range(_poisson_like(rng, per_person_week * MIX[0])):
                    key += 1
                    tool, model = rng.choice(TOOLS)
                    input_tokens = rng.randrange(200, 40_000)
                    output_tokens = rng.randrange(20, 4_000)
                    rows.append(
                        _event(
                            key,
                            "ai.usage",
                            start + timedelta(seconds=rng.randrange(7 * 86400)),
                            person_id,
                            tool=tool,
                            model=model,
                            input_tokens=input_tokens,
                            cached_tokens=rng.randrange(0, input_tokens // 2 + 1),
                            output_tokens=output_tokens,
                            cost_nanos=(input_tokens * 2 + output_tokens * 8) * 1000,
                            requests=rng.randrange(1, 6),
                        )
                    )
                for share, kind in ((MIX[2], "artifact.viewed"), (MIX[3], "artifact.used")):
                    pool = visible[w]
                    for _ in range(_poisson_like(rng, per_person_week * share)):
                        if not pool:
                            break
                        artifact_id, creator, created_at = rng.choice(pool)
                        at = max(
                            start + timedelta(seconds=rng.randrange(7 * 86400)),
                            created_at + timedelta(minutes=5),
                        )
                        actor = creator if kind == "artifact.used" else person_id
                        key += 1
                        rows.append(_event(key, kind, at, actor, artifact_id=artifact_id))
        for row in rows:
            counts.by_type[row["type"]] += 1
        with engine.begin() as connection:
            connection.execute(sa.insert(Event), rows)
        counts.events += len(rows)
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            for table in ("people", "artifacts", "events"):
                connection.exec_driver_sql(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT max(id) FROM {table}))"
                )
            connection.exec_driver_sql("ANALYZE")
    else:
        with engine.begin() as connection:
            connection.exec_driver_sql("ANALYZE")
    return counts


def _poisson_like(rng: random.Random, mean: float) -> int:
    """A whole number with the given mean (a random rounding of a jittered mean)."""
    value = mean * rng.uniform(0.5, 1.5)
    whole = int(value)
    return whole + (1 if rng.random() < value - whole else 0)


def _event(key: int, type_: str, at: datetime, person_id: int, **values: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "source": SOURCE,
        "key": f"evt-{key}",
        "type": type_,
        "occurred_at": min(at, WEEK.bounds(TZ)[1] - timedelta(seconds=1)),
        "received_at": NOW,
        "person_id": person_id,
        "actor_kind": "email",
        "actor_value": email_of(person_id - 1),
        "tool": None,
        "model": None,
        "input_tokens": 0,
        "cached_tokens": 0,
        "output_tokens": 0,
        "cost_nanos": 0,
        "requests": 0,
        "artifact_id": None,
        "metrics": None,
    }
    row.update(values)
    return row


# Build ----------------------------------------------------------------------------------------


@dataclass
class BuildResult:
    seconds: float
    facts_seconds: float
    render_seconds: float
    rss_before: int
    peak_rss: int
    sampled_peak: int
    digests: int
    blocks: int
    text_chars: int


def build_all(engine: Engine, people: list[Person], week: Week) -> tuple[BuildResult, Any]:
    """Facts, template reflection and Block Kit for everyone, as a digest run builds them."""
    gc.collect()
    rss_before = rss_bytes()
    reset_peak()
    label = week.label()
    blocks_total = 0
    text_chars = 0
    with RssSampler() as sampler:
        start = time.perf_counter()
        with Session(engine) as session:
            all_facts = facts_for_many(session, people, week, TZ)
        facts_seconds = time.perf_counter() - start
        for person in people:
            assert person.id is not None
            facts = all_facts[person.id]
            reflection = template_reflection(facts, week_label=label)
            blocks, text = digest_message(facts, reflection, week_label=label)
            blocks_total += len(blocks)
            text_chars += len(text)
        seconds = time.perf_counter() - start
    return (
        BuildResult(
            seconds=seconds,
            facts_seconds=facts_seconds,
            render_seconds=seconds - facts_seconds,
            rss_before=rss_before,
            peak_rss=peak_rss_bytes(),
            sampled_peak=sampler.peak,
            digests=len(people),
            blocks=blocks_total,
            text_chars=text_chars,
        ),
        all_facts,
    )


def one_at_a_time(
    engine: Engine, people: list[Person], week: Week, batched: dict[int, Any]
) -> tuple[float, int]:
    """Seconds for the one-query-per-number reference over ``people``; how many differ from the
    batched facts."""
    start = time.perf_counter()
    differ = 0
    with Session(engine) as session:
        for person in people:
            assert person.id is not None
            if reference_facts(session, person, week, TZ) != batched[person.id]:
                differ += 1
    return time.perf_counter() - start, differ


# Send -----------------------------------------------------------------------------------------


@dataclass
class SendResult:
    people: int
    rate: int
    seconds: float
    sent: int
    outcomes: Counter[str]
    posts: int
    accepted: int
    duplicates: int
    rate_limited: int
    violations: int
    first_to_last: float
    statements: int = 0  # database statements during the send
    commits: int = 0  # explicit commits (an autocommitted statement is not counted)
    checkouts: int = 0  # connections taken from the pool
    statement_seconds: float = 0.0  # time inside them (the client's view: round trip included)
    sleeps: list[float] = field(default_factory=list)  # the gate's sleeps: how late each woke
    load: tuple[float, float] = (0.0, 0.0)  # 1-minute load average before and after
    commit: tuple[float, float] = (0.0, 0.0)  # commit_latency() just before the send


class StatementCounter:
    """Counts the engine's statements (and the time spent in them), commits and pool
    check-outs (on PostgreSQL each one pings the server first) while ``on``."""

    def __init__(self, engine: Engine) -> None:
        self.on = False
        self.count = 0
        self.seconds = 0.0
        self.commits = 0
        self.checkouts = 0
        self._started = 0.0
        sa.event.listen(engine, "before_cursor_execute", self._before)
        sa.event.listen(engine, "after_cursor_execute", self._after)
        sa.event.listen(engine, "commit", self._commit)
        sa.event.listen(engine.pool, "checkout", self._checkout)

    def _commit(self, *args: Any) -> None:
        self.commits += self.on

    def _checkout(self, *args: Any) -> None:
        self.checkouts += self.on

    def _before(self, *args: Any) -> None:
        self._started = time.perf_counter()

    def _after(self, *args: Any) -> None:
        if self.on:
            self.count += 1
            self.seconds += time.perf_counter() - self._started


def commit_latency(engine: Engine, count: int = 200) -> tuple[float, float]:
    """Median and 90th percentile seconds of one autocommitted one-row UPDATE on a scratch
    table: what a durable commit costs on this database right now (the disk's flush)."""
    times = []
    with engine.connect() as connection:
        writes = connection.execution_options(isolation_level="AUTOCOMMIT")
        writes.exec_driver_sql(
            "CREATE TABLE bench_commit_probe (id INTEGER PRIMARY KEY, n INTEGER)"
        )
        writes.exec_driver_sql("INSERT INTO bench_commit_probe VALUES (1, 0)")
        for _ in range(count):
            start = time.perf_counter()
            writes.exec_driver_sql("UPDATE bench_commit_probe SET n = n + 1 WHERE id = 1")
            times.append(time.perf_counter() - start)
        writes.exec_driver_sql("DROP TABLE bench_commit_probe")
    times.sort()
    return times[len(times) // 2], times[int(len(times) * 0.9)]


def measured_sleep(lateness: list[float]) -> Any:
    """``time.sleep`` that records how much later than asked it returned."""

    def sleep(seconds: float) -> None:
        start = time.perf_counter()
        time.sleep(seconds)
        lateness.append(time.perf_counter() - start - seconds)

    return sleep


def send_all(
    engine: Engine,
    database_url: str,
    people: list[Person],
    facts: dict[int, Any],
    rate: int,
    inject_429: float = 0.0,
) -> SendResult:
    counter = StatementCounter(engine)
    with FakeSlack() as slack:
        slack.set_rate_limit("chat.postMessage", per_minute=rate)
        if inject_429:
            slack.inject_429("chat.postMessage", probability=inject_429, retry_after=1, seed=47)
        for person in people:
            assert person.id is not None
            slack.add_user(id=slack_id_of(person.id - 1), email=person.email, tz="UTC")
        settings = load_settings(
            env_file=None,
            database_url=database_url,
            slack_bot_token=slack.token,
            slack_api_url=slack.base_url,
            digest_delivery="slack",
            slack_messages_per_minute=rate,
        )
        context = AppContext(settings=settings, engine=engine, clock=lambda: NOW)
        lateness: list[float] = []
        # The gate SLACK_MESSAGES_PER_MINUTE=rate makes, with a sleep that is measured.
        gate = RateGate(
            min_interval=pacing_interval(settings.slack_messages_per_minute),
            sleep=measured_sleep(lateness),
        )
        deliverer = slack_deliverer(context, gate=gate)
        deliverer.directory = UserDirectory()
        commit = commit_latency(engine)
        load_before = os.getloadavg()[0]
        counter.on = True
        start = time.perf_counter()
        outcomes = run_digest(
            engine,
            people,
            week=WEEK,
            tz=TZ,
            deliverer=deliverer,
            now=NOW,
            facts=facts,
        )
        seconds = time.perf_counter() - start
        counter.on = False
        posts = slack.calls_to("chat.postMessage")
        accepted = [m for m in slack.messages if m.method == "chat.postMessage"]
        per_user = Counter(m.user for m in accepted)
        ok_times = [c.time for c in posts if c.ok]
        return SendResult(
            people=len(people),
            rate=rate,
            seconds=seconds,
            sent=sum(1 for o in outcomes if o.status == "sent"),
            outcomes=Counter(o.status for o in outcomes),
            posts=len(posts),
            accepted=len(accepted),
            duplicates=sum(count - 1 for count in per_user.values() if count > 1),
            rate_limited=sum(1 for c in posts if c.status == 429),
            violations=len(slack.violations),
            first_to_last=(ok_times[-1] - ok_times[0]) if len(ok_times) > 1 else 0.0,
            statements=counter.count,
            commits=counter.commits,
            checkouts=counter.checkouts,
            statement_seconds=counter.seconds,
            sleeps=lateness,
            load=(load_before, os.getloadavg()[0]),
            commit=commit,
        )


def report_send(result: SendResult) -> bool:
    """Print the send's figures; True when its targets are met."""
    n, rate = result.people, result.rate
    ideal = 60.0 * n / rate
    achieved = result.accepted / result.seconds * 60
    print(
        f"  N = {n:,}, R = {rate:,}/min, N/R = {ideal:.1f} s; wall {result.seconds:.1f} s"
        f" ({result.seconds / ideal:.3f} × N/R)"
    )
    print(
        f"  achieved {achieved:,.0f}/min = {achieved / rate:.1%} of the allowed rate"
        f" (first to last accepted post {result.first_to_last:.1f} s)"
    )
    print(
        f"  outcomes {dict(result.outcomes)}; posts {result.posts:,}, accepted {result.accepted:,},"
        f" duplicates {result.duplicates}, 429s {result.rate_limited},"
        f" requests during a Retry-After {result.violations}"
    )
    per_dm = max(result.accepted, 1)
    print(
        f"  database, a DM: {result.statements / per_dm:.2f} statements"
        f" ({result.statement_seconds / per_dm * 1000:.2f} ms inside them),"
        f" {result.commits / per_dm:.2f} commits, {result.checkouts / per_dm:.2f} pool check-outs"
    )
    if result.sleeps:
        late = sorted(result.sleeps)
        print(
            f"  pacing: {len(late):,} sleeps; woke late by {late[len(late) // 2] * 1e6:,.0f} µs"
            f" (median), {late[int(len(late) * 0.99)] * 1e6:,.0f} µs (p99),"
            f" {sum(late):.2f} s in all"
        )
    else:
        print("  pacing: the gate never slept (each DM took longer than the interval)")
    print(
        f"  a durable commit just before (one-row UPDATE, autocommitted):"
        f" {result.commit[0] * 1000:.2f} ms median, {result.commit[1] * 1000:.2f} ms p90;"
        f" load average (1 min) {result.load[0]:.2f} before, {result.load[1]:.2f} after"
    )
    return (
        result.duplicates == 0
        and result.sent == n
        and result.violations == 0
        and achieved / rate >= 0.9
    )


# Main -----------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.digest", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--people", type=int, default=10_000)
    parser.add_argument("--weeks", type=int, default=4)
    parser.add_argument("--events", type=int, default=DEFAULT_EVENTS)
    parser.add_argument(
        "--rate", type=int, default=6_000, help="chat.postMessage a minute (Slack and pacing)"
    )
    parser.add_argument("--send", type=int, default=None, help="DMs to send (default: everyone)")
    parser.add_argument(
        "--sample", type=int, default=500, help="people built one at a time, for comparison"
    )
    parser.add_argument("--database-url", default=None, help="default: a temporary SQLite file")
    parser.add_argument("--seed", type=int, default=47)
    parser.add_argument(
        "--delivery-only",
        action="store_true",
        help="set up only what sending needs (one week, 20 events a person unless --events),"
        " build facts, send; a PostgreSQL --database-url names a server: a database is created"
        " on it and dropped",
    )
    parser.add_argument(
        "--inject-429",
        type=float,
        default=0.0,
        metavar="P",
        help="the fake Slack also answers this share of chat.postMessage 429 (Retry-After: 1)",
    )
    args = parser.parse_args(argv)
    if args.people < 1 or args.weeks < 1 or args.events < 1 or args.rate < 1:
        parser.error("--people, --weeks, --events and --rate must be positive")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.delivery_only:
        return delivery_main(args)
    workdir: Path | None = None
    url = args.database_url
    if url is None:
        workdir = Path(tempfile.mkdtemp(prefix="ai-roi-bench-"))
        url = f"sqlite:///{workdir / 'bench.db'}"
    engine = create_engine(url)
    try:
        return run(args, engine, url)
    finally:
        engine.dispose()
        if workdir is not None:
            shutil.rmtree(workdir, ignore_errors=True)


def run(args: argparse.Namespace, engine: Engine, url: str) -> int:
    backend = engine.dialect.name
    print(f"digest benchmark on {backend}; week {WEEK} ({args.weeks} weeks of data)")
    upgrade(engine)
    with Session(engine) as session:
        if session.exec(select(sa.func.count()).select_from(Person)).one():
            print("the database already has people: give an empty one", file=sys.stderr)
            return 1

    print("set-up (executemany straight into the tables; not timed as part of the build)")
    with timed("write") as setup:
        counts = populate(engine, args.people, args.weeks, args.events, args.seed)
    assert counts.by_type is not None
    kinds = ", ".join(f"{name} {count:,}" for name, count in sorted(counts.by_type.items()))
    print(
        f"  {counts.people:,} people, {counts.artifacts:,} artifacts, {counts.events:,} events"
        f" ({kinds}); {counts.events / setup['seconds']:,.0f} events/s"
    )

    with Session(engine) as session:
        people = list(session.exec(select(Person).order_by(col(Person.id))).all())
        for person in people:
            session.expunge(person)

    print(f"build: facts + template reflection + Block Kit for {len(people):,} people, {WEEK}")
    build, all_facts = build_all(engine, people, WEEK)
    print(
        f"  {build.seconds:.1f} s ({build.facts_seconds:.1f} s facts in grouped SQL,"
        f" {build.render_seconds:.1f} s reflections and Block Kit);"
        f" {build.digests / build.seconds:,.0f} digests/s; {build.blocks / build.digests:.1f}"
        f" blocks and {build.text_chars / build.digests:,.0f} fallback chars a digest"
    )
    print(
        f"  memory: RSS {mb(build.rss_before)} before, peak {mb(build.peak_rss)} during"
        f" (sampled {mb(build.sampled_peak)}), growth {mb(build.peak_rss - build.rss_before)};"
        f" process peak (ru_maxrss, set-up included)"
        f" {mb(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)}"
    )
    print(
        f"  target ≤ 60 s: {build.seconds / 60:.0%} of it;"
        f" ≤ 500 MB: peak is {build.peak_rss / 500e6:.0%} of it"
    )
    sample = random.Random(args.seed).sample(people, min(args.sample, len(people)))
    one_seconds, differ = one_at_a_time(engine, sample, WEEK, all_facts)
    per_person = one_seconds / max(len(sample), 1)
    print(
        f"  one person at a time (reference, {len(sample)} people): {per_person * 1000:.1f} ms"
        f" each, ≈ {per_person * len(people):.0f} s for everyone"
        f" ({per_person * len(people) / build.facts_seconds:.0f}× the grouped queries);"
        f" facts that differ from the grouped ones: {differ}"
    )

    if args.send == 0:
        return 0 if differ == 0 else 1
    recipients = people[: args.send] if args.send else people
    n, rate = len(recipients), args.rate
    print(
        f"send: {n:,} DMs through run_digest + SlackDeliverer to the fake Slack,"
        f" chat.postMessage limited to R = {rate:,}/min, SLACK_MESSAGES_PER_MINUTE={rate}"
    )
    result = send_all(engine, url, recipients, all_facts, rate)
    sent_ok = report_send(result)
    print(f"  delivery rows sent: {_sent_rows(engine):,}")
    ok = differ == 0 and sent_ok
    print("targets met" if ok and build.seconds <= 60 and build.peak_rss <= 500e6 else "CHECK")
    return 0 if ok else 1


# Delivery only --------------------------------------------------------------------------------


def delivery_main(args: argparse.Namespace) -> int:
    """``--delivery-only``: a scratch database (a temporary SQLite file, or one created on the
    PostgreSQL server ``--database-url`` names and dropped afterwards), then ``run_delivery``."""
    url = args.database_url
    if url is None:
        workdir = Path(tempfile.mkdtemp(prefix="ai-roi-bench-"))
        try:
            return run_delivery(args, f"sqlite:///{workdir / 'bench.db'}")
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
    if not url.startswith("postgresql"):
        print("--delivery-only takes a PostgreSQL server URL (or none: SQLite)", file=sys.stderr)
        return 2
    with postgres_database(url) as scratch:
        return run_delivery(args, scratch)


def run_delivery(args: argparse.Namespace, url: str) -> int:
    engine = create_engine(url)
    try:
        upgrade(engine)
        events = args.events if args.events != DEFAULT_EVENTS else 20 * args.people
        print(f"delivery benchmark on {engine.dialect.name}; {WEEK}")
        with timed("set-up: people and one week of events"):
            populate(engine, args.people, 1, events, args.seed)
        with Session(engine) as session:
            people = list(session.exec(select(Person).order_by(col(Person.id))).all())
            for person in people:
                session.expunge(person)
            with timed("facts for everyone (facts_for_many)"):
                facts = facts_for_many(session, people, WEEK, TZ)
        recipients = people[: args.send] if args.send else people
        print(
            f"send: {len(recipients):,} DMs through run_digest + SlackDeliverer to the fake Slack,"
            f" chat.postMessage limited to R = {args.rate:,}/min,"
            f" SLACK_MESSAGES_PER_MINUTE={args.rate}"
            + (f", {args.inject_429:.1%} of posts answered 429" if args.inject_429 else "")
        )
        result = send_all(engine, url, recipients, facts, args.rate, args.inject_429)
        ok = report_send(result)
        print(f"  delivery rows sent: {_sent_rows(engine):,}")
        print("targets met" if ok else "CHECK")
        return 0 if ok else 1
    finally:
        engine.dispose()


@contextmanager
def postgres_database(server_url: str) -> Iterator[str]:
    """A new database on the server of ``server_url``, dropped afterwards."""
    admin = sa.create_engine(server_url, isolation_level="AUTOCOMMIT")
    name = f"airoi_bench_delivery_{os.getpid()}"
    try:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def _sent_rows(engine: Engine) -> int:
    with Session(engine) as session:
        return int(
            session.exec(
                sa.text("SELECT count(*) FROM deliveries WHERE status = 'sent'")  # type: ignore[call-overload]
            ).one()[0]
        )


if __name__ == "__main__":
    sys.exit(main())
