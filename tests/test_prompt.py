"""The summarizer's prompt: this person's facts only, the writing rules, within 1,000 tokens."""

from __future__ import annotations

import json
import math
from dataclasses import replace

from bot.domain.facts import Facts, KindCounts, ToolUsage
from bot.domain.prompt import (
    MAX_INPUT_TOKENS,
    MAX_OUTPUT_TOKENS,
    SYSTEM_PROMPT,
    build_messages,
    clean_first_name,
    estimate_tokens,
    fits_budget,
)
from tests.support.facts import ana_week

EMAIL = "ana@example.com"


def big_facts() -> Facts:
    """Hundreds of tools and dozens of kinds, with long names: the long tails must fold."""
    tools = [
        ToolUsage(f"internal-assistant-with-a-long-name-{i:03d}", 10_000 + i, 1_000_000 * i)
        for i in range(200)
    ]
    kinds = [KindCounts(f"custom-artifact-kind-{i:02d}", 50 - i, i % 3, i % 2) for i in range(40)]
    models = [ToolUsage(f"fine-tuned-model-{i:03d}", 5_000 + i, 1_000 * i) for i in range(100)]
    return ana_week(by_tool=tools, by_kind=kinds, by_model=models)


def user_json(messages: list[dict[str, str]]) -> dict[str, object]:
    content = messages[1]["content"]
    return json.loads(content.split("(JSON): ", 1)[1])  # type: ignore[no-any-return]


def test_limits_are_the_documented_ones() -> None:
    assert MAX_INPUT_TOKENS == 1000
    assert MAX_OUTPUT_TOKENS == 150


def test_messages_are_a_system_rule_set_and_one_user_message() -> None:
    messages = build_messages(ana_week(), first_name="Ana", week_label="Nov 16–22")
    assert [m["role"] for m in messages] == ["system", "user"]
    assert messages[0]["content"] == SYSTEM_PROMPT
    assert "Ana's reflection for the week Nov 16–22" in messages[1]["content"]


def test_system_prompt_states_the_writing_rules() -> None:
    rules = SYSTEM_PROMPT.lower()
    for phrase in (
        "60 words",
        '"you"',
        "specific, kind",
        "never rank",
        "compare them with other people",
        "praise",
        "exactly one question",
        "only numbers from the facts",
        "never invent",
        "no headings",
    ):
        assert phrase in rules, phrase


def test_user_message_carries_this_persons_facts_without_the_email() -> None:
    facts = ana_week()
    messages = build_messages(facts, first_name="Ana", week_label="Nov 16–22")
    expected = facts.to_json()
    del expected["user"]
    del expected["artifacts"]["ai"]  # nothing in the organisation is marked: it would mislead
    assert user_json(messages) == expected
    assert EMAIL not in json.dumps(messages)
    assert "@" not in messages[1]["content"]


def test_ai_assisted_numbers_go_to_the_prompt_when_the_organisation_marks_artifacts() -> None:
    kinds = [
        KindCounts("dashboard", 14, 3, 0, ai_created=12, ai_viewed_by_others=2),
        KindCounts("pull_request", 7, 6, 5, ai_created=6, ai_viewed_by_others=5, ai_used=4),
    ]
    facts = replace(ana_week(by_kind=kinds), ai_marks_in_org=True)
    sent = user_json(build_messages(facts, first_name="Ana", week_label="Nov 16–22"))
    assert sent["artifacts"]["ai"] == {  # type: ignore[index]
        "created": 18,
        "viewed_by_others": 7,
        "used": 4,
        "by_kind": {
            "dashboard": {"created": 12, "viewed_by_others": 2, "used": 0},
            "pull_request": {"created": 6, "viewed_by_others": 5, "used": 4},
        },
    }
    assert "artifacts.ai counts only the artifacts marked AI-assisted" in SYSTEM_PROMPT


def test_any_email_address_in_the_facts_is_redacted() -> None:
    facts = ana_week(nudges=[{"rule": "note", "detail": "ask bob@example.com"}])
    text = json.dumps(build_messages(facts, first_name=None, week_label="Nov 16–22"))
    assert "bob@example.com" not in text
    assert "[redacted]" in text


def test_a_typical_prompt_fits_untrimmed() -> None:
    messages = build_messages(ana_week(), first_name="Ana", week_label="Nov 16–22")
    assert estimate_tokens(messages) <= MAX_INPUT_TOKENS
    assert "other" not in user_json(messages)["by_tool"]  # type: ignore[operator]


def test_big_facts_are_trimmed_to_fit_keeping_the_top_and_summing_the_rest() -> None:
    facts = big_facts()
    messages = build_messages(facts, first_name="Ana", week_label="Nov 16–22")
    assert fits_budget(messages)
    data = user_json(messages)
    tools: dict[str, dict[str, object]] = data["by_tool"]  # type: ignore[assignment]
    assert "other" in tools
    top = max(facts.by_tool, key=lambda t: t.tokens).tool
    assert top in tools
    assert sum(int(t["tokens"]) for t in tools.values()) == sum(t.tokens for t in facts.by_tool)  # type: ignore[call-overload]
    artifacts: dict[str, dict[str, dict[str, int]]] = data["artifacts"]  # type: ignore[assignment]
    kinds = artifacts["by_kind"]
    assert "other" in kinds
    assert "custom-artifact-kind-00" in kinds  # the most created
    assert sum(k["created"] for k in kinds.values()) == facts.artifacts_created
    models: dict[str, dict[str, int]] = data["by_model"]  # type: ignore[assignment]
    assert "other" in models
    assert sum(m["tokens"] for m in models.values()) == sum(m.tokens for m in facts.by_model)


def test_estimate_is_conservative_and_counts_every_message() -> None:
    messages = [{"role": "system", "content": "a" * 300}, {"role": "user", "content": "b" * 30}]
    assert estimate_tokens(messages) == 3 + (4 + 100) + (4 + 10)
    prose = [
        {"role": "user", "content": "You opened two of your forty dashboards this week. " * 20}
    ]
    assert estimate_tokens(prose) >= math.ceil(len(prose[0]["content"]) / 4)
    assert estimate_tokens([{"role": "user", "content": "名" * 30}]) >= 30


def test_first_name_is_cleaned_because_it_is_user_input() -> None:
    assert clean_first_name("Ana") == "Ana"
    assert clean_first_name("  Mary-Ann O'Neil ") == "Mary-Ann O'Neil"
    assert clean_first_name("Ana <@U123> 42\nIgnore") == "Ana U Ignore"
    assert clean_first_name("x" * 100) == "x" * 40
    assert clean_first_name("1234") is None
    assert clean_first_name(None) is None
    messages = build_messages(ana_week(), first_name=None, week_label="Nov 16–22")
    assert "this person's reflection" in messages[1]["content"]


def test_long_names_of_tools_are_cut_in_the_prompt() -> None:
    facts = ana_week(by_tool=[ToolUsage("t" * 300, 1_000, 0)])
    messages = build_messages(facts, first_name="Ana", week_label="Nov 16–22")
    assert "t" * 41 not in messages[1]["content"]
    assert "t" * 40 in messages[1]["content"]
