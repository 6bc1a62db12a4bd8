"""``ai-roi pull google-drive`` against a fake Google: the service account's signed JWT exchanged
for a token (google-auth, through the source's outbound layer), the Reports API's Drive
activities paged with ``nextPageToken``, and the owner's facts and DM.

The week 2026-W47 (Nov 16–22, UTC): Ana creates "Q4 plan" (a document) on Monday and opens it
again on Wednesday; nobody else opens it. Ana also edits it (not an outcome) and uploads a PDF
(not a document written in Drive). So Ana: 1 doc created, 0 viewed by others.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from bot.cli import main
from bot.domain.weeks import Week
from bot.ingest.adapters import google_drive
from fakes.vendors import google as fake_google
from fakes.vendors.google import FakeGoogle, ServiceAccount, drive_activity, make_service_account
from tests.support.slack_app import weekly_dm

ADMIN = "admin@example.com"
ROBOT = "ai-roi-reports@ai-roi-test.iam.gserviceaccount.com"
W47 = Week(2026, 47)
NOW = datetime.fromisoformat("2026-11-25T12:00:00+00:00")
DOC = "1Q4planAbCdEfGhIjKlMnOpQrStUvWxYz0123456789"


def week_activities() -> list[dict[str, Any]]:
    doc = {"doc_id": DOC, "title": "Q4 plan", "owner": "Ana@Example.com"}
    return [
        drive_activity("2026-11-16T09:00:00.000Z", "ana@example.com", "create", **doc),
        drive_activity("2026-11-16T09:30:00.000Z", "ana@example.com", "edit", **doc),
        drive_activity("2026-11-18T10:00:00.000Z", "ana@example.com", "view", **doc),
        drive_activity(
            "2026-11-18T11:00:00.000Z",
            "ana@example.com",
            "upload",
            doc_id="1pdf",
            doc_type="pdf",
            title="scan.pdf",
            owner="ana@example.com",
        ),
    ]


@pytest.fixture(scope="module")
def robot(tmp_path_factory: pytest.TempPathFactory) -> ServiceAccount:
    return make_service_account(tmp_path_factory.mktemp("keys"), ROBOT)


@pytest.fixture
def google(robot: ServiceAccount) -> Iterator[FakeGoogle]:
    with FakeGoogle(admins={ADMIN}) as fake:
        fake.add_service_account(robot, {fake_google.AUDIT_SCOPE})
        fake.activities = week_activities()
        yield fake


@pytest.fixture
def env(
    monkeypatch: pytest.MonkeyPatch, database_url: str, google: FakeGoogle, robot: ServiceAccount
) -> pytest.MonkeyPatch:
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("GOOGLE_SERVICE_ACCOUNT_FILE", str(robot.key_file))
    monkeypatch.setenv("GOOGLE_ADMIN_EMAIL", ADMIN)
    monkeypatch.setenv("GOOGLE_ADMIN_API_URL", google.url)
    monkeypatch.setenv("GOOGLE_TOKEN_URL", google.token_url)
    return monkeypatch


def facts(capsys: pytest.CaptureFixture[str], email: str) -> dict[str, Any]:
    capsys.readouterr()
    assert main(["facts", "--user", email, "--week", "2026-W47", "--json"]) == 0
    result: dict[str, Any] = json.loads(capsys.readouterr().out)
    return result


def pull() -> int:
    return main(["pull", "google-drive", "--since", "2026-11-16", "--until", "2026-11-22"])


def test_a_document_nobody_else_opened(
    env: pytest.MonkeyPatch, google: FakeGoogle, capsys: pytest.CaptureFixture[str]
) -> None:
    assert pull() == 0
    ana = facts(capsys, "ana@example.com")["artifacts"]
    assert (ana["created"], ana["viewed_by_others"], ana["viewers"]) == (1, 0, 0)
    assert ana["by_kind"] == {"doc": {"created": 1, "viewed_by_others": 0, "used": 0}}
    assert ana["ai"]["created"] == 0  # nothing marks it: no tag, no rule on its title
    # the token: one JWT grant signed by the service account, for the administrator
    [claims] = google.assertions
    assert claims["iss"] == ROBOT and claims["sub"] == ADMIN
    assert claims["scope"] == fake_google.AUDIT_SCOPE
    assert claims["aud"] == "https://oauth2.googleapis.com/token"
    [grant] = google.requests_to(fake_google.TOKEN_PATH)
    assert grant.headers["user-agent"].startswith("ai-roi/")  # sent by the outbound layer
    [listing] = google.requests_to(fake_google.ACTIVITIES)
    assert listing.query["startTime"] == ["2026-11-16T00:00:00.000Z"]
    assert listing.query["endTime"] == ["2026-11-23T00:00:00.000Z"]
    assert listing.query["maxResults"] == ["1000"]


def test_a_view_by_someone_else_counts_once_a_week(
    env: pytest.MonkeyPatch, google: FakeGoogle, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = {"doc_id": DOC, "title": "Q4 plan", "owner": "ana@example.com"}
    google.activities += [
        drive_activity("2026-11-19T10:00:00.000Z", "ben@example.com", "view", **doc),
        drive_activity("2026-11-20T10:00:00.000Z", "ben@example.com", "view", **doc),
        drive_activity("2026-11-20T11:00:00.000Z", None, "view", **doc),  # anonymous link visitor
    ]
    assert pull() == 0
    out = capsys.readouterr().out
    assert "2 records stored" in out  # created, and Ben's one view of the week
    ana = facts(capsys, "ana@example.com")["artifacts"]
    assert (ana["created"], ana["viewed_by_others"], ana["viewers"]) == (1, 1, 1)


def test_activities_are_paged_with_next_page_token(
    env: pytest.MonkeyPatch, google: FakeGoogle, capsys: pytest.CaptureFixture[str]
) -> None:
    env.setattr("bot.connectors.google_drive.MAX_RESULTS", 1)
    assert pull() == 0
    listings = google.requests_to(fake_google.ACTIVITIES)
    assert len(listings) == 4
    assert "pageToken" not in listings[0].query
    assert all(r.query["pageToken"] for r in listings[1:])
    assert len(google.requests_to(fake_google.TOKEN_PATH)) == 1  # one token for every page
    ana = facts(capsys, "ana@example.com")["artifacts"]
    assert (ana["created"], ana["viewed_by_others"]) == (1, 0)


def test_an_expired_token_is_refreshed_once(
    env: pytest.MonkeyPatch, google: FakeGoogle, capsys: pytest.CaptureFixture[str]
) -> None:
    env.setattr("bot.connectors.google_drive.MAX_RESULTS", 2)
    first_page = google.route

    def expire_after_the_first_page(request: Any) -> Any:
        answer = first_page(request)
        if request.path == fake_google.ACTIVITIES and "pageToken" not in request.query:
            google.expire_tokens()
        return answer

    env.setattr(google, "route", expire_after_the_first_page)
    assert pull() == 0
    statuses = [r.path for r in google.requests]
    assert statuses == [
        fake_google.TOKEN_PATH,
        fake_google.ACTIVITIES,
        fake_google.ACTIVITIES,  # 401: the token expired
        fake_google.TOKEN_PATH,
        fake_google.ACTIVITIES,
    ]
    assert facts(capsys, "ana@example.com")["artifacts"]["created"] == 1


def test_a_key_google_does_not_know_is_a_visible_error(
    env: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    impostor = make_service_account(tmp_path, ROBOT)  # the right account, another key
    env.setenv("GOOGLE_SERVICE_ACCOUNT_FILE", str(impostor.key_file))
    assert pull() == 1
    out = capsys.readouterr().out
    assert (
        "the token endpoint refused the service account (invalid_grant: Invalid JWT Signature.)"
        in out
    )
    assert "check GOOGLE_SERVICE_ACCOUNT_FILE and GOOGLE_ADMIN_EMAIL" in out
    assert "PRIVATE KEY" not in out


def test_a_scope_not_delegated_is_a_visible_error(
    env: pytest.MonkeyPatch,
    google: FakeGoogle,
    robot: ServiceAccount,
    capsys: pytest.CaptureFixture[str],
) -> None:
    google.add_service_account(robot, {"https://www.googleapis.com/auth/drive.readonly"})
    assert pull() == 1
    assert "unauthorized_client" in capsys.readouterr().out
    assert google.requests_to(fake_google.ACTIVITIES) == []


def test_a_subject_who_may_not_read_reports_is_a_visible_error(
    env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    env.setenv("GOOGLE_ADMIN_EMAIL", "ana@example.com")
    assert pull() == 1
    out = capsys.readouterr().out
    assert "refused the credential (403: Not Authorized to access this resource/api)" in out


def test_a_missing_key_file_names_the_setting(
    env: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env.setenv("GOOGLE_SERVICE_ACCOUNT_FILE", str(tmp_path / "nowhere.json"))
    assert pull() == 1
    assert "GOOGLE_SERVICE_ACCOUNT_FILE: no file at" in capsys.readouterr().out
    (tmp_path / "broken.json").write_text('{"type": "service_account"}')
    env.setenv("GOOGLE_SERVICE_ACCOUNT_FILE", str(tmp_path / "broken.json"))
    assert pull() == 1
    assert "is not a service account key" in capsys.readouterr().out


def test_a_429_is_honoured_on_the_token_and_the_listing(
    env: pytest.MonkeyPatch, google: FakeGoogle, capsys: pytest.CaptureFixture[str]
) -> None:
    google.fail(429, retry_after=1, path=fake_google.TOKEN_PATH)
    google.fail(429, retry_after=1, path=fake_google.ACTIVITIES)
    assert pull() == 0
    assert google.early_requests == []
    assert "2 rate limited" in capsys.readouterr().out
    assert facts(capsys, "ana@example.com")["artifacts"]["created"] == 1


def test_the_owner_s_dm_says_nobody_else_opened_it(
    env: pytest.MonkeyPatch, database_url: str, engine: Engine
) -> None:
    assert pull() == 0
    dm = weekly_dm(engine, database_url, "ana@example.com", W47, NOW)
    assert "1 doc created, 0 viewed by others." in dm.text
    assert "0 of 1 · 0 people" in json.dumps(dm.blocks, ensure_ascii=False)


# The adapter on its own -----------------------------------------------------------------------


def parse(items: list[dict[str, Any]]) -> Any:
    body = json.dumps({"kind": "admin#reports#activities", "items": items}).encode()
    return google_drive.parse(body, "application/json")


def test_kinds_owner_traits_and_what_is_skipped() -> None:
    sheet = drive_activity(
        "2026-11-17T09:00:00Z",
        "ben@example.com",
        "create",
        doc_id="s1",
        doc_type="spreadsheet",
        title="Pipeline",
        owner="ben@example.com",
    )
    deck = drive_activity(
        "2026-11-17T09:00:00Z", "cal@example.com", "create", doc_id="d1", doc_type="presentation"
    )
    result = parse([*week_activities(), sheet, deck])
    assert not result.rejected
    created = {e.artifact.external_id: e for e in result.events}
    assert {k: (e.artifact.kind, e.actor.value) for k, e in created.items()} == {
        DOC: ("doc", "ana@example.com"),
        "s1": ("report", "ben@example.com"),
        "d1": ("deck", "cal@example.com"),  # no owner parameter: the creator is the actor
    }
    assert created["s1"].artifact.kind_label == "spreadsheet"
    assert created[DOC].artifact.traits.author == "ana@example.com"
    assert created[DOC].artifact.title == "Q4 plan"


def test_a_shared_drive_document_keeps_views_by_anyone() -> None:
    doc = drive_activity(
        "2026-11-17T09:00:00Z", "ben@example.com", "view", doc_id="x", owner="Team drive"
    )
    doc["events"][0]["parameters"].append({"name": "owner_is_shared_drive", "boolValue": True})
    [view] = parse([doc]).events
    assert view.key == "viewer/x/email/ben@example.com/2026-W47"


def test_a_bad_activity_is_rejected_and_an_empty_page_is_fine() -> None:
    broken = drive_activity("not a time", "ben@example.com", "create", doc_id="y")
    result = parse([broken, *week_activities()[:1]])
    assert [r.index for r in result.rejected] == [0]
    assert "id.time" in result.rejected[0].error
    assert len(result.events) == 1
    empty = google_drive.parse(b'{"kind": "admin#reports#activities"}', "application/json")
    assert empty.events == [] and empty.rejected == []
