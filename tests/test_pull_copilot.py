"""``ai-roi pull copilot`` against the fake GitHub: report links per day, signed NDJSON downloads
that expire, days not ready yet (204), the right person's facts.

Hand calculation from tests/fixtures/vendors/copilot-users-1-day.ndjson (2026-11-18): AnaLima
made 40 code generations and 6 Copilot CLI requests (21,400 prompt and 5,000 output tokens);
on 2026-11-19 (a copy of her record) 12 generations and no CLI use. Her week 2026-W47:
requests 40 + 6 + 12 = 58, input 21,400, output 5,000.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from bot.cli import main
from fakes.vendors import github as fake_github
from fakes.vendors.github import FakeGitHub

FIXTURE = Path(__file__).parent / "fixtures" / "vendors" / "copilot-users-1-day.ndjson"
PULL = ["pull", "copilot", "--since", "2026-11-16", "--until", "2026-11-22"]


def fixture_records() -> list[dict[str, Any]]:
    return [json.loads(line) for line in FIXTURE.read_text().splitlines() if line.strip()]


@pytest.fixture
def github() -> Iterator[FakeGitHub]:
    ana, ben = fixture_records()
    later = copy.deepcopy(ana)
    later.update(day="2026-11-19", code_generation_activity_count=12)
    later.pop("totals_by_cli", None)
    with FakeGitHub(org="acme") as fake:
        fake.reports[date(2026, 11, 16)] = []  # no one used Copilot: no files
        fake.reports[date(2026, 11, 17)] = []
        fake.reports[date(2026, 11, 18)] = [[ana], [ben]]  # two files
        fake.reports[date(2026, 11, 19)] = [[later]]
        yield fake  # 2026-11-20 onwards: not ready (204)


@pytest.fixture
def env(
    monkeypatch: pytest.MonkeyPatch, database_url: str, github: FakeGitHub, tmp_path: Path
) -> pytest.MonkeyPatch:
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("GITHUB_TOKEN", fake_github.TOKEN)
    monkeypatch.setenv("GITHUB_ORG", "acme")
    monkeypatch.setenv("GITHUB_API_URL", github.base_url)
    (tmp_path / "people.csv").write_text("email,github_login\nana@example.com,AnaLima\n")
    assert main(["directory", "import", str(tmp_path / "people.csv")]) == 0
    return monkeypatch


def ana_week(capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    capsys.readouterr()
    assert main(["facts", "--user", "ana@example.com", "--week", "2026-W47", "--json"]) == 0
    result: dict[str, Any] = json.loads(capsys.readouterr().out)
    return result


def state(capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    capsys.readouterr()
    assert main(["sources", "--json"]) == 0
    entry: dict[str, Any] = {e["source"]: e for e in json.loads(capsys.readouterr().out)}["copilot"]
    return entry


def test_reports_are_followed_to_the_person_and_complete_through_the_last_ready_day(
    env: pytest.MonkeyPatch, github: FakeGitHub, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(PULL) == 0
    ana = ana_week(capsys)
    assert ana["tokens"] == {"input": 21400, "cached": 0, "output": 5000}
    assert ana["requests"] == 58
    copilot = state(capsys)
    assert copilot["watermark"] == "2026-11-20T00:00:00Z"  # Nov 20 is not ready yet
    assert copilot["unattributed_identities"] == [
        {"kind": "github", "value": "ben-dev", "events": 1}
    ]
    # Days asked for stop at the first that is not ready; the token never goes to the store.
    days = [r.query["day"][0] for r in github.requests]
    assert days == ["2026-11-16", "2026-11-17", "2026-11-18", "2026-11-19", "2026-11-20"]
    assert all(r.headers["x-github-api-version"] == "2022-11-28" for r in github.requests)
    assert len(github.store.requests) == 3
    assert all("authorization" not in r.headers for r in github.store.requests)

    assert main(PULL) == 0  # again: nothing doubles
    assert ana_week(capsys)["requests"] == 58


def test_an_expired_download_link_is_asked_for_again(
    env: pytest.MonkeyPatch, github: FakeGitHub, capsys: pytest.CaptureFixture[str]
) -> None:
    github.store.expire_next = True
    assert main(PULL) == 0
    assert [r.query["day"][0] for r in github.requests].count("2026-11-18") == 2
    assert ana_week(capsys)["requests"] == 58


def test_an_organisation_the_token_cannot_read_is_a_visible_error(
    env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    env.setenv("GITHUB_ORG", "someone-else")
    assert main(PULL) == 1
    out = capsys.readouterr().out
    assert "refused the credential (403: Resource not accessible by personal access token)" in out
    assert fake_github.TOKEN not in out
    assert "GITHUB_TOKEN" in state(capsys)["last_error"]
