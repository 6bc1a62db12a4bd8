"""The App Home for everyone, through signed requests into the real app and the fake Slack Web
API: the home itself, my settings (day and time, snooze, share default), unsnooze, export,
delete with its confirm dialog, and requests with a stale or forged signature."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from slack_sdk import WebClient
from sqlmodel import Session, col, select

from bot.context import AppContext
from bot.domain.directory import parse_directory
from bot.domain.weeks import Week
from bot.ingest.pipeline import ingest_body
from bot.slack import ids
from bot.slack.blocks.home import SHARE_DEFAULT
from bot.slack.digest_delivery import run_digest
from bot.store.db import transaction
from bot.store.directory import apply_directory
from bot.store.models import AuditEntry, Delivery, Event, Person
from bot.store.workspace import default_schedule
from fakes.blockkit import assert_valid_view
from fakes.slack_api import FakeSlack
from fakes.slack_requests import (
    app_home_opened,
    view_submission,
)
from jobs.digest_tick import due_people
from tests.conftest import FROZEN_NOW, LiveServer, make_settings
from tests.helpers import artifact_event, dumps, usage_event
from tests.support.slack_app import eventually, press_home, send, serve_with_slack, slack_digest

W47 = Week(2026, 47)
BERLIN = ZoneInfo("Europe/Berlin")
DIRECTORY = """email,name,team,lead_of,slack_user_id
ana@example.com,Ana Lopez,Data,,UANA
"""


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        fake.add_user(id="UANA", email="ana@example.com", real_name="Ana Lopez", tz="Europe/Berlin")
        yield fake


@pytest.fixture
def app(context: AppContext, database_url: str, slack: FakeSlack) -> Iterator[LiveServer]:
    with transaction(context.engine) as session:
        apply_directory(session, parse_directory(DIRECTORY).rows)
    events = [
        usage_event(
            "u1", "ana@example.com", "2026-11-18T09:00:00Z", input_tokens=5000, output_tokens=500
        ),
        usage_event(
            "u2", "ana@example.com", "2026-11-24T09:00:00Z", input_tokens=7000, output_tokens=700
        ),
        artifact_event(
            "a1", "artifact.created", "ana@example.com", "2026-11-18T09:00:00Z", "d1", "dashboard"
        ),
    ]
    ingest_body(context.engine, "usage", dumps(events), "application/json")
    with Session(context.engine) as session:
        ana = session.exec(select(Person).where(Person.email == "ana@example.com")).one()
        ana.tz = "Europe/Berlin"
        session.add(ana)
        session.commit()
        session.refresh(ana)
    slack_digest(context, ana, W47, slack)
    with serve_with_slack(context, database_url, slack) as live:
        yield live


def ana(context: AppContext) -> Person:
    with Session(context.engine) as session:
        return session.exec(select(Person).where(Person.email == "ana@example.com")).one()


def home_text(slack: FakeSlack, user: str = "UANA") -> str:
    view = slack.home_view(user)
    assert view is not None
    assert_valid_view(view)
    return json.dumps(view)


def opened_modal(slack: FakeSlack, callback_id: str) -> dict[str, Any]:
    views = [v.view for v in slack.views if v.method == "views.open"]
    mine = [v for v in views if v.get("callback_id") == callback_id]
    assert mine, f"no {callback_id} modal opened"
    assert_valid_view(mine[-1])
    return mine[-1]


def settings_values(
    weekday: str = "3",
    time_text: str = "07:30",
    snooze: str | None = None,
    share: bool = False,
) -> dict[str, dict[str, Any]]:
    option = {"text": {"type": "plain_text", "text": "x"}, "value": weekday}
    share_options = (
        [{"text": {"type": "plain_text", "text": "share"}, "value": SHARE_DEFAULT}] if share else []
    )
    return {
        "digest_weekday": {"value": {"type": "static_select", "selected_option": option}},
        "digest_time": {"value": {"type": "timepicker", "selected_time": time_text}},
        "snooze_until": {"value": {"type": "datepicker", "selected_date": snooze}},
        "share_with_lead": {"value": {"type": "checkboxes", "selected_options": share_options}},
    }


def submit_settings(live: LiveServer, **values: Any) -> Any:
    request = view_submission(
        user_id="UANA", callback_id=ids.MY_SETTINGS_VIEW, values=settings_values(**values)
    )
    return send(live, request)


def test_app_home_opened_publishes_my_week_settings_and_the_transparency_panel(
    app: LiveServer, slack: FakeSlack
) -> None:
    assert send(app, app_home_opened(user_id="UANA")).status_code == 200
    assert eventually(lambda: slack.home_view("UANA"))
    text = home_text(slack)
    assert "My AI week so far" in text and "7.7K tokens" in text  # this week: u2 only
    assert "My last digest" in text and "2026-W47" in text
    assert "Mondays at 09:00, your time (Europe/Berlin) (the workspace default)" in text
    assert "at least *5* members" in text and "180 days" in text and "Never* prompt" in text
    assert ids.HOME_MY_SETTINGS in text and ids.HOME_EXPORT in text and ids.HOME_DELETE in text
    assert "Audit log" not in text and ids.ADMIN_LLM not in text  # Ana is no admin


def test_my_settings_modal_saves_day_time_snooze_and_share_default(
    app: LiveServer, slack: FakeSlack, context: AppContext
) -> None:
    assert press_home(app, slack, ids.HOME_MY_SETTINGS, "UANA").status_code == 200
    assert eventually(lambda: slack.calls_to("views.open"))
    modal = opened_modal(slack, ids.MY_SETTINGS_VIEW)
    blocks = {b["block_id"]: b for b in modal["blocks"]}
    assert blocks["digest_weekday"]["element"]["initial_option"]["value"] == "0"
    assert blocks["digest_time"]["element"]["initial_time"] == "09:00"
    assert "Europe/Berlin" in json.dumps(blocks["digest_time"])

    response = submit_settings(app, snooze="2026-12-10", share=True)
    assert response.status_code == 200 and response.text in ("", "{}")
    person = ana(context)
    assert (person.digest_weekday, person.digest_minute) == (3, 7 * 60 + 30)
    assert person.snoozed_until == datetime(2026, 12, 10, tzinfo=BERLIN).astimezone(UTC)
    assert person.share_with_lead_default is True
    assert eventually(lambda: slack.home_view("UANA"))
    text = home_text(slack)
    assert "Thursdays at 07:30, your time (Europe/Berlin)" in text
    assert "the workspace default" not in text
    assert "Snoozed" in text and ids.HOME_UNSNOOZE in text
    assert "on by default" in text

    # The hourly tick reads the new slot in Ana's own time zone.
    with Session(context.engine) as session:
        default = default_schedule(session)
        person = session.exec(select(Person).where(Person.email == "ana@example.com")).one()
    thursday_0729_berlin = datetime(2026, 11, 26, 7, 29, tzinfo=BERLIN).astimezone(UTC)
    assert due_people([person], thursday_0729_berlin, UTC, default) == {}
    assert due_people([person], thursday_0729_berlin + timedelta(minutes=2), UTC, default) == {
        Week(2026, 47): [person]
    }

    # Unsnooze from the home.
    assert press_home(app, slack, ids.HOME_UNSNOOZE, "UANA").status_code == 200
    assert eventually(lambda: ana(context).snoozed_until is None)


def test_an_unchanged_slot_keeps_following_the_workspace_default(
    app: LiveServer, slack: FakeSlack, context: AppContext
) -> None:
    response = submit_settings(app, weekday="0", time_text="09:00")
    assert response.status_code == 200
    person = ana(context)
    assert (person.digest_weekday, person.digest_minute) == (None, None)
    assert person.snoozed_until is None and person.share_with_lead_default is False


@pytest.mark.parametrize(
    ("values", "errors"),
    [
        ({"snooze": "2026-11-25"}, {"snooze_until": "Pick a date after today, or leave it empty."}),
        ({"snooze": "2028-01-01"}, {"snooze_until": "Snooze at most a year ahead."}),
        ({"snooze": "not-a-date"}, {"snooze_until": "Pick a date."}),
        ({"time_text": "25:00"}, {"digest_time": "Pick a time."}),
        (
            {"weekday": "9", "time_text": ""},
            {
                "digest_weekday": "Pick a day of the week.",
                "digest_time": "Pick a time.",
            },
        ),
    ],
)
def test_my_settings_field_errors_change_nothing(
    app: LiveServer, context: AppContext, values: dict[str, Any], errors: dict[str, str]
) -> None:
    response = submit_settings(app, share=True, **values)
    assert response.json() == {"response_action": "errors", "errors": errors}
    person = ana(context)
    assert person.digest_weekday is None and person.snoozed_until is None
    assert person.share_with_lead_default is False


def test_export_sends_my_data_as_a_file_to_my_dm(
    app: LiveServer, slack: FakeSlack, context: AppContext
) -> None:
    assert press_home(app, slack, ids.HOME_EXPORT, "UANA").status_code == 200
    files = eventually(lambda: [f for f in slack.files_to("UANA") if f.completed])
    assert len(files) == 1
    data = json.loads(files[0].content or b"")
    assert files[0].filename == "ai-roi-my-data.json"
    assert data["person"]["email"] == "ana@example.com"
    assert {e["input_tokens"] for e in data["events"] if e["type"] == "ai.usage"} == {5000, 7000}
    assert [d["week"] for d in data["digests"]] == ["2026-W47"]


def test_delete_my_data_asks_first_then_erases_and_the_home_says_so(
    app: LiveServer, slack: FakeSlack, context: AppContext
) -> None:
    assert press_home(app, slack, ids.HOME_DELETE, "UANA").status_code == 200
    assert eventually(lambda: slack.calls_to("views.open"))
    opened_modal(slack, ids.DELETE_CONFIRM_VIEW)
    with Session(context.engine) as session:
        assert session.exec(select(Event)).all()  # nothing erased by the button itself

    confirm = view_submission(user_id="UANA", callback_id=ids.DELETE_CONFIRM_VIEW)
    assert send(app, confirm).status_code == 200
    assert eventually(lambda: slack.home_view("UANA"))
    with Session(context.engine) as session:
        assert session.exec(select(Event)).all() == []
        assert session.exec(select(Delivery)).all() == []
        forget = session.exec(select(AuditEntry).where(AuditEntry.action == "person.forget")).one()
    assert forget.actor == "UANA" and "ana@example.com" not in (forget.details or "")
    text = home_text(slack)
    assert "You deleted your ai-roi data" in text
    assert "Nothing recorded yet this week" in text and "No digest yet" in text
    assert ana(context).opted_out  # deleting also stops the digests until they opt back in


def test_delete_my_data_deletes_the_chart_images_from_slack_too(
    app: LiveServer, slack: FakeSlack, context: AppContext
) -> None:
    client = WebClient(token=slack.token, base_url=slack.base_url, timeout=5)
    charts = [
        client.files_upload_v2(content=b"\x89PNG\r\n\x1a\n", filename=f"chart-{week}.png")["file"][
            "id"
        ]
        for week in ("W46", "W47")
    ]
    with transaction(context.engine) as session:
        person_id = ana(context).id
        assert person_id is not None
        for week, chart in zip(("2026-W44", "2026-W45"), charts, strict=True):
            session.add(
                Delivery(person_id=person_id, week=week, status="sent", chart_file_id=chart)
            )
    deleted_before = slack.deleted_files == []

    confirm = view_submission(user_id="UANA", callback_id=ids.DELETE_CONFIRM_VIEW)
    assert send(app, confirm).status_code == 200
    assert deleted_before and eventually(lambda: sorted(slack.deleted_files) == sorted(charts))
    assert slack.files == []


@pytest.mark.parametrize("sign", [{"age": 600}, {"secret": "not-the-secret"}])
def test_stale_or_forged_requests_are_refused_and_change_nothing(
    app: LiveServer, slack: FakeSlack, context: AppContext, sign: dict[str, Any]
) -> None:
    assert press_home(app, slack, ids.HOME_MY_SETTINGS, "UANA", **sign).status_code == 401
    assert press_home(app, slack, ids.HOME_OPT_OUT, "UANA", **sign).status_code == 401
    request = view_submission(
        user_id="UANA", callback_id=ids.MY_SETTINGS_VIEW, values=settings_values(share=True)
    )
    assert send(app, request, **sign).status_code == 401
    confirm = view_submission(user_id="UANA", callback_id=ids.DELETE_CONFIRM_VIEW)
    assert send(app, confirm, **sign).status_code == 401
    time.sleep(0.2)
    assert slack.calls_to("views.open") == [] and slack.calls_to("views.publish") == []
    person = ana(context)
    assert person.digest_weekday is None and not person.opted_out
    assert not person.share_with_lead_default
    with Session(context.engine) as session:
        assert session.exec(select(Event)).all()


def test_opt_out_toggles_and_republishes(
    app: LiveServer, slack: FakeSlack, context: AppContext
) -> None:
    assert press_home(app, slack, ids.HOME_OPT_OUT, "UANA").status_code == 200
    assert eventually(lambda: ana(context).opted_out)
    assert eventually(lambda: "Opt back in" in json.dumps(slack.home_view("UANA") or {}))
    home_text(slack)


def test_today_for_a_snooze_is_today_in_my_time_zone(
    app: LiveServer, context: AppContext, clock: dict[str, datetime]
) -> None:
    """At 23:30 UTC on Nov 25 it is already Nov 26 in Berlin, so Nov 26 is no longer ahead."""
    clock["now"] = datetime(2026, 11, 25, 23, 30, tzinfo=UTC)
    response = submit_settings(app, snooze="2026-11-26")
    assert response.json()["errors"] == {
        "snooze_until": "Pick a date after today, or leave it empty."
    }
    assert submit_settings(app, snooze="2026-11-27").status_code == 200
    assert ana(context).snoozed_until == datetime(2026, 11, 26, 23, 0, tzinfo=UTC)


def share_confirm(slack: FakeSlack) -> str:
    message = slack.dms_to("UANA")[-1]
    actions = next(b for b in message.blocks or [] if b["type"] == "actions")
    share = next(e for e in actions["elements"] if e["action_id"] == ids.DIGEST_SHARE)
    return str(share["confirm"]["text"]["text"])


def test_the_share_default_shows_in_the_digest_confirm_but_sharing_still_needs_a_press(
    app: LiveServer, slack: FakeSlack, context: AppContext, database_url: str
) -> None:
    from bot.slack.dm import slack_deliverer

    settings = make_settings(
        database_url, slack_bot_token=slack.token, slack_api_url=slack.base_url
    )
    slack_context = AppContext(settings, context.engine, context.clock)

    def digest(week: Week) -> None:
        run_digest(
            context.engine,
            [ana(context)],
            week=week,
            tz=UTC,
            deliverer=slack_deliverer(slack_context),
            now=FROZEN_NOW,
        )

    earlier = [
        usage_event("u46", "ana@example.com", "2026-11-11T09:00:00Z", input_tokens=900),
        usage_event("u45", "ana@example.com", "2026-11-04T09:00:00Z", input_tokens=800),
    ]
    ingest_body(context.engine, "usage", dumps(earlier), "application/json")
    digest(Week(2026, 45))
    assert "by default" not in share_confirm(slack)
    assert submit_settings(app, weekday="0", time_text="09:00", share=True).status_code == 200
    digest(Week(2026, 46))
    assert "You chose to share your digests with your lead by default" in share_confirm(slack)
    # the W47 digest from the fixture, then W45 and W46: nothing went to anyone else
    assert [m.user for m in slack.messages] == ["UANA", "UANA", "UANA"]
    with Session(context.engine) as session:
        shared = session.exec(
            select(Delivery).where(col(Delivery.shared_with_lead_at).is_not(None))
        )
        assert shared.all() == []
