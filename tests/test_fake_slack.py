"""The fake Slack Web API behaves like Slack for the real slack_sdk client; signed requests verify.

Everything goes through slack_sdk's WebClient / WebhookClient (or raw HTTP where a test plays a
client that misbehaves), so the fake is checked against the code that will talk to it.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator, Sequence
from typing import Any

import httpx
import pytest
from slack_bolt.request import BoltRequest
from slack_bolt.request.payload_utils import (
    is_app_home_opened_event,
    is_block_actions,
    is_slash_command,
    is_view_submission,
    to_action,
)
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.signature import SignatureVerifier
from slack_sdk.webhook import WebhookClient

from fakes.slack_api import BOT_USER_ID, SLACKBOT_ID, TEAM_ID, FakeSlack, tier_limit
from fakes.slack_requests import (
    SlackRequest,
    app_home_opened,
    block_actions,
    sign_slack,
    slash_command,
    view_dict,
    view_submission,
)

ANA, BEN, GONE = "U0ANA0001", "U0BEN0002", "U0GONE003"
SECTION: dict[str, Any] = {
    "type": "section",
    "text": {"type": "mrkdwn", "text": "*40* dashboards, *2* opened"},
}
DIGEST: list[dict[str, Any]] = [
    {"type": "header", "text": {"type": "plain_text", "text": "Your AI week"}},
    SECTION,
    {
        "type": "actions",
        "elements": [
            {"type": "button", "text": {"type": "plain_text", "text": "Useful"}, "action_id": "u"},
            {"type": "button", "text": {"type": "plain_text", "text": "Snooze"}, "action_id": "s"},
        ],
    },
]
HOME = {"type": "home", "blocks": [SECTION]}
MODAL = {
    "type": "modal",
    "callback_id": "thresholds",
    "title": {"type": "plain_text", "text": "Thresholds"},
    "submit": {"type": "plain_text", "text": "Save"},
    "blocks": [
        {
            "type": "input",
            "block_id": "k",
            "label": {"type": "plain_text", "text": "Minimum group size"},
            "element": {"type": "plain_text_input", "action_id": "k"},
        }
    ],
}
SECRET = "8f742231b10e8888abcd99yyyzzz85a5"


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        fake.add_user(id=ANA, email="ana@example.com", name="ana", is_admin=True)
        fake.add_user(id=BEN, email="ben@example.com", name="ben", tz="America/New_York")
        fake.add_user(id=GONE, email="gone@example.com", name="gone", deleted=True)
        yield fake
        assert fake.internal_errors == []


@pytest.fixture
def client(slack: FakeSlack) -> WebClient:
    return WebClient(token=slack.token, base_url=slack.base_url, timeout=5)


def error_of(call: Any) -> SlackApiError:
    with pytest.raises(SlackApiError) as raised:
        call()
    return raised.value


def bolt_body(request: SlackRequest) -> dict[str, Any]:
    """The body as Bolt parses it from a signed request."""
    headers: dict[str, str | Sequence[str]] = dict(request.headers(SECRET))
    return BoltRequest(body=request.body.decode(), headers=headers).body


def post(slack: FakeSlack, method: str, **kwargs: Any) -> httpx.Response:
    with httpx.Client(timeout=5) as http:
        return http.post(slack.base_url + method, **kwargs)


# Authentication, methods, required arguments ----------------------------------------------


def test_auth_test_answers_for_the_bot(client: WebClient) -> None:
    answer = client.auth_test()
    assert answer["ok"] and answer["team_id"] == TEAM_ID and answer["user_id"] == BOT_USER_ID


def test_missing_and_wrong_tokens(slack: FakeSlack) -> None:
    assert error_of(WebClient(base_url=slack.base_url).auth_test).response["error"] == "not_authed"
    wrong = WebClient(token="xoxb-not-the-token", base_url=slack.base_url)
    assert error_of(wrong.auth_test).response["error"] == "invalid_auth"
    right = WebClient(token=slack.token, base_url=slack.base_url)
    assert right.auth_test()["ok"]
    slack.revoke_token()
    assert error_of(right.auth_test).response["error"] == "token_revoked"
    assert error_of(lambda: right.chat_postMessage(channel="U1", text="x")).response["error"] == (
        "token_revoked"
    )


def test_where_slack_reads_a_token_from(slack: FakeSlack) -> None:
    assert post(slack, "auth.test", data={"token": slack.token}).json()["ok"] is True
    in_json = post(slack, "auth.test", json={"token": slack.token})
    assert in_json.status_code == 200 and in_json.json()["error"] == "not_authed"
    in_query = post(slack, f"auth.test?token={slack.token}")
    assert in_query.json()["error"] == "not_authed"
    with httpx.Client(timeout=5) as http:
        got = http.get(
            slack.base_url + "auth.test", headers={"Authorization": f"Bearer {slack.token}"}
        )
    assert got.json()["ok"] is True
    multipart = post(slack, "auth.test", data={"token": slack.token}, files={"f": b"x"})
    assert multipart.json()["ok"] is True


def test_bad_post_bodies(slack: FakeSlack) -> None:
    bearer = {"Authorization": f"Bearer {slack.token}"}
    assert post(slack, "auth.test", content=b"x=1", headers=bearer).json()["error"] == (
        "missing_post_type"
    )
    xml = {**bearer, "Content-Type": "application/xml"}
    assert (
        post(slack, "auth.test", content=b"<x/>", headers=xml).json()["error"]
        == "invalid_post_type"
    )


def test_unknown_method(client: WebClient) -> None:
    error = error_of(lambda: client.api_call("chat.frobnicate"))
    assert error.response["error"] == "unknown_method"


def test_required_arguments_get_each_methods_error(client: WebClient) -> None:
    def code(method: str, **kwargs: Any) -> str:
        return str(error_of(lambda: client.api_call(method, **kwargs)).response["error"])

    assert code("chat.postMessage", json={"text": "hi"}) == "channel_not_found"
    assert code("chat.postMessage", json={"channel": ANA}) == "no_text"
    assert code("users.info", params={}) == "user_not_found"
    assert code("users.lookupByEmail", params={}) == "users_not_found"
    assert code("files.getUploadURLExternal", params={"filename": "x.csv"}) == "missing_argument"
    views = error_of(lambda: client.api_call("views.publish", json={"view": HOME})).response
    assert views["error"] == "invalid_arguments"
    assert views["response_metadata"]["messages"] == ["[ERROR] missing required field: user_id"]


# chat.postMessage and friends -------------------------------------------------------------


def test_a_dm_with_blocks_is_posted_and_recorded(slack: FakeSlack, client: WebClient) -> None:
    answer = client.chat_postMessage(channel=ANA, text="Your AI week", blocks=DIGEST)
    assert answer["channel"] == slack.dm_channel(ANA) and answer["channel"].startswith("D")
    assert answer["message"]["blocks"] == DIGEST and answer["ts"]
    [dm] = slack.dms_to(ANA)
    assert (dm.text, dm.blocks, dm.ts) == ("Your AI week", DIGEST, answer["ts"])
    [call] = slack.calls_to("chat.postMessage")
    assert call.ok and call.args["blocks"] == DIGEST and "token" not in call.args
    assert slack.dms_to(BEN) == []


def test_blocks_as_a_form_encoded_json_string(slack: FakeSlack, client: WebClient) -> None:
    params = {"channel": ANA, "text": "Your AI week", "blocks": json.dumps(DIGEST)}
    assert client.api_call("chat.postMessage", params=params)["ok"]
    assert slack.dms_to(ANA)[0].blocks == DIGEST
    assert slack.calls_to("chat.postMessage")[0].args["blocks"] == DIGEST
    broken = {"channel": ANA, "text": "x", "blocks": "[{"}
    error = error_of(lambda: client.api_call("chat.postMessage", params=broken))
    assert error.response["error"] == "invalid_blocks_format"


def test_invalid_blocks_are_refused_as_slack_words_it(slack: FakeSlack, client: WebClient) -> None:
    header = {"type": "header", "text": {"type": "plain_text", "text": "h" * 151}}
    error = error_of(lambda: client.chat_postMessage(channel=ANA, text="x", blocks=[header]))
    assert error.response["error"] == "invalid_blocks"
    assert error.response["response_metadata"]["messages"] == [
        "[ERROR] header text is 151 characters, over 150 [json-pointer:/blocks/0/text/text]"
    ]
    assert error.response["errors"] == [
        "header text is 151 characters, over 150 [json-pointer:/blocks/0/text/text]"
    ]
    too_many = error_of(
        lambda: client.chat_postMessage(channel=ANA, text="x", blocks=[SECTION] * 51)
    )
    assert too_many.response["response_metadata"]["messages"] == [
        "[ERROR] 51 blocks, over 50 [json-pointer:/blocks]"
    ]
    assert slack.messages == []


def test_blocks_need_a_fallback_text(slack: FakeSlack, client: WebClient) -> None:
    with pytest.warns(UserWarning, match="`text` argument is missing"):
        error = error_of(lambda: client.chat_postMessage(channel=ANA, blocks=[SECTION]))
    assert error.response["error"] == "no_text"
    slack.require_fallback_text = False  # Slack itself accepts it (and builds a fallback)
    with pytest.warns(UserWarning):
        assert client.chat_postMessage(channel=ANA, blocks=[SECTION])["ok"]


def test_who_can_be_messaged(slack: FakeSlack, client: WebClient) -> None:
    unknown = error_of(lambda: client.chat_postMessage(channel="U0NOBODY1", text="hi"))
    assert unknown.response["error"] == "channel_not_found"
    deactivated = error_of(lambda: client.chat_postMessage(channel=GONE, text="hi"))
    assert deactivated.response["error"] == "is_archived"
    assert error_of(lambda: client.conversations_open(users=GONE)).response["error"] == (
        "user_disabled"
    )
    assert error_of(lambda: client.conversations_open(users="U0NOBODY1")).response["error"] == (
        "user_not_found"
    )
    slack.deleted_user_dm_error = None  # what Slack has been seen to do: accept silently
    assert client.chat_postMessage(channel=GONE, text="hi")["ok"]
    slack.messages_tab_enabled = False
    disabled = error_of(lambda: client.chat_postMessage(channel=ANA, text="hi"))
    assert disabled.response["error"] == "messages_tab_disabled"


def test_conversations_open_then_post_to_the_dm_id(slack: FakeSlack, client: WebClient) -> None:
    opened = client.conversations_open(users=BEN)
    channel = opened["channel"]["id"]
    assert opened["already_open"] is False
    assert client.conversations_open(users=[BEN])["already_open"] is True
    assert client.chat_postMessage(channel=channel, text="hello")["channel"] == channel
    assert [m.text for m in slack.dms_to(BEN)] == ["hello"]


def test_chat_update_wants_the_dm_id(slack: FakeSlack, client: WebClient) -> None:
    posted = client.chat_postMessage(channel=ANA, text="v1", blocks=DIGEST)
    by_user = error_of(lambda: client.chat_update(channel=ANA, ts=posted["ts"], text="v2"))
    assert by_user.response["error"] == "channel_not_found"
    missing = error_of(
        lambda: client.chat_update(channel=posted["channel"], ts="1.000001", text="v2")
    )
    assert missing.response["error"] == "message_not_found"
    client.chat_update(channel=posted["channel"], ts=posted["ts"], text="v2", blocks=[SECTION])
    [dm] = slack.dms_to(ANA)
    assert (dm.text, dm.blocks, dm.edits) == ("v2", [SECTION], 1)


def test_ephemeral_messages(slack: FakeSlack, client: WebClient) -> None:
    slack.add_channel(id="C0LEADS01", name="leads", members=[ANA])
    client.chat_postEphemeral(channel="C0LEADS01", user=ANA, text="Team Data: 12 active")
    outsider = error_of(lambda: client.chat_postEphemeral(channel="C0LEADS01", user=BEN, text="x"))
    assert outsider.response["error"] == "user_not_in_channel"
    assert [m.text for m in slack.ephemerals_to(ANA)] == ["Team Data: 12 active"]
    assert slack.dms_to(ANA) == []
    slack.add_channel(id="C0OLD0001", name="old", is_archived=True)
    archived = error_of(lambda: client.chat_postMessage(channel="#old", text="x"))
    assert archived.response["error"] == "is_archived"


def test_concurrent_senders_are_all_recorded(slack: FakeSlack) -> None:
    users = [slack.add_user(id=f"U0PAR{i:04d}", email=f"p{i}@example.com")["id"] for i in range(8)]

    def send(user: str) -> None:
        sender = WebClient(token=slack.token, base_url=slack.base_url, timeout=5)
        for n in range(5):
            sender.chat_postMessage(channel=user, text=f"message {n}")

    threads = [threading.Thread(target=send, args=(u,)) for u in users]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(slack.messages) == 40 and len({m.ts for m in slack.messages}) == 40
    assert all(len(slack.dms_to(u)) == 5 for u in users)


# Users, user groups, team -----------------------------------------------------------------


def test_users_list_paginates_like_slack(slack: FakeSlack, client: WebClient) -> None:
    for i in range(4):
        slack.add_user(id=f"U0MORE{i:03d}", email=f"more{i}@example.com")
    sizes, ids, cursors = [], [], []
    for page in client.users_list(limit=3):  # SlackResponse follows next_cursor itself
        sizes.append(len(page["members"]))
        ids += [m["id"] for m in page["members"]]
        cursors.append(page["response_metadata"]["next_cursor"])
    assert sizes == [3, 3, 3] and cursors[-1] == "" and all(cursors[:-1])
    assert ids[:2] == [SLACKBOT_ID, BOT_USER_ID] and ids[2:5] == [ANA, BEN, GONE]
    assert error_of(lambda: client.users_list(cursor="bm90LWEtY3Vyc29y")).response["error"] == (
        "invalid_cursor"
    )
    everyone = client.users_list()["members"]
    assert len(everyone) == 9


def test_member_objects_look_like_slacks(client: WebClient) -> None:
    members = {m["id"]: m for m in client.users_list()["members"]}
    ana = members[ANA]
    assert ana["profile"]["email"] == "ana@example.com" and ana["is_admin"] is True
    assert ana["tz"] == "Europe/Berlin" and ana["tz_offset"] in (3600, 7200)
    assert {"real_name", "display_name"} <= set(ana["profile"]) and ana["team_id"] == TEAM_ID
    assert members[BEN]["tz_offset"] in (-18000, -14400)
    assert members[GONE]["deleted"] is True and "tz" not in members[GONE]
    assert "is_admin" not in members[GONE]
    assert members[SLACKBOT_ID]["is_bot"] is False  # Slack's own quirk
    assert members[BOT_USER_ID]["is_bot"] is True and "email" not in members[BOT_USER_ID]["profile"]
    assert client.users_info(user=BEN)["user"] == members[BEN]


def test_lookup_by_email(client: WebClient) -> None:
    assert client.users_lookupByEmail(email="Ana@Example.com")["user"]["id"] == ANA
    for email in ("nobody@example.com", "gone@example.com"):
        error = error_of(lambda email=email: client.users_lookupByEmail(email=email))
        assert error.response["error"] == "users_not_found"


def test_user_groups_and_team(slack: FakeSlack, client: WebClient) -> None:
    slack.add_usergroup(id="S0DATA001", handle="data", name="Data team", users=[ANA, BEN])
    slack.add_usergroup(id="S0OLD0001", handle="old", is_disabled=True)
    groups = client.usergroups_list(include_users=True, include_count=True)["usergroups"]
    assert [(g["id"], g["users"], g["user_count"]) for g in groups] == [
        ("S0DATA001", [ANA, BEN], 2)
    ]
    assert len(client.usergroups_list(include_disabled=True)["usergroups"]) == 2
    assert client.usergroups_users_list(usergroup="S0DATA001")["users"] == [ANA, BEN]
    missing = error_of(lambda: client.usergroups_users_list(usergroup="S0NONE001"))
    assert missing.response["error"] == "no_such_subteam"
    assert client.team_info()["team"]["id"] == TEAM_ID


# Rate limits ------------------------------------------------------------------------------


def test_tiers_come_from_the_reference_metadata() -> None:
    assert tier_limit("users.list") == 20
    assert tier_limit("users.lookupByEmail") == 50
    assert tier_limit("views.publish") == 100
    assert tier_limit("chat.postMessage") is None  # "special": 1 per second per channel


def test_a_tier_limit_answers_429_with_retry_after(slack: FakeSlack, client: WebClient) -> None:
    for _ in range(20):
        client.users_list(limit=200)
    error = error_of(lambda: client.users_list(limit=200))
    assert error.response.status_code == 429 and error.response["error"] == "ratelimited"
    assert 1 <= int(error.response.headers["Retry-After"]) <= 60
    assert slack.calls_to("users.list")[-1].status == 429


def test_set_rate_limit_and_the_per_channel_default(slack: FakeSlack, client: WebClient) -> None:
    for _ in range(60):
        client.chat_postMessage(channel=ANA, text="x")
    assert (
        error_of(lambda: client.chat_postMessage(channel=ANA, text="x")).response.status_code == 429
    )
    assert client.chat_postMessage(channel=BEN, text="another channel")["ok"]
    slack.set_rate_limit("chat.postMessage", per_minute=62)  # workspace-wide from now on
    assert client.chat_postMessage(channel=BEN, text="x")["ok"]
    assert (
        error_of(lambda: client.chat_postMessage(channel=BEN, text="x")).response.status_code == 429
    )


def test_the_sdk_retry_handler_honours_retry_after(slack: FakeSlack) -> None:
    retrying = WebClient(
        token=slack.token,
        base_url=slack.base_url,
        retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=1)],
    )
    slack.fail_next("auth.test", "ratelimited", retry_after=1)
    assert retrying.auth_test()["ok"]
    first, second = slack.calls_to("auth.test")
    assert (first.status, second.status) == (429, 200)
    assert second.time - first.time >= 1
    assert slack.violations == []


def test_a_client_that_ignores_retry_after_is_caught(slack: FakeSlack) -> None:
    slack.fail_next("users.info", retry_after=30)
    form = {"token": slack.token, "user": ANA}
    first = post(slack, "users.info", data=form)
    assert first.status_code == 429 and first.headers["Retry-After"] == "30"
    assert first.json() == {"ok": False, "error": "ratelimited"}
    again = post(slack, "users.info", data=form)
    assert again.status_code == 429 and 29 <= int(again.headers["Retry-After"]) <= 30
    [violation] = slack.violations
    assert violation.method == "users.info" and violation.early_by > 29
    assert post(slack, "auth.test", data={"token": slack.token}).json()["ok"]  # other methods run


def test_injected_429s_are_seeded_and_fail_next_takes_any_code(
    slack: FakeSlack, client: WebClient
) -> None:
    def statuses() -> list[int]:
        slack.inject_429("auth.test", probability=0.5, retry_after=0, seed=7)
        for _ in range(30):
            with contextlib.suppress(SlackApiError):
                client.auth_test()
        return [c.status for c in slack.calls_to("auth.test")[-30:]]

    first, second = statuses(), statuses()
    assert first == second and 5 < first.count(429) < 25
    slack.inject_429("auth.test", probability=0)
    slack.fail_next("chat.postMessage", error="account_inactive", times=2)
    for _ in range(2):
        assert error_of(lambda: client.chat_postMessage(channel=ANA, text="x")).response[
            "error"
        ] == ("account_inactive")
    assert client.chat_postMessage(channel=ANA, text="x")["ok"]
    slack.fail_next("auth.test", error="service_unavailable", status=503)
    assert error_of(client.auth_test).response.status_code == 503


def test_latency(slack: FakeSlack, client: WebClient) -> None:
    slack.latency = 0.05
    start = time.monotonic()
    client.auth_test()
    assert time.monotonic() - start >= 0.05


# Views ------------------------------------------------------------------------------------


def test_views_publish_with_hashes(slack: FakeSlack, client: WebClient) -> None:
    first = client.views_publish(user_id=ANA, view=HOME)["view"]
    assert first["id"].startswith("V") and first["hash"] and first["blocks"] == HOME["blocks"]
    assert slack.home_view(ANA) == HOME
    stale = error_of(lambda: client.views_publish(user_id=ANA, view=HOME, hash="1.stale"))
    assert stale.response["error"] == "hash_conflict"
    second = client.views_publish(user_id=ANA, view=HOME, hash=first["hash"])["view"]
    assert second["id"] == first["id"] and second["hash"] != first["hash"]
    unknown = error_of(lambda: client.views_publish(user_id="U0NOBODY1", view=HOME))
    assert unknown.response["error"] == "invalid_arguments"


def test_invalid_views_are_refused(slack: FakeSlack, client: WebClient) -> None:
    big = {"type": "home", "blocks": [SECTION] * 101}
    error = error_of(lambda: client.views_publish(user_id=ANA, view=big))
    assert error.response["error"] == "invalid_arguments"
    assert error.response["response_metadata"]["messages"] == [
        "[ERROR] 101 blocks, over 100 [json-pointer:/view/blocks]"
    ]
    modal = {**MODAL, "title": {"type": "plain_text", "text": "t" * 25}}
    opened = error_of(lambda: client.views_open(trigger_id=slack.new_trigger_id(), view=modal))
    assert opened.response["response_metadata"]["messages"] == [
        "[ERROR] modal title is 25 characters, over 24 [json-pointer:/view/title/text]"
    ]
    wrong_kind = error_of(lambda: client.views_publish(user_id=ANA, view=MODAL))
    assert wrong_kind.response["error"] == "invalid_arguments"
    assert slack.views == []


def test_triggers_work_once_and_expire(slack: FakeSlack, client: WebClient) -> None:
    trigger = slack.new_trigger_id()
    opened = client.views_open(trigger_id=trigger, view=MODAL)["view"]
    assert slack.views[-1].trigger_id == trigger and opened["callback_id"] == "thresholds"

    def code(trigger_id: str) -> str:
        return str(
            error_of(lambda: client.views_open(trigger_id=trigger_id, view=MODAL)).response["error"]
        )

    assert code(trigger) == "exchanged_trigger_id"
    assert code("12345.1700000000.0123456789abcdef") == "expired_trigger_id"
    assert code("not-a-trigger") == "invalid_trigger_id"
    slack.trigger_ttl = 0.05
    late = slack.new_trigger_id()
    time.sleep(0.1)
    assert code(late) == "expired_trigger_id"
    missing = error_of(lambda: client.api_call("views.open", json={"view": MODAL}))
    assert missing.response["error"] == "invalid_arguments"


def test_views_update_and_push(slack: FakeSlack, client: WebClient) -> None:
    opened = client.views_open(trigger_id=slack.new_trigger_id(), view=MODAL)["view"]
    updated = client.views_update(view_id=opened["id"], view=MODAL, hash=opened["hash"])["view"]
    assert updated["id"] == opened["id"]
    conflict = error_of(
        lambda: client.views_update(view_id=opened["id"], view=MODAL, hash=opened["hash"])
    )
    assert conflict.response["error"] == "hash_conflict"
    assert error_of(lambda: client.views_update(view_id="V0NOPE001", view=MODAL)).response[
        "error"
    ] == ("not_found")
    client.views_push(trigger_id=slack.new_trigger_id(), view=MODAL)
    assert [v.method for v in slack.views] == ["views.open", "views.update", "views.push"]


# Files and response URLs ------------------------------------------------------------------


def test_a_file_reaches_a_user_through_the_upload_flow(slack: FakeSlack, client: WebClient) -> None:
    channel = client.conversations_open(users=ANA)["channel"]["id"]
    content = json.dumps({"user": "ana@example.com", "weeks": []})
    done = client.files_upload_v2(
        channel=channel, content=content, filename="ai-roi-export.json", initial_comment="Your data"
    )
    assert done["file"]["name"] == "ai-roi-export.json"
    [shared] = slack.files_to(ANA)
    assert shared.content == content.encode() and shared.initial_comment == "Your data"
    assert [m.files for m in slack.dms_to(ANA)] == [[shared.id]]
    upload = [c.method for c in slack.calls]
    assert upload == [
        "conversations.open",
        "files.getUploadURLExternal",
        "upload",
        "files.completeUploadExternal",
    ]


def test_file_shares_want_a_channel_id_not_a_user_id(client: WebClient) -> None:
    error = error_of(
        lambda: client.files_upload_v2(channel=ANA, content="x", filename="export.json")
    )
    assert error.response["error"] == "invalid_arguments"
    assert "must match regex pattern" in error.response["response_metadata"]["messages"][0]
    never_uploaded: list[dict[str, str | None]] = [{"id": "F0NOPE001", "title": "x"}]
    missing = error_of(lambda: client.files_completeUploadExternal(files=never_uploaded))
    assert missing.response["error"] == "file_not_found"


def test_a_file_is_deleted_once_and_unknown_files_are_not_found(
    slack: FakeSlack, client: WebClient
) -> None:
    file_id = client.files_upload_v2(content="x", filename="chart.png")["file"]["id"]
    assert client.files_delete(file=file_id)["ok"]
    assert slack.deleted_files == [file_id] and slack.files == []
    assert error_of(lambda: client.files_delete(file=file_id)).response["error"] == "file_deleted"
    missing = error_of(lambda: client.files_delete(file="F0NOPE001"))
    assert missing.response["error"] == "file_not_found"


def test_response_urls(slack: FakeSlack) -> None:
    url = slack.new_response_url()
    hook = WebhookClient(url)
    sent = hook.send(text="Team Data", blocks=DIGEST, response_type="ephemeral")
    assert (sent.status_code, sent.body) == (200, "ok")
    [response] = slack.responses
    assert response["response_type"] == "ephemeral" and response.blocks == DIGEST
    header = {"type": "header", "text": {"type": "plain_text", "text": "h" * 151}}
    refused = hook.send(text="x", blocks=[header])
    assert (refused.status_code, refused.body) == (400, "invalid_blocks")
    assert hook.send(blocks=[SECTION]).body == "no_text"
    for _ in range(4):
        assert hook.send(text="again", replace_original=True).status_code == 200
    assert (hook.send(text="sixth").status_code, len(slack.responses)) == (404, 5)
    assert WebhookClient(f"{slack.url}/response/nope").send(text="x").status_code == 404


def test_the_server_stops_when_the_block_ends() -> None:
    with FakeSlack() as fake:
        url = fake.base_url
        assert WebClient(token=fake.token, base_url=url).auth_test()["ok"]
    with httpx.Client(timeout=1) as http, pytest.raises(httpx.ConnectError):
        http.post(url + "auth.test")


# Signed requests --------------------------------------------------------------------------


def test_signatures_verify_with_slack_sdk() -> None:
    verifier = SignatureVerifier(SECRET)
    request = slash_command(user_id=ANA, text="team Data")
    assert verifier.is_valid_request(request.body, request.headers(SECRET))
    assert not verifier.is_valid_request(request.body, request.headers("forged-secret"))
    assert not verifier.is_valid_request(request.body, request.headers(SECRET, age=600))
    assert not verifier.is_valid_request(request.body + b"&x=1", request.headers(SECRET))
    now = int(time.time())
    headers = sign_slack(SECRET, b"body", now)
    assert headers["X-Slack-Request-Timestamp"] == str(now)
    assert verifier.is_valid(b"body", str(now), headers["X-Slack-Signature"])


def test_slack_documents_this_signature() -> None:
    # The worked example of docs.slack.dev "Verifying requests from Slack".
    body = (
        b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id="
        b"G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook"
        b"-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F3977"
        b"00885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10"
        b"d2c447fce8b6703c"
    )
    headers = sign_slack(SECRET, body, 1531420618)
    assert headers["X-Slack-Signature"] == (
        "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
    )


def test_request_bodies_read_as_bolt_reads_them(slack: FakeSlack) -> None:
    command = slash_command(
        user_id=ANA,
        text="team Data",
        response_url=slack.new_response_url(),
        trigger_id=slack.new_trigger_id(),
    )
    body = bolt_body(command)
    assert is_slash_command(body) and body["command"] == "/ai-roi" and body["text"] == "team Data"
    assert body["user_id"] == ANA and body["team_id"] == TEAM_ID

    pressed = block_actions(user_id=ANA, action_id="digest_useful", value="2026-W47")
    body = bolt_body(pressed)
    action = to_action(body)
    assert is_block_actions(body) and action is not None
    assert (action["action_id"], action["value"]) == ("digest_useful", "2026-W47")
    assert body["container"]["type"] == "message" and body["response_url"]

    from_home = block_actions(user_id=ANA, action_id="open_settings", view=view_dict("home"))
    payload = from_home.payload()
    assert payload["container"]["type"] == "view" and "response_url" not in payload

    submitted = view_submission(
        user_id=ANA,
        callback_id="thresholds",
        values={
            "k": {"k": "7"},
            "tz": {"pick": {"type": "static_select", "selected_option": None}},
        },
        private_metadata="admin",
    )
    body = bolt_body(submitted)
    assert is_view_submission(body) and body["view"]["callback_id"] == "thresholds"
    assert body["view"]["state"]["values"]["k"]["k"] == {"type": "plain_text_input", "value": "7"}
    assert body["view"]["private_metadata"] == "admin"

    opened = app_home_opened(user_id=BEN)
    body = bolt_body(opened)
    assert is_app_home_opened_event(body) and body["event"]["user"] == BEN


def test_a_trigger_from_a_signed_command_opens_a_modal(slack: FakeSlack, client: WebClient) -> None:
    command = slash_command(user_id=ANA, trigger_id=slack.new_trigger_id())
    assert client.views_open(trigger_id=command.form()["trigger_id"], view=MODAL)["ok"]
