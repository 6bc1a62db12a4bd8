"""Google Drive audit (Admin SDK Reports API): documents created, and viewed by whom.

Credential: a service account's JSON key (``GOOGLE_SERVICE_ACCOUNT_FILE``) with domain-wide
delegation of the scope ``https://www.googleapis.com/auth/admin.reports.audit.readonly``, acting
as a Workspace administrator (``GOOGLE_ADMIN_EMAIL``) who may read reports.

- **Token.** ``google-auth`` signs the JWT assertion (RS256, ``iss`` the service account,
  ``sub`` the administrator, ``scope``, ``aud`` Google's token endpoint, one hour) and exchanges
  it at ``GOOGLE_TOKEN_URL`` for an access token. Its HTTP request goes through this source's
  ``Outbound`` (``OutboundTransport``): the same timeouts, gate, ``Retry-After``, backoff and
  request budget as every other call, and a refusal (``invalid_grant``,
  ``unauthorized_client``) is read by google-auth and stops the source with the reason.
- **Activities.** ``GET /admin/reports/v1/activity/users/all/applications/drive`` with
  ``startTime``/``endTime`` (RFC 3339), ``maxResults`` (1000, the most) and ``pageToken`` from the
  previous page's ``nextPageToken``, with ``Authorization: Bearer <token>``. A token that expired
  meanwhile (401) is refreshed once and the page asked again; a second 401, or a 403 (the
  administrator may not read reports, or the scope was not delegated), stops the source with an
  error admins see.
- Each page goes to the ``google-drive`` adapter (``bot.ingest.adapters.google_drive``); views
  are counted once per (document, viewer, week of ``ORG_TIMEZONE``).

Freshness: Google documents Drive log events as available in near real time (a couple of
minutes), with a small chance of longer delays. The watermark is conservative: the start of the
last hour that ended at least four hours ago; a later straggler is still picked up by the
trailing re-fetch of the last days (``PULL_TRAILING_DAYS``), stored once.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from google.auth import exceptions as google_exceptions
from google.auth import transport as google_transport
from google.oauth2 import service_account

from bot.connectors.base import Connector, PullResult, PullRun
from bot.connectors.plan import hourly_watermark
from bot.connectors.weekly_views import org_weeks
from bot.errors import ConfigError, CredentialRefusedError, RequestFailedError
from bot.ingest.adapters.google_drive import SOURCE, VIEW_KEY_PREFIX, view_key
from bot.outbound.clients import http_client
from bot.outbound.gate import gate_for
from bot.outbound.http import Outbound
from bot.settings import Settings

SCOPE = "https://www.googleapis.com/auth/admin.reports.audit.readonly"
ACTIVITIES = "admin/reports/v1/activity/users/all/applications/drive"
MAX_RESULTS = 1000
MAX_PAGES = 10_000
FRESHNESS_LAG = timedelta(hours=4)
REQUEST_BUDGET = 2_000
# The token endpoint's refusals, handed to google-auth to read (``{"error", "error_description"}``).
TOKEN_REFUSALS = frozenset({400, 401, 403})


class GoogleDriveConnector(Connector):
    source = SOURCE
    credential = "GOOGLE_SERVICE_ACCOUNT_FILE and GOOGLE_ADMIN_EMAIL"

    def configured(self, settings: Settings) -> bool:
        return bool(settings.google_service_account_file and settings.google_admin_email)

    def viewers(self, settings: Settings) -> str | None:
        return "Drive audit (every viewer)"

    def outbound(self, settings: Settings) -> Outbound:
        client = http_client(settings.google_admin_api_url + "/")
        return Outbound(SOURCE, client, gate=gate_for(SOURCE), budget=REQUEST_BUDGET)

    def pull(self, run: PullRun) -> PullResult:
        session = ReportsSession(run.outbound, load_credentials(run.settings))
        end = min(run.window.end, run.now)
        params: dict[str, Any] = {
            "startTime": _rfc3339(run.window.start),
            "endTime": _rfc3339(end),
            "maxResults": MAX_RESULTS,
        }
        adjust = org_weeks(run.settings.timezone, VIEW_KEY_PREFIX, view_key)
        for _ in range(MAX_PAGES):
            page = session.get_json(ACTIVITIES, params)
            if not isinstance(page, dict) or page.get("kind") != "admin#reports#activities":
                raise RequestFailedError(
                    "google-drive: the activities answer is not an activities page", status=200
                )
            if page.get("items"):
                run.ingest(SOURCE, page, adjust=adjust)
            following = page.get("nextPageToken")
            if not isinstance(following, str) or not following:
                break
            params = {**params, "pageToken": following}
        else:
            raise RequestFailedError(
                f"google-drive: the activities did not end after {MAX_PAGES} pages", status=200
            )
        return PullResult(watermark=hourly_watermark(run.window, now=run.now, lag=FRESHNESS_LAG))


def load_credentials(settings: Settings) -> service_account.Credentials:
    """The service account's credentials, delegated to ``GOOGLE_ADMIN_EMAIL``, for the Reports
    audit scope, exchanging at ``GOOGLE_TOKEN_URL``. A missing or malformed key file is a
    ``ConfigError`` naming the setting (never the key)."""
    path, admin = settings.google_service_account_file, settings.google_admin_email
    assert path is not None and admin is not None
    try:
        credentials: service_account.Credentials = (
            service_account.Credentials.from_service_account_file(  # type: ignore[no-untyped-call]
                path, scopes=[SCOPE], subject=admin
            )
        )
    except FileNotFoundError:
        raise ConfigError(f"GOOGLE_SERVICE_ACCOUNT_FILE: no file at {path}") from None
    except (OSError, ValueError, KeyError) as exc:
        what = (
            "is not valid JSON"
            if isinstance(exc, json.JSONDecodeError)
            else "is not a service account key"
        )
        raise ConfigError(
            f"GOOGLE_SERVICE_ACCOUNT_FILE: {path} {what} (download a JSON key of the service account)"
        ) from None
    delegated: service_account.Credentials = credentials.with_token_uri(settings.google_token_url)
    return delegated


class OutboundTransport(google_transport.Request):
    """google-auth's HTTP seam, backed by an ``Outbound``: the token request gets the source's
    timeouts, gate, retries and budget. 429 and 5xx are retried there, so google-auth sees
    only a success or the token endpoint's refusal, which it reads itself."""

    def __init__(self, outbound: Outbound) -> None:
        self.outbound = outbound

    def __call__(
        self,
        url: str,
        method: str = "GET",
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
        **kwargs: Any,
    ) -> _Response:
        response = self.outbound.request(
            method,
            url,
            content=body,
            headers=headers,
            safe_to_repeat=True,  # a token exchange changes nothing: asking again is harmless
            answer_as_is=TOKEN_REFUSALS,
        )
        return _Response(response)


class _Response(google_transport.Response):
    def __init__(self, response: httpx.Response) -> None:
        self._response = response

    @property
    def status(self) -> int:
        return self._response.status_code

    @property
    def headers(self) -> Mapping[str, str]:
        return self._response.headers

    @property
    def data(self) -> bytes:
        return self._response.content


class ReportsSession:
    """Reports API calls with a fresh access token; an expired one is refreshed once."""

    def __init__(self, outbound: Outbound, credentials: service_account.Credentials) -> None:
        self.outbound = outbound
        self.credentials = credentials
        self.transport = OutboundTransport(outbound)

    def refresh(self) -> None:
        try:
            self.credentials.refresh(self.transport)  # type: ignore[no-untyped-call]
        except google_exceptions.RefreshError as exc:
            raise CredentialRefusedError(
                f"{SOURCE}: the token endpoint refused the service account ({_refusal(exc)})"
            ) from None

    def get_json(self, url: str, params: Mapping[str, Any]) -> Any:
        if not self.credentials.valid:
            self.refresh()
        response = self.outbound.request(
            "GET", url, params=params, headers=self._auth(), answer_as_is={401}
        )
        if response.status_code == 401:  # the token expired since: once more with a new one
            self.refresh()
            response = self.outbound.request("GET", url, params=params, headers=self._auth())
        try:
            return response.json()
        except ValueError:
            raise RequestFailedError(
                f"{SOURCE}: expected JSON, got {response.headers.get('content-type', 'no content type')}",
                status=response.status_code,
            ) from None

    def _auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.credentials.token}"}


def _refusal(exc: google_exceptions.RefreshError) -> str:
    """The endpoint's ``error: error_description`` (google-auth's message starts with them)."""
    detail = exc.args[1] if len(exc.args) > 1 else None
    if isinstance(detail, dict):
        error, description = detail.get("error"), detail.get("error_description")
        if isinstance(error, str):
            return f"{error}: {description}" if isinstance(description, str) else error
    return str(exc.args[0])[:200] if exc.args else "refused"


def _rfc3339(instant: datetime) -> str:
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
