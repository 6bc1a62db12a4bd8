"""Erasing a person deletes their digests' chart images from Slack too: ``ai-roi forget`` and
``delete_charts`` against the fake Slack (the App Home's "Delete my data" is in test_app_home)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from slack_sdk import WebClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.cli import main
from bot.outbound.gate import RateGate
from bot.slack.forget_charts import delete_charts
from bot.store.db import transaction
from bot.store.forget import chart_files
from bot.store.models import Delivery, Person
from fakes.slack_api import FakeSlack

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        yield fake
        assert fake.internal_errors == []


@pytest.fixture
def client(slack: FakeSlack) -> WebClient:
    return WebClient(token=slack.token, base_url=slack.base_url, timeout=5)


def gate() -> RateGate:
    return RateGate(min_interval=0)


def upload(client: WebClient, count: int) -> list[str]:
    return [
        client.files_upload_v2(content=PNG, filename=f"chart-{i}.png")["file"]["id"]
        for i in range(count)
    ]


def ana_with_charts(engine: Engine, charts: list[str]) -> None:
    with transaction(engine) as session:
        person = Person(email="ana@example.com", slack_user_id="UANA")
        session.add(person)
        session.flush()
        assert person.id is not None
        for week, chart in enumerate(charts, start=40):
            session.add(
                Delivery(
                    person_id=person.id, week=f"2026-W{week}", status="sent", chart_file_id=chart
                )
            )
        session.add(Delivery(person_id=person.id, week="2026-W39", status="sent"))  # no chart


def test_chart_files_are_the_persons_charts(engine: Engine, client: WebClient) -> None:
    charts = upload(client, 2)
    ana_with_charts(engine, charts)
    with Session(engine) as session:
        assert sorted(chart_files(session, "ana@example.com")) == sorted(charts)


def test_delete_charts_counts_what_slack_no_longer_had(slack: FakeSlack, client: WebClient) -> None:
    first, second = upload(client, 2)
    client.files_delete(file=second)  # deleted by hand before
    result = delete_charts(client, [first, second, first], gate=gate())
    assert (result.deleted, result.already_gone, result.left) == (1, 1, [])
    assert slack.deleted_files == [second, first]


def test_a_refused_token_leaves_the_rest_and_says_why(slack: FakeSlack, client: WebClient) -> None:
    charts = upload(client, 3)
    slack.fail_next("files.delete", "invalid_auth")
    result = delete_charts(client, charts, gate=gate())
    assert result.deleted == 0 and result.left == charts
    assert result.reason is not None and "invalid_auth" in result.reason


def test_one_failure_does_not_stop_the_others(slack: FakeSlack, client: WebClient) -> None:
    charts = upload(client, 2)
    slack.fail_next("files.delete", "cant_delete_file")
    result = delete_charts(client, charts, gate=gate())
    assert (result.deleted, result.left) == (1, [charts[0]])
    assert result.reason is not None and "cant_delete_file" in result.reason


def test_forget_deletes_the_chart_images_from_slack(
    monkeypatch: pytest.MonkeyPatch,
    database_url: str,
    engine: Engine,
    slack: FakeSlack,
    client: WebClient,
    capsys: pytest.CaptureFixture[str],
) -> None:
    charts = upload(client, 2)
    ana_with_charts(engine, charts)
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("SLACK_BOT_TOKEN", slack.token)
    monkeypatch.setenv("SLACK_API_URL", slack.base_url)
    assert main(["forget", "--user", "ana@example.com"]) == 0
    out = capsys.readouterr().out
    assert "erased ana@example.com" in out and "deleted 2 chart images from Slack" in out
    assert sorted(slack.deleted_files) == sorted(charts)
    with Session(engine) as session:
        assert session.exec(select(Delivery)).all() == []


def test_forget_without_slack_erases_and_names_the_images_left(
    monkeypatch: pytest.MonkeyPatch,
    database_url: str,
    engine: Engine,
    client: WebClient,
    capsys: pytest.CaptureFixture[str],
) -> None:
    charts = upload(client, 1)
    ana_with_charts(engine, charts)
    monkeypatch.setenv("DATABASE_URL", database_url)
    assert main(["forget", "--user", "ana@example.com"]) == 1
    err = capsys.readouterr().err
    assert "1 chart images stay in Slack (SLACK_BOT_TOKEN is not set)" in err
    assert "the database erase is complete" in err and charts[0] in err
    with Session(engine) as session:
        assert session.exec(select(Person)).all() == []
