"""Pull connectors (DESIGN §3.7): the bot fetches usage that no system pushes.

- ``plan``: pure: the days a run fetches (checkpoint, trailing window, backfill), the next
  checkpoint, watermarks, when a source is due again;
- ``base``: what a connector is (``Connector``) and what one run is given (``PullRun``);
- ``paging``: vendors' cursors (opaque ``next_page``, id-after), restarting on a 410;
- ``runner``: one run of one source: plan, fetch, store through the ingest pipeline, record the
  outcome in ``source_state``;
- one module per vendor: ``openai``, ``anthropic`` (also Claude Code), ``copilot``, ``cursor``,
  ``litellm``, ``github`` (pull requests), ``datadog`` (Audit Trail), ``google_drive`` (Drive audit);
- ``weekly_views``: views keyed once per viewer and week of ``ORG_TIMEZONE``.

Every request goes through ``bot.outbound``; pages go to the adapters of DESIGN §3.5 and are not
kept beyond what the adapters store.
"""

from __future__ import annotations

from bot.connectors.anthropic import AnthropicConnector, ClaudeCodeConnector
from bot.connectors.base import Connector
from bot.connectors.copilot import CopilotConnector
from bot.connectors.cursor import CursorConnector
from bot.connectors.datadog import DatadogConnector
from bot.connectors.github import GitHubConnector
from bot.connectors.google_drive import GoogleDriveConnector
from bot.connectors.litellm import LiteLLMConnector
from bot.connectors.openai import OpenAIConnector

CONNECTORS: tuple[Connector, ...] = (
    OpenAIConnector(),
    AnthropicConnector(),
    ClaudeCodeConnector(),
    CopilotConnector(),
    GitHubConnector(),
    CursorConnector(),
    LiteLLMConnector(),
    DatadogConnector(),
    GoogleDriveConnector(),
)


def connector_for(source: str) -> Connector | None:
    return next((c for c in CONNECTORS if c.source == source), None)
