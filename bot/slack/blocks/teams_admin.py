"""The admin's teams modal: Slack user groups as teams, and leads for any team. Pure.

Block ids double as action ids (``ids.TEAMS_*``). Selects hold at most 100 options, as Slack
allows: beyond 100 user groups the rest are added by handle in a text field; beyond 100 teams the
team picker pages (``ids.TEAMS_PAGE`` buttons, the page kept in ``private_metadata``). The leads
block's id carries the picked team, so Slack shows that team's leads when the picker changes it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from bot.slack import ids
from bot.slack.blocks.limits import SECTION_TEXT, VIEW_BLOCKS, escape, mrkdwn, plain

MAX_OPTIONS = 100
OPTION_TEXT = 75
LISTING_SECTIONS = 8


@dataclass(frozen=True)
class GroupChoice:
    id: str
    name: str
    handle: str
    chosen: bool = False


@dataclass(frozen=True)
class TeamChoice:
    id: int
    name: str
    from_usergroup: bool = False
    lead_user_ids: tuple[str, ...] = ()  # leads with a Slack account
    other_leads: tuple[str, ...] = ()  # display names of leads without one


@dataclass(frozen=True)
class TeamsAdminState:
    groups: list[GroupChoice]
    teams: list[TeamChoice]
    selected_team: int | None = None
    page: int = 0
    notice: str | None = None


def _option(text: str, value: str) -> dict[str, Any]:
    return {"text": plain(text, OPTION_TEXT), "value": value}


def _group_label(group: GroupChoice) -> str:
    return f"{group.name} (@{group.handle})" if group.handle else group.name


def offered_groups(groups: list[GroupChoice]) -> list[GroupChoice]:
    """The groups the select shows: chosen ones first, then by name, at most 100."""
    ordered = sorted(groups, key=lambda g: (not g.chosen, g.name.lower(), g.id))
    return ordered[:MAX_OPTIONS]


def team_page(teams: list[TeamChoice], page: int) -> tuple[list[TeamChoice], int, int]:
    """(the teams on ``page``, the page actually shown, how many pages)."""
    pages = max(1, -(-len(teams) // MAX_OPTIONS))
    page = min(max(page, 0), pages - 1)
    return teams[page * MAX_OPTIONS : (page + 1) * MAX_OPTIONS], page, pages


def lead_listing(teams: list[TeamChoice]) -> list[str]:
    """Section texts listing each team's leads, packed into at most LISTING_SECTIONS blocks."""
    lines = []
    for team in teams:
        leads = [f"<@{user}>" for user in team.lead_user_ids] + [
            escape(name) for name in team.other_leads
        ]
        origin = " _(Slack user group)_" if team.from_usergroup else ""
        lines.append(f"• *{escape(team.name)}*{origin}: {', '.join(leads) or 'no lead yet'}")
    texts: list[str] = []
    current = ""
    for index, line in enumerate(lines):
        if len(current) + len(line) + 1 > SECTION_TEXT - 100:
            if len(texts) == LISTING_SECTIONS - 1:
                current += f"\n…and {len(lines) - index} more teams."
                break
            texts.append(current)
            current = ""
        current = f"{current}\n{line}" if current else line
    if current:
        texts.append(current)
    return texts


def teams_admin_modal(state: TeamsAdminState) -> dict[str, Any]:
    blocks: list[dict[str, Any]] = []
    if state.notice:
        blocks.append({"type": "section", "text": mrkdwn(state.notice)})
    blocks.append(
        {
            "type": "section",
            "text": mrkdwn(
                "*Slack user groups as teams.* A chosen group becomes a team whose members follow "
                "the group every day. Teams from the directory CSV are not changed. "
                "Every change is audited."
            ),
        }
    )
    offered = offered_groups(state.groups)
    if offered:
        element: dict[str, Any] = {
            "type": "multi_static_select",
            "action_id": ids.TEAMS_USERGROUPS,
            "placeholder": plain("Choose user groups", 150),
            "options": [_option(_group_label(g), g.id) for g in offered],
        }
        chosen = [_option(_group_label(g), g.id) for g in offered if g.chosen]
        if chosen:
            element["initial_options"] = chosen
        blocks.append(
            {
                "type": "input",
                "block_id": ids.TEAMS_USERGROUPS,
                "optional": True,
                "label": plain("User groups that are teams", 2000),
                "element": element,
            }
        )
    else:
        blocks.append(
            {"type": "context", "elements": [mrkdwn("This workspace has no user groups yet.")]}
        )
    if len(state.groups) > len(offered):
        blocks.append(
            {
                "type": "input",
                "block_id": ids.TEAMS_MORE_USERGROUPS,
                "optional": True,
                "label": plain("More user groups, by handle", 2000),
                "hint": plain(
                    f"The list shows {len(offered)} of {len(state.groups)} user groups. "
                    "Add others by handle, separated by commas: @data-team, @platform",
                    2000,
                ),
                "element": {
                    "type": "plain_text_input",
                    "action_id": ids.TEAMS_MORE_USERGROUPS,
                    "placeholder": plain("@handle, @handle", 150),
                },
            }
        )
    blocks.append({"type": "divider"})
    blocks.append({"type": "header", "text": plain("Team leads", 150)})
    if not state.teams:
        blocks.append(
            {
                "type": "section",
                "text": mrkdwn("No teams yet: import the directory CSV or choose user groups."),
            }
        )
    else:
        blocks.extend({"type": "section", "text": mrkdwn(t)} for t in lead_listing(state.teams))
        shown, page, pages = team_page(state.teams, state.page)
        if pages > 1:
            first = page * MAX_OPTIONS + 1
            blocks.append(
                {
                    "type": "context",
                    "elements": [
                        mrkdwn(
                            f"Teams {first}–{first + len(shown) - 1} of {len(state.teams)} "
                            "in the picker below."
                        )
                    ],
                }
            )
            buttons = []
            if page > 0:
                buttons.append(_page_button("Previous teams", page - 1))
            if page < pages - 1:
                buttons.append(_page_button("Next teams", page + 1))
            blocks.append({"type": "actions", "block_id": ids.TEAMS_PAGE, "elements": buttons})
        picker: dict[str, Any] = {
            "type": "static_select",
            "action_id": ids.TEAMS_PICK_TEAM,
            "placeholder": plain("Choose a team", 150),
            "options": [_option(t.name, str(t.id)) for t in shown],
        }
        selected = next((t for t in shown if t.id == state.selected_team), None)
        if selected is not None:
            picker["initial_option"] = _option(selected.name, str(selected.id))
        blocks.append(
            {
                "type": "input",
                "block_id": ids.TEAMS_PICK_TEAM,
                "optional": True,
                "dispatch_action": True,
                "label": plain("Team", 2000),
                "element": picker,
            }
        )
        leads: dict[str, Any] = {
            "type": "multi_users_select",
            "action_id": ids.TEAMS_LEADS,
            "placeholder": plain("Choose leads", 150),
        }
        if selected is not None and selected.lead_user_ids:
            leads["initial_users"] = list(selected.lead_user_ids)
        blocks.append(
            {
                "type": "input",
                "block_id": leads_block_id(selected.id if selected else None),
                "optional": True,
                "label": plain(
                    f"Leads of {selected.name}" if selected else "Leads of the team chosen above",
                    2000,
                ),
                "hint": plain(
                    "Leads see their team's aggregates in /ai-roi, never a person's numbers. "
                    "Saving replaces the team's leads with these.",
                    2000,
                ),
                "element": leads,
            }
        )
    metadata = {
        "page": team_page(state.teams, state.page)[1],
        "team": state.selected_team,
        "offered": [g.id for g in offered],
    }
    assert len(blocks) <= VIEW_BLOCKS
    return {
        "type": "modal",
        "callback_id": ids.TEAMS_VIEW,
        "title": plain("Teams and leads", 24),
        "submit": plain("Save", 24),
        "close": plain("Cancel", 24),
        "private_metadata": json.dumps(metadata, separators=(",", ":")),
        "blocks": blocks,
    }


def leads_block_id(team_id: int | None) -> str:
    return f"{ids.TEAMS_LEADS}:{team_id if team_id is not None else 'none'}"


def _page_button(text: str, page: int) -> dict[str, Any]:
    return {
        "type": "button",
        "text": plain(text, 75),
        "action_id": f"{ids.TEAMS_PAGE}:{page}",
        "value": str(page),
    }


def parse_metadata(text: str | None) -> dict[str, Any]:
    try:
        data = json.loads(text or "{}")
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def parse_handles(text: str | None) -> list[str]:
    """'@data-team, platform' → ['data-team', 'platform']."""
    parts = (text or "").replace("\n", ",").replace(" ", ",").split(",")
    return [part.strip().lstrip("@").lower() for part in parts if part.strip().lstrip("@")]
