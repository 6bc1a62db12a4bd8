"""A fake Cursor Admin API: daily usage data and filtered usage events.

Follows the public reference: HTTP Basic authentication with the API key as the user name and an
empty password (401 otherwise); ``POST /teams/daily-usage-data`` and
``POST /teams/filtered-usage-events`` take JSON ``startDate``/``endDate`` in epoch milliseconds,
at most 30 days apart (400 otherwise); the events are paged with ``page`` (from 1) and
``pageSize`` (1-100) and answer ``pagination`` with ``hasNextPage``. A team may make
``per_minute`` calls in any 60 seconds (20 for the real API); one more answers 429 with
``Retry-After``.

    with FakeCursor() as fake:
        fake.daily = [row, …]        # rows with "date" in epoch ms
        fake.events = [event, …]     # events with "timestamp" (epoch ms as a string)
"""

from __future__ import annotations

import base64
import json
from collections import deque
from typing import Any

from fakes.vendors.base import FakeVendor, HttpError, Request

API_KEY = "key_cursor_test_5c2f9e8a"
DAY_MS = 86_400_000


class FakeCursor(FakeVendor):
    name = "cursor"

    def __init__(self, api_key: str = API_KEY, *, per_minute: int = 20) -> None:
        super().__init__()
        self.api_key = api_key
        self.per_minute = per_minute
        self.daily: list[dict[str, Any]] = []
        self.events: list[dict[str, Any]] = []
        self.throttled = 0
        self._recent: deque[float] = deque()

    @property
    def base_url(self) -> str:
        return self.url

    def error_body(self, status: int, message: str) -> Any:
        return {"error": message}

    def authenticate(self, request: Request) -> None:
        expected = "Basic " + base64.b64encode(f"{self.api_key}:".encode()).decode()
        if request.headers.get("authorization") != expected:
            raise HttpError(401, self.error_body(401, "Invalid API key"))
        while self._recent and request.at - self._recent[0] >= 60:
            self._recent.popleft()
        if len(self._recent) >= self.per_minute:
            self.throttled += 1
            wait = max(1, int(60 - (request.at - self._recent[0])) + 1)
            raise HttpError(
                429, self.error_body(429, "Rate limit exceeded"), {"Retry-After": str(wait)}
            )
        self._recent.append(request.at)

    def route(self, request: Request) -> Any:
        if request.method != "POST":
            raise HttpError(405, self.error_body(405, "Method not allowed"))
        try:
            body = json.loads(request.body or b"{}")
        except ValueError:
            raise HttpError(400, self.error_body(400, "Invalid JSON body")) from None
        start, end = body.get("startDate"), body.get("endDate")
        if not isinstance(start, int) or not isinstance(end, int) or end < start:
            raise HttpError(
                400, self.error_body(400, "startDate and endDate (epoch ms) are required")
            )
        if end - start > 30 * DAY_MS:
            raise HttpError(400, self.error_body(400, "Date range cannot exceed 30 days"))
        period = {"startDate": start, "endDate": end}
        if request.path == "/teams/daily-usage-data":
            return {"data": [r for r in self.daily if start <= r["date"] <= end], "period": period}
        if request.path == "/teams/filtered-usage-events":
            page, size = body.get("page", 1), body.get("pageSize", 10)
            if (
                not isinstance(page, int)
                or page < 1
                or not isinstance(size, int)
                or not 1 <= size <= 100
            ):
                raise HttpError(400, self.error_body(400, "page must be ≥ 1 and pageSize 1-100"))
            found = [e for e in self.events if start <= int(e["timestamp"]) <= end]
            pages = max(1, -(-len(found) // size))
            return {
                "totalUsageEventsCount": len(found),
                "pagination": {
                    "numPages": pages,
                    "currentPage": page,
                    "pageSize": size,
                    "hasNextPage": page < pages,
                    "hasPreviousPage": page > 1,
                },
                "usageEvents": found[(page - 1) * size : page * size],
                "period": period,
            }
        raise HttpError(404, self.error_body(404, "Not found"))
