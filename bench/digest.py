"""Digest benchmark (on demand, not part of the test suite): ``python -m bench.digest``.

1. Set-up (timed apart): a synthetic organisation — ``--people`` people, ``--weeks`` weeks,
   ``--events`` events (usage, artifact created / viewed / used) — written straight into the
   tables in time order, ``executemany`` on SQLite and ``COPY`` on PostgreSQL
   (``bench/digest_data.py``; the ingest pipeline has its own benchmark, ``bench.ingest``).
2. Build, in a process of its own (``--runs`` times): facts, template reflection and Block Kit
   for everyone for the last week, as the weekly run builds them — people a chunk at a time,
   their facts from everyone's rows of the week (``facts_in_batches``), each digest rendered and
   dropped. Wall and CPU seconds, and the build process's peak memory (its VmHWM: the whole
   command, interpreter included). A sample of people is built again one at a time with the
   one-query-per-number reference (fakes/reference_facts.py) and must give the same facts.
3. ``--explain FILE``: the plans of the facts statements (everyone, and by person), captured
   from the database, as Markdown.
4. Send: ``--send`` DMs through ``run_digest`` and ``SlackDeliverer`` (claim, send, mark sent) to
   the fake Slack Web API on loopback, which allows ``--rate`` chat.postMessage a minute (a
   sliding minute; beyond it, 429 with Retry-After); the app is paced with
   ``SLACK_MESSAGES_PER_MINUTE=--rate``. Wall time against N/R, duplicates, 429s, violations;
   the database work a DM costs (statements, commits, pool check-outs, time in statements), how
   late the pacing gate's sleeps woke, a durable commit's cost just before, the load average.
   ``--ai-share`` of the artifacts are AI-assisted, so people have an 8-week chart: the DMs that
   showed it as an image, and those that carried its text line because the upload tier (100 a
   minute per method, its own gate) had no room at that moment: DMs never wait for uploads.
5. ``--delivery-only``: set up only what sending needs (``--people`` people, one week, 20 events
   a person unless ``--events``), facts for everyone, then the send above; ``--inject-429 P``
   makes the fake Slack also answer a share P of posts 429 (Retry-After: 1).

Targets (issue 14): a build for 100,000 people and 10 M events in ≤ 60 s and ≤ 1 GB on both
databases; sending ≥ 90 % of the allowed rate, no duplicates.
Default database: a temporary SQLite file, deleted after. ``--database-url
postgresql+psycopg://…/NAME``: a database that does not exist yet is created for the run and
dropped after it; an existing one must be empty (it is migrated here). ``--keep`` keeps the
database; ``--reuse`` builds on one a previous ``--keep`` run left (no set-up). With
``--delivery-only`` a PostgreSQL URL names a server: a database is created on it for the run
and dropped after (unless ``--keep``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import ClauseElement, Executable
from sqlmodel import Session, col, select

from bench.digest_data import populate, slack_id_of
from bot.context import AppContext
from bot.digest.weekly_facts import (
    EVERYONE_BATCH_SIZE,
    _WeekQuery,
    facts_for_many,
    facts_in_batches,
)
from bot.domain.facts import Facts
from bot.domain.reflection import template_reflection
from bot.domain.weeks import parse_week
from bot.outbound.gate import RateGate
from bot.settings import load_settings
from bot.slack.blocks.digest import digest_message
from bot.slack.digest_delivery import run_digest
from bot.slack.dm import UserDirectory, pacing_interval, slack_deliverer
from bot.slack.web_api import COMPLETE_UPLOAD, GET_UPLOAD_URL
from bot.store.db import create_engine, psycopg_url, upgrade
from bot.store.models import Person
from bot.store.people import people_by_id, people_count
from fakes.reference_facts import reference_facts
from fakes.slack_api import FakeSlack

WEEK = parse_week("2026-W47")  # the digest's week: the last of the generated ones
TZ = ZoneInfo("UTC")
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # Monday 09:00 after it
DEFAULT_EVENTS = 1_000_000
DELIVERY_EVENTS_A_PERSON = 20  # --delivery-only: one week, this many events a person


# Memory ---------------------------------------------------------------------------------------


def mb(value: int) -> str:
    return f"{value / 1_000_000:,.0f} MB"


@contextmanager
def timed(label: str) -> Iterator[dict[str, float]]:
    result: dict[str, float] = {}
    start = time.perf_counter()
    yield result
    result["seconds"] = time.perf_counter() - start
    print(f"  {label}: {result['seconds']:.1f} s")


# Build ----------------------------------------------------------------------------------------
#
# The build runs in a child process of its own (``--build-phase``), so its peak memory is the
# whole command's, interpreter included, and nothing of the set-up: the kernel's high-water mark
# of the process's own memory (``VmHWM``). Not ``ru_maxrss``: Linux keeps in it the high-water
# mark of the process image that ``exec`` replaced, here a copy of the set-up process (1.6 GB
# at 100,000 people, reported as the build's before this was found).


def own_peak_bytes() -> int:
    """This process's peak resident memory (``VmHWM``; ``ru_maxrss`` where there is no /proc)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


@dataclass
class BuildResult:
    seconds: float
    cpu_seconds: float
    facts_seconds: float  # waiting for the next chunk's facts (SQL, reading rows, nudges)
    render_seconds: float  # template reflections and Block Kit
    peak_rss: int  # the build process's VmHWM
    digests: int
    blocks: int
    text_chars: int
    sample: int
    sample_seconds: float
    differ: int

    @classmethod
    def from_json(cls, text: str) -> BuildResult:
        return cls(**json.loads(text))


def build_phase(url: str, sample_size: int, seed: int) -> BuildResult:
    """Facts, template reflection and Block Kit for everyone, as the weekly run builds them:
    people read a chunk at a time in id order, their facts from everyone's rows of the week
    (``facts_in_batches(..., everyone=True)``), each digest rendered and dropped. Then a sample
    of people is built again one at a time with the one-query-per-number reference
    (fakes/reference_facts.py) and compared."""
    engine = create_engine(url)
    label = WEEK.label()
    digests = blocks_total = text_chars = 0
    facts_seconds = 0.0
    kept: dict[int, tuple[Person, Facts]] = {}
    start, cpu = time.perf_counter(), time.process_time()
    with Session(engine) as people_session, Session(engine) as session:
        everyone = people_count(session)
        sample_ids = set(
            random.Random(seed).sample(range(1, everyone + 1), min(sample_size, everyone))
        )
        people = (p for batch in people_by_id(people_session, EVERYONE_BATCH_SIZE) for p in batch)
        batches = facts_in_batches(session, people, WEEK, TZ, everyone=True)
        while True:
            waited = time.perf_counter()
            batch = next(batches, None)
            facts_seconds += time.perf_counter() - waited
            if batch is None:
                break
            for person, facts in batch:
                reflection = template_reflection(facts, week_label=label)
                blocks, text = digest_message(
                    facts,
                    reflection,
                    week_label=label,
                    share_default=person.share_with_lead_default,
                )
                digests += 1
                blocks_total += len(blocks)
                text_chars += len(text)
                if person.id in sample_ids:
                    kept[person.id] = (person, facts)
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu
    peak = own_peak_bytes()
    sample_start = time.perf_counter()
    differ = 0
    with Session(engine) as session:
        for person, facts in kept.values():
            if reference_facts(session, person, WEEK, TZ) != facts:
                differ += 1
    engine.dispose()
    return BuildResult(
        seconds=seconds,
        cpu_seconds=cpu_seconds,
        facts_seconds=facts_seconds,
        render_seconds=seconds - facts_seconds,
        peak_rss=peak,
        digests=digests,
        blocks=blocks_total,
        text_chars=text_chars,
        sample=len(kept),
        sample_seconds=time.perf_counter() - sample_start,
        differ=differ,
    )


def build_in_child(url: str, sample_size: int, seed: int) -> BuildResult:
    """``build_phase`` in a fresh ``python -m bench.digest --build-phase`` process."""
    command = [sys.executable, "-m", "bench.digest", "--build-phase", "--database-url", url]
    command += ["--sample", str(sample_size), "--seed", str(seed)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"the build process failed:\n{done.stderr[-4000:]}")
    return BuildResult.from_json(done.stdout.strip().splitlines()[-1])


def print_build(build: BuildResult, people: int) -> None:
    print(
        f"  {build.seconds:.1f} s wall, {build.cpu_seconds:.1f} s CPU in the process"
        f" ({build.facts_seconds:.1f} s waiting for facts, {build.render_seconds:.1f} s"
        f" reflections and Block Kit); {build.digests / build.seconds:,.0f} digests/s;"
        f" {build.blocks / max(build.digests, 1):.1f} blocks and"
        f" {build.text_chars / max(build.digests, 1):,.0f} fallback chars a digest"
    )
    print(
        f"  peak memory of the build process (VmHWM, interpreter included):"
        f" {mb(build.peak_rss)}; load {load()}"
    )
    print(
        f"  reference check: {build.sample} people built one at a time"
        f" ({build.sample_seconds / max(build.sample, 1) * 1000:.0f} ms each,"
        f" ≈ {build.sample_seconds / max(build.sample, 1) * people:,.0f} s for everyone);"
        f" facts that differ from the build's: {build.differ}"
    )


def load() -> str:
    """The machine's load averages (1, 5, 15 minutes): the machine is shared."""
    try:
        return "{:.2f} {:.2f} {:.2f}".format(*os.getloadavg())
    except OSError:
        return "unknown"


# EXPLAIN --------------------------------------------------------------------------------------


class Explain(Executable, ClauseElement):
    """``EXPLAIN`` of a statement, with its parameters bound as the app binds them."""

    inherit_cache = False

    def __init__(self, statement: Any, analyze: bool) -> None:
        self.statement = statement
        self.analyze = analyze


@compiles(Explain)
def _compile_explain(element: Explain, compiler: Any, **kw: Any) -> str:
    sql = compiler.process(element.statement, **kw)
    if compiler.dialect.name == "postgresql":
        options = "ANALYZE, BUFFERS, COSTS OFF" if element.analyze else "COSTS OFF"
        return f"EXPLAIN ({options}) {sql}"
    return f"EXPLAIN QUERY PLAN {sql}"


def explain_facts(engine: Engine, path: Path) -> None:
    """The plans of the facts statements, for everyone (the weekly run) and by person (500 ids),
    captured from the database (PostgreSQL: ``EXPLAIN ANALYZE``; SQLite: ``EXPLAIN QUERY PLAN``)
    and written to ``path`` as Markdown."""
    lines = [
        f"# Digest facts: query plans on {engine.dialect.name}",
        "",
        f"Captured by `python -m bench.digest --explain` on the benchmark's organisation, {WEEK}.",
        "",
    ]
    with Session(engine) as session:
        query = _WeekQuery.of(session, WEEK, TZ)
        ids = [int(i) for i in session.exec(select(Person.id).order_by(col(Person.id)).limit(500))]
        for scope, person_ids in (("everyone", None), ("by person, 500 people", ids)):
            for name, statement in query.statements(person_ids).items():
                rows = session.execute(Explain(statement, analyze=True)).all()
                if engine.dialect.name == "postgresql":
                    plan = [str(row[0]) for row in rows]
                else:
                    plan = [f"{'  ' * _depth(rows, row)}{row[3]}" for row in rows]
                lines += [f"## {name} ({scope})", "", "```", *plan, "```", ""]
    path.write_text("\n".join(lines))
    print(f"  query plans written to {path}")


def _depth(rows: list[Any], row: Any) -> int:
    """SQLite's plan rows name their parent; the indentation is the chain's length."""
    parents = {r[0]: r[1] for r in rows}
    depth, parent = 0, row[1]
    while parent:
        depth += 1
        parent = parents.get(parent, 0)
    return depth


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
    charted: int = 0  # recipients with an AI-assisted artifact in the chart's eight weeks
    images: int = 0  # DMs that showed the chart as an image
    uploads: int = 0  # files completed
    upload_429s: int = 0
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
        self._engine = engine
        sa.event.listen(engine, "before_cursor_execute", self._before)
        sa.event.listen(engine, "after_cursor_execute", self._after)
        sa.event.listen(engine, "commit", self._commit)
        sa.event.listen(engine.pool, "checkout", self._checkout)

    def close(self) -> None:
        """Stop listening (the engine outlives the send)."""
        sa.event.remove(self._engine, "before_cursor_execute", self._before)
        sa.event.remove(self._engine, "after_cursor_execute", self._after)
        sa.event.remove(self._engine, "commit", self._commit)
        sa.event.remove(self._engine.pool, "checkout", self._checkout)

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
        writes.exec_driver_sql("DROP TABLE IF EXISTS bench_commit_probe")
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


def load_1() -> float:
    """The 1-minute load average (0.0 where the platform has none)."""
    try:
        return os.getloadavg()[0]
    except OSError:
        return 0.0


def send_all(
    engine: Engine,
    database_url: str,
    people: list[Person],
    facts: dict[int, Facts],
    rate: int,
    inject_429: float = 0.0,
) -> SendResult:
    counter = StatementCounter(engine)
    try:
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
            load_before = load_1()
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
            load_after = load_1()
            charted = sum(1 for p in people if p.id is not None and facts[p.id].ai_history)
            images = sum(
                1
                for m in slack.messages
                if m.method == "chat.postMessage"
                and any(b["type"] == "image" for b in m.blocks or [])
            )
            upload_calls = slack.calls_to(GET_UPLOAD_URL) + slack.calls_to(COMPLETE_UPLOAD)
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
                charted=charted,
                images=images,
                uploads=len(slack.files),
                upload_429s=sum(1 for c in upload_calls if c.status == 429),
                statements=counter.count,
                commits=counter.commits,
                checkouts=counter.checkouts,
                statement_seconds=counter.seconds,
                sleeps=lateness,
                load=(load_before, load_after),
                commit=commit,
            )
    finally:
        counter.close()


def report_send(result: SendResult) -> bool:
    """Print the send's figures; True when its targets are met."""
    n, rate = result.people, result.rate
    ideal = 60.0 * n / rate
    achieved = result.accepted / result.seconds * 60 if result.seconds else 0.0
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
    print(
        f"  charts: {result.charted:,} recipients had AI-assisted artifacts; {result.images:,} DMs"
        f" showed the chart, {result.charted - result.images:,} its text line instead;"
        f" {result.uploads:,} files uploaded, {result.upload_429s} 429s on the upload methods"
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
    parser.add_argument(
        "--events",
        type=int,
        default=None,
        help=f"default {DEFAULT_EVENTS:,}; with --delivery-only {DELIVERY_EVENTS_A_PERSON} a person",
    )
    parser.add_argument(
        "--rate", type=int, default=6_000, help="chat.postMessage a minute (Slack and pacing)"
    )
    parser.add_argument("--send", type=int, default=None, help="DMs to send (default: everyone)")
    parser.add_argument(
        "--sample", type=int, default=500, help="people built one at a time, for comparison"
    )
    parser.add_argument("--runs", type=int, default=1, help="builds, each in a fresh process")
    parser.add_argument("--explain", type=Path, default=None, help="write the query plans here")
    parser.add_argument("--database-url", default=None, help="default: a temporary SQLite file")
    parser.add_argument("--keep", action="store_true", help="keep the database after the run")
    parser.add_argument("--reuse", action="store_true", help="build on a kept database")
    parser.add_argument("--seed", type=int, default=47)
    parser.add_argument(
        "--ai-share",
        type=float,
        default=None,
        help="share of artifacts marked AI-assisted, so people have an 8-week chart (default 0.3;"
        " 0 with --delivery-only, which measures the DMs' own rate)",
    )
    parser.add_argument(
        "--delivery-only",
        action="store_true",
        help=f"set up only what sending needs (one week, {DELIVERY_EVENTS_A_PERSON} events a"
        " person unless --events), build facts, send; a PostgreSQL --database-url names a"
        " server: a database is created on it and dropped",
    )
    parser.add_argument(
        "--inject-429",
        type=float,
        default=0.0,
        metavar="P",
        help="the fake Slack also answers this share of chat.postMessage 429 (Retry-After: 1)",
    )
    parser.add_argument("--build-phase", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.events is None:
        args.events = (
            DELIVERY_EVENTS_A_PERSON * args.people if args.delivery_only else DEFAULT_EVENTS
        )
    if args.ai_share is None:
        args.ai_share = 0.0 if args.delivery_only else 0.3
    if args.people < 1 or args.weeks < 1 or args.events < 1 or args.rate < 1 or args.runs < 1:
        parser.error("--people, --weeks, --events, --rate and --runs must be positive")
    if args.send is not None and args.send < 0:
        parser.error("--send cannot be negative")
    if not 0 <= args.ai_share <= 1:
        parser.error("--ai-share is a share between 0 and 1")
    if not 0 <= args.inject_429 <= 1:
        parser.error("--inject-429 is a share between 0 and 1")
    if args.reuse and not args.database_url:
        parser.error("--reuse needs --database-url")
    if args.delivery_only and (args.reuse or args.explain is not None):
        parser.error("--delivery-only sets up its own database: no --reuse or --explain")
    if args.delivery_only and args.send == 0:
        parser.error("--delivery-only sends: --send 0 leaves nothing to measure")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.build_phase:
        print(json.dumps(asdict(build_phase(args.database_url, args.sample, args.seed))))
        return 0
    workdir: Path | None = None
    url = args.database_url
    if url is None:
        workdir = Path(tempfile.mkdtemp(prefix="ai-roi-bench-"))
        url = f"sqlite:///{workdir / 'bench.db'}"
    url = psycopg_url(url)
    if args.delivery_only and make_url(url).get_backend_name() == "postgresql":
        # The URL names a server: a database of the run's own on it, created and dropped below.
        url = (
            make_url(url)
            .set(database=f"airoi_bench_delivery_{os.getpid()}")
            .render_as_string(hide_password=False)
        )
    created = _create_postgres_database(url) if not args.reuse else False
    engine = create_engine(url)
    try:
        if args.delivery_only:
            return run_delivery(args, engine, url)
        return run(args, engine, url)
    finally:
        engine.dispose()
        if workdir is not None and not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
        elif workdir is not None or (created and args.keep):
            print(f"kept: {make_url(url).render_as_string(hide_password=True)}")
        if created and not args.keep:
            _drop_postgres_database(url)


def _admin_engine(url: str) -> tuple[Engine, str]:
    parsed = make_url(url)
    admin = create_engine(
        parsed.set(database="postgres").render_as_string(hide_password=False),
        isolation_level="AUTOCOMMIT",
    )
    return admin, str(parsed.database)


def _create_postgres_database(url: str) -> bool:
    """Create the PostgreSQL database of ``url`` when it does not exist (True: created here)."""
    if make_url(url).get_backend_name() != "postgresql":
        return False
    admin, name = _admin_engine(url)
    try:
        with admin.connect() as connection:
            exists = connection.execute(
                sa.text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
            ).first()
            if exists:
                return False
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
            return True
    finally:
        admin.dispose()


def _drop_postgres_database(url: str) -> None:
    admin, name = _admin_engine(url)
    try:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        admin.dispose()


def _empty(engine: Engine) -> bool:
    """Migrate the database; True when it has no people yet (else the reason is printed)."""
    upgrade(engine)
    with Session(engine) as session:
        if not people_count(session):
            return True
    print("the database already has people: give an empty one (or --reuse)", file=sys.stderr)
    return False


def run(args: argparse.Namespace, engine: Engine, url: str) -> int:
    backend = engine.dialect.name
    print(f"digest benchmark on {backend}; week {WEEK} ({args.weeks} weeks of data)")
    print(
        f"  machine: {os.cpu_count()} CPUs, {platform.platform()}, Python {platform.python_version()}"
    )
    if args.reuse:
        upgrade(engine)
        with Session(engine) as session:
            people = people_count(session)
        print(f"set-up: none (--reuse: {people:,} people already there)")
    elif not _empty(engine):
        return 1
    else:
        how = "COPY" if backend == "postgresql" else "executemany"
        print(f"set-up ({how} straight into the tables, in time order; timed apart)")
        people = set_up(args, engine, args.weeks)

    print(f"build: facts + template reflection + Block Kit for {people:,} people, {WEEK}")
    builds = []
    for number in range(1, args.runs + 1):
        print(f" run {number} (load before: {load()})")
        build = build_in_child(url, args.sample, args.seed)
        print_build(build, people)
        builds.append(build)
    best = min(builds, key=lambda b: b.seconds)
    peak = max(b.peak_rss for b in builds)
    differ = sum(b.differ for b in builds)
    print(
        f"  target ≤ 60 s: best {best.seconds:.1f} s, {best.seconds / 60:.0%} of it;"
        f" ≤ 1 GB: peak {mb(peak)}, {peak / 1e9:.0%} of it; facts that differ: {differ}"
    )
    if args.explain is not None:
        explain_facts(engine, args.explain)

    if args.send == 0:
        return 0 if differ == 0 else 1
    build_ok = differ == 0 and best.seconds <= 60 and peak <= 1e9
    sent_ok = send_part(args, engine, url)
    print("targets met" if sent_ok and build_ok else "CHECK")
    return 0 if sent_ok and differ == 0 else 1


def set_up(args: argparse.Namespace, engine: Engine, weeks: int) -> int:
    """Write the synthetic organisation (``bench/digest_data.py``); the number of people."""
    with timed("write") as setup:
        counts = populate(
            engine, args.people, weeks, args.events, args.seed, WEEK, ai_share=args.ai_share
        )
    kinds = ", ".join(f"{name} {count:,}" for name, count in sorted(counts.by_type.items()))
    print(
        f"  {counts.people:,} people, {counts.artifacts:,} artifacts"
        f" ({counts.ai_artifacts:,} AI-assisted), {counts.events:,} events ({kinds});"
        f" {counts.events / setup['seconds']:,.0f} events/s"
    )
    return counts.people


def send_part(args: argparse.Namespace, engine: Engine, url: str) -> bool:
    """Facts for the recipients, then the send through the fake Slack, its figures printed;
    True when the send's targets are met."""
    with Session(engine) as session:
        people = list(session.exec(select(Person).order_by(col(Person.id))).all())
        recipients = people[: args.send] if args.send else people
        with timed(f"facts for the {len(recipients):,} recipients (facts_for_many)"):
            all_facts = facts_for_many(session, recipients, WEEK, TZ)
        for person in people:
            session.expunge(person)
    n, rate = len(recipients), args.rate
    print(
        f"send: {n:,} DMs through run_digest + SlackDeliverer to the fake Slack,"
        f" chat.postMessage limited to R = {rate:,}/min, SLACK_MESSAGES_PER_MINUTE={rate}"
        + (f", {args.inject_429:.1%} of posts answered 429" if args.inject_429 else "")
    )
    result = send_all(engine, url, recipients, all_facts, rate, args.inject_429)
    ok = report_send(result)
    print(f"  delivery rows sent: {_sent_rows(engine):,}")
    return ok


# Delivery only --------------------------------------------------------------------------------


def run_delivery(args: argparse.Namespace, engine: Engine, url: str) -> int:
    """``--delivery-only``: people and one week of events (no build, no reference check), then
    the send with its figures."""
    print(f"delivery benchmark on {engine.dialect.name}; {WEEK}")
    print(
        f"  machine: {os.cpu_count()} CPUs, {platform.platform()}, Python {platform.python_version()}"
    )
    if not _empty(engine):
        return 1
    print("set-up: people and one week of events (straight into the tables; timed apart)")
    set_up(args, engine, 1)
    ok = send_part(args, engine, url)
    print("targets met" if ok else "CHECK")
    return 0 if ok else 1


def _sent_rows(engine: Engine) -> int:
    with Session(engine) as session:
        return int(
            session.exec(
                sa.text("SELECT count(*) FROM deliveries WHERE status = 'sent'")  # type: ignore[call-overload]
            ).one()[0]
        )


if __name__ == "__main__":
    sys.exit(main())
