"""GitHub Copilot usage metrics, user-level report (``…/copilot/metrics/reports/users-1-day``).

The report's download links return NDJSON, one record per user per day; GitHub's docs show
the same records as a JSON array, and both are accepted (also one record alone). A record
names the person by ``user_login`` (no email: the directory maps logins to people) and the
day by ``day``.

Each record becomes one aggregate keyed by (day, user id or login), replaced when restated:
requests are the code generation events plus Copilot CLI requests; the CLI's prompt and output
token sums are its only tokens (IDE use reports none); suggestions, acceptances, lines and CLI
sessions become metrics. ``totals_by_*`` breakdowns repeat the same activity and are not added.
The report has no money.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO, Any

from bot.domain.events import Actor, EventType, NormalizedEvent, ParseResult
from bot.domain.units import MAX_REQUESTS_PER_RECORD, to_count
from bot.errors import EventError, PayloadError
from bot.ingest.adapters.common import (
    Records,
    RecordStream,
    count,
    day_of,
    document_lines,
    has_any,
    instant,
    make_key,
    optional_object,
    read_records,
    require_some,
    stream_records,
    text,
)
from bot.ingest.decoding import Tally

SOURCE = "copilot"
TOOL = "copilot"
EXPECTED = (
    "GitHub Copilot user-level usage metrics: NDJSON or a JSON array of per-user, per-day records "
    '({"day", "user_login", "code_generation_activity_count", ...})'
)
METRICS = {
    "user_initiated_interaction_count": "interactions",
    "code_generation_activity_count": "code_generations",
    "code_acceptance_activity_count": "code_acceptances",
    "loc_suggested_to_add_sum": "lines_suggested_added",
    "loc_suggested_to_delete_sum": "lines_suggested_deleted",
    "loc_added_sum": "lines_added",
    "loc_deleted_sum": "lines_deleted",
}
CLI_METRICS = {
    "session_count": "cli_sessions",
    "prompt_count": "cli_prompts",
    "request_count": "cli_requests",
}


def parse(body: bytes, content_type: str | None) -> ParseResult:
    return records(body, content_type).parse()


def records(body: bytes, content_type: str | None) -> Records:
    items, line_errors = read_records(body, content_type, _unwrap)
    _check(items)
    return Records(items, parse_record, line_errors)


def stream(body: IO[bytes], content_type: str | None, tally: Tally | None = None) -> RecordStream:
    """A report file as it is read: NDJSON or a JSON array streams, one record is read whole."""
    lines, document = stream_records(body, content_type, tally)
    if lines is None:
        lines = document_lines(document, _unwrap)
    return RecordStream(lines, parse_record, _looks_like_record, _check)


def _check(items: list[Any]) -> None:
    """Refuse records none of which is a user-level record, naming the report they are from."""
    if items and not any(_looks_like_record(item) for item in items):
        _refuse_other_reports(items[0])
    require_some(items, _looks_like_record, "a Copilot user-level record (day, user_login)")


def _unwrap(document: Any) -> list[Any]:
    if isinstance(document, list):
        return document
    if _looks_like_record(document):
        return [document]
    _refuse_other_reports(document)
    raise PayloadError(f"expected {EXPECTED}")


def _refuse_other_reports(document: Any) -> None:
    """Say which Copilot report arrived when it is not the user-level one."""
    if has_any(document, "download_links"):
        raise PayloadError(
            "this is the report links response; download each of its download_links and send "
            "the NDJSON report files"
        )
    if has_any(document, "day_totals"):
        raise PayloadError(
            "this is an organization- or enterprise-level report; send the user-level report "
            "(users-1-day or users-28-day)"
        )


def _looks_like_record(item: Any) -> bool:
    return has_any(item, "user_login") or (
        has_any(item, "day") and has_any(item, "user_id", "code_generation_activity_count")
    )


def parse_record(record: Any) -> Iterator[NormalizedEvent]:
    if not isinstance(record, dict):
        raise EventError("record must be a JSON object")
    login = text(record.get("user_login"), "user_login", 100)
    if login is None:
        raise EventError("user_login is missing: the record names no person")
    if record.get("day") in (None, ""):
        raise EventError("day is missing")
    occurred_at = instant(record["day"], "day")
    day = day_of(occurred_at)
    user_id = text(record.get("user_id"), "user_id", 100)

    metrics = {
        name: to_count(record[field], field, MAX_REQUESTS_PER_RECORD)
        for field, name in METRICS.items()
        if record.get(field) is not None
    }
    cli = optional_object(record.get("totals_by_cli"), "totals_by_cli")
    for field, name in CLI_METRICS.items():
        if cli.get(field) is not None:
            metrics[name] = to_count(cli[field], f"totals_by_cli.{field}", MAX_REQUESTS_PER_RECORD)
    cli_tokens = optional_object(cli.get("token_usage"), "totals_by_cli.token_usage")
    requests = metrics.get("code_generations", 0) + metrics.get("cli_requests", 0)

    yield NormalizedEvent(
        # The numeric id survives a renamed login; the login keys records that lack it.
        key=make_key("user-day", day, user_id or login.lower()),
        type=EventType.USAGE,
        occurred_at=occurred_at.replace(hour=0, minute=0, second=0, microsecond=0),
        actor=Actor("github", login.lower()),
        tool=TOOL,
        input_tokens=count(
            cli_tokens, "prompt_tokens_sum", "totals_by_cli.token_usage.prompt_tokens_sum"
        ),
        output_tokens=count(
            cli_tokens, "output_tokens_sum", "totals_by_cli.token_usage.output_tokens_sum"
        ),
        requests=to_count(requests, "requests", MAX_REQUESTS_PER_RECORD),
        replace=True,
        metrics={name: value for name, value in metrics.items() if value},
    )
