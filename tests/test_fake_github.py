"""The fake GitHub answers as GitHub's REST reference says: auth schemes, Link paging with
per_page, rate-limit headers, 404 and 422, and the listing's simple pull requests."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from fakes.vendors import github as fake_github
from fakes.vendors.github import FakeGitHub

FIXTURE = Path(__file__).parent / "fixtures" / "vendors" / "github-pull-requests.json"


@pytest.fixture
def github() -> Iterator[FakeGitHub]:
    with FakeGitHub(org="acme") as fake:
        fake.load(json.loads(FIXTURE.read_text())["rest"])
        yield fake


def get(github: FakeGitHub, path: str, scheme: str = "Bearer", **params: str) -> httpx.Response:
    headers = {"Authorization": f"{scheme} {fake_github.TOKEN}"}
    return httpx.get(f"{github.url}{path}", params=params, headers=headers, timeout=5)


def test_both_auth_schemes_and_bad_credentials(github: FakeGitHub) -> None:
    assert get(github, "/orgs/acme/repos").status_code == 200
    assert get(github, "/orgs/acme/repos", scheme="token").status_code == 200
    refused = get(github, "/orgs/acme/repos", scheme="Basic")
    assert refused.status_code == 401 and refused.json()["message"] == "Bad credentials"


def test_link_paging_caps_per_page_at_100(github: FakeGitHub) -> None:
    first = get(github, "/orgs/acme/repos", per_page="1")
    assert [r["full_name"] for r in first.json()] == ["acme/api"]
    assert first.links["next"]["url"].endswith("per_page=1&page=2")
    assert first.links["last"]["url"].endswith("page=2")
    second = httpx.get(
        first.links["next"]["url"],
        headers={"Authorization": f"Bearer {fake_github.TOKEN}"},
        timeout=5,
    )
    assert [r["full_name"] for r in second.json()] == ["acme/web"]
    assert "next" not in second.links and second.links["prev"]["url"].endswith("page=1")
    assert len(get(github, "/orgs/acme/repos", per_page="500").json()) == 2  # capped, not refused


def test_listing_sorts_by_update_and_leaves_out_who_merged(github: FakeGitHub) -> None:
    pulls = get(
        github, "/repos/acme/api/pulls", state="all", sort="updated", direction="desc"
    ).json()
    assert [p["number"] for p in pulls] == [102, 101]
    assert all("merged_by" not in p for p in pulls)
    assert get(github, "/repos/acme/api/pulls/101").json()["merged_by"]["login"] == "BoSantos"
    assert get(github, "/repos/acme/api/pulls").json() == []  # state=open by default


def test_rate_limit_headers_count_down_and_a_spent_limit_is_403(github: FakeGitHub) -> None:
    github.rate_limit = 2
    first = get(github, "/orgs/acme/repos")
    assert first.headers["x-ratelimit-limit"] == "2"
    assert first.headers["x-ratelimit-remaining"] == "1"
    assert first.headers["x-ratelimit-resource"] == "core"
    assert get(github, "/orgs/acme/repos").headers["x-ratelimit-remaining"] == "0"
    spent = get(github, "/orgs/acme/repos")
    assert spent.status_code == 403
    assert spent.json()["message"].startswith("API rate limit exceeded")
    assert spent.headers["x-ratelimit-remaining"] == "0"
    assert int(spent.headers["x-ratelimit-reset"]) > 0


def test_secondary_limits_not_found_and_validation_failed(github: FakeGitHub) -> None:
    github.secondary_limit(status=429, retry_after=30)
    limited = get(github, "/orgs/acme/repos")
    assert limited.status_code == 429 and limited.headers["retry-after"] == "30"
    assert "secondary rate limit" in limited.json()["message"]
    assert get(github, "/repos/acme/nope/pulls").status_code == 404
    assert get(github, "/repos/acme/api/pulls/999/reviews").status_code == 404
    invalid = get(github, "/repos/acme/api/pulls", state="merged")
    assert invalid.status_code == 422 and invalid.json()["message"] == "Validation Failed"
