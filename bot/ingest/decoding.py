"""Turn a request body or a file into JSON values, by content type: bytes in, values out.

A request body is decoded whole (``decode_json``, ``decode_ndjson``). A file of any size is read
a piece at a time (``ndjson_lines``, ``JsonRecordReader``): one NDJSON line, or one element of a
top-level JSON array (or of one array under a key of a top-level object), after another, so
what is held at once does not grow with the file.

Values are what ``json.loads`` gives (integers of any size, lone surrogates kept so that the
text checks can refuse them, ``NaN`` and ``Infinity`` refused). orjson decodes a line or a body
first where it gives the same values: when it refuses one, or the text holds an integer too
large for it, ``json`` decodes it and says what is wrong.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import IO, Any

import orjson

from bot.errors import PayloadError, UnsupportedMediaError

JSON_TYPES = ("application/json",)
NDJSON_TYPES = (
    "application/x-ndjson",
    "application/ndjson",
    "application/jsonl",
    "application/x-jsonlines",
)


@dataclass(frozen=True)
class Line:
    """One NDJSON line: its JSON value, or why it could not be read."""

    value: Any = None
    error: str | None = None


def media_type(content_type: str | None) -> str:
    """``application/json; charset=utf-8`` → ``application/json``."""
    return (content_type or "").split(";", 1)[0].strip().lower()


def is_json(content_type: str | None) -> bool:
    kind = media_type(content_type)
    return kind in JSON_TYPES or (kind.startswith("application/") and kind.endswith("+json"))


def is_ndjson(content_type: str | None) -> bool:
    return media_type(content_type) in NDJSON_TYPES


def check_content_type(content_type: str | None) -> None:
    if not (is_json(content_type) or is_ndjson(content_type)):
        shown = media_type(content_type) or "none"
        raise UnsupportedMediaError(
            f"content type {shown!r} is not supported; send application/json or application/x-ndjson"
        )


def _text(body: bytes) -> str:
    try:
        return body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise PayloadError(f"body is not UTF-8 (byte {exc.start})") from None


# orjson reads an integer of 20 digits or more as a float: such texts are left to ``json``.
# (Every digit becomes "0" and everything else " ", then a run of twenty is looked for: a
# fifth of the time of a regular expression.)
_DIGITS = bytes(0x30 if 0x30 <= byte <= 0x39 else 0x20 for byte in range(256))
_LONG_DIGITS = b"0" * 20
_BOM = codecs.BOM_UTF8


def _fast(raw: bytes) -> Any:
    """``raw`` decoded by orjson, or ``_SLOW`` when ``json`` must decode it."""
    if _LONG_DIGITS in raw.translate(_DIGITS):
        return _SLOW
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return _SLOW


_SLOW: Any = object()


def decode_json(body: bytes) -> Any:
    """The whole body as one JSON document; ``PayloadError`` says where it broke."""
    value = _fast(body)
    if value is not _SLOW:
        return value
    text = _text(body)
    if not text.strip():
        raise PayloadError("body is empty; expected JSON")
    try:
        return json.loads(text, parse_float=_finite_float, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        raise PayloadError(
            f"body is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None
    except ValueError as exc:
        raise PayloadError(f"body is not valid JSON: {exc}") from None
    except RecursionError:
        raise PayloadError("body is not usable JSON: it is nested too deeply") from None


def decode_ndjson(body: bytes) -> list[Line]:
    """One value per non-blank line; a broken line is reported, the others are kept."""
    _text(body)  # a body that is not UTF-8 is refused whole
    return list(ndjson_lines(body.split(b"\n")))


def ndjson_lines(lines: Iterable[bytes], tally: Tally | None = None) -> Iterator[Line]:
    """One ``Line`` per non-blank line of ``lines`` (a binary file, read as it is iterated).

    Lines end at ``\n`` (a ``\r`` before it is whitespace). A line that is not JSON, or not
    UTF-8, becomes a ``Line`` with its error and its number; the lines after it are read on.
    ``tally``, when given, counts the bytes read.
    """
    for number, raw in enumerate(lines, start=1):
        if tally is not None:
            tally.bytes += len(raw)
        if number == 1 and raw.startswith(_BOM):
            raw = raw[len(_BOM) :]
        value = _fast(raw)
        if value is not _SLOW:
            yield Line(value=value)
        elif raw.strip():
            line = _slow_line(raw, number)
            if line is not None:
                yield line


def _slow_line(raw: bytes, number: int) -> Line | None:
    """The line decoded by ``json``, its error, or ``None`` when it is blank."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return Line(error=f"line {number} is not UTF-8 (byte {exc.start + 1} of the line)")
    if not text.strip():
        return None
    try:
        return Line(value=json.loads(text, parse_float=_finite_float, parse_constant=_no_constant))
    except ValueError as exc:
        reason = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)
        return Line(error=f"line {number} is not valid JSON: {reason}")
    except RecursionError:
        return Line(error=f"line {number} is nested too deeply")


def _finite_float(text: str) -> float:
    return float(text)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


# Files, a piece at a time ---------------------------------------------------------------------


@dataclass
class Tally:
    """How many bytes of a file a reader has read so far."""

    bytes: int = 0


CHUNK_BYTES = 1 << 20  # read at a time
_NEAR_END = 32  # a value or an error this close to the end of what is read may be cut short
_SPACE = re.compile(r"[ \t\n\r]*")


class JsonRecordReader:
    """One JSON text read from a binary file a piece at a time.

    ``records(list_key)`` gives the elements of a top-level array one by one, or those of the
    array under ``list_key`` of a top-level object; any other document is read whole. Each
    element is decoded by ``json`` as it arrives (the C scanner, with the same hooks as
    ``decode_json``), so at most one element and one piece of the file are held at once.
    A broken text raises ``PayloadError`` where it breaks, after the elements before it.
    """

    def __init__(self, stream: IO[bytes], tally: Tally | None = None) -> None:
        self._stream = stream
        self._tally = tally if tally is not None else Tally()
        self._utf8 = codecs.getincrementaldecoder("utf-8-sig")("strict")
        self._decoder = json.JSONDecoder(parse_float=_finite_float, parse_constant=_no_constant)
        self._text = ""
        self._at = 0  # where reading stands in ``_text``
        self._eof = False
        self._lines = 0  # line breaks in the text already dropped
        self._column = 0  # characters after the last of them
        self.elements = 0  # elements read so far

    def records(self, list_key: str | None = None) -> tuple[Iterator[Any] | None, Any]:
        """``(elements, None)`` when the records stream, else ``(None, document)``."""
        first = self._peek()
        if first == "[":
            self._at += 1
            return self._elements(), None
        if first == "{" and list_key is not None:
            return self._under_key(list_key)
        return None, self._whole()

    # The shapes --------------------------------------------------------------------------

    def _elements(self) -> Iterator[Any]:
        """The elements of an array whose ``[`` has been read, then the end of the text."""
        yield from self._array()
        self._end()

    def _array(self) -> Iterator[Any]:
        """The elements of an array whose ``[`` has been read, up to its ``]``."""
        if self._peek() == "]":
            self._at += 1
            return
        while True:
            yield self._value()
            self.elements += 1
            separator = self._peek()
            self._at += 1
            if separator == "]":
                return
            if separator != ",":
                self._at -= 1
                raise self._error("expected ',' or ']' after an array element", cut=not separator)

    def _under_key(self, list_key: str) -> tuple[Iterator[Any] | None, Any]:
        """The elements under ``list_key`` when it holds an array; else the whole object."""
        self._at += 1  # the "{"
        members: dict[str, Any] = {}
        if self._peek() == "}":
            self._at += 1
            self._end()
            return None, members
        while True:
            if self._peek() != '"':
                raise self._error("expected a property name in double quotes")
            key = self._value()
            if self._peek() != ":":
                raise self._error("expected ':' after a property name")
            self._at += 1
            if key == list_key and self._peek() == "[":
                self._at += 1
                return self._elements_then_rest(), None
            members[key] = self._value()
            separator = self._peek()
            self._at += 1
            if separator == "}":
                self._end()
                return None, members
            if separator != ",":
                self._at -= 1
                raise self._error("expected ',' or '}' after a property")

    def _elements_then_rest(self) -> Iterator[Any]:
        """The elements of the array under the key, then the rest of the object (not kept)."""
        yield from self._array()
        while True:
            separator = self._peek()
            self._at += 1
            if separator == "}":
                break
            if separator != ",":
                self._at -= 1
                raise self._error("expected ',' or '}' after a property", cut=not separator)
            if self._peek() != '"':
                raise self._error("expected a property name in double quotes")
            self._value()
            if self._peek() != ":":
                raise self._error("expected ':' after a property name")
            self._at += 1
            self._value()
        self._end()

    def _whole(self) -> Any:
        value = self._value()
        self._end()
        return value

    def _end(self) -> None:
        if self._peek() != "":
            raise self._error("extra data after the JSON value")

    # Reading -----------------------------------------------------------------------------

    def _peek(self) -> str:
        """The next character that is not whitespace ("" at the end), not consumed."""
        while True:
            self._at = _SPACE.match(self._text, self._at).end()  # type: ignore[union-attr]
            if self._at < len(self._text):
                return self._text[self._at]
            if self._eof:
                return ""
            self._read()

    def _value(self) -> Any:
        """The JSON value that starts at the next character."""
        if self._peek() == "":
            raise self._error("a value was expected", cut=True)
        while True:
            try:
                value, end = self._decoder.raw_decode(self._text, self._at)
            except json.JSONDecodeError as exc:
                if not self._eof and (
                    exc.msg.startswith("Unterminated string")
                    or exc.pos >= len(self._text) - _NEAR_END
                ):
                    self._read()
                    continue
                cut = _cut(exc, self._text)
                raise self._error(exc.msg, at=exc.pos, cut=cut) from None
            except ValueError as exc:  # NaN and Infinity, from the hook
                raise self._error(str(exc)) from None
            except RecursionError:
                raise self._error("a value is nested too deeply") from None
            if end >= len(self._text) - _NEAR_END and not self._eof:
                self._read()  # a number or a word may go on in the next piece
                continue
            self._at = end
            return value

    def _read(self) -> None:
        """Drop what has been read; append the next piece of the file (at least as much again
        as is held, so a long element is decoded a bounded number of times)."""
        if self._at:
            dropped = self._text[: self._at]
            breaks = dropped.count("\n")
            if breaks:
                self._lines += breaks
                self._column = len(dropped) - dropped.rfind("\n") - 1
            else:
                self._column += len(dropped)
            self._text = self._text[self._at :]
            self._at = 0
        data = self._stream.read(max(CHUNK_BYTES, len(self._text)))
        try:
            if data:
                self._text += self._utf8.decode(data)
            else:
                self._text += self._utf8.decode(b"", final=True)
                self._eof = True
        except UnicodeDecodeError as exc:
            raise PayloadError(
                f"body is not UTF-8 (byte {self._tally.bytes + exc.start})"
            ) from None
        self._tally.bytes += len(data)

    def _error(self, reason: str, *, at: int | None = None, cut: bool = False) -> PayloadError:
        at = self._at if at is None else at
        before = self._text[:at]
        breaks = before.count("\n")
        line = self._lines + breaks + 1
        column = at - before.rfind("\n") if breaks else self._column + at + 1
        where = f"line {line} column {column}"
        count = self.elements
        after = f" after {count:,} record{'' if count == 1 else 's'}" if count else ""
        if cut:
            return PayloadError(
                f"body is not valid JSON: it ends early{after} ({reason} at {where})"
            )
        return PayloadError(f"body is not valid JSON: {reason} at {where}{after}")


def _cut(exc: json.JSONDecodeError, text: str) -> bool:
    """Whether ``exc`` comes from the text ending, not from a wrong character."""
    return exc.msg.startswith("Unterminated string") or exc.pos >= len(text.rstrip())
