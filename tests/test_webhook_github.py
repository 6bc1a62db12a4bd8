"""POST /webhooks/github through the real app on a loopback port, with deliveries signed and sent
the way GitHub sends them (``fakes.vendors.github.deliver``).

Hand count for 2026-W47 from tests/fixtures/vendors/github-pull-requests.json (AnaLima is
ana@example.com, BoSantos is bo@example.com):

- acme/api#101, opened by the Copilot bot (``user.type`` Bot) and assigned to Ana, approved by Bo,
  merged by Bo: the built-in agent-author rule marks it AI-assisted (copilot) and credits it to
  Ana, who asked; viewed by Bo, used;
- acme/web#7, opened by Ana, its description ending "Generated with [Claude Code]" (a built-in
  marker rule: AI-assisted), commented on by a bot (not a view) and by Ana (her own view, not
  counted): created, not viewed by others, not used;
- acme/api#102, opened by Ana, no mark, reviewed by Bo, merged by Ana: created, viewed by others,
  used.

Ana: created 3, viewed by others 2, used 2; AI-assisted: created 2, viewed by others 1, used 1.
Bo: created 0.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, func, select

from bot.cli import main
from bot.context import AppContext
from bot.settings import Settings
from bot.store.models import Event
from fakes.vendors.github import WEBHOOK_SECRET, deliver
from tests.conftest import LiveServer, make_settings, serve_app

FIXTURE = Path(__file__).parent / "fixtures" / "vendors" / "github-pull-requests.json"


def deliveries() -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = json.loads(FIXTURE.read_text())["deliveries"]
    return result


@pytest.fixture
def settings(database_url: str) -> Settings:
    return make_settings(database_url, github_webhook_secret=WEBHOOK_SECRET)


@pytest.fixture
def people(monkeypatch: pytest.MonkeyPatch, database_url: str, tmp_path: Path) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url)
    csv = tmp_path / "people.csv"
    csv.write_text("email,github_login\nana@example.com,AnaLima\nbo@example.com,BoSantos\n")
    assert main(["directory", "import", str(csv)]) == 0


def url(live: LiveServer) -> str:
    return f"{live.url}/webhooks/github"


def stored(context: AppContext) -> int:
    with Session(context.engine) as session:
        return session.exec(select(func.count()).select_from(Event)).one()


def facts(capsys: pytest.CaptureFixture[str], email: str) -> dict[str, Any]:
    capsys.readouterr()
    assert main(["facts", "--user", email, "--week", "2026-W47", "--json"]) == 0
    result: dict[str, Any] = json.loads(capsys.readouterr().out)
    return result


def send_all(live: LiveServer) -> list[dict[str, Any]]:
    answers = []
    for item in deliveries():
        response = deliver(
            url(live), item["event"], item["payload"], delivery=item["delivery"], client=live.client
        )
        assert response.status_code == 202, response.text
        answers.append(response.json())
    return answers


def test_deliveries_become_the_authors_facts(
    live: LiveServer, context: AppContext, people: None, capsys: pytest.CaptureFixture[str]
) -> None:
    answers = send_all(live)
    # opened → 1 created; review → 1 view; closed+merged → created again (a duplicate) + used;
    # the bot's comment is not a view; Ana's own comment is kept (the facts leave it out).
    assert [(a["accepted"], a["duplicates"]) for a in answers] == [
        (1, 0), (1, 0), (1, 1), (1, 0), (0, 0), (1, 0), (1, 0), (1, 0), (1, 1),
    ]  # fmt: skip
    assert all(a["rejected"] == [] for a in answers)
    ana = facts(capsys, "ana@example.com")["artifacts"]
    assert (ana["created"], ana["viewed_by_others"], ana["used"]) == (3, 2, 2)
    assert ana["by_kind"]["pull_request"] == {"created": 3, "viewed_by_others": 2, "used": 2}
    ai = ana["ai"]
    assert (ai["created"], ai["viewed_by_others"], ai["used"]) == (2, 1, 1)
    bo = facts(capsys, "bo@example.com")["artifacts"]
    assert bo["created"] == 0

    capsys.readouterr()
    assert main(["sources", "--json"]) == 0
    github = {e["source"]: e for e in json.loads(capsys.readouterr().out)}["github"]
    assert github["unattributed_identities"] == []  # the bot's pull request is Ana's


def test_a_redelivery_changes_nothing(live: LiveServer, context: AppContext) -> None:
    first = deliveries()[0]
    response = deliver(
        url(live), first["event"], first["payload"], delivery=first["delivery"], client=live.client
    )
    assert response.json() == {"accepted": 1, "duplicates": 0, "rejected": []}
    again = deliver(
        url(live), first["event"], first["payload"], delivery=first["delivery"], client=live.client
    )
    assert again.status_code == 202
    assert again.json() == {"accepted": 0, "duplicates": 1, "rejected": []}
    # The same pull request in another delivery (an "edited" action) is still one artifact.
    edited = {**first["payload"], "action": "edited"}
    assert deliver(url(live), "pull_request", edited, client=live.client).json()["accepted"] == 0
    assert stored(context) == 1


def test_a_redelivery_to_another_replica_changes_nothing(
    context: AppContext, live: LiveServer
) -> None:
    item = deliveries()[1]
    with serve_app(context) as other:
        for server in (live, other, live):
            deliver(
                url(server), item["event"], item["payload"], delivery=item["delivery"],
                client=server.client,
            )  # fmt: skip
    assert stored(context) == 1


def test_form_encoded_deliveries_are_read(live: LiveServer, context: AppContext) -> None:
    item = deliveries()[0]
    response = deliver(url(live), item["event"], item["payload"], form=True, client=live.client)
    assert response.status_code == 202
    assert response.json()["accepted"] == 1


def test_ping_is_answered_and_other_events_are_ignored_with_a_reason(
    live: LiveServer, context: AppContext
) -> None:
    ping = deliver(
        url(live), "ping", {"zen": "Keep it logically awesome.", "hook_id": 1}, client=live.client
    )
    assert ping.status_code == 200
    push = deliver(url(live), "push", {"ref": "refs/heads/main"}, client=live.client)
    assert push.status_code == 202
    assert "'push' is not used" in push.json()["ignored"]
    assert stored(context) == 0


@pytest.mark.parametrize(
    ("signature", "reason"),
    [
        ("sha256=" + "0" * 64, "does not match GITHUB_WEBHOOK_SECRET"),
        ("sha1=abc", "must be 'sha256="),
        ("", "missing X-Hub-Signature-256"),
    ],
)
def test_a_wrong_or_missing_signature_is_refused(
    live: LiveServer, context: AppContext, signature: str, reason: str
) -> None:
    item = deliveries()[0]
    response = deliver(
        url(live), item["event"], item["payload"], signature=signature, client=live.client
    )
    assert response.status_code == 401
    assert reason in response.json()["error"]
    assert stored(context) == 0


def test_another_secret_is_refused(live: LiveServer, context: AppContext) -> None:
    item = deliveries()[0]
    response = deliver(
        url(live), item["event"], item["payload"], secret="not the secret", client=live.client
    )
    assert response.status_code == 401
    assert stored(context) == 0


def test_without_a_secret_everything_is_refused(database_url: str, engine: Any) -> None:
    context = AppContext(settings=make_settings(database_url), engine=engine)
    with serve_app(context) as live:
        item = deliveries()[0]
        response = deliver(url(live), item["event"], item["payload"], client=live.client)
    assert response.status_code == 401
    assert "set GITHUB_WEBHOOK_SECRET" in response.json()["error"]


def test_bad_bodies_are_refused_with_a_reason_never_a_crash(
    live: LiveServer, context: AppContext
) -> None:
    item = deliveries()[0]
    broken = {
        **item["payload"],
        "pull_request": {**item["payload"]["pull_request"], "created_at": "soon"},
    }
    response = deliver(url(live), "pull_request", broken, client=live.client)
    assert response.status_code == 202
    assert response.json()["accepted"] == 0
    assert "created_at" in response.json()["rejected"][0]["error"]

    not_github = deliver(url(live), "pull_request", {"hello": "world"}, client=live.client)
    assert not_github.status_code == 400
    assert "expected GitHub" in not_github.json()["error"]

    no_id = live.client.post(
        "/webhooks/github",
        content=b"{}",
        headers={
            "content-type": "application/json",
            "x-github-event": "pull_request",
            "x-hub-signature-256": "sha256="
            + hmac.new(WEBHOOK_SECRET.encode(), b"{}", hashlib.sha256).hexdigest(),
        },
    )
    assert no_id.status_code == 400
    assert "X-GitHub-Delivery" in no_id.json()["error"]

    text = live.client.post(
        "/webhooks/github",
        content=b"x",
        headers={"content-type": "text/plain", "x-hub-signature-256": "sha256=00"},
    )
    assert text.status_code == 415
    assert stored(context) == 0


def test_the_body_limit_holds_before_the_signature_is_checked(
    database_url: str, engine: Any
) -> None:
    settings = make_settings(
        database_url, github_webhook_secret=WEBHOOK_SECRET, webhook_max_body_bytes=1024
    )
    context = AppContext(settings=settings, engine=engine)
    with serve_app(context) as live:
        response = live.client.post(
            "/webhooks/github",
            content=b"{" + b" " * 4096 + b"}",
            headers={"content-type": "application/json", "x-hub-signature-256": "sha256=00"},
        )
    assert response.status_code == 413


@pytest.fixture
def live(context: AppContext) -> Iterator[LiveServer]:
    with serve_app(context) as server:
        yield server


def test_unmapped_logins_are_kept_and_attributed_once_mapped(
    live: LiveServer,
    context: AppContext,
    monkeypatch: pytest.MonkeyPatch,
    database_url: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url)
    for item in deliveries()[6:9]:  # acme/api#102: opened by Ana, reviewed by Bo, merged
        deliver(url(live), item["event"], item["payload"], client=live.client)
    capsys.readouterr()
    assert main(["sources", "--json"]) == 0
    github = {e["source"]: e for e in json.loads(capsys.readouterr().out)}["github"]
    assert {i["value"] for i in github["unattributed_identities"]} == {"analima", "bosantos"}

    csv = tmp_path / "later.csv"
    csv.write_text("email,github_login\nana@example.com,analima\n")
    assert main(["directory", "import", str(csv)]) == 0
    ana = facts(capsys, "ana@example.com")["artifacts"]
    assert (ana["created"], ana["viewed_by_others"], ana["used"]) == (1, 1, 1)
