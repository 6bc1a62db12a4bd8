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
    ├── EventError             one event in a batch is invalid (reported per event, never raised
    │                          past the batch)
    ├── ParserFailed           the parsing child of a bulk import died (bot.ingest.bulk); the
    │                          batches stored so far are kept
    ├── DeliveryError          a digest could not be delivered (bot.digest.deliverers): permanent,
    │   │                      transient, or *skip* (nobody to deliver to)
    │   └── SlackAuthError     Slack refused the bot token: the run stops (bot.slack.dm)
    └── OutboundError          a call ai-roi made to another system failed (bot.outbound,
        │                      bot.slack.web_api); ``code`` and ``status`` say what it answered
        ├── RetryableError     worth another attempt (the retry helper does that)
        │   ├── RateLimitedError      429 / ``ratelimited``: wait its Retry-After
        │   └── UnavailableError      5xx, a dropped connection, a timeout
        ├── CredentialRefusedError    401 / 403: the credential is wrong or lacks a scope
        ├── CursorExpiredError        410: a page cursor or link expired; start the listing again
        ├── BudgetExhaustedError      the per-run request budget of a destination is spent
        ├── SlackSyncError            the Slack directory sync failed for good (its error code)
        └── RequestFailedError        any other refusal (4xx), with the destination's reason

``ParserFailed``, ``DeliveryError`` and ``SlackAuthError`` are defined beside the code that raises
them (they carry its state); the others here.
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


class OutboundError(AiRoiError):
    """A call to another system (Slack, a vendor API) failed. Messages name the destination and
    what it said, never a credential. ``code`` is the destination's own error code when it gave
    one (Slack's ``"error"``), ``status`` the HTTP status when there was an answer."""

    def __init__(self, message: str, *, code: str | None = None, status: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.status = status


class RetryableError(OutboundError):
    """A failure worth another attempt."""


class RateLimitedError(RetryableError):
    """The destination asked us to slow down; ``retry_after`` is in seconds."""

    def __init__(
        self,
        message: str,
        *,
        retry_after: float = 1.0,
        code: str | None = None,
        status: int | None = None,
    ) -> None:
        super().__init__(message, code=code, status=status)
        self.retry_after = retry_after


class UnavailableError(RetryableError):
    """The destination failed in a way that may pass (5xx, a dropped connection, a timeout)."""


class CredentialRefusedError(OutboundError):
    """401 or 403: the credential is wrong, revoked or lacks a scope. Not retried."""


class CursorExpiredError(OutboundError):
    """410 Gone: a page cursor or a signed link expired; the listing must start again."""


class BudgetExhaustedError(OutboundError):
    """The destination's request budget for this run is spent; the rest waits for the next run."""


class SlackSyncError(OutboundError):
    """A Slack Web API call of the directory sync failed for good (Slack's error code says why)."""


class RequestFailedError(OutboundError):
    """Any other refusal; ``status`` is the HTTP status."""

    status: int

    def __init__(self, message: str, *, status: int, code: str | None = None) -> None:
        super().__init__(message, code=code, status=status)
