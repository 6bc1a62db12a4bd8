"""``ai-roi digest``: pick the people, the deliverer and the writer from settings, then run."""

from __future__ import annotations

from typing import TextIO

from sqlmodel import Session, col, select

from bot.context import AppContext
from bot.digest.deliverers import ConsoleDeliverer, Deliverer
from bot.digest.run import DigestOutcome, Progress, run_digest, summarizer_writer
from bot.digest.summarizer_config import summarizer_for
from bot.digest.weekly_facts import facts_for_many
from bot.domain.weeks import Week
from bot.errors import ConfigError
from bot.store.models import Person
from bot.store.people import person_by_email


def deliverer_for(context: AppContext, out: TextIO) -> Deliverer:
    if context.settings.delivery == "console":
        return ConsoleDeliverer(out)
    if context.settings.delivery == "slack":
        from bot.slack.dm import slack_deliverer

        return slack_deliverer(context)
    raise ConfigError(f"DIGEST_DELIVERY: unknown delivery {context.settings.delivery!r}")


def digest_now(
    context: AppContext,
    *,
    week: Week,
    user: str | None,
    dry_run: bool,
    out: TextIO,
    progress: Progress | None = None,
) -> list[DigestOutcome]:
    with Session(context.engine) as session:
        if user:
            people = [person_by_email(session, user)]
        else:
            people = list(session.exec(select(Person).order_by(col(Person.email))).all())
    deliverer = deliverer_for(context, out)
    with Session(context.engine) as session:
        summarizer = summarizer_for(context, session)
        facts = facts_for_many(session, people, week, context.settings.timezone)
    with summarizer:
        return run_digest(
            context.engine,
            people,
            week=week,
            tz=context.settings.timezone,
            deliverer=deliverer,
            now=context.clock(),
            dry_run=dry_run,
            writer=summarizer_writer(summarizer),
            facts=facts,
            progress=progress,
        )
