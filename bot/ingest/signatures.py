"""Webhook authentication: Standard Webhooks signatures and bearer tokens. Pure: no clock read."""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
from collections.abc import Mapping, Sequence
from datetime import datetime

from bot.domain.webhook_secrets import SecretFormatError, secret_key
from bot.errors import AuthError

TOLERANCE_SECONDS = 5 * 60


MAX_TIMESTAMP_DIGITS = 12  # Unix seconds until the year 33658


def _usable_keys(secrets: Sequence[str]) -> tuple[bytes, ...]:
    """The keys of the well-formed secrets. Settings refuse a malformed one at start; should one
    get here anyway, it is skipped, so the others still verify and callers learn nothing."""
    return _keys_of(tuple(secrets))


@functools.lru_cache(maxsize=16)
def _keys_of(secrets: tuple[str, ...]) -> tuple[bytes, ...]:
    """``_usable_keys``, decoded once per set of secrets (it runs on every signed request)."""
    keys = []
    for secret in secrets:
        try:
            keys.append(secret_key(secret))
        except SecretFormatError:
            continue
    return tuple(keys)


def _digest(key: bytes, msg_id: str, timestamp: int, body: bytes) -> bytes:
    content = f"{msg_id}.{timestamp}.".encode() + body
    return base64.b64encode(hmac.new(key, content, hashlib.sha256).digest())


def parse_timestamp(text: str) -> int:
    """Unix seconds as sent in ``webhook-timestamp``; ``AuthError`` for anything else (signs,
    spaces, other digits, absurd lengths), never an overflow."""
    text = text.strip()
    if not (text.isascii() and text.isdigit()) or len(text) > MAX_TIMESTAMP_DIGITS:
        raise AuthError("webhook-timestamp must be Unix seconds")
    return int(text)


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """The ``v1,<base64>`` signature of a message, as a sender computes it."""
    return "v1," + _digest(secret_key(secret), msg_id, timestamp, body).decode()


def verify_signature(
    secrets: Sequence[str], headers: Mapping[str, str], body: bytes, now: datetime
) -> None:
    """Accept the message if any ``v1`` signature matches any secret; else ``AuthError``."""
    msg_id = headers.get("webhook-id")
    timestamp_text = headers.get("webhook-timestamp")
    signatures = headers.get("webhook-signature")
    if not msg_id or not timestamp_text or not signatures:
        raise AuthError("missing webhook-id, webhook-timestamp or webhook-signature header")
    timestamp = parse_timestamp(timestamp_text)
    skew = int(now.timestamp()) - timestamp
    if skew > TOLERANCE_SECONDS:
        raise AuthError("webhook-timestamp is too old (more than 5 minutes)")
    if skew < -TOLERANCE_SECONDS:
        raise AuthError("webhook-timestamp is too far in the future (more than 5 minutes)")
    offered = []
    for part in signatures.split(" "):
        version, _, value = part.partition(",")
        if version == "v1" and value:
            offered.append(value.encode())
    if not offered:
        raise AuthError("webhook-signature has no v1 signature")
    for key in _usable_keys(secrets):
        expected = _digest(key, msg_id, timestamp, body)
        if any(hmac.compare_digest(expected, candidate) for candidate in offered):
            return
    raise AuthError("webhook signature does not match any configured secret")


def verify_bearer(tokens: Sequence[str], authorization: str) -> None:
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthError("Authorization header must be 'Bearer <token>'")
    presented = token.strip().encode()
    # Compare against every token so timing does not reveal which one nearly matched.
    matched = False
    for candidate in tokens:
        matched |= hmac.compare_digest(candidate.encode(), presented)
    if not matched:
        raise AuthError("bearer token is not one of WEBHOOK_TOKENS")


def authenticate(
    *,
    secrets: Sequence[str],
    tokens: Sequence[str],
    headers: Mapping[str, str],
    body: bytes,
    now: datetime,
) -> None:
    """Authenticate one webhook request by whichever credential it presents."""
    if not secrets and not tokens:
        raise AuthError(
            "webhooks are disabled: set WEBHOOK_SECRETS (Standard Webhooks) or WEBHOOK_TOKENS (bearer)"
        )
    authorization = headers.get("authorization")
    if authorization:
        if not tokens:
            raise AuthError("bearer tokens are not accepted here: WEBHOOK_TOKENS is not set")
        verify_bearer(tokens, authorization)
        return
    if "webhook-signature" in headers or "webhook-id" in headers:
        if not secrets:
            raise AuthError("signed webhooks are not accepted here: WEBHOOK_SECRETS is not set")
        verify_signature(secrets, headers, body, now)
        return
    raise AuthError(
        "missing credentials: send Standard Webhooks headers or 'Authorization: Bearer <token>'"
    )


def github_signature(secret: str, body: bytes) -> str:
    """``X-Hub-Signature-256`` as GitHub computes it: ``sha256=<hex HMAC-SHA256 of the body>``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify_github_signature(secret: str | None, header: str | None, body: bytes) -> None:
    """Accept a GitHub delivery whose ``X-Hub-Signature-256`` matches ``secret``; else
    ``AuthError`` saying what is wrong (never the value expected)."""
    if not secret:
        raise AuthError("GitHub webhooks are disabled: set GITHUB_WEBHOOK_SECRET")
    if not header:
        raise AuthError("missing X-Hub-Signature-256 header")
    scheme, _, value = header.strip().partition("=")
    if scheme.lower() != "sha256" or not value:
        raise AuthError("X-Hub-Signature-256 must be 'sha256=<hex HMAC-SHA256 of the body>'")
    expected = github_signature(secret, body).encode()
    offered = ("sha256=" + value.strip().lower()).encode("utf-8", "replace")
    if not hmac.compare_digest(expected, offered):
        raise AuthError("X-Hub-Signature-256 does not match GITHUB_WEBHOOK_SECRET")
