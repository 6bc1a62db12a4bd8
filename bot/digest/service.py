"""``ai-roi digest`` and the hourly tick's shared steps: is the week ready, then run; and the admin
repair ``--resend``. The deliverer and the renderer come from the caller (``bot.slack.digest_delivery``)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.context import AppContext
from bot.digest.deliverers import Deliverer, DeliveryError, Recipient
from bot.digest.run import (
    DigestOutcome,
    Progress,
    Renderer,
    compose,
    delivered,
    run_digest,
    summarizer_writer,
)
from bot.digest.summarizer_config import summarizer_for
from bot.digest.weekly_facts import EVERYONE_MIN_PEOPLE, facts_for, facts_in_batches
from bot.domain.completeness import Completeness, week_completeness
from bot.domain.weeks import Week
from bot.errors import AiRoiError
from bot.store import deliveries
from bot.store.db import transaction
from bot.store.models import Person
from bot.store.people import display_name, people_by_id, people_count, person_by_email
from bot.store.watermarks import source_watermarks
from bot.store.workspace import digest_grace


def week_status(session: Session, week: Week, *, tz: tzinfo, now: datetime) -> Completeness:
    """Where ``week``'s data stands now: complete, waiting for sources, or overdue."""
    _, week_end = week.bounds(tz)
    return week_completeness(
        week_end,
        now=now,
        grace=digest_grace(session),
        watermarks=source_watermarks(session, now=now),
    )


@dataclass(frozen=True)
class DigestRun:
    week: Week
    completeness: Completeness
    outcomes: list[DigestOutcome]

    @property
    def waiting(self) -> bool:
        return not self.completeness.ready


def digest_now(
    context: AppContext,
    *,
    week: Week,
    user: str | None,
    dry_run: bool,
    deliverer: Deliverer,
    render: Renderer,
    progress: Progress | None = None,
) -> DigestRun:
    """Everyone's (or one person's) digest for ``week``, unless the week's data is still
    incomplete and within its grace period: then nothing is built and the run says what it
    waits for. A dry run previews regardless, naming the sources that are late."""
    now = context.clock()
    tz = context.settings.timezone
    with Session(context.engine) as session:
        people = [person_by_email(session, user)] if user else None
        total = 1 if user else people_count(session)
        completeness = week_status(session, week, tz=tz, now=now)
    if not completeness.ready and not dry_run:
        return DigestRun(week, completeness, [])
    with Session(context.engine) as session:
        summarizer = summarizer_for(context, session)
    outcomes: list[DigestOutcome] = []
    with summarizer, Session(context.engine) as people_session, Session(context.engine) as session:
        # Everyone: a chunk of people at a time in id order, their facts read beside them from
        # one pass over the week; built, delivered and dropped before the next chunk.
        chunks = facts_in_batches(
            session,
            people if people is not None else _people(people_session),
            week,
            tz,
            everyone=people is None and total >= EVERYONE_MIN_PEOPLE,
        )
        for chunk in chunks:
            outcomes += run_digest(
                context.engine,
                [person for person, _ in chunk],
                week=week,
                tz=tz,
                deliverer=deliverer,
                render=render,
                now=now,
                dry_run=dry_run,
                writer=summarizer_writer(summarizer),
                facts={person.id: facts for person, facts in chunk if person.id is not None},
                completeness=completeness,
                progress=_offset(progress, len(outcomes), total),
            )
    outcomes.sort(key=lambda outcome: outcome.email)  # reported by email, as people are listed
    return DigestRun(week, completeness, outcomes)


def _people(session: Session) -> Iterator[Person]:
    for batch in people_by_id(session):
        yield from batch


def _offset(progress: Progress | None, done: int, total: int) -> Progress | None:
    """``progress`` of one chunk's run, counted among everyone's."""
    if progress is None:
        return None
    report = progress
    return lambda step, _chunk_total: report(done + step, total)


def resend(
    context: AppContext,
    *,
    email: str,
    week: Week,
    deliverer: Deliverer,
    render: Renderer,
    actor: str,
) -> DigestOutcome:
    """Send one person's digest for ``week`` again, once, whatever its delivery row says (an
    admin repair), and write it to the audit log. Refuses people who opted out and weeks with
    nothing to say; a failed send is audited too and raised."""
    now = context.clock()
    tz = context.settings.timezone
    engine: Engine = context.engine
    with Session(engine) as session:
        person = person_by_email(session, email)
        completeness = week_status(session, week, tz=tz, now=now)
        facts = facts_for(session, person, week, tz)
        summarizer = summarizer_for(context, session)
    assert person.id is not None
    if person.opted_out:
        raise AiRoiError(f"{person.email} opted out of digests; nothing resent")
    if facts.is_empty:
        raise AiRoiError(f"{person.email} has no AI activity in {week}; nothing to resend")
    with summarizer:
        reflection, text, blocks = compose(
            facts,
            person,
            week.label(),
            summarizer_writer(summarizer),
            render,
            () if completeness.final else completeness.late,
        )
    recipient = Recipient(person.id, person.email, display_name(person), person.slack_user_id)
    person_id, person_email = person.id, person.email

    def audited(outcome: str, **fields: Any) -> None:
        with transaction(engine) as session:
            deliveries.record_resend(
                session,
                person_id=person_id,
                email=person_email,
                week=str(week),
                channel=deliverer.channel,
                actor=actor,
                now=now,
                outcome=outcome,
                **fields,
            )

    try:
        receipt = deliverer.send(recipient, blocks, text)
    except DeliveryError as exc:
        audited("failed", reason=str(exc))
        raise AiRoiError(f"resending {week} to {person.email} failed: {exc}") from exc
    audited("sent", **delivered(reflection, text, facts, receipt))
    return DigestOutcome(person.email, display_name(person), "sent", None, text, facts)
