"""A fake OpenAI Administration API: usage (completions), costs, projects and their API keys.

Follows the public reference: ``Authorization: Bearer <admin key>`` (401 with OpenAI's error
body otherwise); ``/v1/organization/usage/completions`` with ``start_time`` (required, Unix
seconds), ``end_time`` (exclusive), ``bucket_width=1d`` (``limit`` 1-31, default 7), ``group_by``
(``project_id``, ``user_id``, ``api_key_id``, ``model``, ``batch``, ``service_tier``; dimensions
not grouped are ``null`` and their numbers summed); ``/v1/organization/costs`` (1d only, ``limit``
1-180, default 7, ``group_by`` ``project_id``/``line_item``/``api_key_id``; dollars as floats);
both paged with an opaque ``next_page`` sent back as ``page``. Projects and their API keys are
lists paged with ``after``/``last_id``/``has_more``.

    with FakeOpenAIAdmin() as fake:
        fake.usage[date(2026, 11, 17)] = [usage_row(user_id="user-ana", model="gpt-4.1", …)]
        fake.costs[date(2026, 11, 17)] = [0.42]
        fake.add_key("proj_1", "key_ana", owner=user("user-ana", "ana@example.com"))
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime
from typing import Any

from fakes.vendors.base import FakeVendor, HttpError, Request, integer, one

ADMIN_KEY = "sk-admin-test-7f3a9c1e5b2d"
DAY = 86_400
USAGE_DIMENSIONS = ("project_id", "user_id", "api_key_id", "model", "batch", "service_tier")
USAGE_NUMBERS = (
    "input_tokens",
    "input_cached_tokens",
    "input_cache_write_tokens",
    "output_tokens",
    "input_audio_tokens",
    "output_audio_tokens",
    "num_model_requests",
)
COST_DIMENSIONS = ("project_id", "line_item", "api_key_id")


def usage_row(**fields: Any) -> dict[str, Any]:
    """One usage row at full granularity; numbers default to 0, dimensions to ``None``."""
    row: dict[str, Any] = {name: None for name in USAGE_DIMENSIONS}
    row.update({name: 0 for name in USAGE_NUMBERS})
    row.update(fields)
    return row


def user(user_id: str, email: str, name: str = "") -> dict[str, Any]:
    return {
        "type": "user",
        "user": {
            "object": "organization.project.user",
            "id": user_id,
            "name": name or email.split("@")[0],
            "email": email,
            "role": "member",
            "added_at": 1_700_000_000,
        },
    }


def service_account(account_id: str) -> dict[str, Any]:
    return {
        "type": "service_account",
        "service_account": {
            "object": "organization.project.service_account",
            "id": account_id,
            "name": "ci",
            "role": "member",
            "created_at": 1_700_000_000,
        },
    }


class FakeOpenAIAdmin(FakeVendor):
    name = "openai"

    def __init__(self, admin_key: str = ADMIN_KEY) -> None:
        super().__init__()
        self.admin_key = admin_key
        self.usage: dict[date, list[dict[str, Any]]] = {}
        self.costs: dict[date, list[float | dict[str, Any]]] = {}
        self.projects: dict[str, list[dict[str, Any]]] = {}  # project id → its API keys

    @property
    def base_url(self) -> str:
        return self.url + "/v1"

    def add_key(self, project_id: str, key_id: str, *, owner: dict[str, Any]) -> None:
        self.projects.setdefault(project_id, []).append(
            {
                "object": "organization.project.api_key",
                "redacted_value": "sk-abc...def",
                "name": key_id,
                "created_at": 1_700_000_000,
                "last_used_at": 1_700_000_000,
                "id": key_id,
                "owner": owner,
            }
        )

    # Protocol ------------------------------------------------------------------------------

    def error_body(self, status: int, message: str) -> Any:
        kind = {401: "invalid_request_error", 429: "requests"}.get(status, "invalid_request_error")
        if status >= 500:
            kind = "server_error"
        return {"error": {"message": message, "type": kind, "param": None, "code": None}}

    def _invalid(self, message: str) -> HttpError:
        return HttpError(400, self.error_body(400, message))

    def authenticate(self, request: Request) -> None:
        if request.headers.get("authorization") != f"Bearer {self.admin_key}":
            raise HttpError(
                401,
                {
                    "error": {
                        "message": "Incorrect API key provided. You can find your API key at "
                        "https://platform.openai.com/account/api-keys.",
                        "type": "invalid_request_error",
                        "param": None,
                        "code": "invalid_api_key",
                    }
                },
            )

    def route(self, request: Request) -> Any:
        path = request.path
        if path == "/v1/organization/usage/completions":
            return self._usage(request)
        if path == "/v1/organization/costs":
            return self._costs(request)
        if path == "/v1/organization/projects":
            projects = [
                {
                    "id": pid,
                    "object": "organization.project",
                    "name": pid,
                    "created_at": 1_700_000_000,
                    "archived_at": None,
                    "status": "active",
                }
                for pid in sorted(self.projects)
            ]
            return self._list(request, projects)
        parts = path.split("/")
        if (
            len(parts) == 6
            and parts[:4] == ["", "v1", "organization", "projects"]
            and parts[5] == "api_keys"
        ):
            if parts[4] not in self.projects:
                raise HttpError(404, self.error_body(404, f"No such project: {parts[4]}"))
            return self._list(request, self.projects[parts[4]])
        raise HttpError(404, self.error_body(404, f"Invalid URL (GET {path})"))

    def _list(self, request: Request, items: list[dict[str, Any]]) -> Any:
        limit = integer(request, "limit", self._invalid, default=20, low=1, high=100)
        after = one(request, "after", self._invalid)
        ids = [item["id"] for item in items]
        start = ids.index(after) + 1 if after in ids else 0
        page = items[start : start + limit]
        return {
            "object": "list",
            "data": page,
            "first_id": page[0]["id"] if page else None,
            "last_id": page[-1]["id"] if page else None,
            "has_more": start + limit < len(items),
        }

    def _buckets(self, request: Request, max_limit: int) -> tuple[list[int], int, dict[str, Any]]:
        """Bucket starts of this page, the limit, and the query's identity for its cursor."""
        raw_start = one(request, "start_time", self._invalid, required=True)
        if raw_start is None or not raw_start.isdigit():
            raise self._invalid("start_time must be Unix seconds")
        start = int(raw_start)
        raw_end = one(request, "end_time", self._invalid)
        end = int(raw_end) if raw_end and raw_end.isdigit() else int(datetime.now(UTC).timestamp())
        if (one(request, "bucket_width", self._invalid) or "1d") != "1d":
            raise self._invalid("this fake serves bucket_width=1d only")
        limit = integer(request, "limit", self._invalid, default=7, low=1, high=max_limit)
        group_by = sorted(request.query.get("group_by", []))
        identity = {"start": start, "end": end, "group_by": group_by}
        first = start
        cursor = one(request, "page", self._invalid)
        if cursor:
            state = self.read_cursor(cursor)
            if state.get("query") != identity:
                raise self._invalid("page does not belong to this query")
            first = state["next"]
        starts = list(range(first, end, DAY))
        return starts, limit, identity

    def _page(self, starts: list[int], limit: int, identity: dict[str, Any], bucket: Any) -> Any:
        shown = starts[:limit]
        more = len(starts) > limit
        return {
            "object": "page",
            "data": [bucket(s) for s in shown],
            "has_more": more,
            "next_page": self.make_cursor({"query": identity, "next": starts[limit]})
            if more
            else None,
        }

    def _usage(self, request: Request) -> Any:
        starts, limit, identity = self._buckets(request, 31)
        group_by = identity["group_by"]
        for name in group_by:
            if name not in USAGE_DIMENSIONS:
                raise self._invalid(f"Invalid value for group_by: {name}")

        def bucket(start: int) -> dict[str, Any]:
            groups: dict[tuple[Any, ...], dict[str, Any]] = defaultdict(dict)
            for row in self.usage.get(_day(start), []):
                key = tuple(row.get(name) for name in group_by)
                result = groups[key]
                if not result:
                    result.update({"object": "organization.usage.completions.result"})
                    result.update({n: 0 for n in USAGE_NUMBERS})
                    result.update(
                        {n: row.get(n) if n in group_by else None for n in USAGE_DIMENSIONS}
                    )
                for n in USAGE_NUMBERS:
                    result[n] += row.get(n, 0)
            return {
                "object": "bucket",
                "start_time": start,
                "end_time": start + DAY,
                "results": list(groups.values()),
            }

        return self._page(starts, limit, identity, bucket)

    def _costs(self, request: Request) -> Any:
        starts, limit, identity = self._buckets(request, 180)
        group_by = identity["group_by"]
        for name in group_by:
            if name not in COST_DIMENSIONS:
                raise self._invalid(f"Invalid value for group_by: {name}")

        def bucket(start: int) -> dict[str, Any]:
            groups: dict[tuple[Any, ...], float] = defaultdict(float)
            for entry in self.costs.get(_day(start), []):
                row = entry if isinstance(entry, dict) else {"amount": entry}
                groups[tuple(row.get(n) for n in group_by)] += float(row["amount"])
            results = [
                {
                    "object": "organization.costs.result",
                    "amount": {"value": value, "currency": "usd"},
                    "line_item": None,
                    "project_id": None,
                    "api_key_id": None,
                    **dict(zip(group_by, key, strict=True)),
                }
                for key, value in groups.items()
            ]
            return {
                "object": "bucket",
                "start_time": start,
                "end_time": start + DAY,
                "results": results,
            }

        return self._page(starts, limit, identity, bucket)


def _day(start: int) -> date:
    return datetime.fromtimestamp(start, tz=UTC).date()


def day_start(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp())
