"""App Home and modals are valid Block Kit; the validator itself catches what it must."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.domain.facts import KindCounts, ToolUsage, UsageTotals, build_facts
from bot.slack.blocks.home import (
    HomeState,
    delete_confirm_modal,
    details_modal,
    home_view,
)
from fakes.blockkit import assert_valid_view, validate_message, validate_view

FACTS = build_facts(
    user="ana@example.com",
    week="2026-W47",
    usage=UsageTotals(1000, 100, 200, 10**9, 3),
    by_tool=[ToolUsage(f"t{i}", 10, 10) for i in range(50)],
    by_model=[ToolUsage("gpt-4.1", 1200, 10**9)],
    by_kind=[KindCounts("dashboard", 4, 1, 0)],
    viewers=1,
    baseline_tokens=[1, 2, 3, 4],
)


def test_home_views_for_everyone_and_admins_are_valid() -> None:
    for admin in (False, True):
        for facts in (None, FACTS):
            state = HomeState(
                "Ana",
                "Nov 23–29",
                facts,
                "x" * 5000,
                "2026-W47",
                False,
                datetime(2026, 12, 20, tzinfo=UTC),
                5,
                180,
                admin,
            )
            view = home_view(state)
            assert_valid_view(view)
            texts = str(view)
            assert ("Edit thresholds" in texts) is admin
            assert "at least *5* members" in texts and "180 days" in texts


def test_modals_are_valid() -> None:
    assert_valid_view(delete_confirm_modal())
    assert_valid_view(details_modal(FACTS, "Nov 16–22"))


def test_validator_reports_what_slack_would_refuse() -> None:
    section = {"type": "section", "text": {"type": "mrkdwn", "text": "hi"}}
    assert validate_message([section] * 51, "x")[0] == "51 blocks, over 50"
    assert any(
        "over 150" in p
        for p in validate_message(
            [{"type": "header", "text": {"type": "plain_text", "text": "h" * 151}}], "x"
        )
    )
    assert any("fallback" in p for p in validate_message([section], None))
    assert any(p.startswith("schema:") for p in validate_message([{"type": "sektion"}], "x"))
    assert any(
        "duplicate block_id" in p for p in validate_message([{**section, "block_id": "a"}] * 2, "x")
    )
    assert any(
        "over 3000" in p
        for p in validate_message(
            [{"type": "section", "text": {"type": "mrkdwn", "text": "y" * 3001}}], "x"
        )
    )
    assert any(
        "title" in p
        for p in validate_view(
            {"type": "modal", "title": {"type": "plain_text", "text": "t" * 25}, "blocks": []}
        )
    )
