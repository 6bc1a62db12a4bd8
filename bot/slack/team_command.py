"""``/ai-roi``, ``/ai-roi team NAME``, ``/ai-roi weeks N``: team reports under the privacy rules."""

from __future__ import annotations

from typing import Any

from slack_sdk import WebClient

from bot.context import AppContext
from bot.domain.weeks import last_complete_week
from bot.errors import UsageError
from bot.slack.blocks.team_report import render_blocks
from bot.slack.people import person_for_slack_user
from bot.store.db import transaction
from bot.teams.report import Viewer, min_group_size, team_reports

DEFAULT_WEEKS = 1
MAX_WEEKS = 12


def parse_team_args(words: list[str]) -> tuple[str | None, int]:
    """``[] | ["team", NAME…] | ["weeks", N]`` (in any order) → (team name, weeks)."""
    team: str | None = None
    weeks = DEFAULT_WEEKS
    rest = list(words)
    while rest:
        word = rest.pop(0).lower()
        if word == "weeks":
            if not rest or not rest[0].isdigit() or not 1 <= int(rest[0]) <= MAX_WEEKS:
                raise UsageError(
                    f"`weeks` takes a number from 1 to {MAX_WEEKS}, e.g. `/ai-roi weeks 4`."
                )
            weeks = int(rest.pop(0))
        elif word == "team":
            name_words = []
            while rest and rest[0].lower() != "weeks":
                name_words.append(rest.pop(0))
            if not name_words:
                raise UsageError("`team` needs a team name, e.g. `/ai-roi team Data`.")
            team = " ".join(name_words)
        else:
            raise UsageError(f"I don't understand `{word}`. Try `/ai-roi help`.")
    return team, weeks


def team_command_answer(
    context: AppContext, client: WebClient, user_id: str, words: list[str], *, admin: bool
) -> dict[str, Any]:
    team, weeks = parse_team_args(words)
    now = context.clock()
    week = last_complete_week(now, context.settings.timezone)
    with transaction(context.engine) as session:
        person = person_for_slack_user(session, client, user_id)
        viewer = Viewer(
            actor=user_id,
            person_id=person.id if person else None,
            slack_user_id=user_id,
            is_admin=admin,
        )
        reports = team_reports(
            session,
            viewer=viewer,
            team_names=None if team is None else [team],
            week=week,
            weeks=weeks,
            tz=context.settings.timezone,
            k=min_group_size(session),
            now=now,
        )
    blocks: list[dict[str, Any]] = []
    texts: list[str] = []
    for report in reports:
        report_blocks, text = render_blocks(report)
        if len(blocks) + len(report_blocks) > 50:
            texts.append("More teams than fit here: ask for one with `/ai-roi team NAME`.")
            break
        blocks += report_blocks
        texts.append(text)
    return {"response_type": "ephemeral", "text": "\n\n".join(texts), "blocks": blocks}
