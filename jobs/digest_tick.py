"""The hourly digest tick: find who is due, wait for the week's data, then run their digests.

Due-ness comes from ``bot.domain.schedule`` (each person's local send time) and from the delivery
table: a person-week with a final delivery row (sent, skipped, failed; a console preview for the
console) is never picked again, a pending one whose sender died is taken over by ``run_digest``'s
claim. A week whose sources have not all reported past its end waits, up to the grace period
(``bot.domain.completeness``); a person with no data yet is looked at again on the next tick
until the week is complete. The scheduler's own job store records nothing that matters, so a
tick after downtime, a restart or a second replica catches up without sending anything twice.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import TextIO

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.context import AppContext
from bot.digest.deliverers import Deliverer
from bot.digest.run import (
    CLAIM_BATCH,
    DigestOutcome,
    Renderer,
    run_digest,
    summarizer_writer,
)
from bot.digest.service import week_status
from bot.digest.summarizer_config import summarizer_for
from bot.digest.weekly_facts import facts_in_batches
from bot.domain.completeness import Completeness
from bot.domain.schedule import Schedule, due_week, personal_schedule
from bot.domain.weeks import Week
from bot.slack.digest_delivery import deliverer_for, render_digest
from bot.store import deliveries
from bot.store.models import Person
from bot.store.people import all_people, person_zone
from bot.store.workspace import default_schedule

log = logging.getLogger(__name__)

__all__ = ["TickReport", "digest_tick", "due_people"]

LEADER_LOCK_KEY = 0x41_49_52_4F_49  # "AIROI": one tick at a time across replicas (PostgreSQL)


@dataclass
class TickReport:
    now: datetime
    due: dict[str, int] = field(default_factory=dict)  # week → people due and not yet final
    waiting: dict[str, tuple[str, ...]] = field(default_factory=dict)  # week → sources not in
    outcomes: list[DigestOutcome] = field(default_factory=list)
    leader: bool = True

    def count(self, status: str) -> int:
        return sum(1 for outcome in self.outcomes if outcome.status == status)


def due_people(
    people: list[Person], now: datetime, org_tz: tzinfo, default: Schedule
) -> dict[Week, list[Person]]:
    """People whose send time has passed, grouped by the week they are due for."""
    due: dict[Week, list[Person]] = {}
    for person in people:
        try:
            slot = personal_schedule(person.digest_weekday, person.digest_minute, default)
        except ValueError:
            slot = default
        week = due_week(now, person_zone(person, org_tz), slot.weekday, slot.minute, org_tz=org_tz)
        if week is not None:
            due.setdefault(week, []).append(person)
    return due


def digest_tick(
    context: AppContext,
    *,
    deliverer: Deliverer | None = None,
    render: Renderer = render_digest,
    out: TextIO | None = None,
    stopping: threading.Event | None = None,
) -> TickReport:
    """One tick: deliver every digest that is due now, not yet delivered, and whose week's data is
    complete (or overdue). ``deliverer`` defaults to the one ``DIGEST_DELIVERY`` names."""
    now = context.clock()
    started = time.monotonic()
    org_tz = context.settings.timezone
    report = TickReport(now=now)
    with leadership(context.engine) as leader:
        report.leader = leader
        if not leader:
            log.info("digest tick skipped: another replica is running one")
            return report
        deliverer = deliverer or deliverer_for(context, out or sys.stdout)
        with Session(context.engine) as session:
            default = default_schedule(session)
            due = due_people(all_people(session), now, org_tz, default)
            pending: dict[Week, list[Person]] = {}
            status: dict[Week, Completeness] = {}
            for week, group in sorted(due.items()):
                settled = deliveries.settled_person_ids(session, str(week), deliverer.channel)
                if left := [person for person in group if person.id not in settled]:
                    status[week] = week_status(session, week, tz=org_tz, now=now)
                    if status[week].ready:
                        pending[week] = left
                    else:
                        report.waiting[str(week)] = status[week].late
        report.due = {str(week): len(group) for week, group in pending.items()}
        for week_name, late in report.waiting.items():
            log.info(
                "digests for %s wait for the week's data: %s",
                week_name,
                ", ".join(late) or "no source has sent anything yet",
            )
        if not pending:
            return report
        with Session(context.engine) as session:
            summarizer = summarizer_for(context, session)
        with summarizer:
            writer = summarizer_writer(summarizer)
            for week, group in pending.items():
                # A chunk of people's facts at a time, each chunk sent a claim batch at a time,
                # so a stop waits for one batch at most and memory holds one chunk's facts.
                with Session(context.engine) as session:
                    for chunk in facts_in_batches(session, group, week, org_tz):
                        facts = {p.id: f for p, f in chunk if p.id is not None}
                        for start in range(0, len(chunk), CLAIM_BATCH):
                            if stopping is not None and stopping.is_set():
                                log.info("digest tick stopped early; the next tick goes on")
                                return report
                            report.outcomes += run_digest(
                                context.engine,
                                [person for person, _ in chunk[start : start + CLAIM_BATCH]],
                                week=week,
                                tz=org_tz,
                                deliverer=deliverer,
                                render=render,
                                now=now,
                                writer=writer,
                                facts=facts,
                                completeness=status[week],
                            )
    log.info(
        "digest tick: %s due, %d sent, %d skipped, %d failed in %.1f s",
        report.due,
        report.count("sent"),
        report.count("skipped"),
        report.count("failed"),
        time.monotonic() - started,
        extra={"outcome": "failed" if report.count("failed") else "ok"},
    )
    return report


@contextmanager
def leadership(engine: Engine) -> Iterator[bool]:
    """True when this process may run the tick: always on SQLite (one process); on PostgreSQL
    only while holding a session advisory lock, so that one replica ticks at a time.
    Delivery claims keep sends exactly-once even without it; the lock saves duplicate work."""
    if engine.dialect.name != "postgresql":
        yield True
        return
    with engine.connect() as connection:
        acquired = bool(
            connection.execute(
                sa.text("SELECT pg_try_advisory_lock(:key)"), {"key": LEADER_LOCK_KEY}
            ).scalar()
        )
        connection.commit()
        try:
            yield acquired
        finally:
            if acquired:
                connection.execute(
                    sa.text("SELECT pg_advisory_unlock(:key)"), {"key": LEADER_LOCK_KEY}
                )
                connection.commit()
