"""Errors raised by ai-roi.

Every error the app raises on purpose derives from ``AiRoiError``; the edges translate them
(HTTP → a 4xx JSON body, CLI → exit code and a one-line reason, Slack → a friendly message,
jobs → a log line with traceback, then the next item).

    AiRoiError
    ├── ConfigError            a setting is missing or invalid (names the variable)
    ├── UsageError             a command was called wrongly (CLI exit code 2)
    ├── NotFoundError          a named person, team or week does not exist
    ├── PermissionDeniedError  the caller may not see what they asked for (e.g. another team)
    ├── PayloadError           a request body cannot be used at all (HTTP 400)
    │   └── UnknownSourceError the source name is not one we accept (HTTP 404)
    ├── AuthError              a webhook request is not authenticated (HTTP 401)
    ├── PayloadTooLargeError   a request body is over the limit (HTTP 413)
    ├── UnsupportedMediaError  a request has a content type we do not read (HTTP 415)
    └── EventError             one event in a batch is invalid (reported per event, never raised
                               past the batch)
"""

from __future__ import annotations


class AiRoiError(Exception):
    """Base class of every error ai-roi raises on purpose."""


class ConfigError(AiRoiError):
    """A setting is missing or invalid. The message names the variable."""


class UsageError(AiRoiError):
    """A command-line call is malformed."""


class NotFoundError(AiRoiError):
    """A named thing (person, team, week) does not exist."""


class PermissionDeniedError(AiRoiError):
    """The caller may not see what they asked for; the message says what they may see."""


class PayloadError(AiRoiError):
    """A request body cannot be used at all."""


class UnknownSourceError(PayloadError):
    """The source named in the URL or command is not one ai-roi accepts."""


class AuthError(AiRoiError):
    """A webhook request is not authenticated."""


class PayloadTooLargeError(AiRoiError):
    """A request body is over the configured limit."""


class UnsupportedMediaError(AiRoiError):
    """A request body has a content type ai-roi does not read."""


class EventError(AiRoiError):
    """One event is invalid; the message is the reason reported back to the sender."""
