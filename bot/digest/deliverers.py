"""Where a digest goes: the console (demo, no Slack) or a Slack DM (see ``bot.slack.dm``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, TextIO

from bot.errors import AiRoiError


@dataclass(frozen=True)
class Recipient:
    person_id: int
    email: str
    name: str
    slack_user_id: str | None


@dataclass(frozen=True)
class Receipt:
    channel: str | None = None
    ts: str | None = None
    chart_file_id: str | None = None  # the Slack file the DM shows as its chart, if any


class DeliveryError(AiRoiError):
    """A digest could not be delivered. ``permanent`` errors are not retried.

    ``skip``: there is nobody to deliver to (e.g. no Slack user for the email); recorded as
    *skipped*, not *failed*. ``stop_run``: nobody else can be reached either (e.g. the bot token
    was revoked); the claim is released for a later run and the run stops.
    """

    def __init__(
        self, reason: str, *, permanent: bool, skip: bool = False, stop_run: bool = False
    ) -> None:
        super().__init__(reason)
        self.permanent = permanent
        self.skip = skip
        self.stop_run = stop_run


class Deliverer(Protocol):
    channel: str

    def send(self, recipient: Recipient, blocks: list[dict[str, Any]], text: str) -> Receipt: ...


class ConsoleDeliverer:
    """Prints each digest as its recipient would read it."""

    channel = "console"

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def send(self, recipient: Recipient, blocks: list[dict[str, Any]], text: str) -> Receipt:
        rule = "─" * 72
        self.stream.write(f"{rule}\nDM to {recipient.name} <{recipient.email}>\n{rule}\n{text}\n\n")
        self.stream.flush()
        return Receipt()
