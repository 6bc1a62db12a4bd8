"""What the vendor adapters share: reading records, keys, token and identity conventions.

Every adapter turns a body into records, and each record into zero or more events. A record's
problems become a ``Rejection`` at its index; only a body that cannot be used at all (not JSON,
another vendor's shape) raises ``PayloadError``. Everything here is pure.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import IO, Any

from bot.domain.events import Actor, NormalizedEvent, ParseResult, Rejection
from bot.domain.text import event_problem, with_display_title
from bot.domain.units import (
    MAX_TOKENS_PER_RECORD,
    UnitError,
    parse_instant,
    parse_rfc3339,
    to_count,
)
from bot.errors import EventError, PayloadError
from bot.ingest.decoding import (
    JsonRecordReader,
    Line,
    Tally,
    decode_json,
    decode_ndjson,
    is_ndjson,
    ndjson_lines,
)

MAX_KEY_LENGTH = 255  # events.key column
MAX_LABEL_LENGTH = 200  # tool, model, artifact ids and titles
MAX_IDENTITY_LENGTH = 320  # an email address at most
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

RecordParser = Callable[[Any], Iterable[NormalizedEvent]]


# Bodies and records --------------------------------------------------------------------------


def decode_document(body: bytes) -> Any:
    """The body as one JSON document (``PayloadError`` when it is not one)."""
    return decode_json(body)


def decode_lines(body: bytes) -> tuple[list[Any], dict[int, str]]:
    """NDJSON values, and the reason for each line that is not JSON (by record index)."""
    lines = decode_ndjson(body)
    items = [line.value for line in lines]
    errors = {index: line.error for index, line in enumerate(lines) if line.error}
    return items, errors


def read_records(
    body: bytes, content_type: str | None, unwrap: Callable[[Any], list[Any]]
) -> tuple[list[Any], dict[int, str]]:
    """The records of a body: ``unwrap`` finds them in a JSON document; NDJSON is one per line.

    A broken NDJSON line is reported at its index and the other lines are kept; a JSON body
    that does not parse is unusable as a whole.
    """
    if is_ndjson(content_type):
        return decode_lines(body)
    return unwrap(decode_document(body)), {}


def parse_records(
    items: list[Any],
    parse_one: RecordParser,
    line_errors: dict[int, str] | None = None,
    start: int = 0,
    stop: int | None = None,
) -> ParseResult:
    """Parse each record of ``items[start:stop]``; a bad record is rejected with its reason
    (at its index in ``items``) and the others are kept.

    A record is all or nothing: when one of the events it yields is invalid, none is kept.
    """
    events: list[NormalizedEvent] = []
    rejected: list[Rejection] = []
    for index in range(start, len(items) if stop is None else min(stop, len(items))):
        if line_errors and index in line_errors:
            rejected.append(Rejection(index, line_errors[index]))
            continue
        try:
            record_events = list(parse_one(items[index]))
            for event in record_events:
                checked(event)
        except (EventError, UnitError) as exc:
            rejected.append(Rejection(index, str(exc) or "record is not valid"))
            continue
        events.extend(record_events)
    return ParseResult(events, rejected)


def checked(event: NormalizedEvent) -> NormalizedEvent:
    """``event`` if every string in it can be stored (``bot.domain.text``; a title is first made
    displayable), else ``EventError``."""
    event = with_display_title(event)
    problem = event_problem(event)
    if problem is not None:
        raise EventError(problem)
    return event


@dataclass(frozen=True)
class Records:
    """The records of one body, found but not yet parsed; each parses on its own, so a large
    body can be parsed a slice at a time (``ai-roi ingest`` stores one while parsing the next).
    """

    items: list[Any]
    parse_one: RecordParser
    line_errors: dict[int, str] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.items)

    def parse(self, start: int = 0, stop: int | None = None) -> ParseResult:
        """The events of records ``start`` to ``stop``; rejections name their index in the body."""
        return parse_records(self.items, self.parse_one, self.line_errors, start, stop)


@dataclass(frozen=True)
class RecordStream:
    """The records of a file, read as they are asked for (``ai-roi ingest``).

    ``lines`` gives each record, or why it could not be read, in the file's order; a file that
    breaks off raises ``PayloadError`` after the records before the break. When ``looks_right``
    is set, records are held until one has the vendor's shape, and if none has, ``check`` (given
    those records) says whose body this is instead: the same answer as for the whole body.
    """

    lines: Iterator[Line]
    parse_one: RecordParser
    looks_right: Callable[[Any], bool] | None = None
    check: Callable[[list[Any]], None] | None = None


def stream_records(
    stream: IO[bytes],
    content_type: str | None,
    tally: Tally | None = None,
    list_key: str | None = None,
) -> tuple[Iterator[Line] | None, Any]:
    """The records of a file as they are read: ``(lines, None)`` for NDJSON, a top-level JSON
    array, or the array under ``list_key`` of a top-level object; else ``(None, document)``,
    the whole JSON document, for the adapter to read as it reads a request body."""
    if is_ndjson(content_type):
        return ndjson_lines(stream, tally), None
    elements, document = JsonRecordReader(stream, tally).records(list_key)
    if elements is None:
        return None, document
    return (Line(value=element) for element in elements), None


def document_lines(document: Any, unwrap: Callable[[Any], list[Any]]) -> Iterator[Line]:
    """The records ``unwrap`` finds in a whole document, as ``Line`` values."""
    return iter([Line(value=item) for item in unwrap(document)])


def require_some(items: list[Any], looks_right: Callable[[Any], bool], expected: str) -> None:
    """Refuse a non-empty list in which no record has the vendor's shape (another vendor's body)."""
    if items and not any(looks_right(item) for item in items):
        raise PayloadError(f"none of the records looks like {expected}")


def has_any(item: Any, *names: str) -> bool:
    return isinstance(item, dict) and any(name in item for name in names)


# Usage reports of time buckets (OpenAI, Anthropic) -----------------------------------------


@dataclass(frozen=True)
class BucketReport:
    """A vendor's usage report: a page of time buckets, each with a list of results.

    Each result becomes one record, paired with its bucket; a bucket that cannot be read is one
    bad record. ``start`` names the bucket's start field, ``lists`` the fields its results may be
    under, ``markers`` the fields that make a result a usage result.
    """

    start: str
    lists: tuple[str, ...]
    markers: tuple[str, ...]
    expected: str  # the whole body, for PayloadError
    expected_result: str  # one result, for a body of another vendor's results

    def records(self, body: bytes) -> list[dict[str, Any]]:
        results = list(self._records(self._buckets(decode_document(body))))
        require_some(
            [record["result"] for record in results if "result" in record],
            lambda result: has_any(result, *self.markers),
            self.expected_result,
        )
        return results

    def bucket_and_result(self, record: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        """The record's bucket and result, or ``EventError`` saying why it is not usage."""
        if "error" in record:
            raise EventError(record["error"])
        bucket, result = record["bucket"], record["result"]
        if not isinstance(result, dict):
            raise EventError("usage result must be a JSON object")
        if not has_any(result, *self.markers):
            raise EventError(
                f"result is not a usage result (no {self.markers[0]} or {self.markers[-1]})"
            )
        return bucket, result

    def _buckets(self, document: Any) -> list[Any]:
        data = document.get("data") if isinstance(document, dict) else document
        if isinstance(data, list) and (not data or any(self._is_bucket(item) for item in data)):
            return data
        if self._is_bucket(document):
            return [document]
        raise PayloadError(f"expected {self.expected}")

    def _is_bucket(self, item: Any) -> bool:
        return isinstance(item, dict) and self.start in item and has_any(item, *self.lists)

    def _records(self, buckets: list[Any]) -> Iterator[dict[str, Any]]:
        for number, bucket in enumerate(buckets):
            if not self._is_bucket(bucket):
                yield {"error": f"data[{number}] is not a usage bucket ({self.start}, results)"}
                continue
            results = next(bucket[name] for name in self.lists if name in bucket)
            if not isinstance(results, list):
                yield {"error": f"data[{number}].results must be a JSON array"}
                continue
            for result in results:
                yield {"bucket": bucket, "result": result}


# Fields ---------------------------------------------------------------------------------------


def as_object(value: Any, field: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise EventError(f"{field} must be a JSON object")
    return value


def optional_object(value: Any, field: str) -> dict[str, Any]:
    """An object, or ``{}`` when the vendor left it out (``null`` or missing)."""
    if value is None:
        return {}
    return as_object(value, field)


def as_list(value: Any, field: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise EventError(f"{field} must be a JSON array")
    return value


def text(value: Any, field: str, max_length: int = MAX_LABEL_LENGTH) -> str | None:
    """A short identifier or label: strings (and integer ids) kept, blanks read as absent."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise EventError(f"{field} must be a string")
    result = str(value).strip()
    if not result:
        return None
    if len(result) > max_length:
        raise EventError(f"{field} is longer than {max_length} characters")
    return result


def label(value: Any, field: str) -> str | None:
    """A display label (tool, model, title): cut to the stored length rather than refused."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise EventError(f"{field} must be a string")
    return str(value).strip()[:MAX_LABEL_LENGTH] or None


def required_text(value: Any, field: str, max_length: int = MAX_LABEL_LENGTH) -> str:
    result = text(value, field, max_length)
    if result is None:
        raise EventError(f"{field} is missing")
    return result


def count(record: dict[str, Any], name: str, field: str | None = None) -> int:
    """A non-negative count; missing or ``null`` reads as 0 (vendors omit zero counters)."""
    value = record.get(name)
    return 0 if value is None else to_count(value, field or name)


# Time -----------------------------------------------------------------------------------------


def instant(value: Any, field: str) -> datetime:
    """Any vendor timestamp as aware UTC (``parse_instant``), out-of-range dates refused."""
    try:
        return parse_instant(value, field)
    except OverflowError:
        raise UnitError(f"{field} {value!r} is out of range") from None


def rfc3339(value: Any, field: str) -> datetime:
    """An RFC 3339 timestamp with offset as aware UTC (``parse_rfc3339``), range-checked."""
    try:
        return parse_rfc3339(value, field)
    except OverflowError:
        raise UnitError(f"{field} {value!r} is out of range") from None


# Keys -----------------------------------------------------------------------------------------


def make_key(*parts: object) -> str:
    """A readable natural key: parts joined by ``/`` (``/`` and ``%`` escaped, ``None`` empty).

    Keys longer than the column are replaced by a digest of the same parts, so they stay
    deterministic.
    """
    rendered = [_key_part(part) for part in parts]
    key = "/".join(rendered)
    if len(key) <= MAX_KEY_LENGTH:
        return key
    return f"{rendered[0][:40]}/sha256:{_digest(parts)}"


def content_key(prefix: str, content: Any) -> str:
    """A key derived from a record's content, for records that carry no id of their own."""
    return f"{prefix}/sha256:{_digest(content)}"


def _key_part(part: object) -> str:
    if part is None:
        return ""
    if isinstance(part, datetime):
        part = part.astimezone(UTC).isoformat().replace("+00:00", "Z")
    elif isinstance(part, bool):
        part = "true" if part else "false"
    return str(part).replace("%", "%25").replace("/", "%2F")


def _digest(content: Any) -> str:
    canonical = json.dumps(content, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def bucket_start(start: datetime, end: datetime) -> datetime:
    """The start of the aligned bucket a usage-report bucket belongs to.

    Reports snap buckets to UTC minutes, hours or days, except the first and last bucket of
    a request, which are cut at the requested start or at "now". Keying a partial bucket by
    its aligned start makes the complete bucket, fetched later, replace it instead of adding
    to it. The width is inferred from the bucket: one that spans or crosses an hour boundary
    is a day bucket, one that crosses a minute boundary is an hour bucket.
    """
    start = start.astimezone(UTC)
    try:
        last = max(start, end.astimezone(UTC) - timedelta(microseconds=1))
    except OverflowError:
        last = start
    hour = start.replace(minute=0, second=0, microsecond=0)
    if (
        last - start >= timedelta(hours=1)
        or last.replace(minute=0, second=0, microsecond=0) != hour
    ):
        return start.replace(hour=0, minute=0, second=0, microsecond=0)
    minute = start.replace(second=0, microsecond=0)
    if last - start >= timedelta(minutes=1) or last.replace(second=0, microsecond=0) != minute:
        return hour
    return minute


def day_of(moment: datetime) -> str:
    """The UTC calendar day of a moment, ``YYYY-MM-DD``."""
    return moment.astimezone(UTC).date().isoformat()


# Tokens ---------------------------------------------------------------------------------------


def inclusive_input(reported: int, cache_read: int, cache_write: int) -> tuple[int, int]:
    """``(input, cached)`` in the one convention: input includes cache reads and writes.

    For senders that already include them (OpenAI style). When the reported input is smaller
    than the cache tokens alone, the sender reported them apart and they are added back.
    """
    cached = cache_read + cache_write
    total = reported if reported >= cached else reported + cached
    return _bounded(total), cached


def uncached_plus_cache(uncached: int, cache_read: int, cache_write: int) -> tuple[int, int]:
    """``(input, cached)`` for senders that report cache tokens apart (Anthropic style)."""
    cached = cache_read + cache_write
    return _bounded(uncached + cached), cached


def _bounded(tokens: int) -> int:
    if tokens > MAX_TOKENS_PER_RECORD:
        raise EventError(f"{tokens} input tokens for one record is not plausible")
    return tokens


# Identities -----------------------------------------------------------------------------------


def is_email(value: str) -> bool:
    return len(value) <= MAX_IDENTITY_LENGTH and bool(_EMAIL_RE.match(value))


def email_actor(value: Any, field: str) -> Actor:
    """``Actor("email", …)`` lowercased; ``EventError`` names the field when it is missing or wrong."""
    address = text(value, field, MAX_IDENTITY_LENGTH)
    if address is None:
        raise EventError(f"{field} is missing: the record names no person")
    if not is_email(address):
        raise EventError(f"{field} {address!r} is not an email address")
    return Actor("email", address.lower())


def vendor_actor(kind: str, value: Any, field: str, *, lowercase: bool = False) -> Actor | None:
    """A vendor id as an ``Actor``, or ``None`` when the sender left it empty."""
    identity = text(value, field, MAX_IDENTITY_LENGTH)
    if identity is None:
        return None
    return Actor(kind, identity.lower() if lowercase else identity)


def handle_actor(kind: str, value: Any, field: str) -> Actor | None:
    """A handle that is often an email address: ``email`` then, else the vendor's own kind."""
    handle = text(value, field, MAX_IDENTITY_LENGTH)
    if handle is None:
        return None
    if is_email(handle):
        return Actor("email", handle.lower())
    return Actor(kind, handle.lower())


# Ids ------------------------------------------------------------------------------------------

_HEX_RE = re.compile(r"^[0-9a-fA-F]+$")


def hex_id(value: Any, field: str, size: int) -> str:
    """An OTLP trace/span id of ``size`` bytes as lower-case hex (hex or base64 accepted)."""
    if not isinstance(value, str) or not value.strip():
        raise EventError(f"{field} is missing")
    raw = value.strip()
    if len(raw) == size * 2 and _HEX_RE.match(raw):
        result = raw.lower()
    else:
        try:
            decoded = base64.b64decode(raw, validate=True)
        except (binascii.Error, ValueError):
            raise EventError(f"{field} {raw[:64]!r} is not a {size}-byte hex id") from None
        if len(decoded) != size:
            raise EventError(f"{field} {raw[:64]!r} is not a {size}-byte hex id")
        result = decoded.hex()
    if result == "0" * (size * 2):
        raise EventError(f"{field} is all zeros, which OTLP defines as invalid")
    return result
