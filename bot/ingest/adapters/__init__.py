"""One adapter per source. Each is pure: ``parse(body, content_type) -> ParseResult``.

Adding a source means adding a module here and registering it in ``ADAPTERS``.
"""

from __future__ import annotations

from collections.abc import Callable

from bot.domain.events import ParseResult
from bot.errors import UnknownSourceError
from bot.ingest.adapters import generic

Adapter = Callable[[bytes, str | None], ParseResult]

ADAPTERS: dict[str, Adapter] = {
    generic.SOURCE: generic.parse,
}


def adapter_for(source: str) -> Adapter:
    try:
        return ADAPTERS[source]
    except KeyError:
        known = ", ".join(sorted(ADAPTERS))
        raise UnknownSourceError(f"unknown source {source!r}; known sources: {known}") from None
