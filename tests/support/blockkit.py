"""Block Kit validation for tests: Slack's structural schema plus the length and count limits.

Reads ../shared/slack-reference/ relative to the project root: the JSON Schemas generated from
@slack/types (structure) and slackblocks-spec/limits.json (lengths and counts).
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema

REFERENCE = Path(__file__).resolve().parents[2].parent / "shared" / "slack-reference"
SCHEMAS = REFERENCE / "blockkit-jsonschema-from-slack-types"
MESSAGE_BLOCKS, VIEW_BLOCKS, FALLBACK_TEXT = 50, 100, 40_000


@cache
def _schema(name: str) -> jsonschema.Draft7Validator:
    return jsonschema.Draft7Validator(json.loads((SCHEMAS / name).read_text()))


@cache
def limits() -> dict[str, Any]:
    return dict(json.loads((REFERENCE / "slackblocks-spec" / "limits.json").read_text()))


def _text_len(obj: Any) -> int:
    return len(obj.get("text", "")) if isinstance(obj, dict) else 0


def _check_text(obj: Any, where: str, limit: int, problems: list[str]) -> None:
    if not isinstance(obj, dict):
        return
    text = obj.get("text", "")
    if not text:
        problems.append(f"{where}: empty text")
    elif len(text) > limit:
        problems.append(f"{where}: text is {len(text)} characters, over {limit}")


def _check_element(element: dict[str, Any], where: str, problems: list[str]) -> None:
    lim = limits()
    if len(element.get("action_id", "")) > lim["action_id"]["max_length"]:
        problems.append(f"{where}: action_id over {lim['action_id']['max_length']}")
    if element.get("type") == "button":
        _check_text(
            element.get("text"), f"{where}.text", lim["button"]["text"]["max_length"], problems
        )
        if len(element.get("value", "")) > lim["button"]["value"]["max_length"]:
            problems.append(f"{where}: button value too long")
        confirm = element.get("confirm")
        if confirm:
            for key in ("title", "text", "confirm", "deny"):
                _check_text(
                    confirm.get(key),
                    f"{where}.confirm.{key}",
                    lim["confirmation"][key]["max_length"],
                    problems,
                )


def check_blocks(blocks: list[dict[str, Any]], max_blocks: int) -> list[str]:
    problems: list[str] = []
    lim = limits()
    if len(blocks) > max_blocks:
        problems.append(f"{len(blocks)} blocks, over {max_blocks}")
    seen: set[str] = set()
    for index, block in enumerate(blocks):
        where = f"blocks[{index}]"
        block_id = block.get("block_id")
        if block_id:
            if block_id in seen:
                problems.append(f"{where}: duplicate block_id {block_id!r}")
            seen.add(block_id)
            if len(block_id) > lim["block_id"]["max_length"]:
                problems.append(f"{where}: block_id too long")
        kind = block.get("type")
        if kind == "header":
            _check_text(
                block.get("text"), f"{where}.text", lim["header"]["text"]["max_length"], problems
            )
        elif kind == "section":
            if "text" in block:
                _check_text(block["text"], f"{where}.text", 3000, problems)
            fields = block.get("fields", [])
            if len(fields) > 10:
                problems.append(f"{where}: {len(fields)} fields, over 10")
            for f_index, field in enumerate(fields):
                _check_text(field, f"{where}.fields[{f_index}]", 2000, problems)
            if "accessory" in block:
                _check_element(block["accessory"], f"{where}.accessory", problems)
        elif kind == "context":
            elements = block.get("elements", [])
            if len(elements) > lim["context"]["elements"]["max_items"]:
                problems.append(f"{where}: too many context elements")
            for e_index, element in enumerate(elements):
                if element.get("type") in ("mrkdwn", "plain_text"):
                    _check_text(element, f"{where}.elements[{e_index}]", 3000, problems)
        elif kind == "actions":
            elements = block.get("elements", [])
            if len(elements) > lim["actions"]["elements"]["max_items"]:
                problems.append(f"{where}: too many actions")
            action_ids = [e.get("action_id") for e in elements if e.get("action_id")]
            if len(action_ids) != len(set(action_ids)):
                problems.append(f"{where}: duplicate action_id")
            for e_index, element in enumerate(elements):
                _check_element(element, f"{where}.elements[{e_index}]", problems)
        elif kind == "input":
            _check_text(block.get("label"), f"{where}.label", 2000, problems)
    return problems


def validate_message(blocks: list[dict[str, Any]] | None, text: str | None) -> list[str]:
    problems: list[str] = []
    if blocks:
        problems += [
            f"schema: {e.message}"
            for e in _schema("message-blocks.schema.json").iter_errors(blocks)
        ]
        problems += check_blocks(blocks, MESSAGE_BLOCKS)
        if not text:
            problems.append("a plain-text fallback `text` is required with blocks")
    if text is not None and len(text) > FALLBACK_TEXT:
        problems.append(f"text is {len(text)} characters, over {FALLBACK_TEXT}")
    if not blocks and not text:
        problems.append("neither text nor blocks")
    return problems


def validate_view(view: dict[str, Any]) -> list[str]:
    schema = "home-view.schema.json" if view.get("type") == "home" else "modal-view.schema.json"
    problems = [f"schema: {e.message}" for e in _schema(schema).iter_errors(view)]
    problems += check_blocks(view.get("blocks", []), VIEW_BLOCKS)
    if view.get("type") == "modal":
        for key in ("title", "submit", "close"):
            if key in view:
                _check_text(view[key], key, 24, problems)
        if len(view.get("callback_id", "")) > 255:
            problems.append("callback_id over 255")
    if len(view.get("private_metadata", "")) > 3000:
        problems.append("private_metadata over 3000")
    return problems


def assert_valid_message(blocks: list[dict[str, Any]] | None, text: str | None) -> None:
    problems = validate_message(blocks, text)
    assert not problems, "invalid Block Kit message:\n" + "\n".join(problems)


def assert_valid_view(view: dict[str, Any]) -> None:
    problems = validate_view(view)
    assert not problems, "invalid Block Kit view:\n" + "\n".join(problems)
