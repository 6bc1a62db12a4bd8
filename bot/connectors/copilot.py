"""GitHub Copilot: the usage-metrics user-level report, one day per request.

``GET /orgs/{org}/copilot/metrics/reports/users-1-day?day=YYYY-MM-DD`` (or
``/enterprises/{enterprise}/…``) answers ``{"download_links": [...], "report_day"}``, or
``204`` while the day's report is not ready. Each link is a short-lived signed URL to NDJSON,
one record per user per day, fetched without the GitHub token (``Outbound.download``) and handed
to the ``copilot`` adapter. A link that expired before it was read (the object store answers
403) is asked for again.

Reports are daily: the watermark is the end of the last day, from the window's start, whose
report was there; a day not ready yet stops the run for later days (they cannot be ready
either). Token: fine-grained "Organization Copilot metrics" read, or classic ``read:org``
(``manage_billing:copilot`` / ``read:enterprise`` for an enterprise).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from bot.connectors.base import Connector, PullResult, PullRun
from bot.connectors.github_api import github_client
from bot.connectors.plan import midnight
from bot.errors import CursorExpiredError, RequestFailedError
from bot.outbound.gate import gate_for
from bot.outbound.http import Outbound
from bot.settings import Settings

REQUEST_BUDGET = 1_000
LINK_RETRIES = 2  # expired download links asked for again, per day


class CopilotConnector(Connector):
    source = "copilot"
    credential = "GITHUB_TOKEN"
    interval = timedelta(hours=24)  # daily reports

    def configured(self, settings: Settings) -> bool:
        return bool(settings.github_token and (settings.github_org or settings.github_enterprise))

    def outbound(self, settings: Settings) -> Outbound:
        client = github_client(settings)
        return Outbound("copilot", client, gate=gate_for("github"), budget=REQUEST_BUDGET)

    def report_path(self, settings: Settings) -> str:
        if settings.github_org:
            return f"orgs/{settings.github_org}/copilot/metrics/reports/users-1-day"
        return f"enterprises/{settings.github_enterprise}/copilot/metrics/reports/users-1-day"

    def pull(self, run: PullRun) -> PullResult:
        path = self.report_path(run.settings)
        complete = None
        for day in run.window.each_day():
            if not self._day(run, path, day.isoformat()):
                break  # not ready yet; later days are not either
            complete = midnight(day + timedelta(days=1))
        return PullResult(watermark=complete)

    def _day(self, run: PullRun, path: str, day: str) -> bool:
        """Read one day's report; ``False`` when GitHub has not produced it yet."""
        for attempt in range(LINK_RETRIES + 1):
            response = run.outbound.request("GET", path, params={"day": day})
            if response.status_code == 204:
                return False
            links = _links(response.json() if response.content else None, run.outbound.name)
            try:
                for link in links:
                    run.ingest_body("copilot", run.outbound.download(link), "application/x-ndjson")
            except CursorExpiredError:
                if attempt == LINK_RETRIES:
                    raise
                continue  # ask for fresh links
            return True
        return True  # pragma: no cover - the loop returns or raises


def _links(body: Any, name: str) -> list[str]:
    links = body.get("download_links") if isinstance(body, dict) else None
    if not isinstance(links, list) or not all(isinstance(link, str) for link in links):
        raise RequestFailedError(f"{name}: the report answer has no download_links", status=200)
    return links
