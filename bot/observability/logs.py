"""The one logging set-up of a process, called at start (never at import time).

``LOG_FORMAT=text`` (default) writes ``time level logger [request id]: message``;
``LOG_FORMAT=json`` writes one JSON object per line::

    {"time": "2026-11-23T09:00:00.123Z", "level": "WARNING", "logger": "bot.http.app",
     "message": "refused POST /webhooks/usage: 401 …", "request_id": "…", "source": "usage",
     "outcome": "refused"}

``request_id`` comes from the request being served (``bot.observability.requests``);
``source`` and ``outcome`` from a call's ``extra={…}`` where the code knows them. Whatever a
line says, credentials in it (Slack tokens, ``whsec_`` secrets, bearer tokens, API keys, GitHub
tokens) are masked before it is written: a secret must not reach a log even by mistake.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any, Literal, TextIO

LogFormat = Literal["text", "json"]

request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "ai_roi_request_id", default=None
)

EXTRA_FIELDS = ("source", "outcome")
_HANDLER_NAME = "ai-roi"
_SECRETS = re.compile(
    r"(?P<slack>xox[abepors]-[A-Za-z0-9-]+|xapp-[A-Za-z0-9-]+)"
    r"|(?P<whsec>whsec_[A-Za-z0-9+/=]+)"
    r"|(?P<key>\bsk-[A-Za-z0-9_-]{8,})"
    r"|(?P<github>\bgithub_pat_[A-Za-z0-9_]{8,}|\bgh[pousr]_[A-Za-z0-9]{8,})"
    # a bearer credential: 8+ characters with a digit or punctuation, so "bearer tokens are
    # not accepted" stays readable
    r"|(?P<bearer>(?i:bearer)\s+(?=[A-Za-z]*[0-9._~+/=-])[A-Za-z0-9._~+/=-]{8,})"
)


def redact(text: str) -> str:
    """``text`` with anything shaped like a credential replaced by its kind."""

    def mask(match: re.Match[str]) -> str:
        kind = match.lastgroup or "secret"
        return "Bearer [redacted]" if kind == "bearer" else f"[redacted {kind}]"

    return _SECRETS.sub(mask, text)


class _RequestIdFilter(logging.Filter):
    """Stamps each record with the id of the HTTP request it was written for (or None)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = request_id.get()
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        if getattr(record, "request_id", None):
            entry["request_id"] = getattr(record, "request_id", None)
        for name in EXTRA_FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                entry[name] = value
        if record.exc_info:
            entry["exception"] = redact(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s%(rid)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        rid = getattr(record, "request_id", None)
        record.rid = f" [{rid}]" if rid else ""
        return redact(super().format(record))


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is when a line is written (as ``logging.lastResort``
    does), not the stream that was there when logging was set up."""

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, value: TextIO) -> None:
        pass


def configure_logging(
    level: str = "WARNING", fmt: LogFormat = "text", stream: TextIO | None = None
) -> logging.Handler:
    """Send every logger's records to ``stream`` (stderr) in ``fmt``, at ``level`` and above.

    Calling it again replaces the handler it installed before (the CLI starts at WARNING in
    text, then ``serve`` applies the settings), and leaves other handlers alone.
    """
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == _HANDLER_NAME]:
        root.removeHandler(old)
        old.close()
    handler: logging.Handler = (
        logging.StreamHandler(stream) if stream is not None else _StderrHandler()
    )
    handler.set_name(_HANDLER_NAME)
    handler.addFilter(_RequestIdFilter())
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root.addHandler(handler)
    root.setLevel(level)
    # uvicorn's own loggers write through the root handler, in the same format.
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        uvicorn_logger = logging.getLogger(name)
        uvicorn_logger.handlers.clear()
        uvicorn_logger.propagate = True
    return handler
