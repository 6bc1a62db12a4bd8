"""The 8-week chart of a person's AI-assisted artifacts: the series (one grouped query, the facts'
rules, purged weeks from weekly_totals), the PNG, and its way into the DM and the App Home through
the fake Slack's external upload flow, with the text line whenever there is no image."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import UTC
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from PIL import Image
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.context import AppContext
from bot.digest.deliverers import ConsoleDeliverer
from bot.digest.weekly_facts import facts_for_many
from bot.domain.ai_history import (
    NO_AI_ARTIFACTS,
    AiWeek,
    alt_text,
    chart_weeks,
    fallback_line,
)
from bot.domain.directory import parse_directory
from bot.domain.weeks import Week, parse_week
from bot.ingest.pipeline import ingest_body
from bot.outbound.gate import RateGate
from bot.slack.blocks.digest import CHART_BLOCK_ID
from bot.slack.chart import HEIGHT, WIDTH, filename, render_chart
from bot.slack.chart_upload import ChartUploader
from bot.slack.digest_delivery import run_digest
from bot.slack.dm import slack_deliverer
from bot.slack.web_api import COMPLETE_UPLOAD, GET_UPLOAD_URL, UploadGates
from bot.store import ai_history
from bot.store.db import transaction
from bot.store.directory import apply_directory
from bot.store.models import Artifact, Delivery, Person, WeeklyTotal
from fakes.blockkit import assert_valid_message, assert_valid_view, check_message, check_view
from fakes.reference_facts import reference_facts
from fakes.slack_api import FakeSlack
from fakes.slack_requests import app_home_opened
from tests.conftest import FROZEN_NOW, make_settings
from tests.helpers import artifact_event, dumps, usage_event
from tests.support.slack_app import eventually, send, serve_with_slack

W47 = Week(2026, 47)
UTC_ZONE = UTC
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
DIRECTORY = """email,name,team,lead_of,slack_user_id
ana@example.com,Ana Lopez,Data,,UANA
ben@example.com,Ben Haddad,Data,,UBEN
cem@example.com,Cem Kaya,Data,,UCEM
"""


def series(*rows: tuple[int, int, int], last: Week = W47) -> tuple[AiWeek, ...]:
    weeks = chart_weeks(last, len(rows))
    return tuple(AiWeek(str(w), c, v, u) for w, (c, v, u) in zip(weeks, rows, strict=True))


SAMPLE = series(
    (3, 1, 0), (2, 2, 1), (5, 3, 2), (0, 0, 0), (12, 4, 1), (7, 7, 3), (1, 0, 0), (4, 2, 2)
)


# The series in words ------------------------------------------------------------------------


def test_the_eight_weeks_end_with_the_digests_week() -> None:
    weeks = chart_weeks(parse_week("2026-W03"))
    assert [str(w) for w in weeks] == [
        "2025-W48",
        "2025-W49",
        "2025-W50",
        "2025-W51",
        "2025-W52",
        "2026-W01",
        "2026-W02",
        "2026-W03",
    ]


def test_the_text_line_and_the_alt_text_state_every_number() -> None:
    line = fallback_line(SAMPLE)
    assert line.startswith("Last 8 weeks (W40–W47), AI-assisted artifacts")
    assert "created: 3 2 5 0 12 7 1 4;" in line
    assert "opened by others: 1 2 3 0 4 7 0 2;" in line
    assert line.endswith("used: 0 1 2 0 1 3 0 2")
    alt = alt_text(SAMPLE)
    assert "2026-W44: 12 created, 4 opened by others, 1 used" in alt
    assert alt.count("created") == 8
    quiet = series(*[(0, 0, 0)] * 8)
    assert fallback_line(quiet) == NO_AI_ARTIFACTS == fallback_line(())


# The picture --------------------------------------------------------------------------------


def test_the_chart_is_a_png_of_the_expected_size_and_the_same_for_the_same_data() -> None:
    png = render_chart(SAMPLE)
    assert png.startswith(PNG_SIGNATURE)
    with Image.open(io.BytesIO(png)) as image:
        image.verify()
    with Image.open(io.BytesIO(png)) as image:
        assert image.format == "PNG" and image.size == (WIDTH, HEIGHT)
        colours = {colour for _, colour in image.convert("RGB").getcolors(WIDTH * HEIGHT) or []}
    assert {(0, 114, 178), (230, 159, 0), (0, 158, 115)} <= colours  # the three series
    assert render_chart(SAMPLE) == png


def test_the_chart_changes_with_the_data() -> None:
    png = render_chart(SAMPLE)
    one_more = (*SAMPLE[:-1], AiWeek(SAMPLE[-1].week, 5, 2, 2))
    assert render_chart(one_more) != png
    assert render_chart(series(*[(1, 0, 0)] * 8)) != render_chart(series(*[(0, 0, 1)] * 8))


def test_the_file_name_holds_the_week_only() -> None:
    assert filename("2026-W47") == "ai-artifacts-2026-W47.png"
    with pytest.raises(ValueError):
        render_chart(())


# The series from the database ---------------------------------------------------------------


def ingest(engine: Engine, events: list[dict[str, Any]]) -> None:
    result = ingest_body(engine, "usage", dumps(events), "application/json")
    assert result.rejected == [], result.rejected


def mark_ai(engine: Engine, *external_ids: str) -> None:
    with transaction(engine) as session:
        session.execute(
            sa.update(Artifact)
            .where(col(Artifact.external_id).in_(external_ids))
            .values(ai_assisted=True)
        )


def people(engine: Engine) -> dict[str, Person]:
    with Session(engine) as session:
        return {p.email.split("@")[0]: p for p in session.exec(select(Person)).all()}


def created(event_id: str, who: str, at: str, artifact: str) -> dict[str, Any]:
    return artifact_event(
        event_id, "artifact.created", f"{who}@example.com", at, artifact, "report"
    )


def viewed(event_id: str, who: str, at: str, artifact: str) -> dict[str, Any]:
    return artifact_event(event_id, "artifact.viewed", f"{who}@example.com", at, artifact)


def used(event_id: str, who: str, at: str, artifact: str) -> dict[str, Any]:
    return artifact_event(event_id, "artifact.used", f"{who}@example.com", at, artifact)


@pytest.fixture
def org(engine: Engine) -> Engine:
    with transaction(engine) as session:
        apply_directory(session, parse_directory(DIRECTORY).rows)
    ingest(
        engine,
        [
            # W40: an AI report Ben opened that week, and Ana's own view (never counted)
            created("c1", "ana", "2026-09-29T10:00:00Z", "r1"),
            viewed("v1", "ben", "2026-09-30T10:00:00Z", "r1"),
            viewed("v2", "ana", "2026-09-30T11:00:00Z", "r1"),
            # W45: one opened only by Ana herself, one used in the next week (too late for W45)
            created("c2", "ana", "2026-11-03T10:00:00Z", "r2"),
            viewed("v3", "ana", "2026-11-04T10:00:00Z", "r2"),
            created("c3", "ana", "2026-11-05T10:00:00Z", "r3"),
            used("x1", "ben", "2026-11-10T10:00:00Z", "r3"),
            # W47: two AI reports, one opened by Cem and used; one report not AI-assisted
            created("c4", "ana", "2026-11-16T10:00:00Z", "r4"),
            viewed("v4", "cem", "2026-11-17T10:00:00Z", "r4"),
            used("x2", "cem", "2026-11-18T10:00:00Z", "r4"),
            created("c5", "ana", "2026-11-19T10:00:00Z", "r5"),
            created("c6", "ana", "2026-11-20T10:00:00Z", "plain"),
            # W48, after the digest's week: outside the chart
            created("c7", "ana", "2026-11-24T10:00:00Z", "r7"),
            # Ben: an AI report before the eight weeks, and one in W46
            created("c8", "ben", "2026-09-21T10:00:00Z", "b1"),
            created("c9", "ben", "2026-11-10T10:00:00Z", "b2"),
            viewed("v5", "ana", "2026-11-11T10:00:00Z", "b2"),
            usage_event("u2", "ben@example.com", "2026-11-18T09:00:00Z"),
            # Cem: nothing AI-assisted, only usage
            usage_event("u1", "cem@example.com", "2026-11-18T09:00:00Z"),
        ],
    )
    mark_ai(engine, "r1", "r2", "r3", "r4", "r5", "r7", "b1", "b2")
    return engine


def test_the_series_follows_the_facts_rules(org: Engine) -> None:
    who = people(org)
    ids = [p.id for p in who.values() if p.id is not None]
    weeks = chart_weeks(W47)
    with Session(org) as session:
        found = ai_history.ai_history(session, ids, weeks, UTC_ZONE)
    ana = found[who["ana"].id or 0]
    assert [w.week for w in ana] == [str(w) for w in weeks]
    by_week = {w.week: (w.created, w.viewed_by_others, w.used) for w in ana}
    assert by_week == {
        "2026-W40": (1, 1, 0),
        "2026-W41": (0, 0, 0),
        "2026-W42": (0, 0, 0),
        "2026-W43": (0, 0, 0),
        "2026-W44": (0, 0, 0),
        "2026-W45": (2, 0, 0),
        "2026-W46": (0, 0, 0),
        "2026-W47": (2, 1, 1),
    }
    ben = {w.week: (w.created, w.viewed_by_others, w.used) for w in found[who["ben"].id or 0]}
    assert ben["2026-W46"] == (1, 1, 0) and sum(c for c, _, _ in ben.values()) == 1
    assert who["cem"].id not in found  # nothing to draw: no series at all


def test_purged_weeks_count_from_the_weekly_totals(org: Engine) -> None:
    who = people(org)
    ana_id = who["ana"].id or 0
    start, _ = parse_week("2026-W42").bounds(UTC_ZONE)
    with transaction(org) as session:
        session.add(
            WeeklyTotal(
                person_id=ana_id,
                week="2026-W42",
                week_start=start,
                ai_artifacts_created=4,
                ai_artifacts_viewed_by_others=3,
                ai_artifacts_used=1,
            )
        )
    with Session(org) as session:
        found = ai_history.ai_history(session, [ana_id], chart_weeks(W47), UTC_ZONE)
    by_week = {w.week: (w.created, w.viewed_by_others, w.used) for w in found[ana_id]}
    assert by_week["2026-W42"] == (4, 3, 1)
    assert by_week["2026-W47"] == (2, 1, 1)
    with Session(org) as session:
        assert reference_facts(session, who["ana"], W47, UTC_ZONE).ai_history == found[ana_id]


def test_the_facts_carry_the_series_for_a_whole_batch(org: Engine) -> None:
    who = people(org)
    everyone = sorted(who.values(), key=lambda p: p.email)
    with Session(org) as session:
        batched = facts_for_many(session, everyone, W47, UTC_ZONE, batch_size=2)
        alone = {
            p.id: facts_for_many(session, [p], W47, UTC_ZONE)[p.id or 0].ai_history
            for p in everyone
        }
    assert {pid: f.ai_history for pid, f in batched.items()} == alone
    with Session(org) as session:  # one plain query per number, person by person
        assert {p.id: reference_facts(session, p, W47, UTC_ZONE) for p in everyone} == batched
    assert batched[who["ana"].id or 0].ai_history[-1] == AiWeek("2026-W47", 2, 1, 1)
    assert batched[who["cem"].id or 0].ai_history == ()
    assert "ai_history" not in json.dumps(batched[who["ana"].id or 0].to_json())


# Through the fake Slack ---------------------------------------------------------------------


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        fake.add_user(id="UANA", email="ana@example.com", real_name="Ana Lopez")
        fake.add_user(id="UBEN", email="ben@example.com", real_name="Ben Haddad")
        fake.add_user(id="UCEM", email="cem@example.com", real_name="Cem Kaya")
        yield fake


@pytest.fixture
def gates() -> UploadGates:
    """Upload gates of this test alone (the process-wide ones would carry a Retry-After over)."""
    return UploadGates(RateGate(min_interval=0), RateGate(min_interval=0))


def deliver(context: AppContext, slack: FakeSlack, gates: UploadGates, *names: str) -> list[Any]:
    settings = make_settings(
        context.settings.database_url, slack_bot_token=slack.token, slack_api_url=slack.base_url
    )
    deliverer = slack_deliverer(AppContext(settings, context.engine, context.clock))
    assert deliverer.charts is not None
    deliverer.charts.gates = gates
    who = people(context.engine)
    chosen = [who[name] for name in names]
    with Session(context.engine) as session:
        facts = facts_for_many(session, chosen, W47, UTC_ZONE)
    return run_digest(
        context.engine,
        chosen,
        week=W47,
        tz=UTC_ZONE,
        deliverer=deliverer,
        now=FROZEN_NOW,
        facts=facts,
    )


def only_block(blocks: list[dict[str, Any]] | None, block_id: str) -> dict[str, Any]:
    mine = [b for b in blocks or [] if b.get("block_id") == block_id]
    assert len(mine) == 1, blocks
    return mine[0]


def delivery_of(engine: Engine, person: Person) -> Delivery:
    with Session(engine) as session:
        row = session.exec(select(Delivery).where(Delivery.person_id == person.id)).one()
        session.expunge(row)
        return row


def test_the_dm_shows_the_uploaded_chart(
    org: Engine, context: AppContext, slack: FakeSlack, gates: UploadGates
) -> None:
    outcomes = deliver(context, slack, gates, "ana")
    assert [o.status for o in outcomes] == ["sent"]
    [dm] = slack.dms_to("UANA")
    assert_valid_message(dm.blocks, dm.text)
    image = only_block(dm.blocks, CHART_BLOCK_ID)
    [uploaded] = slack.files
    assert image["type"] == "image" and image["slack_file"] == {"id": uploaded.id}
    history = outcomes[0].facts.ai_history
    assert uploaded.content == render_chart(history)  # exactly the bytes drawn from her series
    assert uploaded.length == len(uploaded.content)
    assert image["alt_text"] == alt_text(history)
    assert "2026-W47: 2 created, 1 opened by others, 1 used" in image["alt_text"]
    assert uploaded.filename == "ai-artifacts-2026-W47.png" and "ana" not in uploaded.filename
    assert uploaded.channels == [] and uploaded.completed  # private to the app
    assert [c.method for c in slack.calls if c.method != "users.lookupByEmail"] == [
        GET_UPLOAD_URL,
        "upload",
        COMPLETE_UPLOAD,
        "chat.postMessage",
    ]
    [complete] = slack.calls_to(COMPLETE_UPLOAD)
    assert "channel_id" not in complete.args and "channels" not in complete.args
    assert fallback_line(history) in (dm.text or "")  # the notification text keeps the numbers
    assert delivery_of(org, people(org)["ana"]).chart_file_id == uploaded.id


def test_no_ai_artifact_means_no_upload_and_the_text_says_so(
    org: Engine, context: AppContext, slack: FakeSlack, gates: UploadGates
) -> None:
    assert [o.status for o in deliver(context, slack, gates, "cem")] == ["sent"]
    [dm] = slack.dms_to("UCEM")
    note = only_block(dm.blocks, CHART_BLOCK_ID)
    assert note["type"] == "context" and NO_AI_ARTIFACTS in json.dumps(note)
    assert NO_AI_ARTIFACTS in (dm.text or "")
    assert slack.calls_to(GET_UPLOAD_URL) == [] and slack.files == []
    assert delivery_of(org, people(org)["cem"]).chart_file_id is None


def assert_text_instead_of_chart(slack: FakeSlack, user: str) -> None:
    [dm] = slack.dms_to(user)
    block = only_block(dm.blocks, CHART_BLOCK_ID)
    assert block["type"] == "section"
    assert "AI-assisted artifacts — created:" in block["text"]["text"]
    assert "AI-assisted artifacts — created:" in (dm.text or "")
    assert not any(b["type"] == "image" for b in dm.blocks or [])


@pytest.mark.parametrize(
    ("method", "error"),
    [
        (GET_UPLOAD_URL, "ratelimited"),
        (GET_UPLOAD_URL, "internal_error"),
        (COMPLETE_UPLOAD, "file_not_found"),
        (COMPLETE_UPLOAD, "ratelimited"),
    ],
)
def test_a_failed_upload_still_sends_the_dm_once_with_the_text(
    org: Engine,
    context: AppContext,
    slack: FakeSlack,
    gates: UploadGates,
    method: str,
    error: str,
) -> None:
    slack.fail_next(method, error, retry_after=30)
    assert [o.status for o in deliver(context, slack, gates, "ana")] == ["sent"]
    assert len(slack.calls_to("chat.postMessage")) == 1
    assert_text_instead_of_chart(slack, "UANA")
    assert len(slack.calls_to(method)) == 1  # tried once, never again for this DM
    assert delivery_of(org, people(org)["ana"]).chart_file_id is None
    if error == "ratelimited":
        # while the Retry-After holds, the next charted DM does not try: it goes out with text
        assert gates.blocked_for() > 20
        assert [o.status for o in deliver(context, slack, gates, "ben")] == ["sent"]
        assert_text_instead_of_chart(slack, "UBEN")
        assert len(slack.calls_to(GET_UPLOAD_URL)) == 1
        assert slack.violations == []


def test_dms_faster_than_the_upload_tier_never_wait_for_it(
    org: Engine, context: AppContext, slack: FakeSlack
) -> None:
    clock = [1000.0]
    slow = RateGate(min_interval=600.0, clock=lambda: clock[0], sleep=lambda _: None)
    gates = UploadGates(slow, RateGate(min_interval=0))
    outcomes = deliver(context, slack, gates, "ana", "ben")
    assert [o.status for o in outcomes] == ["sent", "sent"]
    [ana] = slack.dms_to("UANA")
    assert only_block(ana.blocks, CHART_BLOCK_ID)["type"] == "image"
    assert_text_instead_of_chart(slack, "UBEN")  # the next upload was not due yet: text at once
    assert len(slack.calls_to(GET_UPLOAD_URL)) == 1
    clock[0] += 600.0
    assert slow.try_pass()  # the pace allows the next one again


def test_try_pass_never_waits() -> None:
    now = [0.0]
    slept: list[float] = []
    gate = RateGate(min_interval=2.0, clock=lambda: now[0], sleep=slept.append)
    assert gate.try_pass()
    assert not gate.try_pass()  # within the interval
    assert gate.try_pass(paced=False)  # an unpaced request only minds a Retry-After
    now[0] = 2.0
    assert gate.try_pass()
    gate.retry_after(5)
    now[0] = 6.9
    assert not gate.try_pass() and not gate.try_pass(paced=False)
    now[0] = 7.0
    assert gate.try_pass()
    assert slept == []


def test_an_image_slack_refuses_is_replaced_by_the_text_in_one_dm(
    org: Engine,
    context: AppContext,
    slack: FakeSlack,
    gates: UploadGates,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(ChartUploader, "upload", lambda self, history: "F0GONE0001")
    assert [o.status for o in deliver(context, slack, gates, "ana")] == ["sent"]
    refused, accepted = slack.calls_to("chat.postMessage")
    assert refused.error == "invalid_blocks" and accepted.ok
    assert_text_instead_of_chart(slack, "UANA")
    assert delivery_of(org, people(org)["ana"]).chart_file_id is None


def test_an_upload_url_refusing_the_bytes_still_sends_the_dm(
    org: Engine, context: AppContext, slack: FakeSlack, gates: UploadGates
) -> None:
    slack.upload_url_ttl = -1.0  # every upload URL has expired by the time the bytes arrive
    assert [o.status for o in deliver(context, slack, gates, "ana")] == ["sent"]
    assert_text_instead_of_chart(slack, "UANA")
    assert slack.calls_to(COMPLETE_UPLOAD) == []


def test_the_console_prints_the_text_line(org: Engine, context: AppContext) -> None:
    out = io.StringIO()
    who = people(org)
    outcomes = run_digest(
        org,
        [who["ana"], who["cem"]],
        week=W47,
        tz=UTC_ZONE,
        deliverer=ConsoleDeliverer(out),
        now=FROZEN_NOW,
    )
    assert [o.status for o in outcomes] == ["sent", "sent"]
    printed = out.getvalue()
    assert "created: 1 0 0 0 0 2 0 2; opened by others: 1 0 0 0 0 0 0 1; used: 0 0 0 0 0 0 0 1" in (
        printed
    )
    assert NO_AI_ARTIFACTS in printed


def test_the_app_home_shows_the_chart_of_the_last_digest_without_uploading_again(
    org: Engine,
    context: AppContext,
    database_url: str,
    slack: FakeSlack,
    gates: UploadGates,
) -> None:
    deliver(context, slack, gates, "ana")
    [uploaded] = slack.files
    with serve_with_slack(context, database_url, slack) as live:
        assert send(live, app_home_opened(user_id="UANA")).status_code == 200
        view = eventually(lambda: slack.home_view("UANA"))
    assert view is not None
    assert_valid_view(view)
    [image] = [b for b in view["blocks"] if b["type"] == "image"]
    assert image["slack_file"] == {"id": uploaded.id}
    assert "2026-W47: 2 created, 1 opened by others, 1 used" in image["alt_text"]
    assert len(slack.calls_to(GET_UPLOAD_URL)) == 1 and len(slack.files) == 1


# The fake's upload flow and image blocks ----------------------------------------------------


def test_the_validator_accepts_an_image_block_showing_a_slack_file() -> None:
    image = {"type": "image", "slack_file": {"id": "F0CHART01"}, "alt_text": "a chart"}
    assert check_message([image], "text") == []
    assert check_view({"type": "home", "blocks": [image]}) == []
    both = {**image, "slack_file": {"id": "F0CHART01", "url": "https://x.invalid/f.png"}}
    assert check_message([both], "text") != []
    assert check_message([{"type": "image", "slack_file": {"id": "F0"}}], "text") != []  # no alt


def test_the_fake_upload_url_takes_exactly_the_announced_bytes_once(slack: FakeSlack) -> None:
    client = WebClient(token=slack.token, base_url=slack.base_url)
    png = render_chart(SAMPLE)
    ticket = client.files_getUploadURLExternal(filename="c.png", length=len(png))
    url, file_id = ticket["upload_url"], ticket["file_id"]
    assert httpx.post(url, content=png[:-1]).status_code == 400
    assert httpx.post(url, content=png + b"x").status_code == 400
    with pytest.raises(SlackApiError) as early:
        client.files_completeUploadExternal(files=[{"id": file_id, "title": "c"}])
    assert early.value.response["error"] == "file_not_found"
    assert httpx.post(url, content=png).status_code == 200
    assert httpx.post(url, content=png).status_code == 400  # once
    done = client.files_completeUploadExternal(files=[{"id": file_id, "title": "Chart"}])
    [shown] = done["files"]
    assert shown["id"] == file_id and shown["title"] == "Chart" and shown["size"] == len(png)
    assert shown["mimetype"] == "image/png" and shown["channels"] == [] and shown["ims"] == []
    with pytest.raises(SlackApiError) as again:
        client.files_completeUploadExternal(files=[{"id": file_id, "title": "Chart"}])
    assert again.value.response["error"] == "file_not_found"
    with pytest.raises(SlackApiError) as malformed:
        client.files_completeUploadExternal(files=[{"title": "no id"}])  # type: ignore[list-item]
    assert malformed.value.response["error"] == "invalid_arguments"

    slack.upload_url_ttl = 0.0
    late = client.files_getUploadURLExternal(filename="c.png", length=len(png))
    assert httpx.post(late["upload_url"], content=png).status_code == 404  # expired


def test_the_fake_shows_only_completed_image_files(slack: FakeSlack) -> None:
    client = WebClient(token=slack.token, base_url=slack.base_url)

    def post(file_id: str) -> str:
        block = {"type": "image", "slack_file": {"id": file_id}, "alt_text": "chart"}
        try:
            client.chat_postMessage(channel="UANA", text="t", blocks=[block])
        except SlackApiError as exc:
            return str(exc.response["error"])
        return "ok"

    assert post("F0NOPE0001") == "invalid_blocks"
    csv = client.files_upload_v2(content="a,b\n", filename="x.csv")["file"]
    assert post(csv["id"]) == "invalid_blocks"  # not an image
    png = render_chart(SAMPLE)
    ticket = client.files_getUploadURLExternal(filename="c.png", length=len(png))
    httpx.post(ticket["upload_url"], content=png)
    assert post(ticket["file_id"]) == "invalid_blocks"  # uploaded, not completed
    client.files_completeUploadExternal(files=[{"id": ticket["file_id"], "title": "c"}])
    assert post(ticket["file_id"]) == "ok"


def test_the_upload_methods_have_their_own_tier(slack: FakeSlack) -> None:
    client = WebClient(token=slack.token, base_url=slack.base_url, retry_handlers=[])
    slack.set_rate_limit(GET_UPLOAD_URL, per_minute=2)
    for _ in range(2):
        client.files_getUploadURLExternal(filename="c.png", length=10)
    with pytest.raises(SlackApiError) as limited:
        client.files_getUploadURLExternal(filename="c.png", length=10)
    assert limited.value.response.status_code == 429
    assert int(limited.value.response.headers["Retry-After"]) >= 1
    client.chat_postMessage(channel="UANA", text="messages are not held")
    assert len(slack.dms_to("UANA")) == 1
