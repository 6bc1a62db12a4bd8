"""Block Kit validator for the payloads ai-roi sends to Slack: messages, App Home and modals.

Two layers, both read from ``tests/fixtures/slack-reference/`` (provenance and licences in its README):

1. **structure** — the Draft-7 JSON Schemas generated from ``@slack/types`` catch unknown block
   and element types, a wrong text type (``mrkdwn`` in a header), misspelt keys and missing
   required fields;
2. **limits the schema lacks** — lengths and counts from ``slackblocks-spec/limits.json`` where it
   has them, otherwise Slack's documented limits (50 blocks per message, 40,000 characters of
   message text, table rows …), unique ``block_id``s and ``action_id``s, and this app's own rule:
   a message with blocks always carries a non-empty plain-text ``text`` fallback.

Lengths count Unicode code points, as Slack does::

    problems = validate_message(blocks, text)   # [] when valid
    assert_valid_view(view)                     # AssertionError listing every problem

A problem reads ``"<json-pointer>: <what is wrong>"`` (payload-wide ones have no pointer, e.g.
``"51 blocks, over 50"``); structural ones start with ``"schema: "``. :func:`check_message` and
:func:`check_view` return the same as :class:`Problem` objects, for code that formats them the
way Slack does (the fake Web API's ``invalid_blocks`` answers).

Known differences from Slack, on purpose: block types newer than ``@slack/types`` 3.2.0
(``data_visualization``) and card fields it lacks (``slack_icon``, ``subtext``) are refused; the
schema is patched in one documented place (mrkdwn option descriptions, see ``_patch_schema``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from typing import Any

from jsonschema import Draft7Validator
from jsonschema.exceptions import ValidationError

from fakes.reference import SLACK_REFERENCE

REFERENCE_DIR = SLACK_REFERENCE
SCHEMA_DIR = REFERENCE_DIR / "blockkit-jsonschema-from-slack-types"
LIMITS_FILE = REFERENCE_DIR / "slackblocks-spec" / "limits.json"

# Slack's documented limits that limits.json does not list.
MESSAGE_MAX_BLOCKS = 50  # docs.slack.dev/reference/block-kit/blocks: up to 50 blocks per message
MESSAGE_MAX_TEXT = 40_000  # chat.postMessage: text beyond 40,000 characters is truncated
TABLE_MAX_ROWS = 100  # docs.slack.dev/reference/block-kit/blocks/table-block
TABLE_MAX_CELLS = 20  # … each row at most 20 cells, column_settings at most 20 items
IMAGE_TITLE_MAX = 2000  # image block: title text at most 2000 characters
SELECT_TYPES = frozenset(
    {
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
)
# Option text must be plain_text here (docs: only radio buttons and checkboxes take mrkdwn).
PLAIN_OPTION_TYPES = frozenset({"static_select", "multi_static_select", "overflow"})
TEXT_TYPES = frozenset({"plain_text", "mrkdwn"})
# Keys whose items are blocks in their own right (checked as blocks, not walked as elements).
NESTED_BLOCKS = {"container": "child_blocks", "carousel": "elements"}


@dataclass(frozen=True)
class Problem:
    """One thing Slack would refuse. ``pointer`` is a JSON pointer into the payload ("" = all)."""

    pointer: str
    message: str
    structural: bool = False

    def __str__(self) -> str:
        head = "schema: " if self.structural else ""
        return f"{head}{self.pointer}: {self.message}" if self.pointer else head + self.message

    def slack_line(self, prefix: str = "") -> str:
        """The problem as Slack words it in ``response_metadata.messages``."""
        return f"[ERROR] {self.message} [json-pointer:{prefix}{self.pointer or '/'}]"


# Reference data ---------------------------------------------------------------------------


@cache
def limits() -> dict[str, Any]:
    """slackblocks-spec/limits.json, the normative registry of scalar Block Kit limits."""
    return dict(json.loads(LIMITS_FILE.read_text(encoding="utf-8")))


def _limit(*path: str) -> int:
    node: Any = limits()
    for key in path:
        node = node[key]
    return int(node)


def _patch_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """Align @slack/types 3.2.0 with Slack's docs where it is stricter than Slack itself.

    Option object docs: "Checkbox group and radio button group items can also use mrkdwn
    formatting" for ``description``; @slack/types types it plain_text only, which rejects
    python-slack-sdk's own home-view fixtures 001 and 005.
    """
    definitions = schema.get("definitions", {})
    option = definitions.get("MrkdwnOption", {}).get("properties", {})
    if "description" in option and "TextObject" in definitions:
        option["description"] = {"$ref": "#/definitions/TextObject"}
    return schema


@cache
def _schema(name: str) -> dict[str, Any]:
    path = SCHEMA_DIR / f"{name}.schema.json"
    return _patch_schema(json.loads(path.read_text(encoding="utf-8")))


@cache
def _validator(name: str) -> Draft7Validator:
    return Draft7Validator(_schema(name))


@cache
def _block_validators(name: str) -> dict[str, Draft7Validator]:
    """One validator per block ``type``, from the schema's ``KnownBlock`` union.

    Checking each block against the definition its ``type`` names is what the union does, only
    without trying twenty branches, and it says precisely what is wrong. Views are checked the
    same way: their schema's ``AnyBlock`` also admits a generic ``{type, block_id}`` block, which
    Slack refuses for a type it does not know.
    """
    definitions = _schema(name)["definitions"]
    validators: dict[str, Draft7Validator] = {}
    for ref in definitions["KnownBlock"]["anyOf"]:
        definition = ref["$ref"].rsplit("/", 1)[-1]
        schema = {"$ref": f"#/definitions/{definition}", "definitions": definitions}
        for kind in _type_consts(definitions[definition]):
            validators[kind] = Draft7Validator(schema)
    return validators


def _type_consts(definition: dict[str, Any]) -> set[str]:
    if "anyOf" in definition:
        return {kind for branch in definition["anyOf"] for kind in _type_consts(branch)}
    const = definition.get("properties", {}).get("type", {}).get("const")
    return {const} if isinstance(const, str) else set()


# Public API -------------------------------------------------------------------------------


def check_message(blocks: list[dict[str, Any]] | None, text: str | None) -> list[Problem]:
    """Problems in a chat.postMessage / chat.postEphemeral / response_url payload."""
    problems: list[Problem] = []
    if blocks is not None and not isinstance(blocks, list):
        return [Problem("/blocks", "blocks must be a JSON array", structural=True)]
    if blocks:
        if len(blocks) > MESSAGE_MAX_BLOCKS:
            problems.append(Problem("", f"{len(blocks)} blocks, over {MESSAGE_MAX_BLOCKS}"))
        problems += _block_schema_problems("message-blocks", blocks, "/blocks")
        walker = _Walker()
        walker.blocks(blocks, "/blocks")
        problems += walker.problems
    problems += _message_text_problems(bool(blocks), text)
    return problems


def check_view(view: dict[str, Any]) -> list[Problem]:
    """Problems in a ``home`` or ``modal`` view (views.publish / open / update / push)."""
    if not isinstance(view, dict):
        return [Problem("", "a view must be a JSON object", structural=True)]
    problems: list[Problem] = []
    blocks = view.get("blocks")
    if isinstance(blocks, list) and len(blocks) > _limit("view", "blocks", "max_items"):
        problems.append(
            Problem("", f"{len(blocks)} blocks, over {_limit('view', 'blocks', 'max_items')}")
        )
    kind = view.get("type")
    schema = (
        {"home": "home-view", "modal": "modal-view"}.get(kind) if isinstance(kind, str) else None
    )
    if schema is None:
        problems.append(
            Problem("/type", f"unknown view type {kind!r}; expected 'home' or 'modal'", True)
        )
    else:
        shell = {**view, "blocks": []} if isinstance(blocks, list) else view
        problems += _schema_problems(_validator(schema), shell, "")
        if isinstance(blocks, list):
            problems += _block_schema_problems(schema, blocks, "/blocks")
    walker = _Walker()
    walker.view(view)
    if isinstance(blocks, list):
        walker.blocks(blocks, "/blocks")
    return problems + walker.problems


def validate_message(blocks: list[dict[str, Any]] | None, text: str | None) -> list[str]:
    """Every problem in a message payload, as text; an empty list means Slack would take it."""
    return [str(problem) for problem in check_message(blocks, text)]


def validate_view(view: dict[str, Any]) -> list[str]:
    """Every problem in a home or modal view, as text; an empty list means valid."""
    return [str(problem) for problem in check_view(view)]


def assert_valid_message(blocks: list[dict[str, Any]] | None, text: str | None) -> None:
    """Raise AssertionError listing every problem in the message."""
    _raise_if(validate_message(blocks, text), "message")


def assert_valid_view(view: dict[str, Any]) -> None:
    """Raise AssertionError listing every problem in the view."""
    _raise_if(
        validate_view(view), f"{view.get('type', '?')} view" if isinstance(view, dict) else "view"
    )


def _raise_if(problems: list[str], what: str) -> None:
    if problems:
        listing = "\n".join(f"  - {problem}" for problem in problems)
        raise AssertionError(f"{len(problems)} Block Kit problem(s) in {what}:\n{listing}")


def _message_text_problems(has_blocks: bool, text: str | None) -> list[Problem]:
    if text is not None and not isinstance(text, str):
        return [Problem("/text", "text must be a string")]
    blank = text is None or not text.strip()
    if has_blocks and blank:
        return [Problem("/text", "a non-empty plain-text fallback `text` is required with blocks")]
    if not has_blocks and blank:
        return [Problem("/text", "neither text nor blocks: the message is empty")]
    if text is not None and len(text) > MESSAGE_MAX_TEXT:
        return [Problem("/text", f"text is {len(text)} characters, over {MESSAGE_MAX_TEXT}")]
    return []


# Structure: JSON Schema errors explained --------------------------------------------------


def _schema_problems(validator: Draft7Validator, instance: Any, prefix: str) -> list[Problem]:
    problems: list[Problem] = []
    for error in validator.iter_errors(instance):
        for leaf in _leaves(error):
            problem = Problem(prefix + _pointer(leaf.absolute_path), _describe(leaf), True)
            if problem not in problems:
                problems.append(problem)
    return problems


def _block_schema_problems(name: str, blocks: list[Any], prefix: str) -> list[Problem]:
    validators = _block_validators(name)
    problems: list[Problem] = []
    for index, block in enumerate(blocks):
        where = f"{prefix}/{index}"
        kind = block.get("type") if isinstance(block, dict) else None
        if not isinstance(block, dict):
            problems.append(Problem(where, "a block must be a JSON object", True))
        elif not isinstance(kind, str):
            problems.append(Problem(where, "a block needs a string `type`", True))
        elif kind not in validators:
            problems.append(Problem(where, f"unknown block type {kind!r}", True))
        else:
            problems += _schema_problems(validators[kind], block, where)
    return problems


def _pointer(path: Iterable[Any]) -> str:
    return "".join(f"/{str(part).replace('~', '~0').replace('/', '~1')}" for part in path)


def _branches(error: ValidationError) -> list[list[ValidationError]]:
    grouped: dict[Any, list[ValidationError]] = {}
    for sub in error.context or []:
        grouped.setdefault(sub.relative_schema_path[0], []).append(sub)
    return list(grouped.values())


def _wrong_type(errors: list[ValidationError]) -> bool:
    """Does this anyOf branch describe another kind of object (its ``type`` const differs)?"""
    for error in errors:
        here = list(error.relative_path)
        if error.validator == "const" and here == ["type"]:
            return True
        nested = error.validator in ("anyOf", "oneOf") and here == [] and bool(error.context)
        if nested and all(_wrong_type(branch) for branch in _branches(error)):
            return True
    return False


def _leaves(error: ValidationError) -> list[ValidationError]:
    """Descend an anyOf into the branch meant for this object's ``type``, to say what is wrong."""
    if error.validator not in ("anyOf", "oneOf") or not error.context:
        return [error]
    plausible = [branch for branch in _branches(error) if not _wrong_type(branch)]
    if not plausible:
        return [error]
    chosen = min(plausible, key=lambda branch: (len(branch), -_depth(branch)))
    return [leaf for sub in chosen for leaf in _leaves(sub)]


def _depth(errors: list[ValidationError]) -> int:
    return max(len(error.relative_path) for error in errors)


def _describe(error: ValidationError) -> str:
    if error.validator in ("anyOf", "oneOf"):
        kind = error.instance.get("type") if isinstance(error.instance, dict) else None
        if kind is not None:
            return f"type {kind!r} is unknown or not allowed here"
        return "matches none of the allowed shapes"
    if error.validator == "const":
        return f"expected {error.validator_value!r}, got {error.instance!r}"
    message = str(error.message)
    return message if len(message) <= 200 else message[:197] + "..."


# Limits: a walk over blocks, elements and composition objects -----------------------------


class _Walker:
    """Collects limit problems for one payload (block_ids are unique across all of it)."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []
        self.block_ids: dict[str, str] = {}

    # primitives

    def add(self, pointer: str, message: str) -> None:
        self.problems.append(Problem(pointer, message))

    def flagged(self, pointer: str) -> bool:
        return any(problem.pointer == pointer for problem in self.problems)

    def length(self, value: Any, pointer: str, what: str, max_len: int, min_len: int = 0) -> None:
        if not isinstance(value, str):
            return
        size = len(value)
        if size > max_len:
            self.add(pointer, f"{what} is {size} characters, over {max_len}")
        elif size < min_len:
            self.add(pointer, f"{what} is empty" if size == 0 else f"{what} is under {min_len}")

    def text(self, obj: Any, pointer: str, what: str, max_len: int) -> None:
        if isinstance(obj, dict):
            self.length(obj.get("text"), f"{pointer}/text", what, max_len)

    def count(
        self, items: Any, pointer: str, what: str, max_items: int, min_items: int = 0
    ) -> None:
        if not isinstance(items, list):
            return
        if len(items) > max_items:
            self.add(pointer, f"{len(items)} {what}, over {max_items}")
        elif len(items) < min_items:
            self.add(pointer, f"{len(items)} {what}, at least {min_items} needed")

    def number_range(self, value: Any, pointer: str, what: str, low: int, high: int) -> None:
        if isinstance(value, int) and not low <= value <= high:
            self.add(pointer, f"{what} is {value}, outside {low}..{high}")

    # surfaces

    def view(self, view: dict[str, Any]) -> None:
        blocks = view.get("blocks")
        if not isinstance(blocks, list) or not blocks:
            self.add("/blocks", "a view needs at least 1 block")
        view_limit = limits()["view"]
        if view.get("type") == "modal":
            for key in ("title", "submit", "close"):
                self.text(view.get(key), f"/{key}", f"modal {key}", view_limit[key]["max_length"])
            has_input = isinstance(blocks, list) and any(
                isinstance(block, dict) and block.get("type") == "input" for block in blocks
            )
            if has_input and "submit" not in view:
                self.add("/submit", "a modal with input blocks needs a `submit` button")
        self.length(
            view.get("callback_id"),
            "/callback_id",
            "callback_id",
            _limit("view", "callback_id", "max_length"),
        )
        self.length(
            view.get("private_metadata"),
            "/private_metadata",
            "private_metadata",
            _limit("view", "private_metadata", "max_length"),
        )

    def blocks(self, blocks: list[Any], pointer: str) -> None:
        for index, block in enumerate(blocks):
            if isinstance(block, dict):
                self.block(block, f"{pointer}/{index}")

    def block(self, block: dict[str, Any], pointer: str) -> None:
        self.block_id(block, pointer)
        self.unique_action_ids(block, pointer)
        nested = NESTED_BLOCKS.get(str(block.get("type")))
        if nested and isinstance(block.get(nested), list):
            self.blocks(block[nested], f"{pointer}/{nested}")
        self.walk(block, pointer, skip=nested)

    def block_id(self, block: dict[str, Any], pointer: str) -> None:
        block_id = block.get("block_id")
        if not isinstance(block_id, str):
            return
        self.length(block_id, f"{pointer}/block_id", "block_id", _limit("block_id", "max_length"))
        first = self.block_ids.setdefault(block_id, pointer)
        if first != pointer:
            self.add(f"{pointer}/block_id", f"duplicate block_id {block_id!r} (first at {first})")

    def unique_action_ids(self, block: dict[str, Any], pointer: str) -> None:
        seen: dict[str, str] = {}
        nested = NESTED_BLOCKS.get(str(block.get("type")))
        for where, action_id in _action_ids(block, pointer, skip=nested):
            first = seen.setdefault(action_id, where)
            if first != where:
                self.add(
                    where, f"duplicate action_id {action_id!r} in one block (first at {first})"
                )

    # the generic walk

    def walk(self, node: Any, pointer: str, skip: str | None = None) -> None:
        if isinstance(node, list):
            for index, item in enumerate(node):
                self.walk(item, f"{pointer}/{index}")
            return
        if not isinstance(node, dict):
            return
        kind = node.get("type")
        if kind in TEXT_TYPES and "text" in node:
            self.text_object(node, pointer)
        check = CHECKS.get(kind) if isinstance(kind, str) else None
        if check is not None:
            check(self, node, pointer)
        self.common_fields(node, pointer)
        for key, value in node.items():
            if key != skip:
                self.walk(value, f"{pointer}/{_pointer([key])[1:]}")

    def text_object(self, obj: dict[str, Any], pointer: str) -> None:
        where = f"{pointer}/text"
        if self.flagged(where):
            return
        self.length(
            obj.get("text"),
            where,
            "text",
            _limit("text", "max_length"),
            _limit("text", "min_length"),
        )

    def common_fields(self, node: dict[str, Any], pointer: str) -> None:
        self.length(
            node.get("action_id"),
            f"{pointer}/action_id",
            "action_id",
            _limit("action_id", "max_length"),
        )
        placeholder = _limit("select", "placeholder", "max_length")
        self.text(node.get("placeholder"), f"{pointer}/placeholder", "placeholder", placeholder)
        confirm = node.get("confirm")
        if isinstance(confirm, dict):
            for key, spec in limits()["confirmation"].items():
                self.text(
                    confirm.get(key),
                    f"{pointer}/confirm/{key}",
                    f"confirm dialog {key}",
                    spec["max_length"],
                )


def _action_ids(node: Any, pointer: str, skip: str | None = None) -> Iterator[tuple[str, str]]:
    if isinstance(node, list):
        for index, item in enumerate(node):
            yield from _action_ids(item, f"{pointer}/{index}")
    elif isinstance(node, dict):
        if isinstance(node.get("action_id"), str):
            yield f"{pointer}/action_id", node["action_id"]
        for key, value in node.items():
            if key != skip:
                yield from _action_ids(value, f"{pointer}/{key}")


# Per-type checks (blocks and elements share one table: the walk meets both) ---------------

Check = Callable[[_Walker, dict[str, Any], str], None]


def _header(w: _Walker, block: dict[str, Any], p: str) -> None:
    w.text(block.get("text"), f"{p}/text", "header text", _limit("header", "text", "max_length"))


def _section(w: _Walker, block: dict[str, Any], p: str) -> None:
    spec = limits()["section"]
    w.text(block.get("text"), f"{p}/text", "section text", spec["text"]["max_length"])
    fields = block.get("fields")
    w.count(fields, f"{p}/fields", "section fields", spec["fields"]["max_items"])
    for index, field in enumerate(fields if isinstance(fields, list) else []):
        w.text(field, f"{p}/fields/{index}", "section field", spec["fields"]["item_max_length"])
    if "text" not in block and not fields:
        w.add(p, "a section needs `text` or `fields`")


def _context(w: _Walker, block: dict[str, Any], p: str) -> None:
    w.count(
        block.get("elements"),
        f"{p}/elements",
        "context elements",
        _limit("context", "elements", "max_items"),
    )


def _actions(w: _Walker, block: dict[str, Any], p: str) -> None:
    w.count(
        block.get("elements"),
        f"{p}/elements",
        "actions elements",
        _limit("actions", "elements", "max_items"),
    )


def _context_actions(w: _Walker, block: dict[str, Any], p: str) -> None:
    limit = _limit("context_actions", "elements", "max_items")
    w.count(block.get("elements"), f"{p}/elements", "context_actions elements", limit)


def _input(w: _Walker, block: dict[str, Any], p: str) -> None:
    spec = limits()["input"]
    w.text(block.get("label"), f"{p}/label", "input label", spec["label"]["max_length"])
    w.text(block.get("hint"), f"{p}/hint", "input hint", spec["hint"]["max_length"])


def _image(w: _Walker, node: dict[str, Any], p: str) -> None:
    spec = limits()["image"]
    w.length(node.get("image_url"), f"{p}/image_url", "image_url", spec["image_url"]["max_length"])
    w.length(node.get("alt_text"), f"{p}/alt_text", "alt_text", spec["alt_text"]["max_length"])
    w.text(node.get("title"), f"{p}/title", "image title", IMAGE_TITLE_MAX)


def _markdown(w: _Walker, block: dict[str, Any], p: str) -> None:
    spec = limits()["markdown"]["text"]
    w.length(
        block.get("text"), f"{p}/text", "markdown text", spec["max_length"], spec["min_length"]
    )


def _video(w: _Walker, block: dict[str, Any], p: str) -> None:
    spec = limits()["video"]
    alt = spec["alt_text"]
    w.length(
        block.get("alt_text"),
        f"{p}/alt_text",
        "video alt_text",
        alt["max_length"],
        alt["min_length"],
    )
    w.text(block.get("title"), f"{p}/title", "video title", spec["title"]["max_length"])
    w.text(
        block.get("description"),
        f"{p}/description",
        "video description",
        spec["description"]["max_length"],
    )
    for key in ("author_name", "provider_name"):
        w.length(block.get(key), f"{p}/{key}", f"video {key}", spec[key]["max_length"])


def _alert(w: _Walker, block: dict[str, Any], p: str) -> None:
    w.text(block.get("text"), f"{p}/text", "alert text", _limit("alert", "text", "max_length"))


def _card(w: _Walker, block: dict[str, Any], p: str) -> None:
    spec = limits()["card"]
    for key in ("title", "subtitle", "body", "subtext"):
        w.text(block.get(key), f"{p}/{key}", f"card {key}", spec[key]["max_length"])
    w.count(block.get("actions"), f"{p}/actions", "card actions", spec["actions"]["max_items"])


def _carousel(w: _Walker, block: dict[str, Any], p: str) -> None:
    spec = limits()["carousel"]["elements"]
    w.count(
        block.get("elements"),
        f"{p}/elements",
        "carousel cards",
        spec["max_items"],
        spec["min_items"],
    )


def _container(w: _Walker, block: dict[str, Any], p: str) -> None:
    spec = limits()["container"]
    for key in ("title", "subtitle"):
        w.text(block.get(key), f"{p}/{key}", f"container {key}", spec[key]["max_length"])
    w.count(
        block.get("child_blocks"),
        f"{p}/child_blocks",
        "child blocks",
        spec["child_blocks"]["max_items"],
    )


def _rows(w: _Walker, rows: Any, p: str, what: str) -> int | None:
    """Every row the same width (returned); a ragged table is reported."""
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows) or not rows:
        return None
    widths = {len(row) for row in rows}
    if len(widths) > 1:
        w.add(f"{p}/rows", f"{what} rows differ in width ({sorted(widths)} cells)")
    return max(widths)


def _table(w: _Walker, block: dict[str, Any], p: str) -> None:
    rows = block.get("rows")
    w.count(rows, f"{p}/rows", "table rows", TABLE_MAX_ROWS)
    width = _rows(w, rows, p, "table")
    if width is not None and width > TABLE_MAX_CELLS:
        w.add(f"{p}/rows", f"{width} cells in a row, over {TABLE_MAX_CELLS}")
    settings = block.get("column_settings")
    w.count(settings, f"{p}/column_settings", "column settings", TABLE_MAX_CELLS)
    if isinstance(settings, list) and width is not None and len(settings) > width:
        w.add(f"{p}/column_settings", f"{len(settings)} column settings for {width} columns")


def _data_table(w: _Walker, block: dict[str, Any], p: str) -> None:
    spec = limits()["data_table"]
    rows = block.get("rows")
    w.count(
        rows, f"{p}/rows", "data table rows", spec["rows"]["max_items"], spec["rows"]["min_items"]
    )
    width = _rows(w, rows, p, "data table")
    columns = spec["columns"]
    if width is not None and not columns["min_items"] <= width <= columns["max_items"]:
        w.add(
            f"{p}/rows", f"{width} columns, outside {columns['min_items']}..{columns['max_items']}"
        )
    page = spec["page_size"]
    w.number_range(block.get("page_size"), f"{p}/page_size", "page_size", page["min"], page["max"])
    total = 0
    for r, row in enumerate(rows if isinstance(rows, list) else []):
        for c, cell in enumerate(row if isinstance(row, list) else []):
            if isinstance(cell, dict) and isinstance(cell.get("text"), str):
                total += len(cell["text"])
                w.length(
                    cell["text"],
                    f"{p}/rows/{r}/{c}/text",
                    "cell text",
                    10**9,
                    spec["cell_text"]["min_length"],
                )
    if total > spec["content"]["max_length"]:
        w.add(
            f"{p}/rows",
            f"table content is {total} characters, over {spec['content']['max_length']}",
        )


def _button(w: _Walker, node: dict[str, Any], p: str, spec: dict[str, Any] | None = None) -> None:
    spec = spec or limits()["button"]
    w.text(node.get("text"), f"{p}/text", "button text", spec["text"]["max_length"])
    w.length(node.get("value"), f"{p}/value", "button value", spec["value"]["max_length"])
    w.length(
        node.get("accessibility_label"),
        f"{p}/accessibility_label",
        "accessibility_label",
        spec["accessibility_label"]["max_length"],
    )
    if "url" in spec:
        w.length(node.get("url"), f"{p}/url", "button url", spec["url"]["max_length"])


def _feedback_buttons(w: _Walker, node: dict[str, Any], p: str) -> None:
    for key in ("positive_button", "negative_button"):
        if isinstance(node.get(key), dict):
            _button(w, node[key], f"{p}/{key}", limits()["feedback_button"])


def _icon_button(w: _Walker, node: dict[str, Any], p: str) -> None:
    limit = _limit("icon_button", "visible_to_user_ids", "max_items")
    w.count(
        node.get("visible_to_user_ids"), f"{p}/visible_to_user_ids", "visible_to_user_ids", limit
    )


def _option(w: _Walker, option: Any, p: str, plain_only: bool) -> None:
    if not isinstance(option, dict):
        return
    spec = limits()["option"]
    w.text(option.get("text"), f"{p}/text", "option text", spec["text"]["max_length"])
    w.length(option.get("value"), f"{p}/value", "option value", spec["value"]["max_length"])
    w.text(
        option.get("description"),
        f"{p}/description",
        "option description",
        spec["description"]["max_length"],
    )
    w.length(option.get("url"), f"{p}/url", "option url", spec["url"]["max_length"])
    text = option.get("text")
    if plain_only and isinstance(text, dict) and text.get("type") == "mrkdwn":
        w.add(f"{p}/text/type", "select and overflow options take plain_text only")


def _options(w: _Walker, node: dict[str, Any], p: str, kind: str) -> None:
    plain_only = kind in PLAIN_OPTION_TYPES
    for key in ("options", "initial_options"):
        for index, option in enumerate(node.get(key) or []):
            _option(w, option, f"{p}/{key}/{index}", plain_only)
    _option(w, node.get("initial_option"), f"{p}/initial_option", plain_only)
    group_spec = limits()["option_group"]
    for g, group in enumerate(node.get("option_groups") or []):
        if not isinstance(group, dict):
            continue
        gp = f"{p}/option_groups/{g}"
        w.text(
            group.get("label"),
            f"{gp}/label",
            "option group label",
            group_spec["label"]["max_length"],
        )
        counts = group_spec["options"]
        w.count(
            group.get("options"),
            f"{gp}/options",
            "options in a group",
            counts["max_items"],
            counts["min_items"],
        )
        for index, option in enumerate(group.get("options") or []):
            _option(w, option, f"{gp}/options/{index}", plain_only)


def _select(w: _Walker, node: dict[str, Any], p: str) -> None:
    spec = limits()["select"]
    w.count(node.get("options"), f"{p}/options", "options", spec["options"]["max_items"])
    w.count(
        node.get("option_groups"),
        f"{p}/option_groups",
        "option groups",
        spec["option_groups"]["max_items"],
    )
    if "options" in node and "option_groups" in node:
        w.add(p, "`options` and `option_groups` are mutually exclusive")
    _options(w, node, p, str(node.get("type")))


def _choice_list(kind: str) -> Check:
    def check(w: _Walker, node: dict[str, Any], p: str) -> None:
        spec = limits()[kind]["options"]
        w.count(
            node.get("options"),
            f"{p}/options",
            f"{kind} options",
            spec["max_items"],
            spec["min_items"],
        )
        _options(w, node, p, str(node.get("type")))

    return check


def _plain_text_input(w: _Walker, node: dict[str, Any], p: str) -> None:
    top = _limit("plain_text_input", "max_length", "max")
    for key in ("max_length", "min_length"):
        w.number_range(node.get(key), f"{p}/{key}", key, 0, top)
    low, high = node.get("min_length"), node.get("max_length")
    if isinstance(low, int) and isinstance(high, int) and low > high:
        w.add(f"{p}/min_length", f"min_length {low} is over max_length {high}")


def _number_input(w: _Walker, node: dict[str, Any], p: str) -> None:
    low, high = _as_number(node.get("min_value")), _as_number(node.get("max_value"))
    if low is not None and high is not None and low > high:
        w.add(
            f"{p}/min_value", f"min_value {node['min_value']} is over max_value {node['max_value']}"
        )


def _as_number(value: Any) -> float | None:
    try:
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _file_input(w: _Walker, node: dict[str, Any], p: str) -> None:
    spec = limits()["file_input"]["max_files"]
    w.number_range(node.get("max_files"), f"{p}/max_files", "max_files", spec["min"], spec["max"])


def _url_source(w: _Walker, node: dict[str, Any], p: str) -> None:
    spec = limits()["url_source"]["url"]
    w.length(node.get("url"), f"{p}/url", "url", spec["max_length"], spec["min_length"])


CHECKS: dict[str, Check] = {
    "header": _header,
    "section": _section,
    "context": _context,
    "actions": _actions,
    "context_actions": _context_actions,
    "input": _input,
    "image": _image,
    "markdown": _markdown,
    "video": _video,
    "alert": _alert,
    "card": _card,
    "carousel": _carousel,
    "container": _container,
    "table": _table,
    "data_table": _data_table,
    "button": _button,
    "workflow_button": _button,
    "feedback_buttons": _feedback_buttons,
    "icon_button": _icon_button,
    "overflow": _choice_list("overflow"),
    "checkboxes": _choice_list("checkboxes"),
    "radio_buttons": _choice_list("radio_buttons"),
    "plain_text_input": _plain_text_input,
    "number_input": _number_input,
    "file_input": _file_input,
    "url": _url_source,
    **dict.fromkeys(SELECT_TYPES, _select),
}
