"""Delete from Slack the chart images a forgotten person's digests showed.

A digest's chart is a file the app uploaded, private to the app and shown in the person's DM
(``chart_upload``). Erasing the person (``ai-roi forget``, "Delete my data") deletes the
database's record of those files; this deletes the files themselves, so the images disappear
from the DM too. Slack's ``files.delete`` is Tier 3 (50 a minute): a person has one chart a
week at most, so even a year of them takes about a minute.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from slack_sdk import WebClient

from bot.errors import CredentialRefusedError, OutboundError
from bot.outbound.gate import RateGate
from bot.slack import web_api

DELETE_INTERVAL = 60.0 / 50  # seconds between files.delete calls: Tier 3


@dataclass
class ChartsDeleted:
    deleted: int = 0
    already_gone: int = 0  # Slack no longer had them (deleted by hand, or before)
    left: list[str] = field(default_factory=list)  # file ids still in Slack
    reason: str | None = None  # why the first of ``left`` could not be deleted


def delete_charts(
    client: WebClient, file_ids: Sequence[str], *, gate: RateGate | None = None
) -> ChartsDeleted:
    """Delete each file; what could not be deleted is returned, never raised. A token Slack
    refuses stops the rest (each would be refused too)."""
    gate = gate or web_api.method_gate(web_api.DELETE_FILE, min_interval=DELETE_INTERVAL)
    result = ChartsDeleted()
    remaining = list(dict.fromkeys(file_ids))
    while remaining:
        file_id = remaining.pop(0)
        try:
            if web_api.delete_file(client, file_id, gate=gate):
                result.deleted += 1
            else:
                result.already_gone += 1
        except OutboundError as exc:
            result.left.append(file_id)
            result.reason = result.reason or str(exc)
            if isinstance(exc, CredentialRefusedError):
                result.left += remaining
                break
    return result
