"""A fake GitHub REST API for Copilot usage metrics, and the object store its links point to.

``GET /orgs/{org}/copilot/metrics/reports/users-1-day?day=YYYY-MM-DD`` (and the
``/enterprises/{enterprise}/…`` twin) with ``Authorization: Bearer <token>`` (401 ``Bad
credentials`` otherwise, 403 for an organisation the token cannot read) answers
``{"download_links": [...], "report_day"}`` or ``204`` when the day's report is not ready.
The links are signed URLs on another host (a second server), valid for ``link_seconds``; an
expired or forged signature answers ``403`` as object stores do. The store ignores any
``Authorization`` header but records whether one was sent.

    with FakeGitHub(org="acme") as fake:
        fake.reports[date(2026, 11, 18)] = [record, …]   # one NDJSON file per list

It also serves an organisation's pull requests as the REST API does (``GET /orgs/{org}/repos``,
``/repos/{owner}/{repo}/pulls`` with ``state``/``sort``/``direction``, ``…/pulls/{n}``,
``…/pulls/{n}/reviews``, ``…/pulls/{n}/commits``, ``…/issues/{n}/comments`` with ``since``):
``per_page`` (default 30, at most 100) and ``page``, with a ``Link`` header (``next``, ``last``,
``first``, ``prev``); ``Authorization: Bearer <token>`` or ``token <token>``; the primary rate
limit's ``x-ratelimit-*`` headers on every answer, from a budget of ``rate_limit`` requests
per ``rate_window`` seconds (spent: ``403`` "API rate limit exceeded" with
``x-ratelimit-remaining: 0`` until the reset); secondary limits scripted with
``secondary_limit`` (``403`` or ``429``, with or without ``retry-after``); ``404`` for what
does not exist and ``422`` "Validation Failed" for a bad parameter. ``deliver`` signs and posts a
webhook delivery the way GitHub does.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import threading
import time
import uuid
from datetime import date, datetime
from typing import Any
from urllib.parse import urlencode

import httpx

from fakes.vendors.base import Answer, FakeVendor, HttpError, Request, integer, one

TOKEN = "github_pat_test_11AAAAAA0example"
WEBHOOK_SECRET = "It's a Secret to Everybody"  # the example secret of GitHub's docs
SECONDARY_LIMIT = (
    "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. "
    "If you reach out to GitHub Support for help, please include the request ID."
)
# What the REST API's pull request listing leaves out of a pull request (the full object only).
_FULL_ONLY = ("merged", "merged_by", "mergeable", "comments", "review_comments", "commits")


class FakeObjectStore(FakeVendor):
    name = "object-store"

    def __init__(self) -> None:
        super().__init__()
        self.files: dict[str, bytes] = {}
        self.expire_next = False
        self._key = hashlib.sha256(f"store-{id(self)}".encode()).digest()

    def sign(self, name: str, seconds: float) -> str:
        expires = str(int(time.time() + seconds))
        signature = hmac.new(self._key, f"{name}:{expires}".encode(), hashlib.sha256).hexdigest()
        return f"{self.url}/reports/{name}?" + urlencode({"se": expires, "sig": signature})

    def error_body(self, status: int, message: str) -> Any:
        return {"Code": "AuthenticationFailed", "Message": message}

    def authenticate(self, request: Request) -> None:
        name = request.path.removeprefix("/reports/")
        expires = one(request, "se", self._refuse) or "0"
        signature = one(request, "sig", self._refuse) or ""
        good = hmac.new(self._key, f"{name}:{expires}".encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(signature, good):
            raise self._refuse("signature mismatch")
        if self.expire_next:
            self.expire_next = False
            raise self._refuse("signed expiry time has passed")
        if not expires.isdigit() or int(expires) < time.time():
            raise self._refuse("signed expiry time has passed")

    def _refuse(self, message: str) -> HttpError:
        return HttpError(403, self.error_body(403, message))

    def route(self, request: Request) -> Any:
        name = request.path.removeprefix("/reports/")
        if name not in self.files:
            raise HttpError(404, self.error_body(404, "BlobNotFound"))
        return Answer(200, self.files[name], {"Content-Type": "application/x-ndjson"})


class FakeGitHub(FakeVendor):
    name = "github"

    def __init__(
        self, *, org: str | None = "acme", enterprise: str | None = None, token: str = TOKEN
    ) -> None:
        super().__init__()
        self.org = org
        self.enterprise = enterprise
        self.token = token
        self.link_seconds = 60.0
        self.reports: dict[date, list[list[dict[str, Any]]]] = {}  # day → files → records
        self.store = FakeObjectStore()
        self.repositories: list[dict[str, Any]] = []
        self.pulls: dict[str, list[dict[str, Any]]] = {}  # owner/repo → full pull requests
        self.reviews: dict[str, list[dict[str, Any]]] = {}  # owner/repo#n → reviews
        self.issue_comments: dict[str, list[dict[str, Any]]] = {}
        self.commits: dict[str, list[dict[str, Any]]] = {}
        self.rate_limit = 5000  # requests a window, as for a token
        self.rate_window = 3600.0  # seconds
        self.limit_status = 403  # GitHub answers a spent primary limit with 403 (or 429)
        self.rate_used = 0
        self.rate_reset_at = 0.0
        self.refused_over_limit: list[Request] = []
        self._rate_lock = threading.Lock()

    def __enter__(self) -> FakeGitHub:
        super().__enter__()
        self.store.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.store.__exit__(*exc)
        super().__exit__(*exc)

    @property
    def base_url(self) -> str:
        return self.url

    def error_body(self, status: int, message: str) -> Any:
        return {
            "message": message,
            "documentation_url": "https://docs.github.com/rest",
            "status": str(status),
        }

    def authenticate(self, request: Request) -> None:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() not in {"bearer", "token"} or token != self.token:
            raise HttpError(401, self.error_body(401, "Bad credentials"))

    # Pull requests -------------------------------------------------------------------------

    def load(self, rest: dict[str, Any]) -> None:
        """Repositories, pull requests, reviews, comments and commits, as in the fixture's
        ``rest`` object (keys ``owner/repo`` and ``owner/repo#number``)."""
        self.repositories = copy.deepcopy(rest["repositories"])
        self.pulls = copy.deepcopy(rest["pulls"])
        for name in ("reviews", "issue_comments", "commits"):
            getattr(self, name).update(copy.deepcopy(rest.get(name, {})))

    def secondary_limit(self, *, status: int = 403, retry_after: int | None = 1) -> None:
        """The next request meets a secondary rate limit (``403`` or ``429``)."""
        self.fail(status, retry_after=retry_after, message=SECONDARY_LIMIT)

    def handle(self, request: Request) -> Answer:
        with self._rate_lock:
            now = time.time()
            if now >= self.rate_reset_at:
                self.rate_used = 0
                self.rate_reset_at = now + self.rate_window
            spent = self.rate_used >= self.rate_limit
            if spent:
                self.refused_over_limit.append(request)
            else:
                self.rate_used += 1
            headers = {
                "x-ratelimit-limit": str(self.rate_limit),
                "x-ratelimit-remaining": str(max(self.rate_limit - self.rate_used, 0)),
                "x-ratelimit-used": str(self.rate_used),
                "x-ratelimit-reset": str(int(self.rate_reset_at + 0.999)),
                "x-ratelimit-resource": "core",
            }
        if spent:
            self.requests.append(request)
            message = "API rate limit exceeded for user ID 1."
            answer = Answer(self.limit_status, self.error_body(self.limit_status, message))
        else:
            answer = super().handle(request)
        answer.headers = {**headers, **answer.headers}
        return answer

    def route(self, request: Request) -> Any:
        parts = request.path.strip("/").split("/")
        if parts[:1] == ["repos"] or (parts[:1] == ["orgs"] and parts[2:] == ["repos"]):
            return self._rest(request, parts)
        if parts[2:] != ["copilot", "metrics", "reports", "users-1-day"] or len(parts) != 6:
            raise HttpError(404, self.error_body(404, "Not Found"))
        owner_kind, owner = parts[0], parts[1]
        if (owner_kind, owner) not in {("orgs", self.org), ("enterprises", self.enterprise)}:
            raise HttpError(
                403, self.error_body(403, "Resource not accessible by personal access token")
            )
        value = one(
            request, "day", lambda m: HttpError(422, self.error_body(422, m)), required=True
        )
        try:
            day = date.fromisoformat(value or "")
        except ValueError:
            raise HttpError(422, self.error_body(422, "day must be YYYY-MM-DD")) from None
        files = self.reports.get(day)
        if files is None:
            return Answer(204, None)
        links = []
        for index, records in enumerate(files):
            name = f"{owner}-{day.isoformat()}-{index}-{len(self.requests)}.ndjson"
            self.store.files[name] = "".join(json.dumps(r) + "\n" for r in records).encode()
            links.append(self.store.sign(name, self.link_seconds))
        return {"download_links": links, "report_day": day.isoformat()}

    def _rest(self, request: Request, parts: list[str]) -> Any:
        def invalid(message: str) -> HttpError:
            return HttpError(422, self._validation(message))

        per_page = min(integer(request, "per_page", invalid, default=30, low=1, high=1000), 100)
        page = integer(request, "page", invalid, default=1, low=1, high=100_000)
        if parts[0] == "orgs":
            if parts[1] != self.org:
                raise HttpError(404, self.error_body(404, "Not Found"))
            return self._page(request, self.repositories, per_page, page)
        if len(parts) < 4 or f"{parts[1]}/{parts[2]}" not in self.pulls:
            raise HttpError(404, self.error_body(404, "Not Found"))
        full_name = f"{parts[1]}/{parts[2]}"
        pulls = self.pulls[full_name]
        rest = parts[3:]
        if rest == ["pulls"]:
            return self._page(request, self._listing(request, pulls, invalid), per_page, page)
        if len(rest) < 2 or not rest[1].isdigit():
            raise HttpError(404, self.error_body(404, "Not Found"))
        key = f"{full_name}#{rest[1]}"
        pull = next((p for p in pulls if str(p["number"]) == rest[1]), None)
        if pull is None:
            raise HttpError(404, self.error_body(404, "Not Found"))
        if rest[0] == "pulls" and len(rest) == 2:
            return pull
        if rest[0] == "pulls" and rest[2:] == ["reviews"]:
            return self._page(request, self.reviews.get(key, []), per_page, page)
        if rest[0] == "pulls" and rest[2:] == ["commits"]:
            return self._page(request, self.commits.get(key, [])[:250], per_page, page)
        if rest[0] == "issues" and rest[2:] == ["comments"]:
            comments = self.issue_comments.get(key, [])
            since = one(request, "since", invalid)
            if since is not None:
                try:
                    after = datetime.fromisoformat(since.replace("Z", "+00:00"))
                except ValueError:
                    raise invalid("since must be an ISO 8601 timestamp") from None
                comments = [
                    c
                    for c in comments
                    if datetime.fromisoformat(c["updated_at"].replace("Z", "+00:00")) >= after
                ]
            return self._page(request, comments, per_page, page)
        raise HttpError(404, self.error_body(404, "Not Found"))

    def _listing(
        self, request: Request, pulls: list[dict[str, Any]], invalid: Any
    ) -> list[dict[str, Any]]:
        state = one(request, "state", invalid) or "open"
        sort = one(request, "sort", invalid) or "created"
        direction = one(request, "direction", invalid) or "desc"
        if state not in {"open", "closed", "all"}:
            raise invalid(f"state must be open, closed or all, not {state!r}")
        if sort not in {"created", "updated", "popularity", "long-running"}:
            raise invalid(
                f"sort must be created, updated, popularity or long-running, not {sort!r}"
            )
        if direction not in {"asc", "desc"}:
            raise invalid(f"direction must be asc or desc, not {direction!r}")
        chosen = [p for p in pulls if state == "all" or p["state"] == state]
        field = "updated_at" if sort == "updated" else "created_at"
        chosen.sort(key=lambda p: (p[field], p["number"]), reverse=direction == "desc")
        return [{k: v for k, v in p.items() if k not in _FULL_ONLY} for p in chosen]

    def _page(
        self, request: Request, items: list[dict[str, Any]], per_page: int, page: int
    ) -> Answer:
        last = max(1, -(-len(items) // per_page))
        chunk = items[(page - 1) * per_page : page * per_page]
        links = []

        def link(number: int, rel: str) -> str:
            query = {k: v[-1] for k, v in request.query.items()}
            query.update(per_page=str(per_page), page=str(number))
            return f'<{self.url}{request.path}?{urlencode(query)}>; rel="{rel}"'

        if page < last:
            links += [link(page + 1, "next"), link(last, "last")]
        if page > 1:
            links += [link(1, "first"), link(page - 1, "prev")]
        return Answer(200, chunk, {"Link": ", ".join(links)} if links else {})

    def _validation(self, message: str) -> dict[str, Any]:
        return {
            "message": "Validation Failed",
            "errors": [
                {
                    "resource": "PullRequest",
                    "field": message.split()[0],
                    "code": "invalid",
                    "message": message,
                }
            ],
            "documentation_url": "https://docs.github.com/rest",
            "status": "422",
        }


def deliver(
    url: str,
    event: str,
    payload: Any,
    *,
    secret: str = WEBHOOK_SECRET,
    delivery: str | None = None,
    form: bool = False,
    signature: str | None = None,
    client: httpx.Client | None = None,
) -> httpx.Response:
    """POST one webhook delivery to ``url`` as GitHub sends it: ``X-GitHub-Event``,
    ``X-GitHub-Delivery`` (a new GUID unless given: redeliveries keep theirs),
    ``X-Hub-Signature-256`` (HMAC-SHA256 of the body with ``secret``, unless ``signature`` is
    given), ``User-Agent: GitHub-Hookshot/…``; JSON, or form-encoded ``payload=`` when ``form``."""
    text = json.dumps(payload, separators=(",", ":"))
    if form:
        body = urlencode({"payload": text}).encode()
        content_type = "application/x-www-form-urlencoded"
    else:
        body = text.encode()
        content_type = "application/json"
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    headers = {
        "Content-Type": content_type,
        "User-Agent": "GitHub-Hookshot/9f1c2e4",
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery or str(uuid.uuid1()),
        "X-GitHub-Hook-ID": "466220815",
        "X-GitHub-Hook-Installation-Target-Type": "organization",
        "X-GitHub-Hook-Installation-Target-ID": "9000",
        "X-Hub-Signature-256": signature if signature is not None else f"sha256={digest}",
        "X-Hub-Signature": "sha1=" + hmac.new(secret.encode(), body, hashlib.sha1).hexdigest(),
    }
    if client is not None:
        return client.post(url, content=body, headers=headers)
    with httpx.Client(timeout=10) as fresh:
        return fresh.post(url, content=body, headers=headers)
