"""Turn a request body into JSON values, by content type. Pure: bytes in, values out."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

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


def decode_json(body: bytes) -> Any:
    """The whole body as one JSON document; ``PayloadError`` says where it broke."""
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
    lines: list[Line] = []
    for number, raw in enumerate(_text(body).splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            lines.append(
                Line(value=json.loads(raw, parse_float=_finite_float, parse_constant=_no_constant))
            )
        except ValueError as exc:
            reason = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)
            lines.append(Line(error=f"line {number} is not valid JSON: {reason}"))
        except RecursionError:
            lines.append(Line(error=f"line {number} is nested too deeply"))
    return lines


def _finite_float(text: str) -> float:
    return float(text)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")
