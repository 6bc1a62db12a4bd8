"""Where digests go and how they look, chosen once for the whole app: the console (no Slack) or
a Slack DM, rendered as Block Kit. The CLI, the jobs and the demo take both from here and pass
them into ``bot.digest``, which knows neither Slack nor Block Kit."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TextIO

from sqlalchemy.engine import Engine

from bot.context import AppContext
from bot.digest import run as digest_run
from bot.digest.deliverers import ConsoleDeliverer, Deliverer
from bot.digest.run import DigestOutcome, Renderer
from bot.errors import ConfigError
from bot.slack.blocks.digest import digest_message
from bot.store.models import Person

render_digest: Renderer = digest_message


def deliverer_for(context: AppContext, out: TextIO) -> Deliverer:
    """The deliverer ``DIGEST_DELIVERY`` names: ``console`` prints to ``out``, ``slack`` DMs."""
    if context.settings.delivery == "console":
        return ConsoleDeliverer(out)
    if context.settings.delivery == "slack":
        from bot.slack.dm import slack_deliverer

        return slack_deliverer(context)
    raise ConfigError(f"DIGEST_DELIVERY: unknown delivery {context.settings.delivery!r}")


def run_digest(engine: Engine, people: Iterable[Person], **options: Any) -> list[DigestOutcome]:
    """``bot.digest.run.run_digest`` with the Block Kit renderer."""
    return digest_run.run_digest(engine, people, render=render_digest, **options)
