"""A fake Anthropic Admin API: messages usage report, cost report, Claude Code analytics, users
and API keys.

Follows the public reference: ``x-api-key`` (401 ``authentication_error`` otherwise) and an
``anthropic-version`` header (400 without it); error bodies ``{"type": "error", "error": {"type",
"message"}}``. ``/v1/organizations/usage_report/messages`` takes ``starting_at`` (required, RFC
3339), ``ending_at``, ``bucket_width=1d`` (``limit`` 1-31, default 7) and ``group_by[]``;
dimensions not grouped are ``null`` and their numbers summed; cache writes are reported apart
(``cache_creation``). ``/v1/organizations/cost_report`` gives amounts in cents as decimal
strings. ``/v1/organizations/usage_report/claude_code`` serves one day (``starting_at`` is a
date), ``limit`` 1-1000 (default 20). Reports page with an opaque ``next_page`` sent back as
``page``; users and API keys with ``after_id``/``last_id``/``has_more``.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from fakes.vendors.base import FakeVendor, HttpError, Request, integer, one

ADMIN_KEY = "sk-ant-admin01-test-5d8e2a"
USAGE_DIMENSIONS = (
    "account_id",
    "service_account_id",
    "api_key_id",
    "workspace_id",
    "model",
    "service_tier",
    "context_window",
    "inference_geo",
)
USAGE_NUMBERS = (
    "uncached_input_tokens",
    "cache_read_input_tokens",
    "cache_5m",
    "cache_1h",
    "output_tokens",
    "web_search_requests",
)


def usage_row(**fields: Any) -> dict[str, Any]:
    """One usage row at full granularity (``cache_5m``/``cache_1h`` are the cache writes)."""
    row: dict[str, Any] = {name: None for name in USAGE_DIMENSIONS}
    row.update({name: 0 for name in USAGE_NUMBERS})
    row.update(fields)
    return row


class FakeAnthropicAdmin(FakeVendor):
    name = "anthropic"

    def __init__(self, admin_key: str = ADMIN_KEY) -> None:
        super().__init__()
        self.admin_key = admin_key
        self.usage: dict[date, list[dict[str, Any]]] = {}
        self.costs: dict[date, list[str]] = {}  # cents, as decimal strings
        self.claude_code: dict[date, list[dict[str, Any]]] = {}
        self.users: list[dict[str, Any]] = []
        self.api_keys: list[dict[str, Any]] = []

    @property
    def base_url(self) -> str:
        return self.url

    def add_user(self, user_id: str, email: str) -> None:
        self.users.append(
            {
                "id": user_id,
                "type": "user",
                "email": email,
                "name": email.split("@")[0],
                "role": "developer",
                "added_at": "2026-01-05T10:00:00Z",
            }
        )

    def add_key(self, key_id: str, *, created_by: str | None) -> None:
        self.api_keys.append(
            {
                "id": key_id,
                "type": "api_key",
                "name": key_id,
                "workspace_id": "wrkspc_01",
                "created_at": "2026-01-05T10:00:00Z",
                "partial_key_hint": "sk-ant-api03-R2D...igAA",
                "status": "active",
                "created_by": {"id": created_by, "type": "user"}
                if created_by
                else {"id": "svc", "type": "service_account"},
            }
        )

    # Protocol ------------------------------------------------------------------------------

    def error_body(self, status: int, message: str) -> Any:
        kind = {
            400: "invalid_request_error",
            401: "authentication_error",
            403: "permission_error",
            404: "not_found_error",
            429: "rate_limit_error",
            529: "overloaded_error",
        }.get(status, "api_error")
        return {"type": "error", "error": {"type": kind, "message": message}}

    def _invalid(self, message: str) -> HttpError:
        return HttpError(400, self.error_body(400, message))

    def authenticate(self, request: Request) -> None:
        if request.headers.get("x-api-key") != self.admin_key:
            raise HttpError(401, self.error_body(401, "invalid x-api-key"))
        if not request.headers.get("anthropic-version"):
            raise self._invalid("anthropic-version: header is required")

    def route(self, request: Request) -> Any:
        routes = {
            "/v1/organizations/usage_report/messages": self._usage,
            "/v1/organizations/cost_report": self._costs,
            "/v1/organizations/usage_report/claude_code": self._claude_code,
            "/v1/organizations/users": lambda r: self._list(r, self.users),
            "/v1/organizations/api_keys": lambda r: self._list(r, self.api_keys),
        }
        handler = routes.get(request.path)
        if handler is None:
            raise HttpError(404, self.error_body(404, f"Not found: {request.path}"))
        return handler(request)

    def _list(self, request: Request, items: list[dict[str, Any]]) -> Any:
        limit = integer(request, "limit", self._invalid, default=20, low=1, high=1000)
        after = one(request, "after_id", self._invalid)
        ids = [item["id"] for item in items]
        start = ids.index(after) + 1 if after in ids else 0
        page = items[start : start + limit]
        return {
            "data": page,
            "has_more": start + limit < len(items),
            "first_id": page[0]["id"] if page else None,
            "last_id": page[-1]["id"] if page else None,
        }

    def _instant(self, request: Request, name: str, *, required: bool) -> datetime | None:
        value = one(request, name, self._invalid, required=required)
        if value is None:
            return None
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise self._invalid(f"{name}: invalid RFC 3339 timestamp") from None
        if parsed.tzinfo is None:
            raise self._invalid(f"{name}: a time zone is required")
        return parsed.astimezone(UTC)

    def _days(self, request: Request, max_limit: int) -> tuple[list[date], int, dict[str, Any]]:
        start = self._instant(request, "starting_at", required=True)
        assert start is not None
        end = self._instant(request, "ending_at", required=False) or start + timedelta(days=7)
        if (one(request, "bucket_width", self._invalid) or "1d") != "1d":
            raise self._invalid("this fake serves bucket_width=1d only")
        limit = integer(request, "limit", self._invalid, default=7, low=1, high=max_limit)
        group_by = sorted(request.query.get("group_by[]", []))
        identity = {"start": start.isoformat(), "end": end.isoformat(), "group_by": group_by}
        first = start.date()
        cursor = one(request, "page", self._invalid)
        if cursor:
            state = self.read_cursor(cursor)
            if state.get("query") != identity:
                raise self._invalid("page does not belong to this query")
            first = date.fromisoformat(state["next"])
        days = []
        day = first
        while datetime(day.year, day.month, day.day, tzinfo=UTC) < end:
            days.append(day)
            day += timedelta(days=1)
        return days, limit, identity

    def _page(self, days: list[date], limit: int, identity: dict[str, Any], bucket: Any) -> Any:
        more = len(days) > limit
        return {
            "data": [bucket(d) for d in days[:limit]],
            "has_more": more,
            "next_page": self.make_cursor({"query": identity, "next": days[limit].isoformat()})
            if more
            else None,
        }

    def _usage(self, request: Request) -> Any:
        days, limit, identity = self._days(request, 31)
        group_by = identity["group_by"]
        for name in group_by:
            if name not in USAGE_DIMENSIONS:
                raise self._invalid(f"group_by: invalid value {name!r}")

        def bucket(day: date) -> dict[str, Any]:
            groups: dict[tuple[Any, ...], dict[str, Any]] = defaultdict(
                lambda: {n: 0 for n in USAGE_NUMBERS}
            )
            dims: dict[tuple[Any, ...], dict[str, Any]] = {}
            for row in self.usage.get(day, []):
                key = tuple(row.get(n) for n in group_by)
                dims[key] = {n: row.get(n) if n in group_by else None for n in USAGE_DIMENSIONS}
                for n in USAGE_NUMBERS:
                    groups[key][n] += row.get(n, 0)
            results = [
                {
                    "uncached_input_tokens": t["uncached_input_tokens"],
                    "cache_creation": {
                        "ephemeral_1h_input_tokens": t["cache_1h"],
                        "ephemeral_5m_input_tokens": t["cache_5m"],
                    },
                    "cache_read_input_tokens": t["cache_read_input_tokens"],
                    "output_tokens": t["output_tokens"],
                    "server_tool_use": {"web_search_requests": t["web_search_requests"]},
                    **dims[key],
                    "speed": None,
                }
                for key, t in groups.items()
            ]
            return {
                "starting_at": _stamp(day),
                "ending_at": _stamp(day + timedelta(days=1)),
                "results": results,
            }

        return self._page(days, limit, identity, bucket)

    def _costs(self, request: Request) -> Any:
        days, limit, identity = self._days(request, 31)

        def bucket(day: date) -> dict[str, Any]:
            amounts = self.costs.get(day, [])
            results = (
                [
                    {
                        "currency": "USD",
                        "amount": str(sum((Decimal(a) for a in amounts), Decimal(0))),
                        "workspace_id": None,
                        "description": None,
                        "cost_type": None,
                        "context_window": None,
                        "model": None,
                        "service_tier": None,
                        "token_type": None,
                    }
                ]
                if amounts
                else []
            )
            return {
                "starting_at": _stamp(day),
                "ending_at": _stamp(day + timedelta(days=1)),
                "results": results,
            }

        return self._page(days, limit, identity, bucket)

    def _claude_code(self, request: Request) -> Any:
        value = one(request, "starting_at", self._invalid, required=True)
        try:
            day = date.fromisoformat(value or "")
        except ValueError:
            raise self._invalid("starting_at must be a date (YYYY-MM-DD)") from None
        limit = integer(request, "limit", self._invalid, default=20, low=1, high=1000)
        offset = 0
        cursor = one(request, "page", self._invalid)
        if cursor:
            state = self.read_cursor(cursor)
            if state.get("day") != day.isoformat():
                raise self._invalid("page does not belong to this query")
            offset = state["offset"]
        records = self.claude_code.get(day, [])
        shown = [{"date": _stamp(day), **record} for record in records[offset : offset + limit]]
        more = offset + limit < len(records)
        return {
            "data": shown,
            "has_more": more,
            "next_page": self.make_cursor({"day": day.isoformat(), "offset": offset + limit})
            if more
            else None,
        }


def _stamp(day: date) -> str:
    return f"{day.isoformat()}T00:00:00Z"
