"""OpenAI: the organisation's Usage API (completions) and Costs API, with an Admin key.

- Key owners: ``GET /organization/projects`` then ``/organization/projects/{id}/api_keys``; a
  key owned by a user (``owner.type == "user"``) attributes its usage to that user, and the
  owner's email maps the OpenAI user id to the person. Service-account keys stay org-level.
- Usage: ``GET /organization/usage/completions`` with ``bucket_width=1d`` and
  ``group_by=user_id,api_key_id,model``, paged by ``page``/``next_page``; each page goes to
  the ``openai`` adapter (buckets upsert by natural key, so restated days replace).
- Cost: ``GET /organization/costs`` (1-day buckets, dollars) — the organisation's billed cost
  per day, kept for reconciliation in ``ai-roi sources``.

Freshness: a day bucket is final once the day has ended; we allow an hour for late requests.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from bot.connectors.base import Connector, PullResult, PullRun
from bot.connectors.costs import merge_billed, to_decimal
from bot.connectors.paging import cursor_pages, id_pages
from bot.connectors.plan import daily_watermark
from bot.connectors.prices import openai_result_nanos, priced
from bot.outbound.clients import http_client
from bot.outbound.gate import gate_for
from bot.outbound.http import Outbound
from bot.settings import Settings

SOURCE = "openai"
FRESHNESS_LAG = timedelta(hours=1)
REQUEST_BUDGET = 2_000  # per run: a year of pages with room for many projects
USAGE_GROUP_BY = ("user_id", "api_key_id", "model")
DAY_BUCKETS_PER_PAGE = 31  # the Usage API's maximum ``limit`` for 1d buckets
COST_BUCKETS_PER_PAGE = 180  # the Costs API's maximum ``limit``
LIST_LIMIT = 100


class OpenAIConnector(Connector):
    source = SOURCE
    credential = "OPENAI_ADMIN_KEY"
    estimates_cost = True

    def configured(self, settings: Settings) -> bool:
        return bool(settings.openai_admin_key)

    def outbound(self, settings: Settings) -> Outbound:
        assert settings.openai_admin_key is not None
        client = http_client(
            settings.openai_admin_base_url + "/",
            headers={"Authorization": f"Bearer {settings.openai_admin_key}"},
        )
        return Outbound("openai", client, gate=gate_for("openai"), budget=REQUEST_BUDGET)

    def pull(self, run: PullRun) -> PullResult:
        owners, emails = key_owners(run.outbound)
        run.learn_identities("openai", emails)
        span = {
            "start_time": int(run.window.start.timestamp()),
            "end_time": int(run.window.end.timestamp()),
        }
        for page in cursor_pages(
            run.outbound,
            "organization/usage/completions",
            {
                **span,
                "bucket_width": "1d",
                "group_by": list(USAGE_GROUP_BY),
                "limit": DAY_BUCKETS_PER_PAGE,
            },
        ):
            run.ingest(
                SOURCE, attribute_key_owners(page, owners), adjust=priced(openai_result_nanos)
            )
        billed: dict[date, Decimal] = {}
        for page in cursor_pages(
            run.outbound,
            "organization/costs",
            {**span, "bucket_width": "1d", "limit": COST_BUCKETS_PER_PAGE},
        ):
            for day, amount in daily_costs(page).items():
                billed[day] = billed.get(day, Decimal(0)) + amount
        return PullResult(
            watermark=daily_watermark(run.window, now=run.now, lag=FRESHNESS_LAG),
            checkpoint={"billed_usd": merge_billed(run.checkpoint, billed, today=run.now.date())},
        )


def key_owners(outbound: Outbound) -> tuple[dict[str, str], dict[str, str]]:
    """(API key id → owning user id, user id → email) over every project's keys."""
    owners: dict[str, str] = {}
    emails: dict[str, str] = {}
    for projects in id_pages(
        outbound, "organization/projects", {"limit": LIST_LIMIT}, after_param="after"
    ):
        for project in projects:
            project_id = project.get("id")
            if not isinstance(project_id, str):
                continue
            for keys in id_pages(
                outbound,
                f"organization/projects/{project_id}/api_keys",
                {"limit": LIST_LIMIT},
                after_param="after",
            ):
                for key in keys:
                    owner = _user_owner(key)
                    if owner is not None and isinstance(key.get("id"), str):
                        owners[key["id"]] = owner["id"]
                        if isinstance(owner.get("email"), str):
                            emails[owner["id"]] = owner["email"]
    return owners, emails


def _user_owner(key: Mapping[str, Any]) -> dict[str, Any] | None:
    owner = key.get("owner")
    if not isinstance(owner, dict) or owner.get("type") != "user":
        return None
    user = owner.get("user")
    return user if isinstance(user, dict) and isinstance(user.get("id"), str) else None


def attribute_key_owners(page: dict[str, Any], owners: Mapping[str, str]) -> dict[str, Any]:
    """The page with ``user_id`` filled in from the key's owner where the vendor left it empty."""
    for bucket in page.get("data") or []:
        if not isinstance(bucket, dict):
            continue
        for name in ("results", "result"):
            for result in bucket.get(name) or []:
                if isinstance(result, dict) and result.get("user_id") is None:
                    owner = owners.get(str(result.get("api_key_id")))
                    if owner is not None:
                        result["user_id"] = owner
    return page


def daily_costs(page: Mapping[str, Any]) -> dict[date, Decimal]:
    """Dollars per UTC day of one Costs API page (``amount.value`` in dollars, ``usd``)."""
    totals: dict[date, Decimal] = {}
    for bucket in page.get("data") or []:
        if not isinstance(bucket, dict) or not isinstance(bucket.get("start_time"), int):
            continue
        day = datetime.fromtimestamp(bucket["start_time"], tz=UTC).date()
        totals.setdefault(day, Decimal(0))  # a day billed nothing is known, not missing
        for result in bucket.get("results") or bucket.get("result") or []:
            amount = result.get("amount") if isinstance(result, dict) else None
            if not isinstance(amount, dict) or str(amount.get("currency", "usd")).lower() != "usd":
                continue
            value = to_decimal(amount.get("value"))
            if value is not None:
                totals[day] = totals.get(day, Decimal(0)) + value
    return totals
