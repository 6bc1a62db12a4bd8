"""The Block Kit validator accepts what Slack documents as valid and reports what Slack refuses.

Golden inputs come from tests/fixtures/slack-reference: every valid fixture of slackblocks-spec (each
checked against a docs.slack.dev page) and python-slack-sdk's view fixtures; negative inputs from
slackblocks-spec's invalid-case catalogue, plus the limits this app relies on.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from fakes.blockkit import (
    REFERENCE_DIR,
    Problem,
    assert_valid_message,
    assert_valid_view,
    check_message,
    check_view,
    validate_message,
    validate_view,
)

SPEC = REFERENCE_DIR / "slackblocks-spec"
VALID = SPEC / "fixtures" / "valid"
SDK_VIEWS = REFERENCE_DIR / "python-slack-sdk-view-fixtures"
FALLBACK = "Your AI week"

HIGHLIGHT = "'client_highlight', 'highlight', 'unlink' were unexpected"
# Fixtures the validator refuses on purpose, each with the text its problems must contain. The
# test checks that they are still refused, so the list shrinks when the schema is regenerated.
REFUSED_FIXTURES: dict[str, tuple[str, ...]] = {
    # data_visualization is newer than @slack/types 3.2.0, from which the schema was generated.
    "blocks/data_visualization_area": ("unknown block type 'data_visualization'",),
    "blocks/data_visualization_bar": ("unknown block type 'data_visualization'",),
    "blocks/data_visualization_line": ("unknown block type 'data_visualization'",),
    "blocks/data_visualization_pie": ("unknown block type 'data_visualization'",),
    # Fields newer than the schema: card's slack_icon and subtext, rich_text_list's offset (and a
    # border other than 0 or 1), and the highlight / client_highlight / unlink mention styles.
    "blocks/card_block": ("'slack_icon', 'subtext' were unexpected",),
    "rich_text/rich_text_list_basic": ("'offset' was unexpected",),
    "rich_text/rich_text_list_ordered": ("'offset' was unexpected", "/border: 3 is not one of"),
    "rich_text/rich_text_channel_basic": (HIGHLIGHT,),
    "rich_text/rich_text_user_basic": (HIGHLIGHT,),
    "rich_text/rich_text_user_group_basic": (HIGHLIGHT,),
    # docs.slack.dev (rich-text-input-element): initial_value is a rich_text *block*; the fixture
    # gives a bare rich-text `text` element, which the schema rightly refuses.
    "elements/rich_text_input_basic": ("/blocks/0/element/initial_value",),
}
# Message fixtures that break a rule of ours: Slack only warns about a missing `text`, this app
# always sends one; and block_ids must be unique in a message (Slack's docs, our validator).
NO_FALLBACK = "/text: a non-empty plain-text fallback `text` is required with blocks"
EMPTY = "/text: neither text nor blocks: the message is empty"
DUPLICATE = "/blocks/1/block_id: duplicate block_id 'fake_block_id' (first at /blocks/0)"
MESSAGE_PROBLEMS = {
    "messages/message_basic": {NO_FALLBACK},
    "messages/message_compound": {NO_FALLBACK},
    "messages/message_response": {NO_FALLBACK},
    "messages/message_with_optional_arguments": {NO_FALLBACK},
    # attachments only: their blocks are checked one attachment at a time below
    "messages/message_basic_attachment": {EMPTY},
    "messages/message_with_attachments": {EMPTY},
    "messages/webhook_message_basic": {DUPLICATE, NO_FALLBACK},
    "messages/webhook_message_delete": {DUPLICATE, NO_FALLBACK},
}
# API-response views carry fields Slack fills in; a payload we send never has them.
SERVER_FIELDS = (
    "id",
    "team_id",
    "state",
    "hash",
    "root_view_id",
    "previous_view_id",
    "app_id",
    "app_installed_team_id",
    "bot_id",
)
HOME_RESPONSE_FIELDS = ("clear_on_close", "notify_on_close")  # echoed for home views too


def _json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def _manifest_ids() -> list[str]:
    return [entry["id"] for entry in _json(SPEC / "manifest.json")["fixtures"]]


# Small builders -----------------------------------------------------------------------------


def pt(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text}


def md(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": text}


def section(text: str = "hi", **extra: Any) -> dict[str, Any]:
    return {"type": "section", "text": md(text), **extra}


def button(action_id: str = "go", **extra: Any) -> dict[str, Any]:
    return {"type": "button", "text": pt("Go"), "action_id": action_id, **extra}


def actions(*elements: dict[str, Any]) -> dict[str, Any]:
    return {"type": "actions", "elements": list(elements)}


def option(text: str = "A", value: str = "a", **extra: Any) -> dict[str, Any]:
    return {"text": pt(text), "value": value, **extra}


def options(n: int) -> list[dict[str, Any]]:
    return [option(f"o{i}", f"v{i}") for i in range(n)]


def static_select(**extra: Any) -> dict[str, Any]:
    return {"type": "static_select", "action_id": "pick", "placeholder": pt("Pick"), **extra}


def input_block(element: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"type": "input", "label": pt("Label"), "element": element, **extra}


def modal(*blocks: dict[str, Any], **extra: Any) -> dict[str, Any]:
    base = {"type": "modal", "title": pt("Settings"), "submit": pt("Save"), "blocks": list(blocks)}
    return {**base, **extra}


def home(*blocks: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"type": "home", "blocks": list(blocks), **extra}


def task_card(**extra: Any) -> dict[str, Any]:
    return {"type": "task_card", "task_id": "t1", "title": "Fetch", "status": "pending", **extra}


def table(rows: list[list[Any]], **extra: Any) -> dict[str, Any]:
    return {"type": "table", "rows": rows, **extra}


def raw(text: str = "x") -> dict[str, Any]:
    return {"type": "raw_text", "text": text}


def data_table(rows: list[list[Any]], **extra: Any) -> dict[str, Any]:
    return {"type": "data_table", "caption": "Scores", "rows": rows, **extra}


def video(**extra: Any) -> dict[str, Any]:
    base = {
        "type": "video",
        "alt_text": "alt",
        "title": pt("Title"),
        "thumbnail_url": "https://example.com/t.png",
        "video_url": "https://example.com/v.mp4",
    }
    return {**base, **extra}


def card(**extra: Any) -> dict[str, Any]:
    return {"type": "card", "title": md("Card"), **extra}


def feedback(**positive: Any) -> dict[str, Any]:
    good = {"text": pt("Good"), "value": "good", **positive}
    bad = {"text": pt("Bad"), "value": "bad"}
    return {"type": "feedback_buttons", "positive_button": good, "negative_button": bad}


def icon_button(action_id: str = "del", **extra: Any) -> dict[str, Any]:
    return {
        "type": "icon_button",
        "icon": "trash",
        "text": pt("Delete"),
        "action_id": action_id,
        **extra,
    }


# How a fixture that is not a whole block is placed in one, by its `type` (or file name).
ACTION_ELEMENTS = {
    "button",
    "overflow",
    "datepicker",
    "datetimepicker",
    "timepicker",
    "checkboxes",
    "radio_buttons",
    "workflow_button",
    "static_select",
    "multi_static_select",
    "external_select",
    "multi_external_select",
    "users_select",
    "multi_users_select",
    "conversations_select",
    "multi_conversations_select",
    "channels_select",
    "multi_channels_select",
}
INPUT_ELEMENTS = {
    "plain_text_input",
    "email_text_input",
    "url_text_input",
    "number_input",
    "file_input",
    "rich_text_input",
}
RICH_TEXT_BLOCK_ELEMENTS = {
    "rich_text_section",
    "rich_text_list",
    "rich_text_quote",
    "rich_text_preformatted",
}


def _workflow(workflow: dict[str, Any]) -> dict[str, Any]:
    return {"type": "workflow_button", "text": pt("Run"), "workflow": workflow}


def _trigger(trigger: dict[str, Any]) -> dict[str, Any]:
    return _workflow({"trigger": trigger})


OBJECT_PLACEMENT = {
    "objects/confirmation_dialogue_basic": lambda o: actions(button(confirm=o)),
    "objects/conversation_filter_basic": lambda o: actions(
        {"type": "conversations_select", "action_id": "c", "filter": o}
    ),
    "objects/dispatch_action_configuration_basic": lambda o: input_block(
        {"type": "plain_text_input", "action_id": "t", "dispatch_action_config": o},
        dispatch_action=True,
    ),
    "objects/input_parameter_basic": lambda o: actions(
        _trigger(
            {"url": "https://slack.com/shortcuts/Ft1/abc", "customizable_input_parameters": [o]}
        )
    ),
    "objects/option_basic": lambda o: actions(static_select(options=[o])),
    "objects/option_value_at_limit": lambda o: actions(static_select(options=[o])),
    "objects/option_group_basic": lambda o: actions(static_select(option_groups=[o])),
    "objects/trigger_basic": lambda o: actions(_trigger(o)),
    "objects/workflow_basic": lambda o: actions(_workflow(o)),
}


def _place(fixture_id: str, data: dict[str, Any]) -> tuple[str, Any]:
    """("message", blocks) or ("view", view) that holds this fixture as Slack would carry it."""
    group = fixture_id.split("/")[0]
    kind = data.get("type")
    if group == "blocks":
        return "message", [data]
    if group == "views":
        return "view", data
    if fixture_id in OBJECT_PLACEMENT:
        return "message", [OBJECT_PLACEMENT[fixture_id](data)]
    if kind in ("plain_text", "mrkdwn"):
        return "message", [{"type": "section", "text": data}]
    if kind in ACTION_ELEMENTS:
        return "message", [actions(data)]
    if kind in INPUT_ELEMENTS:
        return "view", modal(input_block(data))
    if kind == "image":
        return "message", [{"type": "context", "elements": [data]}]
    if kind == "url":
        return "message", [task_card(sources=[data])]
    if kind in RICH_TEXT_BLOCK_ELEMENTS:
        return "message", [{"type": "rich_text", "elements": [data]}]
    if group == "rich_text":
        inline = {"type": "rich_text_section", "elements": [data]}
        return "message", [{"type": "rich_text", "elements": [inline]}]
    raise AssertionError(f"no placement for fixture {fixture_id} (type {kind!r})")


def _check(kind: str, payload: Any) -> list[Problem]:
    return check_message(payload, FALLBACK) if kind == "message" else check_view(payload)


# Valid fixtures -----------------------------------------------------------------------------


def test_the_reference_data_is_where_the_validator_looks() -> None:
    project_root = Path(__file__).resolve().parents[1]
    assert project_root / "tests" / "fixtures" / "slack-reference" == REFERENCE_DIR
    assert (SPEC / "limits.json").is_file()


def test_the_manifest_lists_every_valid_fixture_file() -> None:
    on_disk = {str(p.relative_to(VALID).with_suffix("")) for p in VALID.rglob("*.json")}
    assert on_disk == set(_manifest_ids())


GROUPED = [i for i in _manifest_ids() if not i.startswith(("messages/", "attachments/"))]


@pytest.mark.parametrize("fixture_id", GROUPED)
def test_valid_fixture_is_accepted(fixture_id: str) -> None:
    kind, payload = _place(fixture_id, _json(VALID / f"{fixture_id}.json"))
    problems = [str(p) for p in _check(kind, payload)]
    if fixture_id in REFUSED_FIXTURES:
        assert problems, f"{fixture_id} now passes: remove it from REFUSED_FIXTURES"
        expected = REFUSED_FIXTURES[fixture_id]
        assert all(any(reason in p for reason in expected) for p in problems), problems
    else:
        assert problems == []


MESSAGES = [i for i in _manifest_ids() if i.startswith(("messages/", "attachments/"))]


@pytest.mark.parametrize("fixture_id", MESSAGES)
def test_message_fixture_has_exactly_the_expected_problems(fixture_id: str) -> None:
    data = _json(VALID / f"{fixture_id}.json")
    attachments = data.get("attachments", []) if fixture_id.startswith("messages/") else [data]
    for attachment in attachments:  # an attachment's blocks stand on their own
        assert validate_message(attachment["blocks"], FALLBACK) == []
    if fixture_id.startswith("messages/"):
        problems = validate_message(data.get("blocks"), data.get("text"))
        assert set(problems) == MESSAGE_PROBLEMS.get(fixture_id, set())


@pytest.mark.parametrize("path", sorted(SDK_VIEWS.glob("view_*.json")), ids=lambda p: p.stem)
def test_python_slack_sdk_view_fixture_is_accepted(path: Path) -> None:
    view = _json(path)
    for key in SERVER_FIELDS:
        view.pop(key, None)
    if view["type"] == "home":
        for key in HOME_RESPONSE_FIELDS:
            view.pop(key, None)
    assert validate_view(view) == []


def test_lengths_count_code_points_as_slack_does() -> None:
    emoji = "😀"  # one code point, two UTF-16 units
    header = {"type": "header", "text": pt(emoji * 150)}
    assert validate_message([header], FALLBACK) == []
    header["text"] = pt(emoji * 151)
    assert validate_message([header], FALLBACK) == [
        "/blocks/0/text/text: header text is 151 characters, over 150"
    ]


def test_limits_are_inclusive() -> None:
    assert validate_message([section() for _ in range(50)], FALLBACK) == []
    assert validate_message([section("y" * 3000)], "t" * 40_000) == []
    assert validate_view(home(*[section() for _ in range(100)])) == []
    assert validate_view({**modal(section()), "title": pt("t" * 24)}) == []


# The invalid-case catalogue -----------------------------------------------------------------

Case = tuple[str, Any, str]  # (kind, payload, pointer every problem must be at or under)


def msg(*blocks: dict[str, Any], pointer: str) -> Case:
    return "message", list(blocks), pointer


def view(payload: dict[str, Any], pointer: str) -> Case:
    return "view", payload, pointer


E0 = "/blocks/0/elements/0"
ASTRAL = "😀"
CASES: dict[str, Case] = {
    "text-empty": msg(section(""), pointer="/blocks/0/text"),
    "text-too-long": msg({"type": "context", "elements": [md("x" * 3001)]}, pointer=f"{E0}/text"),
    "button-action-id-too-long": msg(actions(button("a" * 256)), pointer=f"{E0}/action_id"),
    "button-text-too-long": msg(actions(button(text=pt("b" * 76))), pointer=f"{E0}/text"),
    "button-url-too-long": msg(actions(button(url="u" * 3001)), pointer=f"{E0}/url"),
    "button-value-too-long": msg(actions(button(value="v" * 2001)), pointer=f"{E0}/value"),
    "confirmation-title-too-long": msg(
        actions(
            button(
                confirm={
                    "title": pt("t" * 101),
                    "text": pt("Sure?"),
                    "confirm": pt("Yes"),
                    "deny": pt("No"),
                }
            )
        ),
        pointer=f"{E0}/confirm/title",
    ),
    "confirmation-text-too-long": msg(
        actions(
            button(
                confirm={
                    "title": pt("Sure"),
                    "text": pt("t" * 301),
                    "confirm": pt("Yes"),
                    "deny": pt("No"),
                }
            )
        ),
        pointer=f"{E0}/confirm/text",
    ),
    "confirmation-confirm-too-long": msg(
        actions(
            button(
                confirm={
                    "title": pt("Sure"),
                    "text": pt("Sure?"),
                    "confirm": pt("y" * 31),
                    "deny": pt("No"),
                }
            )
        ),
        pointer=f"{E0}/confirm/confirm",
    ),
    "confirmation-deny-too-long": msg(
        actions(
            button(
                confirm={
                    "title": pt("Sure"),
                    "text": pt("Sure?"),
                    "confirm": pt("Yes"),
                    "deny": pt("n" * 31),
                }
            )
        ),
        pointer=f"{E0}/confirm/deny",
    ),
    "option-text-too-long": msg(
        actions(static_select(options=[option("o" * 76)])), pointer=f"{E0}/options/0/text"
    ),
    "option-value-too-long": msg(
        actions(static_select(options=[option(value="v" * 151)])), pointer=f"{E0}/options/0/value"
    ),
    "option-url-too-long": msg(
        actions({"type": "overflow", "action_id": "o", "options": [option(url=ASTRAL * 3001)]}),
        pointer=f"{E0}/options/0/url",
    ),
    "option-description-too-long": msg(
        actions(
            {
                "type": "radio_buttons",
                "action_id": "r",
                "options": [option(description=pt("d" * 76))],
            }
        ),
        pointer=f"{E0}/options/0/description",
    ),
    "option-group-label-too-long": msg(
        actions(static_select(option_groups=[{"label": pt("l" * 76), "options": [option()]}])),
        pointer=f"{E0}/option_groups/0/label",
    ),
    "option-group-empty": msg(
        actions(static_select(option_groups=[{"label": pt("Group"), "options": []}])),
        pointer=f"{E0}/option_groups/0/options",
    ),
    "option-group-too-many-options": msg(
        actions(static_select(option_groups=[{"label": pt("Group"), "options": options(101)}])),
        pointer=f"{E0}/option_groups/0/options",
    ),
    "select-placeholder-too-long": msg(
        actions(static_select(options=[option()], placeholder=pt("p" * 151))),
        pointer=f"{E0}/placeholder",
    ),
    "select-too-many-options": msg(
        actions(static_select(options=options(101))), pointer=f"{E0}/options"
    ),
    "select-too-many-option-groups": msg(
        actions(
            static_select(
                option_groups=[{"label": pt(f"g{i}"), "options": [option()]} for i in range(101)]
            )
        ),
        pointer=f"{E0}/option_groups",
    ),
    "overflow-empty": msg(
        actions({"type": "overflow", "action_id": "o", "options": []}), pointer=f"{E0}/options"
    ),
    "overflow-too-many-options": msg(
        actions({"type": "overflow", "action_id": "o", "options": options(6)}),
        pointer=f"{E0}/options",
    ),
    "checkboxes-empty": msg(
        actions({"type": "checkboxes", "action_id": "c", "options": []}), pointer=f"{E0}/options"
    ),
    "checkboxes-too-many-options": msg(
        actions({"type": "checkboxes", "action_id": "c", "options": options(11)}),
        pointer=f"{E0}/options",
    ),
    "radio-buttons-empty": msg(
        actions({"type": "radio_buttons", "action_id": "r", "options": []}), pointer=f"{E0}/options"
    ),
    "radio-buttons-too-many-options": msg(
        actions({"type": "radio_buttons", "action_id": "r", "options": options(11)}),
        pointer=f"{E0}/options",
    ),
    "url-source-url-empty": msg(
        task_card(sources=[{"type": "url", "url": "", "text": "docs"}]),
        pointer="/blocks/0/sources/0/url",
    ),
    "url-source-url-too-long": msg(
        task_card(sources=[{"type": "url", "url": "u" * 3001, "text": "docs"}]),
        pointer="/blocks/0/sources/0/url",
    ),
    "table-too-many-rows": msg(table([[raw()] for _ in range(101)]), pointer="/blocks/0/rows"),
    "table-ragged-rows": msg(table([[raw(), raw()], [raw()]]), pointer="/blocks/0/rows"),
    "table-column-settings-mismatch": msg(
        table([[raw(), raw()]], column_settings=[{"align": "left"}] * 3),
        pointer="/blocks/0/column_settings",
    ),
    "file-input-max-files-too-small": view(
        modal(input_block({"type": "file_input", "action_id": "f", "max_files": 0})),
        pointer="/blocks/0/element/max_files",
    ),
    "file-input-max-files-too-large": view(
        modal(input_block({"type": "file_input", "action_id": "f", "max_files": 11})),
        pointer="/blocks/0/element/max_files",
    ),
    "plain-text-input-max-length-too-large": view(
        modal(input_block({"type": "plain_text_input", "action_id": "t", "max_length": 3001})),
        pointer="/blocks/0/element/max_length",
    ),
    "actions-too-many-elements": msg(
        actions(*[button(f"b{i}") for i in range(26)]), pointer="/blocks/0/elements"
    ),
    "context-too-many-elements": msg(
        {"type": "context", "elements": [md(f"m{i}") for i in range(11)]},
        pointer="/blocks/0/elements",
    ),
    "header-text-too-long": msg(
        {"type": "header", "text": pt("h" * 151)}, pointer="/blocks/0/text"
    ),
    "image-url-too-long": msg(
        {"type": "image", "image_url": "u" * 3001, "alt_text": "alt"}, pointer="/blocks/0/image_url"
    ),
    "image-alt-text-too-long": msg(
        {"type": "image", "image_url": "https://example.com/i.png", "alt_text": "a" * 2001},
        pointer="/blocks/0/alt_text",
    ),
    "input-label-too-long": view(
        modal(input_block({"type": "plain_text_input", "action_id": "t"}, label=pt("l" * 2001))),
        pointer="/blocks/0/label",
    ),
    "input-hint-too-long": view(
        modal(input_block({"type": "plain_text_input", "action_id": "t"}, hint=pt("h" * 2001))),
        pointer="/blocks/0/hint",
    ),
    "markdown-empty": msg({"type": "markdown", "text": ""}, pointer="/blocks/0/text"),
    "markdown-too-long": msg({"type": "markdown", "text": "m" * 12001}, pointer="/blocks/0/text"),
    "section-text-too-long": msg(section("s" * 3001), pointer="/blocks/0/text"),
    "section-too-many-fields": msg(
        {"type": "section", "fields": [md(f"f{i}") for i in range(11)]}, pointer="/blocks/0/fields"
    ),
    "section-field-too-long": msg(
        {"type": "section", "fields": [md("f" * 2001)]}, pointer="/blocks/0/fields/0"
    ),
    "video-alt-text-empty": msg(video(alt_text=""), pointer="/blocks/0/alt_text"),
    "video-alt-text-too-long": msg(video(alt_text="a" * 201), pointer="/blocks/0/alt_text"),
    "video-title-too-long": msg(video(title=pt("t" * 201)), pointer="/blocks/0/title"),
    "video-author-name-too-long": msg(video(author_name="a" * 51), pointer="/blocks/0/author_name"),
    "video-description-too-long": msg(
        video(description=pt("d" * 201)), pointer="/blocks/0/description"
    ),
    "video-provider-name-too-long": msg(
        video(provider_name="p" * 51), pointer="/blocks/0/provider_name"
    ),
    "view-missing-blocks": view(home(), pointer="/blocks"),
    "view-too-many-blocks": view(home(*[section() for _ in range(101)]), pointer=""),
    "view-private-metadata-too-long": view(
        home(section(), private_metadata="m" * 3001), pointer="/private_metadata"
    ),
    "view-callback-id-too-long": view(
        home(section(), callback_id="c" * 256), pointer="/callback_id"
    ),
    "view-title-too-long": view({**modal(section()), "title": pt("t" * 25)}, pointer="/title"),
    "view-close-too-long": view({**modal(section()), "close": pt("c" * 25)}, pointer="/close"),
    "view-submit-too-long": view({**modal(section()), "submit": pt("s" * 25)}, pointer="/submit"),
    "section-missing-content": msg({"type": "section"}, pointer="/blocks/0"),
    "static-select-options-and-groups": msg(
        actions(
            static_select(
                options=[option()], option_groups=[{"label": pt("G"), "options": [option()]}]
            )
        ),
        pointer=E0,
    ),
    "image-url-and-slack-file": msg(
        {
            "type": "image",
            "image_url": "https://example.com/i.png",
            "slack_file": {"id": "F1"},
            "alt_text": "a",
        },
        pointer="/blocks/0",
    ),
    "number-input-inverted-range": view(
        modal(
            input_block(
                {
                    "type": "number_input",
                    "action_id": "n",
                    "is_decimal_allowed": False,
                    "min_value": "10",
                    "max_value": "1",
                }
            )
        ),
        pointer="/blocks/0/element/min_value",
    ),
    "context-invalid-element": msg({"type": "context", "elements": [button()]}, pointer=E0),
    "input-invalid-element": view(modal(input_block(button())), pointer="/blocks/0/element"),
    "block-id-too-long": msg(section(block_id="b" * 256), pointer="/blocks/0/block_id"),
    "button-accessibility-label-too-long": msg(
        actions(button(accessibility_label="a" * 76)), pointer=f"{E0}/accessibility_label"
    ),
    "alert-text-too-long": msg(
        {"type": "alert", "text": md("a" * 201), "level": "info"}, pointer="/blocks/0/text"
    ),
    "card-title-too-long": msg(card(title=md("t" * 151)), pointer="/blocks/0/title"),
    "card-subtitle-too-long": msg(card(subtitle=md("s" * 151)), pointer="/blocks/0/subtitle"),
    "card-body-too-long": msg(card(body=md("b" * 201)), pointer="/blocks/0/body"),
    "card-too-many-actions": msg(
        card(actions=[button(f"b{i}") for i in range(4)]), pointer="/blocks/0/actions"
    ),
    # `subtext` is newer than the schema, so it is refused twice: unknown field, and too long
    "card-subtext-too-long": msg(card(subtext=md("s" * 201)), pointer="/blocks/0"),
    "carousel-empty": msg({"type": "carousel", "elements": []}, pointer="/blocks/0/elements"),
    "carousel-too-many-cards": msg(
        {"type": "carousel", "elements": [card(block_id=f"c{i}") for i in range(11)]},
        pointer="/blocks/0/elements",
    ),
    "container-title-too-long": msg(
        {"type": "container", "title": pt("t" * 151), "child_blocks": [section()]},
        pointer="/blocks/0/title",
    ),
    "container-subtitle-too-long": msg(
        {"type": "container", "subtitle": md("s" * 151), "child_blocks": [section()]},
        pointer="/blocks/0/subtitle",
    ),
    "container-too-many-child-blocks": msg(
        {"type": "container", "child_blocks": [section() for _ in range(11)]},
        pointer="/blocks/0/child_blocks",
    ),
    "context-actions-too-many-elements": msg(
        {"type": "context_actions", "elements": [icon_button(f"i{i}") for i in range(6)]},
        pointer="/blocks/0/elements",
    ),
    "feedback-button-text-too-long": msg(
        {"type": "context_actions", "elements": [feedback(text=pt("g" * 76))]},
        pointer=f"{E0}/positive_button/text",
    ),
    "feedback-button-value-too-long": msg(
        {"type": "context_actions", "elements": [feedback(value="v" * 2001)]},
        pointer=f"{E0}/positive_button/value",
    ),
    "feedback-button-accessibility-label-too-long": msg(
        {"type": "context_actions", "elements": [feedback(accessibility_label="a" * 76)]},
        pointer=f"{E0}/positive_button/accessibility_label",
    ),
    "icon-button-too-many-visible-users": msg(
        {
            "type": "context_actions",
            "elements": [icon_button(visible_to_user_ids=[f"U{i:08d}" for i in range(11)])],
        },
        pointer=f"{E0}/visible_to_user_ids",
    ),
    "data-table-too-few-rows": msg(data_table([[raw()]]), pointer="/blocks/0/rows"),
    "data-table-too-many-rows": msg(
        data_table([[raw()] for _ in range(202)]), pointer="/blocks/0/rows"
    ),
    "data-table-too-few-columns": msg(data_table([[], []]), pointer="/blocks/0/rows"),
    "data-table-too-many-columns": msg(
        data_table([[raw()] * 21, [raw()] * 21]), pointer="/blocks/0/rows"
    ),
    "data-table-page-size-too-small": msg(
        data_table([[raw()], [raw()]], page_size=0), pointer="/blocks/0/page_size"
    ),
    "data-table-page-size-too-large": msg(
        data_table([[raw()], [raw()]], page_size=101), pointer="/blocks/0/page_size"
    ),
    "data-table-cell-text-empty": msg(
        data_table([[raw("Name")], [raw("")]]), pointer="/blocks/0/rows/1/0/text"
    ),
    "data-table-content-too-long": msg(
        data_table([[raw("c" * 1001)] * 20, [raw()] * 20]), pointer="/blocks/0/rows"
    ),
}
# data_visualization is newer than the schema: the validator refuses the whole block type, so
# its limits cannot be told apart from that (see REFUSED_FIXTURES).
NOT_APPLICABLE_PREFIX = "data_visualization."


def _invalid_cases() -> list[dict[str, str]]:
    return list(_json(SPEC / "fixtures" / "invalid" / "manifest.json")["cases"])


def test_every_invalid_case_is_covered_or_explained() -> None:
    for case in _invalid_cases():
        applies = not case["constraint"].startswith(NOT_APPLICABLE_PREFIX)
        assert (case["id"] in CASES) is applies, case["id"]


@pytest.mark.parametrize("case_id", sorted(CASES))
def test_invalid_case_is_reported_where_it_is(case_id: str) -> None:
    kind, payload, pointer = CASES[case_id]
    problems = _check(kind, payload)
    assert problems, f"{case_id} was not reported"
    for problem in problems:
        assert problem.pointer == pointer or problem.pointer.startswith(pointer + "/"), problems
    if pointer == "":
        assert len(problems) == 1, problems


# Our own limits and rules -------------------------------------------------------------------


def test_fifty_one_blocks_in_a_message() -> None:
    assert validate_message([section() for _ in range(51)], FALLBACK) == ["51 blocks, over 50"]


def test_a_151_character_header() -> None:
    problems = validate_message([{"type": "header", "text": pt("h" * 151)}], FALLBACK)
    assert problems == ["/blocks/0/text/text: header text is 151 characters, over 150"]


def test_a_3001_character_section() -> None:
    problems = validate_message([section("s" * 3001)], FALLBACK)
    assert problems == ["/blocks/0/text/text: section text is 3001 characters, over 3000"]


def test_mrkdwn_in_a_header() -> None:
    problems = validate_message([{"type": "header", "text": md("*bold*")}], FALLBACK)
    assert problems == ["schema: /blocks/0/text/type: expected 'plain_text', got 'mrkdwn'"]


@pytest.mark.parametrize("text", [None, "", "   "])
def test_blocks_without_a_fallback_text(text: str | None) -> None:
    assert validate_message([section()], text) == [NO_FALLBACK]


def test_text_alone_is_a_message_and_nothing_is_not() -> None:
    assert validate_message(None, "Hello") == []
    assert validate_message([], "Hello") == []
    assert validate_message(None, None) == [EMPTY]
    assert validate_message(None, "x" * 40_001) == ["/text: text is 40001 characters, over 40000"]


def test_duplicate_block_ids_anywhere_in_a_payload() -> None:
    nested = {"type": "container", "child_blocks": [section(block_id="a")]}
    assert validate_message([section(block_id="a"), nested], FALLBACK) == [
        "/blocks/1/child_blocks/0/block_id: duplicate block_id 'a' (first at /blocks/0)"
    ]
    assert validate_view(home(section(block_id="x"), section(block_id="x"))) == [
        "/blocks/1/block_id: duplicate block_id 'x' (first at /blocks/0)"
    ]


def test_duplicate_action_ids_within_a_block_but_not_across_blocks() -> None:
    assert (
        validate_message([actions(button("a"), button("b")), actions(button("a"))], FALLBACK) == []
    )
    assert validate_message([actions(button("a"), button("a"))], FALLBACK) == [
        "/blocks/0/elements/1/action_id: duplicate action_id 'a' in one block "
        "(first at /blocks/0/elements/0/action_id)"
    ]


def test_a_25_character_modal_title() -> None:
    problems = validate_view({**modal(section()), "title": pt("t" * 25)})
    assert problems == ["/title/text: modal title is 25 characters, over 24"]


def test_a_view_over_100_blocks_and_an_unknown_view_type() -> None:
    assert validate_view(home(*[section() for _ in range(101)])) == ["101 blocks, over 100"]
    assert validate_view({"type": "popup", "blocks": [section()]}) == [
        "schema: /type: unknown view type 'popup'; expected 'home' or 'modal'"
    ]


def test_a_modal_with_inputs_needs_a_submit_button() -> None:
    inputs = modal(input_block({"type": "plain_text_input", "action_id": "t"}))
    assert validate_view(inputs) == []
    del inputs["submit"]
    assert validate_view(inputs) == ["/submit: a modal with input blocks needs a `submit` button"]


def test_structural_mistakes_are_explained() -> None:
    assert validate_message([{"type": "sektion", "text": md("x")}], FALLBACK) == [
        "schema: /blocks/0: unknown block type 'sektion'"
    ]
    assert validate_message(
        [{"type": "section", "text": {"type": "mrkdown", "text": "x"}}], FALLBACK
    ) == ["schema: /blocks/0/text: type 'mrkdown' is unknown or not allowed here"]
    assert validate_message(
        [actions({"type": "button", "txt": pt("Go"), "action_id": "a"})], FALLBACK
    ) == [
        "schema: /blocks/0/elements/0: Additional properties are not allowed ('txt' was unexpected)",
        "schema: /blocks/0/elements/0: 'text' is a required property",
    ]
    not_a_list: Any = "not a list"
    assert validate_message(not_a_list, FALLBACK) == [
        "schema: /blocks: blocks must be a JSON array"
    ]


def test_select_options_take_plain_text_only() -> None:
    select = static_select(options=[{"text": md("*A*"), "value": "a"}])
    assert (
        "/blocks/0/elements/0/options/0/text/type: select and overflow options take plain_text only"
        in (validate_message([actions(select)], FALLBACK))
    )
    radio = {
        "type": "radio_buttons",
        "action_id": "r",
        "options": [{"text": md("*A*"), "value": "a"}],
    }
    assert validate_message([actions(radio)], FALLBACK) == []


def test_every_problem_is_listed_when_asserting() -> None:
    blocks = [{"type": "header", "text": pt("h" * 151)}, section("s" * 3001)]
    with pytest.raises(AssertionError) as raised:
        assert_valid_message(blocks, None)
    report = str(raised.value)
    assert report.startswith("3 Block Kit problem(s) in message:")
    assert (
        "/blocks/0/text/text" in report and "/blocks/1/text/text" in report and "fallback" in report
    )
    with pytest.raises(AssertionError, match="2 Block Kit problem"):
        assert_valid_view(
            {**modal(section(block_id="a"), section(block_id="a")), "title": pt("t" * 25)}
        )
    assert_valid_message([section()], FALLBACK)
    assert_valid_view(home(section()))


def test_problems_read_like_slack_errors() -> None:
    problem = check_message([{"type": "header", "text": pt("h" * 151)}], FALLBACK)[0]
    assert problem.slack_line() == (
        "[ERROR] header text is 151 characters, over 150 [json-pointer:/blocks/0/text/text]"
    )
    assert check_view(home(section(block_id="b" * 256)))[0].slack_line("/view") == (
        "[ERROR] block_id is 256 characters, over 255 [json-pointer:/view/blocks/0/block_id]"
    )
