"""The AI-assisted rules in the App Home's admin section, through signed requests into the real
app and the fake Slack Web API (which checks every view against Block Kit): listed by group,
added and edited with a preview before Save, switched and deleted; only admins, every change
audited and the artifacts re-marked; each listener answers before its slow work."""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, col, select

from bot.context import AppContext
from bot.domain.ai_rules import DEFAULT_RULES, traits_to_json
from bot.domain.events import ArtifactTraits
from bot.slack import ids
from bot.slack.blocks.ai_rules import MAX_RULES_IN_HOME, RULES_PER_PAGE
from bot.store import ai_marks, ai_rules
from bot.store.db import transaction
from bot.store.models import AiRule, Artifact, AuditEntry, Event
from fakes.blockkit import assert_valid_view
from fakes.slack_api import FakeSlack, ViewRecord
from fakes.slack_requests import app_home_opened, block_actions, view_dict, view_submission
from tests.conftest import FROZEN_NOW, LiveServer
from tests.support.slack_app import eventually, send, serve_with_slack

CONFIGURED_ADMIN = "UCONFIG01"  # in ADMIN_USER_IDS, not a workspace admin
NOT_AN_ADMIN = "Only workspace admins can change the AI-assisted rules."


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        fake.add_user(id="UADMIN", email="ada@example.com", real_name="Ada Admin", is_admin=True)
        fake.add_user(id=CONFIGURED_ADMIN, email="cy@example.com", real_name="Cy Config")
        fake.add_user(id="UANA", email="ana@example.com", real_name="Ana Lopez")
        yield fake


@pytest.fixture
def app(context: AppContext, database_url: str, slack: FakeSlack) -> Iterator[LiveServer]:
    with serve_with_slack(context, database_url, slack, admin_user_ids=CONFIGURED_ADMIN) as live:
        yield live


# Helpers --------------------------------------------------------------------------------------


def seed_artifacts(context: AppContext) -> None:
    """Two churn dashboards (one already AI-assisted by its tag), a plain one, and a labelled
    pull request, marked by the built-in rules as ingest would."""
    with transaction(context.engine) as session:
        rows = [
            Artifact(
                source="usage", external_id="d-churn", kind="dashboard", title="Churn by region"
            ),
            Artifact(
                source="usage",
                external_id="d-churn-tagged",
                kind="dashboard",
                title="Churn forecast",
                traits=traits_to_json(ArtifactTraits(labels=("ai-assisted",))),
            ),
            Artifact(source="usage", external_id="d-plain", kind="dashboard", title="Revenue"),
            Artifact(
                source="github",
                external_id="pr-1",
                kind="pull_request",
                title="Fix login",
                traits=traits_to_json(ArtifactTraits(labels=("ai-generated",))),
            ),
        ]
        session.add_all(rows)
        session.flush()
        for row in rows:
            session.add(
                Event(
                    source=row.source,
                    key=f"created:{row.external_id}",
                    type="artifact.created",
                    occurred_at=FROZEN_NOW - timedelta(hours=1),
                    actor_kind="email",
                    actor_value="ana@example.com",
                    artifact_id=row.id,
                )
            )
        ai_marks.reapply(session)


def marks(context: AppContext) -> dict[str, tuple[bool, str | None]]:
    with Session(context.engine) as session:
        rows = session.exec(select(Artifact.external_id, Artifact.ai_assisted, Artifact.ai_tool))
        return {e: (bool(a), t) for e, a, t in rows}


def stored_rules(context: AppContext) -> list[AiRule]:
    with Session(context.engine) as session:
        return list(session.exec(select(AiRule).order_by(col(AiRule.id))).all())


def custom_rules(context: AppContext) -> list[tuple[str, str, str | None, bool]]:
    return [(r.kind, r.pattern, r.tool, r.enabled) for r in stored_rules(context) if not r.builtin]


def rule_audit(context: AppContext) -> list[tuple[str, str, str | None]]:
    """The rule changes audited, but those ``add_custom`` made to set a test up (by "cli")."""
    with Session(context.engine) as session:
        rows = session.exec(
            select(AuditEntry)
            .where(col(AuditEntry.action).startswith("ai_rule."), AuditEntry.actor != "cli")
            .order_by(col(AuditEntry.id))
        ).all()
        return [(r.actor, r.action, r.target) for r in rows]


def builtin_id(context: AppContext, kind: str, pattern: str) -> int:
    return next(
        int(r.id or 0) for r in stored_rules(context) if (r.kind, r.pattern) == (kind, pattern)
    )


def add_custom(context: AppContext, kind: str, pattern: str, tool: str | None = None) -> int:
    with transaction(context.engine) as session:
        change = ai_rules.add(
            session, kind=kind, pattern=pattern, tool=tool, actor="cli", now=FROZEN_NOW
        )
    assert change.rule.id is not None
    return change.rule.id


def views(slack: FakeSlack, method: str, callback_id: str | None = None) -> list[ViewRecord]:
    return [
        v
        for v in list(slack.views)
        if v.method == method and (callback_id is None or v.view.get("callback_id") == callback_id)
    ]


def press(
    live: LiveServer,
    slack: FakeSlack,
    user: str,
    action_id: str,
    value: str,
    *,
    view: dict[str, Any] | None = None,
    overflow: bool = False,
) -> Any:
    """A button (or, with ``overflow``, an overflow option) pressed in the App Home or a view."""
    option = {"text": {"type": "plain_text", "text": value}, "value": value}
    request = block_actions(
        user_id=user,
        action_id=action_id,
        value=None if overflow else value,
        action_type="overflow" if overflow else "button",
        selected_option=option if overflow else None,
        view=view or view_dict("home"),
        trigger_id=slack.new_trigger_id(),
    )
    return send(live, request)


def as_echoed(record: ViewRecord) -> dict[str, Any]:
    """A view the app sent, as Slack echoes it in the next interaction payload."""
    return {
        **view_dict(
            record.view["type"],
            callback_id=record.view.get("callback_id", ""),
            private_metadata=record.view.get("private_metadata", ""),
            view_id=record.id,
            blocks=record.view.get("blocks"),
        ),
        "hash": record.hash,
    }


def select_value(value: str) -> dict[str, Any]:
    option = {"text": {"type": "plain_text", "text": value}, "value": value}
    return {"value": {"type": "static_select", "selected_option": option}}


def text(value: str) -> dict[str, Any]:
    return {"value": {"type": "plain_text_input", "value": value}}


def submit_edit(
    live: LiveServer,
    user: str,
    kind: str | None,
    pattern: str,
    tool: str = "",
    *,
    view_id: str = "V0AIROI01",
    rule_id: int | None = None,
) -> Any:
    values: dict[str, dict[str, Any]] = {"pattern": text(pattern), "tool": text(tool)}
    if kind is not None:
        values["kind"] = select_value(kind)
    request = view_submission(
        user_id=user,
        callback_id=ids.AI_RULE_EDIT_VIEW,
        values=values,
        private_metadata=json.dumps({"id": rule_id}),
        view_id=view_id,
    )
    return send(live, request)


def submit_view(
    live: LiveServer, user: str, callback_id: str, metadata: dict[str, Any], view_id: str
) -> Any:
    request = view_submission(
        user_id=user,
        callback_id=callback_id,
        private_metadata=json.dumps(metadata),
        view_id=view_id,
    )
    return send(live, request)


def opened_edit_modal(live: LiveServer, slack: FakeSlack, user: str = "UADMIN") -> ViewRecord:
    assert press(live, slack, user, ids.AI_RULE_ADD, "add").status_code == 200
    opened = eventually(lambda: views(slack, "views.open", ids.AI_RULE_EDIT_VIEW))
    assert len(opened) == 1
    return opened[0]


def home(live: LiveServer, slack: FakeSlack, user: str = "UADMIN") -> dict[str, Any]:
    before = len(views(slack, "views.publish"))
    assert send(live, app_home_opened(user_id=user)).status_code == 200
    assert eventually(lambda: len(views(slack, "views.publish")) > before)
    view = slack.home_view(user)
    assert view is not None
    return view


def rule_texts(view: dict[str, Any]) -> dict[str, str]:
    """The rule blocks of a view: block_id → text."""
    return {
        b["block_id"]: b["text"]["text"]
        for b in view["blocks"]
        if str(b.get("block_id", "")).startswith("ai_rule_")
    }


# Listing ---------------------------------------------------------------------------------------


def test_the_admin_home_lists_the_rules_by_group_with_their_controls(
    app: LiveServer, slack: FakeSlack, context: AppContext
) -> None:
    custom = add_custom(context, "title", "*_draft_*", "chatgpt")
    view = home(app, slack)
    assert_valid_view(view)
    assert len(view["blocks"]) <= 100
    shown = rule_texts(view)
    assert len(shown) == len(DEFAULT_RULES) + 1
    blocks = {b.get("block_id"): b for b in view["blocks"]}
    # Built-ins: a switch button; the custom rule: an overflow menu with edit, switch, delete.
    label = builtin_id(context, "label", "ai-generated")
    assert blocks[f"ai_rule_{label}"]["accessory"]["type"] == "button"
    assert blocks[f"ai_rule_{label}"]["accessory"]["value"] == f"off:{label}"
    assert shown[f"ai_rule_{label}"] == (
        "*Pull request label* `ai-generated`\ntool: not named · built-in · *on*"
    )
    menu = blocks[f"ai_rule_{custom}"]["accessory"]
    assert menu["type"] == "overflow"
    assert [o["value"] for o in menu["options"]] == [
        f"edit:{custom}",
        f"off:{custom}",
        f"delete:{custom}",
    ]
    # mrkdwn in a pattern is shown as typed, inside code.
    assert shown[f"ai_rule_{custom}"].startswith("*Dashboard or document title* `*_draft_*`")
    # Grouped: every pull-request rule comes before the first dashboard rule.
    order = [b.get("block_id") or "" for b in view["blocks"]]
    titles = [
        i
        for i, b in enumerate(view["blocks"])
        if b["type"] == "context" and "*Pull requests*" in json.dumps(b)
    ]
    assert titles and order.index(f"ai_rule_{label}") > titles[0]
    tag = builtin_id(context, "tag", "ai-assisted")
    assert order.index(f"ai_rule_{tag}") > order.index(f"ai_rule_{label}")
    assert ids.AI_RULE_ADD in json.dumps(view)
    # A non-admin's App Home has none of it.
    ana = home(app, slack, "UANA")
    assert "AI-assisted rules" not in json.dumps(ana) and rule_texts(ana) == {}


def test_a_long_list_moves_to_a_paged_modal_and_the_home_stays_small(
    app: LiveServer, slack: FakeSlack, context: AppContext
) -> None:
    for i in range(MAX_RULES_IN_HOME - len(DEFAULT_RULES)):
        add_custom(context, "title", f"generated report {i:02d} *")
    view = home(app, slack)
    assert_valid_view(view)
    assert len(rule_texts(view)) == MAX_RULES_IN_HOME and len(view["blocks"]) <= 100
    for i in range(RULES_PER_PAGE + 5 - MAX_RULES_IN_HOME):
        add_custom(context, "tag", f"team-{i:02d}-ai")
    total = (
        len(DEFAULT_RULES)
        + (MAX_RULES_IN_HOME - len(DEFAULT_RULES))
        + (RULES_PER_PAGE + 5 - MAX_RULES_IN_HOME)
    )
    view = home(app, slack)
    assert_valid_view(view)
    assert rule_texts(view) == {}
    shown = json.dumps(view)
    assert f"All {total} rules" in shown and "rules, " in shown
    assert press(app, slack, "UADMIN", ids.AI_RULES_ALL, "0").status_code == 200
    [modal] = eventually(lambda: views(slack, "views.open", ids.AI_RULES_VIEW))
    assert_valid_view(modal.view)
    assert len(rule_texts(modal.view)) == RULES_PER_PAGE
    assert "Page 1 of 2" in json.dumps(modal.view)
    turn = press(app, slack, "UADMIN", f"{ids.AI_RULES_PAGE}:1", "1", view=as_echoed(modal))
    assert turn.status_code == 200
    [second] = eventually(lambda: views(slack, "views.update", ids.AI_RULES_VIEW))
    assert len(rule_texts(second.view)) == total - RULES_PER_PAGE
    # Switching a rule from the modal redraws that page and the App Home.
    last = max(int(r.id or 0) for r in stored_rules(context))
    publishes = len(views(slack, "views.publish"))
    press(
        app,
        slack,
        "UADMIN",
        f"{ids.AI_RULE_MENU}:{last}",
        f"off:{last}",
        view=as_echoed(second),
        overflow=True,
    )
    assert eventually(lambda: len(views(slack, "views.update", ids.AI_RULES_VIEW)) == 2)
    redrawn = views(slack, "views.update", ids.AI_RULES_VIEW)[-1].view
    assert "_off_" in rule_texts(redrawn)[f"ai_rule_{last}"]
    assert eventually(lambda: len(views(slack, "views.publish")) > publishes)
    assert custom_rules(context)[-1][3] is False


def test_the_admin_home_stays_within_100_blocks_with_everything_at_its_largest(
    app: LiveServer, slack: FakeSlack, context: AppContext
) -> None:
    from tests.test_admin_settings import seed_large_workspace

    seed_large_workspace(context)
    for i in range(MAX_RULES_IN_HOME - len(DEFAULT_RULES)):
        add_custom(context, "label", f"ai-team-{i:02d}")
    view = home(app, slack)
    assert_valid_view(view)
    assert len(rule_texts(view)) == MAX_RULES_IN_HOME
    assert len(view["blocks"]) <= 100


# Adding with a preview -------------------------------------------------------------------------


def test_a_rule_is_previewed_then_saved_audited_and_applied(
    app: LiveServer, slack: FakeSlack, context: AppContext
) -> None:
    seed_artifacts(context)
    assert marks(context)["d-churn"] == (False, None)
    assert marks(context)["d-churn-tagged"] == (True, None)
    edit = opened_edit_modal(app, slack)
    assert_valid_view(edit.view)
    assert edit.view["submit"]["text"] == "Preview"

    answer = submit_edit(app, "UADMIN", "title", "  churn *  ", "ChatGPT", view_id=edit.id)
    assert answer.status_code == 200
    counting = answer.json()
    assert counting["response_action"] == "update"
    assert counting["view"]["callback_id"] == ids.AI_RULE_CONFIRM_VIEW
    assert "submit" not in counting["view"]  # no Save until the count is shown
    assert_valid_view(counting["view"])
    [confirm] = eventually(lambda: views(slack, "views.update", ids.AI_RULE_CONFIRM_VIEW))
    assert_valid_view(confirm.view)
    assert confirm.view["submit"]["text"] == "Save"
    assert "This rule matches 2 artifacts; 1 of them is not marked AI-assisted now." in (
        json.dumps(confirm.view)
    )
    # Previewing stores nothing.
    assert custom_rules(context) == [] and rule_audit(context) == []
    assert marks(context)["d-churn"] == (False, None)

    # Back: the edit modal again, with what was entered (stripped).
    press(app, slack, "UADMIN", ids.AI_RULE_BACK, "back", view=as_echoed(confirm))
    [back] = eventually(lambda: views(slack, "views.update", ids.AI_RULE_EDIT_VIEW))
    assert_valid_view(back.view)
    inputs = {b["block_id"]: b["element"] for b in back.view["blocks"] if b["type"] == "input"}
    assert inputs["pattern"]["initial_value"] == "churn *"
    assert inputs["tool"]["initial_value"] == "ChatGPT"
    assert inputs["kind"]["initial_option"]["value"] == "title"

    metadata = json.loads(confirm.view["private_metadata"])
    saved = submit_view(app, "UADMIN", ids.AI_RULE_CONFIRM_VIEW, metadata, confirm.id)
    assert saved.json() == {"response_action": "clear"}
    assert eventually(lambda: custom_rules(context)) == [("title", "churn *", "ChatGPT", True)]
    assert eventually(lambda: rule_audit(context)) == [
        ("UADMIN", "ai_rule.add", 'Dashboard or document title "churn *"')
    ]
    assert marks(context)["d-churn"] == (True, "ChatGPT")
    assert marks(context)["d-churn-tagged"] == (True, None)  # the built-in tag rule comes first
    assert marks(context)["d-plain"] == (False, None)
    # The App Home is republished with the rule and the audit line.
    shown = eventually(
        lambda: (
            "churn *" in json.dumps(slack.home_view("UADMIN") or {})
            and json.dumps(slack.home_view("UADMIN"))
        )
    )
    assert shown and "added the AI-assisted rule" in shown


@pytest.mark.parametrize(
    ("kind", "pattern", "tool", "errors"),
    [
        ("label", "*", "", {"pattern": "A pattern of wildcards only would mark every artifact."}),
        ("title", "   ", "", {"pattern": "The pattern is empty."}),
        (None, "churn*", "", {"kind": "Pick what the rule looks at."}),
        ("regex", "churn*", "", {"kind": "Pick what the rule looks at."}),
        (
            "title",
            "churn*",
            "gpt\u0000",
            {"tool": "The tool contains a NUL character at position 3."},
        ),
        ("label", "AI-generated", "", {"pattern": "The same rule exists already (built-in, on)."}),
    ],
)
def test_an_invalid_rule_comes_back_as_a_field_error(
    app: LiveServer,
    slack: FakeSlack,
    context: AppContext,
    kind: str | None,
    pattern: str,
    tool: str,
    errors: dict[str, str],
) -> None:
    answer = submit_edit(app, "UADMIN", kind, pattern, tool)
    assert answer.json() == {"response_action": "errors", "errors": errors}
    time.sleep(0.2)
    assert slack.calls_to("views.update") == []
    assert custom_rules(context) == [] and rule_audit(context) == []


def test_a_forged_save_is_checked_again_and_nothing_wrong_is_stored(
    app: LiveServer, slack: FakeSlack, context: AppContext
) -> None:
    forged = {"id": None, "kind": "tag", "pattern": "?*", "tool": ""}
    answer = submit_view(app, "UADMIN", ids.AI_RULE_CONFIRM_VIEW, forged, "V0AIROI01")
    body = answer.json()
    assert body["response_action"] == "update"
    assert body["view"]["callback_id"] == ids.AI_RULE_EDIT_VIEW
    assert "A pattern of wildcards only would mark every artifact." in json.dumps(body["view"])
    assert_valid_view(body["view"])
    for junk in ("not json", "[1, 2]", json.dumps({"id": "7", "kind": 3})):
        request = view_submission(
            user_id="UADMIN", callback_id=ids.AI_RULE_CONFIRM_VIEW, private_metadata=junk
        )
        assert send(app, request).json()["response_action"] == "update"
    assert custom_rules(context) == [] and rule_audit(context) == []


# Editing, switching, deleting --------------------------------------------------------------------


def test_a_custom_rule_is_edited_from_its_menu_with_a_preview(
    app: LiveServer, slack: FakeSlack, context: AppContext
) -> None:
    seed_artifacts(context)
    rule = add_custom(context, "title", "revenue", None)
    assert marks(context)["d-plain"] == (True, None)
    press(app, slack, "UADMIN", f"{ids.AI_RULE_MENU}:{rule}", f"edit:{rule}", overflow=True)
    [edit] = eventually(lambda: views(slack, "views.open", ids.AI_RULE_EDIT_VIEW))
    assert edit.view["title"]["text"] == "Edit a rule"
    assert json.loads(edit.view["private_metadata"]) == {"id": rule}
    inputs = {b["block_id"]: b["element"] for b in edit.view["blocks"] if b["type"] == "input"}
    assert inputs["pattern"]["initial_value"] == "revenue"

    answer = submit_edit(app, "UADMIN", "title", "churn*", "gemini", view_id=edit.id, rule_id=rule)
    assert answer.json()["response_action"] == "update"
    [confirm] = eventually(lambda: views(slack, "views.update", ids.AI_RULE_CONFIRM_VIEW))
    assert "Saving replaces the rule as it was." in json.dumps(confirm.view)
    metadata = json.loads(confirm.view["private_metadata"])
    assert metadata == {"id": rule, "kind": "title", "pattern": "churn*", "tool": "gemini"}
    submit_view(app, "UADMIN", ids.AI_RULE_CONFIRM_VIEW, metadata, confirm.id)
    assert eventually(lambda: custom_rules(context) == [("title", "churn*", "gemini", True)])
    assert eventually(lambda: [a for _, a, _ in rule_audit(context)]) == ["ai_rule.change"]
    assert marks(context)["d-plain"] == (False, None)
    assert marks(context)["d-churn"] == (True, "gemini")


def test_switching_a_built_in_off_unmarks_what_only_it_marked(
    app: LiveServer, slack: FakeSlack, context: AppContext
) -> None:
    seed_artifacts(context)
    assert marks(context)["pr-1"] == (True, None)
    label = builtin_id(context, "label", "ai-generated")
    press(app, slack, "UADMIN", f"{ids.AI_RULE_SWITCH}:{label}", f"off:{label}")
    assert eventually(lambda: marks(context)["pr-1"] == (False, None))
    assert eventually(lambda: rule_audit(context)) == [
        ("UADMIN", "ai_rule.switch_off", 'Pull request label "ai-generated"')
    ]
    view = eventually(
        lambda: (
            (v := slack.home_view("UADMIN")) and "_off_" in rule_texts(v)[f"ai_rule_{label}"] and v
        )
    )
    assert_valid_view(view)
    button = next(b for b in view["blocks"] if b.get("block_id") == f"ai_rule_{label}")
    assert button["accessory"]["value"] == f"on:{label}"
    # The same (stale) press again changes nothing; the built-in cannot be deleted even by a
    # forged menu choice or submission.
    press(app, slack, "UADMIN", f"{ids.AI_RULE_SWITCH}:{label}", f"off:{label}")
    press(app, slack, "UADMIN", f"{ids.AI_RULE_MENU}:{label}", f"delete:{label}", overflow=True)
    [notice] = eventually(lambda: views(slack, "views.open", ids.AI_RULE_NOTICE_VIEW))
    assert "A built-in rule cannot be deleted: switch it off instead." in json.dumps(notice.view)
    deleted = submit_view(app, "UADMIN", ids.AI_RULE_DELETE_VIEW, {"id": label}, "V0AIROI01")
    assert deleted.json() == {"response_action": "clear"}
    dm = eventually(lambda: slack.dms_to("UADMIN"))
    assert "A built-in rule cannot be deleted" in (dm[0].text or "")
    assert any(r.id == label for r in stored_rules(context))
    assert len(rule_audit(context)) == 1


def test_a_custom_rule_is_deleted_after_confirming(
    app: LiveServer, slack: FakeSlack, context: AppContext
) -> None:
    seed_artifacts(context)
    rule = add_custom(context, "title", "revenue", None)
    press(app, slack, "UADMIN", f"{ids.AI_RULE_MENU}:{rule}", f"delete:{rule}", overflow=True)
    [confirm] = eventually(lambda: views(slack, "views.open", ids.AI_RULE_DELETE_VIEW))
    assert_valid_view(confirm.view)
    assert custom_rules(context) != []  # only the confirmation deletes
    answer = submit_view(
        app,
        "UADMIN",
        ids.AI_RULE_DELETE_VIEW,
        json.loads(confirm.view["private_metadata"]),
        confirm.id,
    )
    assert answer.json() == {"response_action": "clear"}
    assert eventually(lambda: custom_rules(context) == [])
    assert eventually(lambda: rule_audit(context)) == [
        ("UADMIN", "ai_rule.delete", 'Dashboard or document title "revenue"')
    ]
    assert marks(context)["d-plain"] == (False, None)


# Only admins -----------------------------------------------------------------------------------


def test_a_non_admin_can_neither_open_nor_change_any_rule(
    app: LiveServer, slack: FakeSlack, context: AppContext
) -> None:
    seed_artifacts(context)
    label = builtin_id(context, "label", "ai-generated")
    before = marks(context)
    assert press(app, slack, "UANA", ids.AI_RULE_ADD, "add").status_code == 200
    assert eventually(lambda: slack.calls_to("users.info"))
    press(app, slack, "UANA", f"{ids.AI_RULE_SWITCH}:{label}", f"off:{label}")
    press(app, slack, "UANA", f"{ids.AI_RULE_MENU}:{label}", f"edit:{label}", overflow=True)
    time.sleep(0.3)
    # Ana's verdict is known now: her forged submissions are refused in their acks.
    refused = submit_edit(app, "UANA", "title", "churn*")
    assert refused.json() == {"response_action": "errors", "errors": {"pattern": NOT_AN_ADMIN}}
    forged = {"id": None, "kind": "title", "pattern": "churn*", "tool": ""}
    for callback_id, metadata in (
        (ids.AI_RULE_CONFIRM_VIEW, forged),
        (ids.AI_RULE_DELETE_VIEW, {"id": label}),
    ):
        answer = submit_view(app, "UANA", callback_id, metadata, "V0AIROI01").json()
        assert answer["response_action"] == "update"
        assert NOT_AN_ADMIN in json.dumps(answer["view"])
    time.sleep(0.3)
    assert slack.calls_to("views.open") == [] and slack.calls_to("views.publish") == []
    assert slack.calls_to("views.update") == []
    assert custom_rules(context) == [] and rule_audit(context) == []
    assert all(r.enabled for r in stored_rules(context))
    assert marks(context) == before


def test_a_save_from_someone_this_process_has_not_checked_asks_slack_first(
    app: LiveServer, slack: FakeSlack, context: AppContext
) -> None:
    # A member Slack says is no admin, never seen by this process: the ack closes the modal,
    # users.info answers, and nothing is stored.
    bob = f"UBOB{secrets.token_hex(4).upper()}"  # a verdict this process cannot have cached
    slack.add_user(id=bob, email="bob@example.com", real_name="Bob")
    forged = {"id": None, "kind": "title", "pattern": "churn*", "tool": ""}
    answer = submit_view(app, bob, ids.AI_RULE_CONFIRM_VIEW, forged, "V0AIROI01")
    assert answer.json() == {"response_action": "clear"}
    assert answer.status_code == 200
    assert eventually(lambda: slack.calls_to("users.info"))
    time.sleep(0.3)
    assert custom_rules(context) == [] and rule_audit(context) == []
    # ADMIN_USER_IDS needs no Slack call.
    answer = submit_view(app, CONFIGURED_ADMIN, ids.AI_RULE_CONFIRM_VIEW, forged, "V0AIROI01")
    assert answer.json() == {"response_action": "clear"}
    assert eventually(lambda: custom_rules(context)) == [("title", "churn*", None, True)]
    assert rule_audit(context)[0][0] == CONFIGURED_ADMIN


# Ack before the slow work ------------------------------------------------------------------------


def test_the_preview_and_the_re_marking_run_after_the_ack(
    app: LiveServer, slack: FakeSlack, context: AppContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed_artifacts(context)
    release = threading.Event()
    real_preview, real_reapply = ai_marks.preview, ai_marks.reapply

    def held_preview(session: Session, rule: Any) -> Any:
        assert release.wait(10)
        return real_preview(session, rule)

    def held_reapply(session: Session) -> int:
        assert release.wait(10)
        return real_reapply(session)

    monkeypatch.setattr(ai_marks, "preview", held_preview)
    monkeypatch.setattr(ai_marks, "reapply", held_reapply)
    edit = opened_edit_modal(app, slack)
    # The counting view comes back while the count is still held.
    answer = submit_edit(app, "UADMIN", "title", "churn*", view_id=edit.id)
    assert answer.json()["response_action"] == "update"
    assert views(slack, "views.update") == []
    release.set()
    [confirm] = eventually(lambda: views(slack, "views.update", ids.AI_RULE_CONFIRM_VIEW))
    release.clear()
    # Save closes the modal while the re-marking is still held; the rule lands with it.
    metadata = json.loads(confirm.view["private_metadata"])
    saved = submit_view(app, "UADMIN", ids.AI_RULE_CONFIRM_VIEW, metadata, confirm.id)
    assert saved.json() == {"response_action": "clear"}
    assert custom_rules(context) == []
    release.set()
    assert eventually(lambda: custom_rules(context)) == [("title", "churn*", None, True)]
    assert eventually(lambda: marks(context)["d-churn"] == (True, None))


def test_a_count_that_fails_says_so_and_offers_no_save(
    app: LiveServer, slack: FakeSlack, context: AppContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    def failing(session: Session, rule: Any) -> Any:
        raise OperationalError("SELECT …", {}, Exception("server closed the connection"))

    monkeypatch.setattr(ai_marks, "preview", failing)
    edit = opened_edit_modal(app, slack)
    assert submit_edit(app, "UADMIN", "title", "churn*", view_id=edit.id).status_code == 200
    [notice] = eventually(lambda: views(slack, "views.update", ids.AI_RULE_NOTICE_VIEW))
    assert "could not be counted" in json.dumps(notice.view)
    assert "submit" not in notice.view
    assert custom_rules(context) == [] and rule_audit(context) == []
