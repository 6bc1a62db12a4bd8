"""GitHub pull requests of an organisation: opened, reviewed or commented on, merged.

``GET /orgs/{org}/repos``, then for each repository its pull requests, most recently updated
first (``GET /repos/{owner}/{repo}/pulls?state=all&sort=updated&direction=desc``), read until one
was last updated before the window: a review, a comment or a merge updates a pull request, so
everything that happened in the window is in what was read. For each of those pull requests:
its reviews (``…/pulls/{n}/reviews``), the comments of its conversation since the window began
(``…/issues/{n}/comments?since=``), its commits for their ``Co-authored-by:`` trailers
(``…/pulls/{n}/commits``), and, when it was merged, the pull request itself for who merged it
(the listing leaves that out). Each pull request and what was fetched with it goes to the
``github`` adapter as one record (``bot.ingest.adapters.github``); the same events as the
webhook's, with the same keys, so the two paths never count anything twice.

Every listing is paged with the ``Link`` header (100 a page). Calls go through ``Outbound`` with
GitHub's rate-limit headers honoured (``ratelimit_headers``): a spent limit waits for its reset,
a secondary limit for its ``retry-after``, within ``MAX_WAIT`` (a longer wait stops the run; the
next one goes on). The Copilot connector shares the token's limit and the gate.

Calls: one per 100 repositories, one per repository (more when more than 100 of its pull
requests were updated in the window), and three or four per pull request updated in the window.
The watermark is the run's start less a small margin: GitHub's API is current.

Token: fine-grained, for the organisation's repositories, with "Pull requests: read" and
"Metadata: read" (a classic token needs ``repo``).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from bot.connectors.base import Connector, PullResult, PullRun
from bot.connectors.github_api import github_client
from bot.connectors.paging import link_pages
from bot.outbound.gate import gate_for
from bot.outbound.http import Outbound
from bot.settings import Settings

SOURCE = "github"
REQUEST_BUDGET = 10_000  # a run; the token's own limit is 5,000 an hour (waited for)
MAX_WAIT = 15 * 60.0  # seconds a run waits for a rate limit to reset
PER_PAGE = 100
WATERMARK_MARGIN = timedelta(minutes=5)


class GitHubConnector(Connector):
    source = SOURCE
    credential = "GITHUB_TOKEN"
    interval = timedelta(hours=1)

    def configured(self, settings: Settings) -> bool:
        return bool(settings.github_token and settings.github_org)

    def outbound(self, settings: Settings) -> Outbound:
        client = github_client(settings)
        return Outbound(
            SOURCE,
            client,
            gate=gate_for("github"),
            budget=REQUEST_BUDGET,
            ratelimit_headers=True,
            max_wait=MAX_WAIT,
        )

    def pull(self, run: PullRun) -> PullResult:
        org = run.settings.github_org
        for repositories in link_pages(
            run.outbound, f"orgs/{org}/repos", {"type": "all", "per_page": PER_PAGE}
        ):
            for repository in repositories:
                full_name = repository.get("full_name")
                if isinstance(full_name, str) and full_name.count("/") == 1:
                    self._repository(run, full_name, run.window.start)
        return PullResult(watermark=min(run.now - WATERMARK_MARGIN, run.window.end))

    def _repository(self, run: PullRun, full_name: str, since: datetime) -> None:
        """The pull requests of one repository updated since ``since``, one page at a time."""
        listing = link_pages(
            run.outbound,
            f"repos/{full_name}/pulls",
            {"state": "all", "sort": "updated", "direction": "desc", "per_page": PER_PAGE},
        )
        for pulls in listing:
            records = []
            older = False
            for pull in pulls:
                updated = _instant(pull.get("updated_at"))
                if updated is not None and updated < since:
                    older = True  # sorted by update: every later one is older still
                    break
                if isinstance(pull.get("number"), int):
                    records.append(self._record(run, full_name, pull, since))
            if records:
                run.ingest(SOURCE, records)
            if older:
                listing.close()
                return

    def _record(
        self, run: PullRun, full_name: str, pull: dict[str, Any], since: datetime
    ) -> dict[str, Any]:
        """One pull request and what the adapter needs beside it."""
        path = f"repos/{full_name}"
        number = pull["number"]
        if pull.get("merged_at") and "merged_by" not in pull:
            full = run.outbound.get_json(f"{path}/pulls/{number}")
            if isinstance(full, dict):
                pull = full
        return {
            "repository": {"full_name": full_name},
            "pull_request": pull,
            "reviews": _all(run, f"{path}/pulls/{number}/reviews", {}),
            "issue_comments": _all(
                run,
                f"{path}/issues/{number}/comments",
                {"since": since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")},
            ),
            "commits": _all(run, f"{path}/pulls/{number}/commits", {}),
        }


def _all(run: PullRun, url: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        item
        for page in link_pages(run.outbound, url, {**params, "per_page": PER_PAGE})
        for item in page
    ]


def _instant(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
