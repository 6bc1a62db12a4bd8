"""A fake Datadog API: Audit Trail search (``POST /api/v2/audit/events/search``).

Follows the public reference: both keys in ``DD-API-KEY`` and ``DD-APPLICATION-KEY`` (a missing
or wrong one answers ``403 {"errors": ["Forbidden"]}``, as Datadog does); a JSON body with
``filter.query``, ``filter.from``/``filter.to`` (ISO 8601 or epoch milliseconds), ``sort``
(``timestamp`` or ``-timestamp``) and ``page.limit`` (1–1000, default 10) and ``page.cursor``;
the answer ``{"data": [...], "meta": {"page": {"after"}, "status": "done", ...}, "links":
{"next"}}``, ``meta.page.after`` only while more events follow. Every answer carries
``X-RateLimit-Limit``, ``-Period``, ``-Remaining``, ``-Reset`` and ``-Name``; past ``limit``
requests in a ``period``, 429 ``{"errors": ["Too many requests"]}`` with those headers and, like
Datadog, no ``Retry-After``.

The query is recorded, not evaluated: every event in the time range is returned (the connector's
adapter must skip what is not a dashboard event).

    with FakeDatadog() as fake:
        fake.events = [audit_event(...), …]
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from typing import Any

from fakes.vendors.base import Answer, FakeVendor, HttpError, Request

API_KEY = "0123456789abcdef0123456789abcdef"
APP_KEY = "0123456789abcdef0123456789abcdef01234567"
SEARCH = "/api/v2/audit/events/search"


def audit_event(
    event_id: str, timestamp: str, attributes: dict[str, Any], *, service: str = "dashboard"
) -> dict[str, Any]:
    """One audit event as the search returns it."""
    return {
        "id": event_id,
        "type": "audit",
        "attributes": {
            "timestamp": timestamp,
            "service": service,
            "tags": ["source:audit"],
            "message": "",
            "attributes": attributes,
        },
    }


class FakeDatadog(FakeVendor):
    name = "datadog"

    def __init__(
        self,
        api_key: str = API_KEY,
        app_key: str = APP_KEY,
        *,
        limit: int = 300,
        period: int = 60,
    ) -> None:
        super().__init__()
        self.api_key = api_key
        self.app_key = app_key
        self.limit = limit
        self.period = period
        self.events: list[dict[str, Any]] = []
        self.queries: list[str] = []
        self.throttled = 0
        self.early: list[Request] = []  # arrived while a 429's reset was still running
        self._window_start = 0.0
        self._window_used = 0
        self._reset_at = 0.0

    def error_body(self, status: int, message: str) -> Any:
        return {"errors": [message]}

    def _rate_headers(self, now: float) -> dict[str, str]:
        reset = max(1, math.ceil(self._window_start + self.period - now))
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Period": str(self.period),
            "X-RateLimit-Remaining": str(max(0, self.limit - self._window_used)),
            "X-RateLimit-Reset": str(reset),
            "X-RateLimit-Name": "audit_logs_search",
        }

    def authenticate(self, request: Request) -> None:
        if (
            request.headers.get("dd-api-key") != self.api_key
            or request.headers.get("dd-application-key") != self.app_key
        ):
            raise HttpError(403, self.error_body(403, "Forbidden"))
        with self._lock:
            if request.at < self._reset_at:
                self.early.append(request)
            if request.at - self._window_start >= self.period:
                self._window_start, self._window_used = request.at, 0
            self._window_used += 1
            headers = self._rate_headers(request.at)
            if self._window_used > self.limit:
                self.throttled += 1
                self._reset_at = self._window_start + self.period
                raise HttpError(429, self.error_body(429, "Too many requests"), headers)

    def route(self, request: Request) -> Any:
        if request.path != SEARCH:
            raise HttpError(404, self.error_body(404, "Not found"))
        if request.method != "POST":
            raise HttpError(405, self.error_body(405, "Method Not Allowed"))
        try:
            body = json.loads(request.body or b"{}")
        except ValueError:
            raise HttpError(400, self.error_body(400, "Invalid JSON body")) from None
        if not isinstance(body, dict):
            raise HttpError(400, self.error_body(400, "The request body must be an object"))
        flt = body.get("filter") or {}
        page = body.get("page") or {}
        if not isinstance(flt, dict) or not isinstance(page, dict):
            raise HttpError(400, self.error_body(400, "filter and page must be objects"))
        query = flt.get("query", "*")
        start = _instant(flt.get("from"), "filter.from")
        end = _instant(flt.get("to"), "filter.to")
        if end < start:
            raise HttpError(400, self.error_body(400, "filter.from must be before filter.to"))
        limit = page.get("limit", 10)
        if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= 1000:
            raise HttpError(400, self.error_body(400, "page[limit] must be between 1 and 1000"))
        sort = body.get("sort", "timestamp")
        if sort not in ("timestamp", "-timestamp"):
            raise HttpError(400, self.error_body(400, f"Invalid sort: {sort}"))
        self.queries.append(str(query))
        scope = {"query": query, "from": start.isoformat(), "to": end.isoformat(), "sort": sort}
        offset = 0
        if page.get("cursor") is not None:
            state = self.read_cursor(str(page["cursor"]))
            if state.get("scope") != scope:
                raise HttpError(400, self.error_body(400, "The cursor does not match the query"))
            offset = int(state["offset"])
        found = sorted(
            (e for e in self.events if start <= _stamp(e) < end),
            key=_stamp,
            reverse=sort == "-timestamp",
        )
        chunk = found[offset : offset + limit]
        meta: dict[str, Any] = {"elapsed": 12, "request_id": "pddv1ChZ0ZXN0", "status": "done"}
        answer: dict[str, Any] = {"data": chunk, "meta": meta}
        if offset + limit < len(found):
            after = self.make_cursor({"scope": scope, "offset": offset + limit})
            meta["page"] = {"after": after}
            answer["links"] = {"next": f"{self.url}/api/v2/audit/events?page[cursor]={after}"}
        with self._lock:
            headers = self._rate_headers(request.at)
        return Answer(200, answer, headers)


def _stamp(event: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(event["attributes"]["timestamp"].replace("Z", "+00:00"))


def _instant(value: Any, field: str) -> datetime:
    if isinstance(value, int) and not isinstance(value, bool):
        return datetime.fromtimestamp(value / 1000, UTC)
    if isinstance(value, str):
        if value.isdigit():
            return datetime.fromtimestamp(int(value) / 1000, UTC)
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            pass
        else:
            if moment.tzinfo is not None:
                return moment
    raise HttpError(400, {"errors": [f"{field}: invalid date {value!r}"]})
