"""``ai-roi pull datadog`` against the fake Datadog Audit Trail search: both keys, cursor paging,
the rate-limit headers, and a dashboard's creator getting the right facts and DM.

The week 2026-W47 (Nov 16–22, UTC): Ana creates "Churn by region" on Monday and opens it; Ben
opens it on Tuesday and again on Thursday, Cal on Wednesday, Dan (through a Dashboard
"accessed" event) on Friday. Eve's request is refused (403), a script reads it with an API key
and no user, and Ben creates a monitor: none of these is a view. So Ana: 1 dashboard created,
1 viewed by others, 3 distinct viewers; her own view never counts; Ben's two views are one.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.cli import main
from bot.domain.weeks import Week
from bot.ingest.adapters import datadog_audit
from bot.store.models import Event
from fakes.vendors import datadog as fake_datadog
from fakes.vendors.datadog import FakeDatadog, audit_event
from tests.support.slack_app import weekly_dm

DASHBOARD = "abc-def-ghi"
W47 = Week(2026, 47)
NOW = datetime.fromisoformat("2026-11-25T12:00:00+00:00")
DASHBOARD_CREATED = {
    "evt": {"name": "Dashboard", "actor": {"type": "USER"}},
    "asset": {
        "type": "dashboard",
        "id": DASHBOARD,
        "name": "Churn by region",
        "new_value": {"title": "Churn by region", "tags": ["team:data", "ai-generated"]},
    },
    "action": "created",
    "usr": {"email": "Ana@Example.com", "name": "Ana Berg", "id": "0f1c2e3d"},
}


def dashboard_request(email: str | None, status: int = 200) -> dict[str, Any]:
    attributes: dict[str, Any] = {
        "evt": {"name": "Request"},
        "action": "accessed",
        "http": {
            "method": "GET",
            "status_code": status,
            "url_details": {"path": f"/api/v1/dashboard/{DASHBOARD}"},
        },
    }
    if email:
        attributes["usr"] = {"email": email}
    return attributes


def week_events() -> list[dict[str, Any]]:
    accessed = {
        "evt.name": "Dashboard",  # the dotted form Datadog also returns
        "asset.type": "dashboard",
        "asset.id": DASHBOARD,
        "action": "accessed",
        "usr.email": "dan@example.com",
    }
    monitor = {
        "evt": {"name": "Monitor"},
        "asset": {"type": "monitor", "id": "123"},
        "action": "created",
        "usr": {"email": "ben@example.com"},
    }
    return [
        audit_event("e1", "2026-11-16T09:00:00.000Z", DASHBOARD_CREATED),
        audit_event("e2", "2026-11-16T09:05:00.000Z", dashboard_request("ana@example.com")),
        audit_event("e3", "2026-11-17T10:00:00.000Z", dashboard_request("ben@example.com")),
        audit_event("e4", "2026-11-19T10:00:00.000Z", dashboard_request("ben@example.com")),
        audit_event("e5", "2026-11-18T11:00:00.000Z", dashboard_request("cal@example.com")),
        audit_event("e6", "2026-11-20T12:00:00.000Z", accessed),
        audit_event("e7", "2026-11-20T13:00:00.000Z", dashboard_request("eve@example.com", 403)),
        audit_event("e8", "2026-11-20T14:00:00.000Z", dashboard_request(None)),
        audit_event("e9", "2026-11-21T09:00:00.000Z", monitor, service="monitor"),
    ]


@pytest.fixture
def datadog() -> Iterator[FakeDatadog]:
    with FakeDatadog() as fake:
        fake.events = week_events()
        yield fake


@pytest.fixture
def env(
    monkeypatch: pytest.MonkeyPatch, database_url: str, datadog: FakeDatadog
) -> pytest.MonkeyPatch:
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("DATADOG_API_KEY", fake_datadog.API_KEY)
    monkeypatch.setenv("DATADOG_APP_KEY", fake_datadog.APP_KEY)
    monkeypatch.setenv("DATADOG_API_URL", datadog.url)
    return monkeypatch


def facts(capsys: pytest.CaptureFixture[str], email: str) -> dict[str, Any]:
    capsys.readouterr()
    assert main(["facts", "--user", email, "--week", "2026-W47", "--json"]) == 0
    result: dict[str, Any] = json.loads(capsys.readouterr().out)
    return result


def pull() -> int:
    return main(["pull", "datadog", "--since", "2026-11-16", "--until", "2026-11-22"])


def test_a_dashboard_opened_by_three_colleagues_and_its_creator(
    env: pytest.MonkeyPatch,
    datadog: FakeDatadog,
    engine: Engine,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert pull() == 0
    ana = facts(capsys, "ana@example.com")["artifacts"]
    assert (ana["created"], ana["viewed_by_others"], ana["viewers"]) == (1, 1, 3)
    assert ana["by_kind"] == {"dashboard": {"created": 1, "viewed_by_others": 1, "used": 0}}
    # tagged ai-generated: the built-in tag rule marks it AI-assisted
    assert (ana["ai"]["created"], ana["ai"]["viewed_by_others"]) == (1, 1)
    # Ben opened it twice in the week: stored once; Ana's own view is stored, never counted
    with Session(engine) as session:
        viewers = session.exec(
            select(Event.actor_value).where(
                col(Event.source) == "datadog", col(Event.type) == "artifact.viewed"
            )
        ).all()
    assert sorted(v or "" for v in viewers) == [
        "ana@example.com",
        "ben@example.com",
        "cal@example.com",
        "dan@example.com",
    ]
    # both keys on every request; the search asks for dashboards in the run's window
    request = datadog.requests_to(fake_datadog.SEARCH)[0]
    assert request.headers["dd-api-key"] == fake_datadog.API_KEY
    assert request.headers["dd-application-key"] == fake_datadog.APP_KEY
    body = json.loads(request.body)
    assert body["filter"]["from"] == "2026-11-16T00:00:00Z"
    assert body["filter"]["to"] == "2026-11-23T00:00:00Z"
    assert "@asset.type:dashboard" in body["filter"]["query"]

    # pulling again changes nothing
    assert pull() == 0
    again = facts(capsys, "ana@example.com")["artifacts"]
    assert (again["created"], again["viewed_by_others"], again["viewers"]) == (1, 1, 3)
    with Session(engine) as session:
        stored = session.exec(
            select(sa.func.count()).select_from(Event).where(col(Event.source) == "datadog")
        ).one()
    assert stored == 5  # one created, four (dashboard, viewer, week)


def test_a_tagged_dashboard_is_ai_assisted_and_an_untagged_one_is_not(
    env: pytest.MonkeyPatch, datadog: FakeDatadog, capsys: pytest.CaptureFixture[str]
) -> None:
    untagged = json.loads(json.dumps(DASHBOARD_CREATED))
    untagged["asset"].update(
        id="jkl-mno-pqr", name="Weekly costs", new_value={"title": "Weekly costs", "tags": []}
    )
    datadog.events = [
        *week_events(),
        audit_event("e10", "2026-11-18T09:00:00.000Z", untagged),
    ]
    assert pull() == 0
    ana = facts(capsys, "ana@example.com")["artifacts"]
    assert (ana["created"], ana["viewed_by_others"]) == (2, 1)
    assert ana["ai"]["created"] == 1  # only the dashboard tagged ai-generated
    assert ana["ai"]["by_kind"] == {"dashboard": {"created": 1, "viewed_by_others": 1, "used": 0}}


def test_a_view_only_by_its_creator_is_not_viewed_by_others(
    env: pytest.MonkeyPatch, datadog: FakeDatadog, capsys: pytest.CaptureFixture[str]
) -> None:
    datadog.events = week_events()[:2]
    assert pull() == 0
    ana = facts(capsys, "ana@example.com")["artifacts"]
    assert (ana["created"], ana["viewed_by_others"], ana["viewers"]) == (1, 0, 0)


def test_each_viewer_counts_once_in_the_organisation_s_week(
    env: pytest.MonkeyPatch, datadog: FakeDatadog, engine: Engine
) -> None:
    # Auckland's Monday starts on Sunday 11:00 UTC: Ben's Sunday-noon view (UTC) is in W48 there
    env.setenv("ORG_TIMEZONE", "Pacific/Auckland")
    datadog.events = [
        audit_event("e1", "2026-11-16T09:00:00.000Z", DASHBOARD_CREATED),
        audit_event("e2", "2026-11-17T10:00:00.000Z", dashboard_request("ben@example.com")),
        audit_event("e3", "2026-11-22T12:00:00.000Z", dashboard_request("ben@example.com")),
    ]
    assert main(["pull", "datadog", "--since", "2026-11-16", "--until", "2026-11-23"]) == 0
    with Session(engine) as session:
        keys = session.exec(
            select(Event.key).where(col(Event.type) == "artifact.viewed").order_by(col(Event.key))
        ).all()
    assert keys == [
        f"audit-viewer/{DASHBOARD}/email/ben@example.com/2026-W47",
        f"audit-viewer/{DASHBOARD}/email/ben@example.com/2026-W48",
    ]


def test_the_search_is_paged_with_the_cursor(
    env: pytest.MonkeyPatch, datadog: FakeDatadog, capsys: pytest.CaptureFixture[str]
) -> None:
    env.setattr("bot.connectors.datadog.PAGE_LIMIT", 2)
    assert pull() == 0
    bodies = [json.loads(r.body) for r in datadog.requests_to(fake_datadog.SEARCH)]
    assert len(bodies) == 5  # nine events, two a page
    assert "cursor" not in bodies[0]["page"]
    assert all(b["page"]["cursor"] for b in bodies[1:])
    ana = facts(capsys, "ana@example.com")["artifacts"]
    assert (ana["created"], ana["viewed_by_others"], ana["viewers"]) == (1, 1, 3)


def test_a_429_waits_for_x_ratelimit_reset(
    env: pytest.MonkeyPatch, datadog: FakeDatadog, capsys: pytest.CaptureFixture[str]
) -> None:
    env.setattr("bot.connectors.datadog.PAGE_LIMIT", 3)
    datadog.limit, datadog.period = 2, 1
    assert pull() == 0
    assert datadog.throttled >= 1
    assert datadog.early == []  # nothing went out before the window reset
    assert "rate limited" in capsys.readouterr().out
    ana = facts(capsys, "ana@example.com")["artifacts"]
    assert ana["viewers"] == 3


@pytest.mark.parametrize("which", ["DATADOG_API_KEY", "DATADOG_APP_KEY"])
def test_a_refused_key_is_a_visible_error(
    env: pytest.MonkeyPatch, which: str, capsys: pytest.CaptureFixture[str]
) -> None:
    env.setenv(which, "0000000000000000ffffffffffffffff")
    assert pull() == 1
    out = capsys.readouterr().out
    assert "refused the credential (403)" in out
    assert "check DATADOG_API_KEY and DATADOG_APP_KEY" in out
    assert "ffffffff" not in out
    capsys.readouterr()
    assert main(["sources", "--json"]) == 0
    [source] = [s for s in json.loads(capsys.readouterr().out) if s["source"] == "datadog"]
    assert source["consecutive_failures"] == 1 and "403" in source["last_error"]


def test_sources_says_which_viewers_datadog_uses(
    env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert pull() == 0
    capsys.readouterr()
    assert main(["sources"]) == 0
    text = capsys.readouterr().out
    block = text[text.index("datadog (pull)") :].split("\n\n")[0]
    assert "viewers        Audit Trail (every viewer)" in block
    assert main(["sources", "--json"]) == 0
    by_source = {s["source"]: s for s in json.loads(capsys.readouterr().out)}
    assert by_source["datadog"]["viewers"] == "Audit Trail (every viewer)"
    # without Audit Trail, dashboard usage pushed to the source has only the last viewer
    env.delenv("DATADOG_APP_KEY")
    assert main(["sources", "--json"]) == 0
    by_source = {s["source"]: s for s in json.loads(capsys.readouterr().out)}
    assert by_source["datadog"]["viewers"] == "dashboard usage (last viewer only)"
    assert by_source["google-drive"]["viewers"] is None  # not configured, no events


def test_the_creator_s_dm_says_three_colleagues_opened_it(
    env: pytest.MonkeyPatch, database_url: str, engine: Engine
) -> None:
    assert pull() == 0
    dm = weekly_dm(engine, database_url, "ana@example.com", W47, NOW)
    assert "Artifacts: 1 created, 1 opened by others" in dm.text
    assert "1 AI-assisted dashboard created, 1 opened by anyone else" in dm.text
    assert "opened by 3 colleagues" in dm.text
    blocks = json.dumps(dm.blocks, ensure_ascii=False)
    assert "1 of 1 · 3 people" in blocks
    assert not any(other in blocks for other in ("ben@", "cal@", "dan@"))


# The adapter on its own -----------------------------------------------------------------------


def parse(events: list[dict[str, Any]]) -> Any:
    body = json.dumps({"data": events, "meta": {"page": {}}}).encode()
    return datadog_audit.parse_either(body, "application/json")


def test_the_created_event_carries_the_creator_title_and_tags() -> None:
    result = parse(week_events()[:1])
    assert not result.rejected
    [created] = result.events
    assert created.key == f"created:{DASHBOARD}"
    assert created.actor == ("email", "ana@example.com")
    assert created.artifact.title == "Churn by region"
    assert created.artifact.traits.author == "ana@example.com"
    assert created.artifact.traits.labels == ("team:data", "ai-generated")


def test_the_dashboard_usage_shape_still_parses_on_the_same_source() -> None:
    usage = {
        "data": [
            {
                "id": DASHBOARD,
                "type": "dashboards-usages",
                "attributes": {
                    "title": "Churn by region",
                    "created_at": "2026-11-16T09:00:00Z",
                    "author": {"handle": "ana@example.com"},
                    "total_views": 0,
                },
            }
        ]
    }
    result = datadog_audit.parse_either(json.dumps(usage).encode(), "application/json")
    assert [e.key for e in result.events] == [f"created:{DASHBOARD}"]


def test_a_bad_audit_event_is_rejected_with_its_reason_and_the_rest_kept() -> None:
    broken = audit_event("x", "yesterday", dashboard_request("ben@example.com"))
    nameless = audit_event("y", "2026-11-16T09:00:00Z", {**DASHBOARD_CREATED, "usr": {}})
    result = parse([broken, nameless, *week_events()[2:4]])
    assert [r.index for r in result.rejected] == [0, 1]
    assert "attributes.timestamp" in result.rejected[0].error
    assert "usr.email is missing" in result.rejected[1].error
    assert len(result.events) == 2
