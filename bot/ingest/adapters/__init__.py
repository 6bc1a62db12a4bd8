"""One adapter per source. Each is pure: ``parse(body, content_type) -> ParseResult``.

Adding a source means adding a module here and registering it in ``ADAPTERS``; and in
``RECORD_READERS`` too when its records parse each on their own (``records(body, content_type)
-> Records``), which lets a large body be parsed a slice at a time; and in ``RECORD_STREAMS``
when its files are NDJSON or a JSON array of records (``stream(file, content_type, tally) ->
RecordStream``), which lets ``ai-roi ingest`` read a file of any size a record at a time.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import IO

from bot.domain.events import ParseResult
from bot.errors import UnknownSourceError
from bot.ingest.adapters import (
    anthropic,
    claude_code,
    copilot,
    cursor,
    datadog,
    datadog_audit,
    generic,
    github,
    google_drive,
    litellm,
    litellm_daily,
    openai_usage,
    otel,
)
from bot.ingest.adapters.common import Records, RecordStream
from bot.ingest.decoding import Tally

Adapter = Callable[[bytes, str | None], ParseResult]
RecordReader = Callable[[bytes, str | None], Records]
StreamReader = Callable[[IO[bytes], str | None, Tally | None], RecordStream]

ADAPTERS: dict[str, Adapter] = {
    generic.SOURCE: generic.parse,
    litellm.SOURCE: litellm_daily.parse_either,  # the webhook's payloads or a daily activity page
    otel.SOURCE: otel.parse,
    openai_usage.SOURCE: openai_usage.parse,
    anthropic.SOURCE: anthropic.parse,
    claude_code.SOURCE: claude_code.parse,
    cursor.SOURCE: cursor.parse,
    copilot.SOURCE: copilot.parse,
    datadog.SOURCE: datadog_audit.parse_either,  # Audit Trail events or dashboard usage
    github.SOURCE: github.parse,
    google_drive.SOURCE: google_drive.parse,
}

# Every source but OTel, whose spans are read together (a usage span's ancestors are skipped).
RECORD_READERS: dict[str, RecordReader] = {
    generic.SOURCE: generic.records,
    litellm.SOURCE: litellm_daily.records_either,
    openai_usage.SOURCE: openai_usage.records,
    anthropic.SOURCE: anthropic.records,
    claude_code.SOURCE: claude_code.records,
    cursor.SOURCE: cursor.records,
    copilot.SOURCE: copilot.records,
    datadog.SOURCE: datadog_audit.records_either,
    github.SOURCE: github.records,
    google_drive.SOURCE: google_drive.records,
}

# Sources whose files are read a record at a time (``ai-roi ingest``): NDJSON and a top-level
# JSON array (for ``usage`` also ``{"events": [...]}``). The others are read a document at a
# time, as their vendors send them.
RECORD_STREAMS: dict[str, StreamReader] = {
    generic.SOURCE: generic.stream,
    litellm.SOURCE: litellm_daily.stream_either,
    copilot.SOURCE: copilot.stream,
}


def adapter_for(source: str) -> Adapter:
    try:
        return ADAPTERS[source]
    except KeyError:
        known = ", ".join(sorted(ADAPTERS))
        raise UnknownSourceError(f"unknown source {source!r}; known sources: {known}") from None
