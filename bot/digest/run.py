"""Run the weekly digest for some people: claim, build, deliver, record. Idempotent.

What the digest looks like (``render``, Block Kit for Slack) and where it goes (``deliverer``)
are chosen where the app is wired (``bot.slack.digest_delivery``) and passed in.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any, Protocol

from sqlalchemy.engine import Engine
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

    ``facts``: facts already computed for this week by person id (``facts_for_many`` computes a
    whole organisation's in a few grouped queries); anyone not in it is computed one by one.

    ``completeness``: where the week's data stands (``None``: complete). The caller decides whether
    to run at all; here an incomplete week changes two things: "no AI activity" is not recorded
    (the person is looked at again when more data arrives), and each digest says which sources
    are late.
    """
    given = facts or {}
    run = _Run(engine, week, tz, deliverer, render, now, dry_run, writer, completeness)
    outcomes = []
    people = list(people)
    for done, person in enumerate(people, 1):
        try:
            known = given.get(person.id) if person.id is not None else None
            outcomes.append(run.one(person, known))
        except Exception as exc:  # one person's failure must not stop everyone else's digest
            if isinstance(exc, DeliveryError) and exc.stop_run:
                raise
            log.exception("digest for person %s failed", person.id)
            outcomes.append(DigestOutcome(person.email, display_name(person), "failed", str(exc)))
        if progress is not None:
            progress(done, len(people))
    metrics.count_digests(outcomes)
    return outcomes


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

    def one(self, person: Person, known_facts: Facts | None = None) -> DigestOutcome:
        assert person.id is not None
        engine, week, now, channel = self.engine, self.week, self.now, self.deliverer.channel
        name = display_name(person)
        with Session(engine) as session:
            existing = deliveries.get_delivery(session, person.id, str(week))
            if deliveries.is_settled(existing, channel) and not self.dry_run:
                assert existing is not None
                return DigestOutcome(person.email, name, "already", existing.status)
            facts = (
                known_facts
                if known_facts is not None
                else facts_for(session, person, week, self.tz)
            )

        reason = skip_reason(person, facts, now)
        final = self.completeness is None or self.completeness.final
        if reason == NO_ACTIVITY and not final:
            return DigestOutcome(person.email, name, "skipped", NO_ACTIVITY_YET, None, facts)
        if self.dry_run:
            status = "skipped" if reason else "preview"
            text = None if reason else self.compose(facts, person)[1]
            return DigestOutcome(person.email, name, status, reason, text, facts)
        if reason:
            with transaction(engine) as session:
                deliveries.record_skip(session, person.id, str(week), reason, now)
            return DigestOutcome(person.email, name, "skipped", reason, None, facts)

        with transaction(engine) as session:
            claimed = deliveries.claim(session, person.id, str(week), channel, now)
        if claimed is None:
            return DigestOutcome(
                person.email, name, "already", "claimed by another sender", None, facts
            )

        reflection, text, blocks = self.compose(facts, person)
        try:
            receipt = self.deliverer.send(_recipient(person), blocks, text)
        except DeliveryError as exc:
            status = "skipped" if exc.skip else "failed"
            with transaction(engine) as session:
                if (exc.permanent or exc.skip) and not exc.stop_run:
                    deliveries.finish(session, claimed, status=status, now=now, reason=str(exc))
                else:  # leave it pending with an expired lease: the next run or tick retries it
                    deliveries.finish_retry_later(session, claimed, now=now, reason=str(exc))
            if exc.stop_run:
                raise
            return DigestOutcome(person.email, name, status, str(exc), text, facts)

        with transaction(engine) as session:
            deliveries.finish(
                session,
                claimed,
                # the console shows a preview; only a real delivery counts as sent
                status=deliveries.PREVIEW if channel == deliveries.CONSOLE else "sent",
                now=now,
                **delivered(reflection, text, facts, receipt),
            )
        return DigestOutcome(person.email, name, "sent", None, text, facts)

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
