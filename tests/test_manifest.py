"""manifest.yml installs what the app registers, and the app handles every button it renders."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from bot.context import AppContext
from bot.domain.facts import KindCounts, ToolUsage, UsageTotals, build_facts
from bot.slack import ids
from bot.slack.blocks.admin_home import AdminState, settings_modal
from bot.slack.blocks.digest import digest_message
from bot.slack.blocks.home import HomeState, home_view
from bot.slack.listeners import register
from tests.conftest import make_settings

ROOT = Path(__file__).resolve().parents[1]
MANIFEST = yaml.safe_load((ROOT / "manifest.yml").read_text())
HOST = "https://ai-roi.example.com/slack/events"


class Recorder:
    """Stands in for the Bolt app and records what the listeners register."""

    def __init__(self) -> None:
        self.registered: dict[str, list[str]] = defaultdict(list)

    def _record(
        self, kind: str
    ) -> Callable[[Any], Callable[[Callable[..., Any]], Callable[..., Any]]]:
        def matcher(name: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
            self.registered[kind].append(name)
            return lambda handler: handler

        return matcher

    def __getattr__(self, kind: str) -> Any:
        if kind in ("command", "event", "action", "view", "shortcut", "options", "message"):
            return self._record(kind)
        raise AttributeError(kind)


def registrations(tmp_path: Path) -> dict[str, list[str]]:
    recorder = Recorder()
    settings = make_settings(f"sqlite:///{tmp_path / 'x.db'}")
    register(recorder, AppContext(settings=settings, engine=None))  # type: ignore[arg-type]
    return recorder.registered


def action_ids(blocks: list[dict[str, Any]]) -> set[str]:
    found = set()
    for block in blocks:
        for element in [*block.get("elements", []), block.get("accessory") or {}]:
            if (
                isinstance(element, dict)
                and element.get("action_id")
                and element.get("type") != "mrkdwn"
            ):
                found.add(element["action_id"])
    return found


def test_commands_and_events_match_the_manifest(tmp_path: Path) -> None:
    registered = registrations(tmp_path)
    manifest_commands = {c["command"] for c in MANIFEST["features"]["slash_commands"]}
    assert set(registered["command"]) == manifest_commands
    assert set(registered["event"]) == set(
        MANIFEST["settings"]["event_subscriptions"]["bot_events"]
    )
    assert registered["action"] and registered["view"]
    assert MANIFEST["settings"]["interactivity"]["is_enabled"] is True


def test_every_request_url_is_the_one_route_on_the_placeholder_host() -> None:
    urls = [c["url"] for c in MANIFEST["features"]["slash_commands"]]
    urls += [
        MANIFEST["settings"]["event_subscriptions"]["request_url"],
        MANIFEST["settings"]["interactivity"]["request_url"],
    ]
    assert set(urls) == {HOST}
    assert MANIFEST["features"]["app_home"]["home_tab_enabled"] is True
    assert MANIFEST["features"]["app_home"]["messages_tab_enabled"] is True


def test_scopes_are_least_privilege() -> None:
    scopes = set(MANIFEST["oauth_config"]["scopes"]["bot"])
    assert scopes == {
        "chat:write",
        "commands",
        "im:write",
        "users:read",
        "users:read.email",
        "usergroups:read",
        "files:write",
    }
    assert "user" not in MANIFEST["oauth_config"]["scopes"]


def test_every_rendered_button_has_a_handler(tmp_path: Path) -> None:
    registered_actions = set(registrations(tmp_path)["action"])
    facts = build_facts(
        user="a@example.com",
        week="2026-W47",
        usage=UsageTotals(1, 0, 1, 1, 1),
        by_tool=[ToolUsage("t", 2, 1)],
        by_kind=[KindCounts("deck", 1, 1, 0)],
        viewers=1,
        baseline_tokens=[1, 1, 1, 1],
    )
    blocks, _ = digest_message(facts, "text?", week_label="Nov 16–22")
    rendered = action_ids(blocks)
    for admin in (False, True):
        state = HomeState(
            "Ana",
            "Nov 23–29",
            facts,
            "x",
            "2026-W47",
            False,
            datetime(2027, 1, 1, tzinfo=UTC),
            5,
            180,
            admin,
            admin=AdminState(week_label="Nov 23–29") if admin else None,
        )
        rendered |= action_ids(home_view(state)["blocks"])
    assert ids.ADMIN_TEAMS in rendered and ids.HOME_EDIT_THRESHOLDS in rendered
    assert rendered - registered_actions == set()
    modal_inputs = action_ids(settings_modal("thresholds", {})["blocks"])
    assert modal_inputs <= {"value"}  # inputs, read on submission, not actions
