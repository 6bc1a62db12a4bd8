"""Standard Webhooks secrets (``whsec_`` + base64 of the HMAC key): reading one, refusing a
malformed one without ever repeating it. Used when settings are loaded and when signatures are
checked."""

from __future__ import annotations

import base64
import binascii

SECRET_PREFIX = "whsec_"


class SecretFormatError(ValueError):
    """A webhook secret is not ``whsec_`` followed by base64 (the message never holds it)."""


def secret_key(secret: str) -> bytes:
    """The HMAC key inside a ``whsec_…`` secret (the prefix may be left out, as the Standard
    Webhooks libraries allow); ``SecretFormatError`` when it is malformed."""
    try:
        key = base64.b64decode(secret.removeprefix(SECRET_PREFIX), validate=True)
    except (binascii.Error, ValueError):
        raise SecretFormatError("a webhook secret is not valid base64 after 'whsec_'") from None
    if not key:
        raise SecretFormatError("a webhook secret has no key after 'whsec_'")
    return key
