"""One adapter per source. Each is pure: ``parse(body, content_type) -> ParseResult``.

Adding a source means adding a module here and registering it in ``ADAPTERS``.
"""

from __future__ import annotations

from collections.abc import Callable

from bot.domain.events import ParseResult
from bot.errors import UnknownSourceError
from bot.ingest.adapters import (
    anthropic,
    claude_code,
    copilot,
    cursor,
    datadog,
    generic,
    litellm,
    openai_usage,
    otel,
)

Adapter = Callable[[bytes, str | None], ParseResult]

ADAPTERS: dict[str, Adapter] = {
    generic.SOURCE: generic.parse,
    litellm.SOURCE: litellm.parse,
    otel.SOURCE: otel.parse,
    openai_usage.SOURCE: openai_usage.parse,
    anthropic.SOURCE: anthropic.parse,
    claude_code.SOURCE: claude_code.parse,
    cursor.SOURCE: cursor.parse,
    copilot.SOURCE: copilot.parse,
    datadog.SOURCE: datadog.parse,
}


def adapter_for(source: str) -> Adapter:
    try:
        return ADAPTERS[source]
    except KeyError:
        known = ", ".join(sorted(ADAPTERS))
        raise UnknownSourceError(f"unknown source {source!r}; known sources: {known}") from None
