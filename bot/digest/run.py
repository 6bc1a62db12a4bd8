"""Run the weekly digest for some people: claim, build, deliver, record. Idempotent.

What the digest looks like (``render``, Block Kit for Slack) and where it goes (``deliverer``)
are chosen where the app is wired (``bot.slack.digest_delivery``) and passed in.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from time import monotonic
from typing import Any, Protocol

from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session

from bot.digest.deliverers import Deliverer, DeliveryError, Receipt, Recipient
from bot.digest.summarizer import Reflection, Summarizer
from bot.digest.weekly_facts import facts_for
from bot.domain.completeness import Completeness, late_note
from bot.domain.facts import Facts
from bot.domain.reflection import template_reflection
from bot.domain.weeks import Week
from bot.observability import metrics
from bot.store import deliveries
from bot.store.db import transaction
from bot.store.models import Person
from bot.store.people import display_name, first_name

log = logging.getLogger(__name__)


Writer = Callable[[Facts, Person, str, str], Reflection]
Progress = Callable[[int, int], None]  # (people done, people in all), called after each


class Renderer(Protocol):
    """Builds one person-week's message: ``(blocks, plain-text fallback)``."""

    def __call__(
        self, facts: Facts, reflection: str, *, week_label: str, share_default: bool = False
    ) -> tuple[list[dict[str, Any]], str]: ...


def summarizer_writer(summarizer: Summarizer) -> Writer:
    """A writer that asks the LLM, falling back to the template (see ``Summarizer.write``)."""

    def write(facts: Facts, person: Person, week_label: str, template_text: str) -> Reflection:
        return summarizer.write(
            facts, first_name=first_name(person), week_label=week_label, template_text=template_text
        )

    return write


def template_writer(
    facts: Facts, person: Person, week_label: str, template_text: str
) -> Reflection:
    return Reflection(template_text)


@dataclass(frozen=True)
class DigestOutcome:
    email: str
    name: str
    status: str  # sent | skipped | failed | already | preview
    reason: str | None = None
    text: str | None = None
    facts: Facts | None = None


def _recipient(person: Person) -> Recipient:
    assert person.id is not None
    return Recipient(person.id, person.email, display_name(person), person.slack_user_id)


NO_ACTIVITY = "no AI activity this week"
NO_ACTIVITY_YET = "no AI activity yet; the week's data is not complete, so this is not final"


def skip_reason(person: Person, facts: Facts, now: datetime) -> str | None:
    if person.opted_out:
        return "opted out"
    if person.snoozed_until is not None and person.snoozed_until > now:
        return f"snoozed until {person.snoozed_until:%Y-%m-%d}"
    if facts.is_empty:
        return NO_ACTIVITY
    return None


CLAIM_BATCH = 100  # person-weeks claimed in one statement, then sent one after another


def run_digest(
    engine: Engine,
    people: Iterable[Person],
    *,
    week: Week,
    tz: tzinfo,
    deliverer: Deliverer,
    render: Renderer,
    now: datetime,
    dry_run: bool = False,
    writer: Writer = template_writer,
    facts: Mapping[int, Facts] | None = None,
    completeness: Completeness | None = None,
    progress: Progress | None = None,
) -> list[DigestOutcome]:
    """Build and (unless ``dry_run``) deliver each person's digest for ``week``.

    A person whose delivery row is already final, or held by another sender, is left alone, so
    running this twice sends nothing twice. A failure for one person is recorded and the run
    goes on with the next.

    People are taken ``CLAIM_BATCH`` at a time: their rows are read, skips recorded and claims
    taken in one statement each; then each digest is sent and marked sent (one autocommitted
    statement) before the next goes out, so at most one message is ever sent but not yet
    recorded.

    ``facts``: facts already computed for this week by person id (``facts_for_many`` computes a
    whole organisation's in a few grouped queries); anyone not in it is computed one by one.

    ``completeness``: where the week's data stands (``None``: complete). The caller decides whether
    to run at all; here an incomplete week changes two things: "no AI activity" is not recorded
    (the person is looked at again when more data arrives), and each digest says which sources
    are late.
    """
    given = facts or {}
    run = _Run(engine, week, tz, deliverer, render, now, dry_run, writer, completeness)
    people = list(people)
    outcomes: list[DigestOutcome] = []
    for start in range(0, len(people), CLAIM_BATCH):
        batch = _Batch(len(outcomes), len(people), progress)
        run.batch(people[start : start + CLAIM_BATCH], given, batch.settle)
        outcomes += batch.in_order()
    metrics.count_digests(outcomes)
    return outcomes


Settle = Callable[[int, DigestOutcome], None]  # (index in the batch, that person's outcome)


@dataclass
class _Batch:
    """The outcomes of one batch as they become known, reported to ``progress`` one by one."""

    before: int  # people done in earlier batches
    total: int
    progress: Progress | None
    settled: dict[int, DigestOutcome] = field(default_factory=dict)

    def settle(self, index: int, outcome: DigestOutcome) -> None:
        self.settled[index] = outcome
        if self.progress is not None:
            self.progress(self.before + len(self.settled), self.total)

    def in_order(self) -> list[DigestOutcome]:
        return [self.settled[index] for index in range(len(self.settled))]


@dataclass(frozen=True)
class _Ready:
    """A person whose digest is to be sent: where they are in the batch and their facts."""

    index: int
    person: Person
    facts: Facts


def _failed(person: Person, exc: Exception) -> DigestOutcome:
    log.exception("digest for person %s failed", person.id)
    return DigestOutcome(person.email, display_name(person), "failed", str(exc))


@dataclass(frozen=True)
class _Run:
    engine: Engine
    week: Week
    tz: tzinfo
    deliverer: Deliverer
    render: Renderer
    now: datetime
    dry_run: bool
    writer: Writer
    completeness: Completeness | None
    started: float = field(default_factory=lambda: monotonic())

    def batch(self, people: list[Person], given: Mapping[int, Facts], settle: Settle) -> None:
        """Every outcome of ``people``, each given to ``settle`` as soon as it is known."""
        ready = self.prepare(people, given, settle)
        while ready:
            ready = self.claim_and_send(ready, settle)

    def claim_and_send(self, ready: list[_Ready], settle: Settle) -> list[_Ready]:
        """Claim ``ready`` and send what was claimed; the people left when the claims grew too
        old to hold (released, to be claimed again)."""
        claimed_at = self.clock()
        try:
            with transaction(self.engine) as session:
                claimed = deliveries.claim_many(
                    session,
                    [each.person.id for each in ready if each.person.id],
                    str(self.week),
                    self.deliverer.channel,
                    claimed_at,
                )
        except Exception as exc:  # nothing was claimed: these people are tried again next run
            for each in ready:
                settle(each.index, _failed(each.person, exc))
            return []
        mine = []
        for each in ready:
            if each.person.id in claimed:
                mine.append((each, claimed[each.person.id]))
            else:
                settle(
                    each.index,
                    DigestOutcome(
                        each.person.email,
                        display_name(each.person),
                        "already",
                        "claimed by another sender",
                        None,
                        each.facts,
                    ),
                )
        return self.send_claimed(mine, settle, claimed_at)

    def clock(self) -> datetime:
        """The run's ``now`` moved on by the time the run has taken so far: a lease is counted
        from when it is taken, so a long run never claims with a lease that has already run
        out."""
        return self.now + timedelta(seconds=monotonic() - self.started)

    def prepare(
        self, people: list[Person], given: Mapping[int, Facts], settle: Settle
    ) -> list[_Ready]:
        """Settle everyone with nothing to send (already delivered, skipped, a dry run) and
        return the rest, whose digests are to be claimed and sent."""
        week, channel, now = str(self.week), self.deliverer.channel, self.now
        final = self.completeness is None or self.completeness.final
        ready: list[_Ready] = []
        skips: dict[int, tuple[int, DigestOutcome]] = {}  # person id → (index, outcome)
        with Session(self.engine) as session:
            ids = [person.id for person in people if person.id is not None]
            known = {} if self.dry_run else deliveries.statuses(session, ids, week)
            done = deliveries.settled_statuses(channel)
            for index, person in enumerate(people):
                assert person.id is not None
                name = display_name(person)
                if known.get(person.id) in done:
                    settle(index, DigestOutcome(person.email, name, "already", known[person.id]))
                    continue
                try:
                    facts = given.get(person.id)
                    if facts is None:
                        facts = facts_for(session, person, self.week, self.tz)
                except Exception as exc:  # one person's failure must not stop everyone else's
                    session.rollback()
                    settle(index, _failed(person, exc))
                    continue
                reason = skip_reason(person, facts, now)
                if reason == NO_ACTIVITY and not final:
                    outcome = DigestOutcome(
                        person.email, name, "skipped", NO_ACTIVITY_YET, None, facts
                    )
                    settle(index, outcome)
                elif self.dry_run:
                    try:
                        text = None if reason else self.compose(facts, person)[1]
                    except Exception as exc:
                        settle(index, _failed(person, exc))
                        continue
                    status = "skipped" if reason else "preview"
                    settle(index, DigestOutcome(person.email, name, status, reason, text, facts))
                elif reason:
                    outcome = DigestOutcome(person.email, name, "skipped", reason, None, facts)
                    skips[person.id] = (index, outcome)
                else:
                    ready.append(_Ready(index, person, facts))
        if skips:
            try:
                with transaction(self.engine) as session:
                    reasons = {pid: outcome.reason or "" for pid, (_, outcome) in skips.items()}
                    deliveries.record_skips(session, reasons, week, now)
            except Exception as exc:
                for index, _ in skips.values():
                    settle(index, _failed(people[index], exc))
            else:
                for index, outcome in skips.values():
                    settle(index, outcome)
        return ready

    def send_claimed(
        self, claimed: list[tuple[_Ready, int]], settle: Settle, claimed_at: datetime
    ) -> list[_Ready]:
        """Send each claimed digest and record it before the next one goes out. Claims not yet
        handed to Slack when the run stops (a refused token, an error) are released at once;
        so are those still unsent when half their lease has passed (Retry-After waits, a slow
        writer), and those people are returned, to be claimed again."""
        unsent = {row_id for _, row_id in claimed}
        try:
            with deliveries.autocommit(self.engine) as writes:
                for position, (each, row_id) in enumerate(claimed):
                    if self.clock() - claimed_at > deliveries.LEASE / 2:
                        return [later for later, _ in claimed[position:]]
                    try:
                        settle(each.index, self.send(writes, each, row_id, unsent))
                    except Exception as exc:
                        if isinstance(exc, DeliveryError) and exc.stop_run:
                            raise
                        settle(each.index, _failed(each.person, exc))
            return []
        finally:
            if unsent:
                self.release(unsent)

    def send(
        self, writes: Connection, ready: _Ready, row_id: int, unsent: set[int]
    ) -> DigestOutcome:
        person, facts, now = ready.person, ready.facts, self.now
        name = display_name(person)
        reflection, text, blocks = self.compose(facts, person)
        unsent.discard(row_id)  # from here on it may have gone out: never released early
        try:
            receipt = self.deliverer.send(_recipient(person), blocks, text)
        except DeliveryError as exc:
            status = "skipped" if exc.skip else "failed"
            if (exc.permanent or exc.skip) and not exc.stop_run:
                deliveries.finish(writes, row_id, status=status, now=now, reason=str(exc))
            else:  # leave it pending with an expired lease: the next run or tick retries it
                deliveries.finish_retry_later(writes, row_id, now=now, reason=str(exc))
            if exc.stop_run:
                raise
            return DigestOutcome(person.email, name, status, str(exc), text, facts)
        channel = self.deliverer.channel
        deliveries.finish(
            writes,
            row_id,
            # the console shows a preview; only a real delivery counts as sent
            status=deliveries.PREVIEW if channel == deliveries.CONSOLE else "sent",
            now=now,
            **delivered(reflection, text, facts, receipt),
        )
        return DigestOutcome(person.email, name, "sent", None, text, facts)

    def release(self, row_ids: set[int]) -> None:
        try:
            with transaction(self.engine) as session:
                deliveries.release(session, row_ids, now=self.now)
        except Exception:  # their leases run out on their own
            log.warning("could not release %d unsent claims", len(row_ids), exc_info=True)

    def compose(
        self, facts: Facts, person: Person
    ) -> tuple[Reflection, str, list[dict[str, object]]]:
        late = self.completeness.late if self.completeness is not None else ()
        return compose(facts, person, self.week.label(), self.writer, self.render, late)


def delivered(reflection: Reflection, text: str, facts: Facts, receipt: Receipt) -> dict[str, Any]:
    """What a delivery row keeps of a digest that went out: who wrote it and at what token cost,
    the text, the facts it was built from, and where Slack put it."""
    return {
        "writer": reflection.writer,
        "summarizer_input_tokens": reflection.input_tokens,
        "summarizer_output_tokens": reflection.output_tokens,
        "text": text,
        "facts_json": json.dumps(facts.to_json(), sort_keys=True),
        "slack_channel": receipt.channel,
        "slack_ts": receipt.ts,
        "chart_file_id": receipt.chart_file_id,
    }


def compose(
    facts: Facts,
    person: Person,
    label: str,
    writer: Writer,
    render: Renderer,
    late: tuple[str, ...] = (),
) -> tuple[Reflection, str, list[dict[str, object]]]:
    """The reflection, the plain text and the blocks of one digest. A note naming late sources is
    added after the reflection is written (and grounded), so it never fails the grounding check."""
    template_text = template_reflection(facts, week_label=label)
    reflection = writer(facts, person, label, template_text)
    note = late_note(late)
    shown = f"{reflection.text}\n\n{note}" if note else reflection.text
    blocks, text = render(
        facts, shown, week_label=label, share_default=person.share_with_lead_default
    )
    return reflection, text, blocks
