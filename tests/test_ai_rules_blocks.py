"""The AI-assisted rules' blocks and modals at their limits (pure builders, Block Kit checks)."""

from __future__ import annotations

import json

import pytest

from bot.domain.ai_rules import Rule, RuleKind
from bot.slack.blocks.ai_rules import (
    MAX_RULES_IN_HOME,
    RULES_PER_PAGE,
    RuleForm,
    confirm_modal,
    delete_modal,
    edit_modal,
    form_from_metadata,
    home_blocks,
    notice_modal,
    preview_text,
    rules_modal,
)
from fakes.blockkit import assert_valid_view

EMOJI = "\U0001f916"  # 🤖: one character, twelve as a \\u escape


def many(n: int) -> list[Rule]:
    kinds = list(RuleKind)
    return [
        Rule(kinds[i % len(kinds)], f"<pattern> `{i}` *&*", f"tool-{i}", i % 3 != 0, i < 5, i + 1)
        for i in range(n)
    ]


def test_the_longest_rule_fits_a_confirmation_and_comes_back_from_its_metadata() -> None:
    form = RuleForm(7, "title", EMOJI * 200, EMOJI * 64)
    for preview in (None, (12_345, 678)):
        view = confirm_modal(form, preview)
        assert_valid_view(view)
        assert len(view["private_metadata"]) <= 3000
        assert form_from_metadata(view["private_metadata"]) == form
    assert_valid_view(edit_modal(form, note="The pattern is empty."))


@pytest.mark.parametrize("junk", ["", "not json", "[1]", '{"id": true, "kind": 3}', '{"id": "7"}'])
def test_damaged_metadata_gives_an_empty_form_that_still_draws(junk: str) -> None:
    form = form_from_metadata(junk)
    assert form.rule_id is None and form.pattern == "" and form.tool == ""
    assert_valid_view(edit_modal(form))


@pytest.mark.parametrize(
    ("matches", "newly", "expected"),
    [
        (0, 0, "This rule matches no stored artifact; it will mark new ones that match."),
        (1, 1, "This rule matches 1 artifact; it is not marked AI-assisted now."),
        (1, 0, "This rule matches 1 artifact; it is marked AI-assisted now."),
        (2, 1, "This rule matches 2 artifacts; 1 of them is not marked AI-assisted now."),
        (1234, 0, "This rule matches 1,234 artifacts; 0 of them are not marked AI-assisted now."),
    ],
)
def test_the_preview_says_how_many_it_matches_and_newly_marks(
    matches: int, newly: int, expected: str
) -> None:
    assert preview_text(matches, newly) == expected


def test_home_and_list_modal_stay_within_their_limits() -> None:
    for n in (0, 1, MAX_RULES_IN_HOME, MAX_RULES_IN_HOME + 1):
        blocks = home_blocks(many(n))
        assert len(blocks) <= MAX_RULES_IN_HOME + 5
        assert_valid_view({"type": "home", "blocks": blocks})
    rules = many(3 * RULES_PER_PAGE + 1)
    for page in (0, 1, 3, 99, -1):
        view = rules_modal(rules, page)
        assert_valid_view(view)
        assert len(view["blocks"]) <= RULES_PER_PAGE + 5
    assert "Page 4 of 4" in json.dumps(rules_modal(rules, 99))
    # Markup in a pattern is shown, not interpreted.
    text = json.dumps(home_blocks(many(1)))
    assert "&lt;pattern&gt; '0' *&amp;*" in text
    assert_valid_view(delete_modal(many(6)[5]))
    assert_valid_view(notice_modal("<b>gone</b> & more"))
