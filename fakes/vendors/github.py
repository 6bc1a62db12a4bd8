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
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from datetime import date
from typing import Any
from urllib.parse import urlencode

from fakes.vendors.base import Answer, FakeVendor, HttpError, Request, one

TOKEN = "github_pat_test_11AAAAAA0example"


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
        if request.headers.get("authorization") != f"Bearer {self.token}":
            raise HttpError(401, self.error_body(401, "Bad credentials"))

    def route(self, request: Request) -> Any:
        parts = request.path.strip("/").split("/")
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
