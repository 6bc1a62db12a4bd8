"""Reading the values of a submitted modal (``view.state.values``). Pure: dicts in, strings out."""

from __future__ import annotations

from typing import Any

from bot.domain.workspace_settings import Input, InputKind


def element_state(view: dict[str, Any], block_id: str) -> dict[str, Any]:
    """The state of the input in ``block_id`` (its action_id is always ``value``)."""
    values = (view.get("state") or {}).get("values") or {}
    state = (values.get(block_id) or {}).get("value")
    return state if isinstance(state, dict) else {}


def selected_value(view: dict[str, Any], block_id: str) -> str | None:
    """A static_select's or radio_buttons' chosen value."""
    option = element_state(view, block_id).get("selected_option")
    return str(option.get("value")) if isinstance(option, dict) else None


def text_value(view: dict[str, Any], block_id: str) -> str:
    """A plain_text_input's or number_input's text, stripped."""
    value = element_state(view, block_id).get("value")
    return value.strip() if isinstance(value, str) else ""


def text_values(view: dict[str, Any]) -> dict[str, str]:
    """Every input's text by block_id (unstripped; empty when absent)."""
    values = (view.get("state") or {}).get("values") or {}
    return {
        block: (fields.get("value") or {}).get("value") or "" for block, fields in values.items()
    }


def submitted(view: dict[str, Any], inputs: tuple[Input, ...]) -> dict[str, str | None]:
    """The text of each of ``inputs`` as submitted: a number's or text's value, a choice's
    value, a time's ``HH:MM`` (None when absent)."""
    raw: dict[str, str | None] = {}
    for one in inputs:
        state = element_state(view, one.name)
        if one.kind in (InputKind.CHOICE, InputKind.BOOLEAN, InputKind.WEEKDAY):
            raw[one.name] = selected_value(view, one.name)
        elif one.kind is InputKind.TIME:
            time = state.get("selected_time")
            raw[one.name] = time if isinstance(time, str) else None
        else:
            value = state.get("value")
            raw[one.name] = value if isinstance(value, str) else None
    return raw
