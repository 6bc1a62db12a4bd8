"""``ai-roi pull github`` against the fake GitHub: an organisation's repositories, their pull
requests read newest-update first until older than the window, reviews, comments and commits,
``Link`` paging, GitHub's rate limits (primary and secondary), refused credentials.

Hand count for 2026-W47 (tests/fixtures/vendors/github-pull-requests.json, as in
tests/test_webhook_github.py): Ana created 3 pull requests (acme/api#101, which the Copilot bot
opened for her, acme/web#7, acme/api#102), 2 were viewed by someone else (#101 and #102, reviewed
by Bo), 2 were used (both merged); AI-assisted: #101 (agent author) and #7 (Claude Code's
trailer on its commit and footer in its description): 2 created, 1 viewed by others, 1 used. A
pull request last updated in October is outside the window: nothing of it is read.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from bot.cli import main
from fakes.vendors import github as fake_github
from fakes.vendors.github import FakeGitHub, deliver

FIXTURE = Path(__file__).parent / "fixtures" / "vendors" / "github-pull-requests.json"
PULL = ["pull", "github", "--since", "2026-11-16", "--until", "2026-11-22"]
ANA = (3, 2, 2)  # created, viewed by others, used


def fixture() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(FIXTURE.read_text())
    return data


@pytest.fixture
def github() -> Iterator[FakeGitHub]:
    rest = fixture()["rest"]
    old = copy.deepcopy(rest["pulls"]["acme/api"][1])
    old.update(number=55, id=880055, created_at="2026-09-30T10:00:00Z")
    old.update(updated_at="2026-10-01T10:00:00Z", merged_at="2026-10-01T10:00:00Z")
    rest["pulls"]["acme/api"].append(old)
    rest["reviews"]["acme/api#55"] = [{**rest["reviews"]["acme/api#102"][0], "id": 30055}]
    with FakeGitHub(org="acme") as fake:
        fake.load(rest)
        yield fake


@pytest.fixture
def env(
    monkeypatch: pytest.MonkeyPatch, database_url: str, github: FakeGitHub, tmp_path: Path
) -> pytest.MonkeyPatch:
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("GITHUB_TOKEN", fake_github.TOKEN)
    monkeypatch.setenv("GITHUB_ORG", "acme")
    monkeypatch.setenv("GITHUB_API_URL", github.base_url)
    csv = tmp_path / "people.csv"
    csv.write_text("email,github_login\nana@example.com,AnaLima\nbo@example.com,BoSantos\n")
    assert main(["directory", "import", str(csv)]) == 0
    return monkeypatch


def ana_artifacts(capsys: pytest.CaptureFixture[str]) -> tuple[int, int, int]:
    capsys.readouterr()
    assert main(["facts", "--user", "ana@example.com", "--week", "2026-W47", "--json"]) == 0
    artifacts = json.loads(capsys.readouterr().out)["artifacts"]
    return artifacts["created"], artifacts["viewed_by_others"], artifacts["used"]


def state(capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    capsys.readouterr()
    assert main(["sources", "--json"]) == 0
    entry: dict[str, Any] = {e["source"]: e for e in json.loads(capsys.readouterr().out)}["github"]
    return entry


def paths(github: FakeGitHub) -> list[str]:
    return [r.path for r in github.requests]


def test_pull_requests_become_the_authors_facts_and_a_second_pull_doubles_nothing(
    env: pytest.MonkeyPatch,
    github: FakeGitHub,
    capsys: pytest.CaptureFixture[str],
    database_url: str,
) -> None:
    assert main(PULL) == 0
    assert ana_artifacts(capsys) == ANA
    github_state = state(capsys)
    assert github_state["watermark"] == "2026-11-23T00:00:00Z"
    assert github_state["unattributed_identities"] == []  # the bot's pull request is Ana's
    seen = paths(github)
    assert seen.count("/orgs/acme/repos") == 1
    assert not any("/55" in path for path in seen)  # older than the window: not read
    # Merged pull requests are asked for whole (who merged them); the others are not.
    assert "/repos/acme/api/pulls/101" in seen and "/repos/acme/web/pulls/7" not in seen
    listing = next(r for r in github.requests if r.path == "/repos/acme/api/pulls")
    assert {k: v[0] for k, v in listing.query.items()} == {
        "state": "all", "sort": "updated", "direction": "desc", "per_page": "100",
    }  # fmt: skip
    comments = next(r for r in github.requests if r.path.endswith("/issues/7/comments"))
    assert comments.query["since"] == ["2026-11-16T00:00:00Z"]
    assert all(r.headers["authorization"] == f"Bearer {fake_github.TOKEN}" for r in github.requests)
    assert all(r.headers["x-github-api-version"] == "2022-11-28" for r in github.requests)

    engine = create_engine(database_url)
    with engine.connect() as connection:
        merger = connection.execute(
            text("SELECT actor_value FROM events WHERE key = :key"),
            {"key": "merged/acme%2Fapi#101"},
        ).scalar_one()
    engine.dispose()
    assert merger == "bosantos"

    assert main(PULL) == 0
    assert "0 records stored" in capsys.readouterr().out
    assert ana_artifacts(capsys) == ANA


def test_link_pages_are_followed(
    env: pytest.MonkeyPatch,
    github: FakeGitHub,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("bot.connectors.github.PER_PAGE", 1)
    assert main(PULL) == 0
    assert ana_artifacts(capsys) == ANA
    pages = [r.query.get("page", ["1"])[0] for r in github.requests if r.path == "/orgs/acme/repos"]
    assert pages == ["1", "2"]
    api = [
        r.query.get("page", ["1"])[0] for r in github.requests if r.path == "/repos/acme/api/pulls"
    ]
    assert api == ["1", "2", "3"]  # #102, #101, then #55, older: the listing stops there


def test_webhook_and_pull_count_each_pull_request_once(
    env: pytest.MonkeyPatch,
    github: FakeGitHub,
    capsys: pytest.CaptureFixture[str],
    database_url: str,
) -> None:
    from bot.context import AppContext
    from bot.store.db import create_engine as make_engine
    from tests.conftest import make_settings, serve_app

    settings = make_settings(database_url, github_webhook_secret=fake_github.WEBHOOK_SECRET)
    engine = make_engine(database_url)
    with serve_app(AppContext(settings=settings, engine=engine)) as live:
        for item in fixture()["deliveries"]:
            response = deliver(
                f"{live.url}/webhooks/github", item["event"], item["payload"], client=live.client
            )
            assert response.status_code == 202
    engine.dispose()
    assert ana_artifacts(capsys) == ANA
    assert main(PULL) == 0
    out = capsys.readouterr().out
    assert "0 records stored" in out, out
    assert ana_artifacts(capsys) == ANA


def test_the_rate_limit_is_waited_for_never_run_into(
    env: pytest.MonkeyPatch, github: FakeGitHub, capsys: pytest.CaptureFixture[str]
) -> None:
    github.rate_limit = 8  # the pull needs 13 requests
    github.rate_window = 1.0
    assert main(PULL) == 0
    assert github.refused_over_limit == []
    assert ana_artifacts(capsys) == ANA


def test_a_limit_that_resets_too_late_stops_the_run_with_a_visible_error(
    env: pytest.MonkeyPatch, github: FakeGitHub, capsys: pytest.CaptureFixture[str]
) -> None:
    github.rate_limit = 3
    assert main(PULL) == 1
    out = capsys.readouterr().out
    assert "rate limit is spent until" in out
    assert len(github.requests) == 3  # nothing more was sent once the limit was spent
    assert "rate limit is spent" in state(capsys)["last_error"]


@pytest.mark.parametrize("status", [403, 429])
def test_a_secondary_limit_waits_its_retry_after(
    env: pytest.MonkeyPatch,
    github: FakeGitHub,
    capsys: pytest.CaptureFixture[str],
    status: int,
) -> None:
    github.secondary_limit(status=status, retry_after=1)
    assert main(PULL) == 0
    assert "(1 rate limited)" in capsys.readouterr().out
    assert github.early_requests == []
    assert ana_artifacts(capsys) == ANA


def test_a_refused_token_and_an_unknown_organisation_are_visible_errors(
    env: pytest.MonkeyPatch, github: FakeGitHub, capsys: pytest.CaptureFixture[str]
) -> None:
    env.setenv("GITHUB_TOKEN", "github_pat_revoked")
    assert main(PULL) == 1
    out = capsys.readouterr().out
    assert "refused the credential (401: Bad credentials)" in out
    assert "github_pat_revoked" not in out
    assert "GITHUB_TOKEN" in state(capsys)["last_error"]

    env.setenv("GITHUB_TOKEN", fake_github.TOKEN)
    env.setenv("GITHUB_ORG", "someone-else")
    assert main(PULL) == 1
    assert "answered 404: Not Found" in capsys.readouterr().out


def test_pull_requests_need_an_organisation(
    env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    env.delenv("GITHUB_ORG")
    env.setenv("GITHUB_ENTERPRISE", "acme-corp")
    assert main(PULL) == 2
    assert "github is not configured" in capsys.readouterr().err
