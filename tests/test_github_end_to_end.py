"""GitHub end to end: deliveries to ``POST /webhooks/github`` as they happen, the hourly pull
from the fake GitHub, then Ana's facts and her weekly DM through the fake Slack.

Week 2026-W47, tests/fixtures/vendors/github-pull-requests.json, with acme/web#7's description
stripped of its "Generated with Claude Code" footer so that only its commit's trailer says how
it was made:

- acme/api#101: opened by the Copilot coding agent (login ``Copilot``, a Bot) and assigned to
  Ana; approved by Bo; merged by Bo. The built-in agent-author rule marks it AI-assisted and
  credits it to Ana: created by Ana, viewed by others (Bo), used.
- acme/web#7: opened by Ana; its commit carries ``Co-Authored-By: Claude
  <noreply@anthropic.com>`` (the webhook's payloads have no commits: the pull brings it, and the
  built-in trailer rule marks it AI-assisted); commented on by a bot (not a view) and by Ana
  herself (a self-view): created, not viewed by others, not used.
- acme/api#102: opened by Ana, nothing marks it; reviewed by Bo; merged: created, viewed by
  others, used.

Ana by hand: artifacts created 3, viewed by others 2, used 2; AI-assisted created 2 (#101, #7),
viewed by others 1 (#101), used 1 (#101). Her DM: "2 AI-assisted pull requests opened, 1
reviewed by colleagues, 1 merged". Bo made nothing and used no AI that week: he gets no digest.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.cli import main
from bot.context import AppContext
from bot.domain.weeks import Week
from bot.outbound.gate import RateGate
from bot.slack.digest_delivery import run_digest
from bot.slack.dm import UserDirectory, slack_deliverer
from bot.store.people import all_people
from fakes.blockkit import assert_valid_message
from fakes.slack_api import FakeSlack
from fakes.vendors import github as fake_github
from fakes.vendors.github import FakeGitHub, deliver
from tests.conftest import FROZEN_NOW, make_settings, serve_app

FIXTURE = Path(__file__).parent / "fixtures" / "vendors" / "github-pull-requests.json"
W47 = Week(2026, 47)
AI_LINE = "2 AI-assisted pull requests opened, 1 reviewed by colleagues, 1 merged"


def without_footer(pull: dict[str, Any]) -> None:
    if pull["number"] == 7:
        pull["body"] = pull["body"].split("🤖")[0]


@pytest.fixture
def data() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(FIXTURE.read_text())
    for item in loaded["deliveries"]:
        payload = item["payload"]
        without_footer(payload.get("pull_request") or payload["issue"])
    for pulls in loaded["rest"]["pulls"].values():
        for pull in pulls:
            without_footer(pull)
    return loaded


@pytest.fixture
def github(data: dict[str, Any]) -> Iterator[FakeGitHub]:
    with FakeGitHub(org="acme") as fake:
        fake.load(data["rest"])
        yield fake


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        fake.add_user(id="U0ANA00001", email="ana@example.com")
        fake.add_user(id="U0BO000002", email="bo@example.com")
        yield fake


def facts(capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    capsys.readouterr()
    assert main(["facts", "--user", "ana@example.com", "--week", "2026-W47", "--json"]) == 0
    artifacts: dict[str, Any] = json.loads(capsys.readouterr().out)["artifacts"]
    return artifacts


def test_agent_and_trailer_marked_pull_requests_reach_the_requesters_digest(
    monkeypatch: pytest.MonkeyPatch,
    database_url: str,
    engine: Engine,
    tmp_path: Path,
    data: dict[str, Any],
    github: FakeGitHub,
    slack: FakeSlack,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("GITHUB_TOKEN", fake_github.TOKEN)
    monkeypatch.setenv("GITHUB_ORG", "acme")
    monkeypatch.setenv("GITHUB_API_URL", github.base_url)
    people = tmp_path / "people.csv"
    people.write_text("email,github_login\nana@example.com,AnaLima\nbo@example.com,BoSantos\n")
    assert main(["directory", "import", str(people)]) == 0

    # As it happens: GitHub's deliveries.
    settings = make_settings(
        database_url,
        github_webhook_secret=fake_github.WEBHOOK_SECRET,
        slack_bot_token=slack.token,
        slack_api_url=slack.base_url,
        digest_delivery="slack",
    )
    context = AppContext(settings=settings, engine=engine, clock=lambda: FROZEN_NOW)
    with serve_app(context) as live:
        for item in data["deliveries"]:
            response = deliver(
                f"{live.url}/webhooks/github",
                item["event"],
                item["payload"],
                delivery=item["delivery"],
                client=live.client,
            )
            assert response.status_code == 202, response.text
    before_pull = facts(capsys)
    assert (before_pull["created"], before_pull["viewed_by_others"], before_pull["used"]) == (
        3,
        2,
        2,
    )
    assert before_pull["ai"]["created"] == 1  # #7's trailer is not in any delivery

    # The hourly pull: the same events again (nothing doubles) and #7's commits.
    assert main(["pull", "github", "--since", "2026-11-16", "--until", "2026-11-22"]) == 0
    ana = facts(capsys)
    assert (ana["created"], ana["viewed_by_others"], ana["used"]) == (3, 2, 2)
    ai = ana["ai"]
    assert (ai["created"], ai["viewed_by_others"], ai["used"]) == (2, 1, 1)
    assert ai["by_kind"] == {"pull_request": {"created": 2, "viewed_by_others": 1, "used": 1}}

    # A later delivery about #7 (say, an edit) describes it again without its commits: the
    # trailer learnt from them stays, and so does the mark.
    (again,) = [
        item
        for item in data["deliveries"]
        if item["event"] == "pull_request" and item["payload"]["pull_request"]["number"] == 7
    ][:1]
    with serve_app(context) as live:
        response = deliver(
            f"{live.url}/webhooks/github",
            "pull_request",
            {**again["payload"], "action": "edited"},
            delivery="redescribed-7",
            client=live.client,
        )
        assert response.status_code == 202, response.text
    assert facts(capsys)["ai"]["created"] == 2

    # The weekly DM.
    with Session(engine) as session:
        everyone = all_people(session)
    deliverer = slack_deliverer(context, gate=RateGate(min_interval=0.005))
    deliverer.directory = UserDirectory()
    outcomes = {
        o.email: (o.status, o.reason)
        for o in run_digest(
            engine, everyone, week=W47, tz=settings.timezone, deliverer=deliverer, now=FROZEN_NOW
        )
    }
    assert outcomes["ana@example.com"][0] == "sent"
    (dm,) = slack.dms_to("U0ANA00001")
    assert_valid_message(dm.blocks, dm.text)
    assert AI_LINE in dm.text
    assert AI_LINE in json.dumps(dm.blocks, ensure_ascii=False)
    # Bo reviewed and merged but made nothing and used no AI: no digest, and never Ana's numbers.
    assert outcomes["bo@example.com"] == ("skipped", "no AI activity this week")
    assert slack.dms_to("U0BO000002") == []
    assert slack.violations == []
