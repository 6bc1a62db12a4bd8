"""A fake LiteLLM proxy: its internal users and their daily activity.

Follows the proxy's public reference: ``Authorization: Bearer <key>`` or ``x-litellm-api-key``
(401 ``{"error": {"message", "type": "auth_error", "code": "401"}}`` otherwise);
``GET /user/list?page=&page_size=`` (page from 1, page_size 1-100) answers ``users``,
``total``, ``page``, ``page_size``, ``total_pages``; ``GET /user/daily/activity`` takes
``start_date`` and ``end_date`` (``YYYY-MM-DD``, inclusive, both required: 400 otherwise),
``user_id``, ``page`` (from 1) and ``page_size`` (1-1000, default 50) and answers ``results``
(one per day, newest first, metrics broken down by model) and ``metadata`` with the totals,
``page``, ``total_pages`` and ``has_more``. Scripted faults give 429 with ``Retry-After``.

    with FakeLiteLLM() as fake:
        fake.users = [{"user_id": "u-ana", "user_email": "ana@example.com"}, …]
        fake.activity = {"u-ana": {"2026-11-18": {"gpt-4o": {metrics}, …}, …}, …}

Restating a day is assigning its models again.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from fakes.vendors.base import FakeVendor, HttpError, Request, integer, one

MASTER_KEY = "sk-litellm-master-7d41c0"
METRICS = (
    "spend",
    "prompt_tokens",
    "completion_tokens",
    "cache_read_input_tokens",
    "cache_creation_input_tokens",
    "total_tokens",
    "api_requests",
    "successful_requests",
    "failed_requests",
)


class FakeLiteLLM(FakeVendor):
    name = "litellm"

    def __init__(self, api_key: str = MASTER_KEY) -> None:
        super().__init__()
        self.api_key = api_key
        self.users: list[dict[str, Any]] = []
        self.activity: dict[str, dict[str, dict[str, dict[str, Any]]]] = {}

    def error_body(self, status: int, message: str) -> Any:
        kind = {401: "auth_error", 429: "rate_limit_error"}.get(status, "bad_request_error")
        return {"error": {"message": message, "type": kind, "param": None, "code": str(status)}}

    def _bad(self, message: str) -> HttpError:
        return HttpError(400, self.error_body(400, message))

    def authenticate(self, request: Request) -> None:
        bearer = request.headers.get("authorization", "")
        key = bearer.removeprefix("Bearer ") if bearer.startswith("Bearer ") else None
        key = key or request.headers.get("x-litellm-api-key")
        if key != self.api_key:
            raise HttpError(
                401,
                self.error_body(401, "Authentication Error, Invalid proxy server token passed."),
            )

    def route(self, request: Request) -> Any:
        if request.method != "GET":
            raise HttpError(405, self.error_body(405, "Method Not Allowed"))
        if request.path == "/user/list":
            return self._user_list(request)
        if request.path == "/user/daily/activity":
            return self._daily_activity(request)
        raise HttpError(404, self.error_body(404, "Not Found"))

    def _user_list(self, request: Request) -> Any:
        page = integer(request, "page", self._bad, default=1, low=1, high=10_000)
        size = integer(request, "page_size", self._bad, default=25, low=1, high=100)
        pages = max(1, -(-len(self.users) // size))
        return {
            "users": self.users[(page - 1) * size : page * size],
            "total": len(self.users),
            "page": page,
            "page_size": size,
            "total_pages": pages,
        }

    def _daily_activity(self, request: Request) -> Any:
        start = self._date(request, "start_date")
        end = self._date(request, "end_date")
        page = integer(request, "page", self._bad, default=1, low=1, high=10_000)
        size = integer(request, "page_size", self._bad, default=50, low=1, high=1000)
        user_id = one(request, "user_id", self._bad)
        users = [user_id] if user_id is not None else sorted(self.activity)
        days: dict[str, dict[str, dict[str, Any]]] = {}
        for user in users:
            for day, models in self.activity.get(user, {}).items():
                if start <= date.fromisoformat(day) <= end:
                    into = days.setdefault(day, {})
                    for model, metrics in models.items():
                        into[model] = _add(into.get(model, {}), metrics)
        ordered = sorted(days.items(), reverse=True)
        results = [
            {
                "date": day,
                "metrics": _total(models.values()),
                "breakdown": {
                    "models": {
                        model: {"metrics": _total([m]), "metadata": {}}
                        for model, m in sorted(models.items())
                    },
                    "providers": {},
                    "api_keys": {},
                },
            }
            for day, models in ordered
        ]
        pages = max(1, -(-len(results) // size))
        totals = _total([r["metrics"] for r in results])
        return {
            "results": results[(page - 1) * size : page * size],
            "metadata": {
                **{f"total_{name}": value for name, value in totals.items()},
                "page": page,
                "total_pages": pages,
                "has_more": page < pages,
            },
        }

    def _date(self, request: Request, name: str) -> date:
        value = one(request, name, self._bad, required=True)
        try:
            return date.fromisoformat(value or "")
        except ValueError:
            raise self._bad(f"{name} must be YYYY-MM-DD") from None


def _add(left: dict[str, Any], right: dict[str, Any]) -> dict[str, Any]:
    return {name: left.get(name, 0) + right.get(name, 0) for name in METRICS}


def _total(rows: Any) -> dict[str, Any]:
    total: dict[str, Any] = {name: 0 for name in METRICS}
    for row in rows:
        total = _add(total, row)
    total["total_tokens"] = total["prompt_tokens"] + total["completion_tokens"]
    return total
