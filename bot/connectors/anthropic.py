"""Anthropic: the Admin API's messages usage report, cost report and Claude Code analytics.

Authentication is an Admin key (``sk-ant-admin…``) in ``x-api-key`` with ``anthropic-version``.
Both sources share one gate: a ``Retry-After`` on either holds the other.

``anthropic``
- Key owners: ``GET /v1/organizations/api_keys`` (``created_by``) and ``/v1/organizations/users``
  (``email``), paged by ``after_id``; usage on a key is attributed to the user who created it,
  and the user's email maps the Anthropic user id to the person.
- Usage: ``GET /v1/organizations/usage_report/messages`` with ``bucket_width=1d`` and
  ``group_by[]=api_key_id,model``, paged by ``page``/``next_page``; to the ``anthropic`` adapter.
- Cost: ``GET /v1/organizations/cost_report`` (cents as decimal strings): billed cost per day.

``claude-code``
- ``GET /v1/organizations/usage_report/claude_code``: one day per request (``starting_at`` is a
  date), ``limit`` ≤ 1000, paged by ``page``; to the ``claude-code`` adapter. Records are daily
  aggregates, available about an hour after the activity.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from bot.connectors.base import Connector, PullResult, PullRun
from bot.connectors.costs import merge_billed, to_decimal
from bot.connectors.paging import cursor_pages, id_pages
from bot.connectors.plan import daily_watermark
from bot.connectors.prices import anthropic_result_nanos, priced
from bot.domain.units import parse_rfc3339
from bot.outbound.clients import http_client
from bot.outbound.gate import gate_for
from bot.outbound.http import Outbound
from bot.settings import Settings

ANTHROPIC_VERSION = "2023-06-01"
USAGE_FRESHNESS_LAG = timedelta(hours=1)
CLAUDE_CODE_FRESHNESS_LAG = timedelta(hours=1)
REQUEST_BUDGET = 2_000
DAY_BUCKETS_PER_PAGE = 31  # the usage report's maximum ``limit`` for 1d buckets
CLAUDE_CODE_PAGE_LIMIT = 1_000  # the analytics endpoint's maximum ``limit``
LIST_LIMIT = 1_000  # users and API keys per page (1-1000)


def _outbound(settings: Settings, name: str) -> Outbound:
    assert settings.anthropic_admin_key is not None
    client = http_client(
        settings.anthropic_base_url + "/",
        headers={"x-api-key": settings.anthropic_admin_key, "anthropic-version": ANTHROPIC_VERSION},
    )
    return Outbound(name, client, gate=gate_for("anthropic"), budget=REQUEST_BUDGET)


def _iso(run: PullRun, which: str) -> str:
    instant = run.window.start if which == "start" else run.window.end
    return instant.isoformat().replace("+00:00", "Z")


class AnthropicConnector(Connector):
    source = "anthropic"
    credential = "ANTHROPIC_ADMIN_KEY"
    estimates_cost = True

    def configured(self, settings: Settings) -> bool:
        return bool(settings.anthropic_admin_key)

    def outbound(self, settings: Settings) -> Outbound:
        return _outbound(settings, "anthropic")

    def pull(self, run: PullRun) -> PullResult:
        owners, emails = key_owners(run.outbound)
        run.learn_identities("anthropic", emails)
        span = {"starting_at": _iso(run, "start"), "ending_at": _iso(run, "end")}
        for page in cursor_pages(
            run.outbound,
            "v1/organizations/usage_report/messages",
            {
                **span,
                "bucket_width": "1d",
                "group_by[]": ["api_key_id", "model"],
                "limit": DAY_BUCKETS_PER_PAGE,
            },
        ):
            run.ingest(
                "anthropic",
                attribute_key_owners(page, owners),
                adjust=priced(anthropic_result_nanos),
            )
        billed: dict[date, Decimal] = {}
        for page in cursor_pages(
            run.outbound, "v1/organizations/cost_report", {**span, "limit": DAY_BUCKETS_PER_PAGE}
        ):
            for day, amount in daily_costs(page).items():
                billed[day] = billed.get(day, Decimal(0)) + amount
        return PullResult(
            watermark=daily_watermark(run.window, now=run.now, lag=USAGE_FRESHNESS_LAG),
            checkpoint={"billed_usd": merge_billed(run.checkpoint, billed, today=run.now.date())},
        )


class ClaudeCodeConnector(Connector):
    source = "claude-code"
    credential = "ANTHROPIC_ADMIN_KEY"
    interval = timedelta(hours=6)  # daily records: a few pulls a day see each day settle

    def configured(self, settings: Settings) -> bool:
        return bool(settings.anthropic_admin_key)

    def outbound(self, settings: Settings) -> Outbound:
        return _outbound(settings, "claude-code")

    def pull(self, run: PullRun) -> PullResult:
        for day in run.window.each_day():
            for page in cursor_pages(
                run.outbound,
                "v1/organizations/usage_report/claude_code",
                {"starting_at": day.isoformat(), "limit": CLAUDE_CODE_PAGE_LIMIT},
            ):
                if page.get("data"):
                    run.ingest("claude-code", page)
        return PullResult(
            watermark=daily_watermark(run.window, now=run.now, lag=CLAUDE_CODE_FRESHNESS_LAG)
        )


def key_owners(outbound: Outbound) -> tuple[dict[str, str], dict[str, str]]:
    """(API key id → id of the user who created it, user id → email)."""
    emails: dict[str, str] = {}
    for users in id_pages(
        outbound, "v1/organizations/users", {"limit": LIST_LIMIT}, after_param="after_id"
    ):
        for user in users:
            if isinstance(user.get("id"), str) and isinstance(user.get("email"), str):
                emails[user["id"]] = user["email"]
    owners: dict[str, str] = {}
    for keys in id_pages(
        outbound, "v1/organizations/api_keys", {"limit": LIST_LIMIT}, after_param="after_id"
    ):
        for key in keys:
            creator = key.get("created_by")
            if (
                isinstance(key.get("id"), str)
                and isinstance(creator, dict)
                and creator.get("type") == "user"
                and isinstance(creator.get("id"), str)
            ):
                owners[key["id"]] = creator["id"]
    return owners, {user: emails[user] for user in set(owners.values()) if user in emails}


def attribute_key_owners(page: dict[str, Any], owners: Mapping[str, str]) -> dict[str, Any]:
    """The page with ``account_id`` filled in from the key's creator where it is empty."""
    for bucket in page.get("data") or []:
        if not isinstance(bucket, dict):
            continue
        for result in bucket.get("results") or []:
            if isinstance(result, dict) and result.get("account_id") is None:
                owner = owners.get(str(result.get("api_key_id")))
                if owner is not None:
                    result["account_id"] = owner
    return page


def daily_costs(page: Mapping[str, Any]) -> dict[date, Decimal]:
    """Dollars per UTC day of one cost report page (``amount`` in cents, a decimal string)."""
    totals: dict[date, Decimal] = {}
    for bucket in page.get("data") or []:
        if not isinstance(bucket, dict) or not isinstance(bucket.get("starting_at"), str):
            continue
        try:
            day = parse_rfc3339(bucket["starting_at"]).date()
        except ValueError:
            continue
        totals.setdefault(day, Decimal(0))  # a day billed nothing is known, not missing
        for result in bucket.get("results") or []:
            if not isinstance(result, dict) or str(result.get("currency", "USD")).upper() != "USD":
                continue
            cents = to_decimal(result.get("amount"))
            if cents is not None:
                totals[day] = totals.get(day, Decimal(0)) + cents / 100
    return totals
