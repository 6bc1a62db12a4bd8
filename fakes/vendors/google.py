"""A fake Google: the OAuth 2.0 token endpoint (service-account JWT grant) and the Admin SDK
Reports API's Drive activities.

Token endpoint (``POST /token``, ``application/x-www-form-urlencoded``): ``grant_type`` must be
``urn:ietf:params:oauth:grant-type:jwt-bearer`` (else 400 ``unsupported_grant_type``) and
``assertion`` a JWT signed RS256 with the private key of a service account this fake knows
(``add_service_account``): the signature is verified with its public key, ``iss`` must be that
account, ``aud`` ``https://oauth2.googleapis.com/token``, ``exp`` in the future and at most an
hour after ``iat`` (else 400 ``invalid_grant`` with Google's descriptions); with ``sub``
(domain-wide delegation) every requested scope must have been delegated to the account (else
401 ``unauthorized_client``). It answers ``{"access_token", "expires_in", "token_type":
"Bearer"}``.

Reports API (``GET /admin/reports/v1/activity/users/all/applications/drive``): ``Authorization:
Bearer <access token>`` from the endpoint above (missing, unknown or expired: 401
``UNAUTHENTICATED``); the token's subject must be an administrator (``admins``) and its scope
the audit scope (else 403 ``PERMISSION_DENIED``, "Not Authorized to access this
resource/api"). ``startTime``/``endTime`` (RFC 3339), ``maxResults`` (1–1000, default 1000) and
``pageToken``; newest first, ``nextPageToken`` while more follow; ``items`` absent when empty.
Errors are Google's ``{"error": {"code", "message", "errors", "status"}}``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from fakes.vendors.base import FakeVendor, HttpError, Request, integer, one

TOKEN_PATH = "/token"
AUDIENCE = "https://oauth2.googleapis.com/token"
AUDIT_SCOPE = "https://www.googleapis.com/auth/admin.reports.audit.readonly"
ACTIVITIES = "/admin/reports/v1/activity/users/all/applications/drive"
JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
STATUS_NAMES = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED"}


@dataclass(frozen=True)
class ServiceAccount:
    email: str
    key_file: Path
    public_key: rsa.RSAPublicKey


def make_service_account(directory: Path, email: str) -> ServiceAccount:
    """A throwaway RSA key and the service account key file Google would hand out for it."""
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    info = {
        "type": "service_account",
        "project_id": "ai-roi-test",
        "private_key_id": secrets.token_hex(20),
        "private_key": pem,
        "client_email": email,
        "client_id": "109876543210987654321",
        "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": AUDIENCE,
        "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
        "universe_domain": "googleapis.com",
    }
    path = directory / f"{email.split('@')[0]}.json"
    path.write_text(json.dumps(info))
    return ServiceAccount(email, path, private.public_key())


def drive_activity(
    time_: str,
    actor: str | None,
    name: str,
    *,
    doc_id: str,
    doc_type: str = "document",
    title: str = "Untitled document",
    owner: str | None = None,
    qualifier: str | None = None,
) -> dict[str, Any]:
    """One Drive activity as ``activities.list`` returns it."""
    parameters: list[dict[str, Any]] = [
        {"name": "primary_event", "boolValue": True},
        {"name": "billable", "boolValue": True},
        {"name": "doc_id", "value": doc_id},
        {"name": "doc_type", "value": doc_type},
        {"name": "doc_title", "value": title},
        {"name": "visibility", "value": "people_within_domain_with_link"},
        {"name": "owner_is_shared_drive", "boolValue": False},
    ]
    if owner is not None:
        parameters.append({"name": "owner", "value": owner})
    return {
        "kind": "admin#reports#activity",
        "id": {
            "time": time_,
            "uniqueQualifier": qualifier or str(-secrets.randbelow(10**18)),
            "applicationName": "drive",
            "customerId": "C03az79cb",
        },
        "etag": '"fake-etag"',
        "actor": {
            "email": actor,
            "profileId": "114" + str(int(hashlib.sha256(actor.encode()).hexdigest()[:12], 16)),
        }
        if actor
        else {"callerType": "KEY"},
        "ipAddress": "192.0.2.10",
        "events": [{"type": "access", "name": name, "parameters": parameters}],
    }


class FakeGoogle(FakeVendor):
    name = "google"

    def __init__(self, *, admins: set[str] | None = None, token_lifetime: int = 3599) -> None:
        super().__init__()
        self.admins = admins or set()
        self.token_lifetime = token_lifetime
        self.accounts: dict[str, rsa.RSAPublicKey] = {}
        self.delegated: dict[str, set[str]] = {}
        self.activities: list[dict[str, Any]] = []
        self.tokens: dict[str, dict[str, Any]] = {}  # access token → sub, scope, expires (epoch)
        self.assertions: list[dict[str, Any]] = []  # the verified claims of each grant

    @property
    def token_url(self) -> str:
        return self.url + TOKEN_PATH

    def add_service_account(self, account: ServiceAccount, scopes: set[str]) -> None:
        """Know ``account`` and delegate ``scopes`` to it domain-wide."""
        self.accounts[account.email] = account.public_key
        self.delegated[account.email] = set(scopes)

    def expire_tokens(self) -> None:
        """Every access token handed out so far has expired."""
        with self._lock:
            for token in self.tokens.values():
                token["expires"] = 0

    def error_body(self, status: int, message: str) -> Any:
        return {
            "error": {
                "code": status,
                "message": message,
                "errors": [{"message": message, "domain": "global", "reason": "failed"}],
                "status": STATUS_NAMES.get(status, "UNKNOWN"),
            }
        }

    # Auth -----------------------------------------------------------------------------------

    def authenticate(self, request: Request) -> None:
        if request.path == TOKEN_PATH:
            return  # the assertion is the credential
        header = request.headers.get("authorization", "")
        token = (
            self.tokens.get(header.removeprefix("Bearer "))
            if header.startswith("Bearer ")
            else None
        )
        if token is None or token["expires"] <= time.time():
            raise HttpError(
                401,
                self.error_body(
                    401,
                    "Request had invalid authentication credentials. Expected OAuth 2 access "
                    "token, login cookie or other valid authentication credential.",
                ),
                {"WWW-Authenticate": 'Bearer realm="https://accounts.google.com/"'},
            )
        if AUDIT_SCOPE not in token["scope"].split() or token["sub"] not in self.admins:
            raise HttpError(403, self.error_body(403, "Not Authorized to access this resource/api"))

    def route(self, request: Request) -> Any:
        if request.path == TOKEN_PATH and request.method == "POST":
            return self._grant(request)
        if request.path == ACTIVITIES and request.method == "GET":
            return self._activities(request)
        raise HttpError(404, self.error_body(404, "Not Found"))

    def _grant(self, request: Request) -> Any:
        form = {k: v[-1] for k, v in parse_qs(request.body.decode("utf-8", "replace")).items()}
        if form.get("grant_type") != JWT_GRANT:
            raise _oauth(
                400, "unsupported_grant_type", f"Invalid grant_type: {form.get('grant_type', '')}"
            )
        claims = self._verified(form.get("assertion", ""))
        scopes = set(str(claims.get("scope", "")).split())
        if not scopes:
            raise _oauth(400, "invalid_scope", "Empty or missing scope not allowed.")
        subject = claims.get("sub")
        if subject and not scopes <= self.delegated.get(claims["iss"], set()):
            raise _oauth(
                401,
                "unauthorized_client",
                "Client is unauthorized to retrieve access tokens using this method, or client "
                "not authorized for any of the scopes requested.",
            )
        token = "ya29." + secrets.token_urlsafe(32)
        with self._lock:
            self.assertions.append(claims)
            self.tokens[token] = {
                "sub": subject or claims["iss"],
                "scope": " ".join(sorted(scopes)),
                "expires": time.time() + self.token_lifetime,
            }
        return {"access_token": token, "expires_in": self.token_lifetime, "token_type": "Bearer"}

    def _verified(self, assertion: str) -> dict[str, Any]:
        """The claims of an RS256 JWT signed by a known service account, checked as Google does."""
        try:
            head, body, signature = assertion.split(".")
            header = json.loads(_unb64(head))
            claims = json.loads(_unb64(body))
            raw_signature = _unb64(signature)
        except ValueError:
            raise _oauth(400, "invalid_grant", "Invalid JWT: malformed assertion.") from None
        if (
            not isinstance(header, dict)
            or header.get("alg") != "RS256"
            or not isinstance(claims, dict)
        ):
            raise _oauth(400, "invalid_grant", "Invalid JWT: only RS256 assertions are accepted.")
        public_key = self.accounts.get(str(claims.get("iss")))
        if public_key is None:
            raise _oauth(400, "invalid_grant", "Invalid grant: account not found")
        try:
            public_key.verify(
                raw_signature, f"{head}.{body}".encode(), padding.PKCS1v15(), hashes.SHA256()
            )
        except InvalidSignature:
            raise _oauth(400, "invalid_grant", "Invalid JWT Signature.") from None
        if claims.get("aud") != AUDIENCE:
            raise _oauth(400, "invalid_grant", "Invalid JWT: audience is not the token endpoint.")
        now = time.time()
        issued, expires = claims.get("iat"), claims.get("exp")
        if (
            not isinstance(issued, int)
            or not isinstance(expires, int)
            or expires <= now
            or issued > now + 300
            or expires - issued > 3600
        ):
            raise _oauth(
                400,
                "invalid_grant",
                "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable "
                "timeframe. Check your iat and exp values in the JWT claim.",
            )
        return claims

    # Reports ----------------------------------------------------------------------------------

    def _activities(self, request: Request) -> Any:
        def bad(message: str) -> HttpError:
            return HttpError(400, self.error_body(400, message))

        start = _rfc3339(one(request, "startTime", bad), "startTime", bad)
        end = _rfc3339(one(request, "endTime", bad), "endTime", bad)
        size = integer(request, "maxResults", bad, default=1000, low=1, high=1000)
        scope = {"startTime": str(start), "endTime": str(end)}
        offset = 0
        page_token = one(request, "pageToken", bad)
        if page_token is not None:
            state = self.read_cursor(page_token)
            if state.get("scope") != scope:
                raise bad("Invalid value for: pageToken does not match the request")
            offset = int(state["offset"])
        found = sorted(
            (
                a
                for a in self.activities
                if (start is None or start <= _time(a)) and (end is None or _time(a) < end)
            ),
            key=_time,
            reverse=True,
        )
        chunk = found[offset : offset + size]
        answer: dict[str, Any] = {"kind": "admin#reports#activities", "etag": '"fake-etag"'}
        if chunk:
            answer["items"] = chunk
        if offset + size < len(found):
            answer["nextPageToken"] = self.make_cursor({"scope": scope, "offset": offset + size})
        return answer


def _oauth(status: int, error: str, description: str) -> HttpError:
    return HttpError(status, {"error": error, "error_description": description})


def _unb64(part: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
    except (ValueError, TypeError):
        raise ValueError("not base64url") from None


def _time(activity: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(activity["id"]["time"].replace("Z", "+00:00"))


def _rfc3339(value: str | None, field: str, bad: Any) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise bad(f"Invalid value for: {field} is not a valid RFC 3339 timestamp")
    return moment
