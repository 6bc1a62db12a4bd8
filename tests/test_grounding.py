"""The grounding check: a reflection states only numbers its facts support."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bot.domain.facts import KindCounts, ToolUsage, UsageTotals
from bot.domain.grounding import MAX_CHARS, check_grounding, find_numbers
from bot.domain.money import format_money
from bot.domain.reflection import template_reflection
from bot.domain.units import display_count, display_usd
from bot.domain.weeks import parse_week
from tests.support.facts import ana_week

FACTS = ana_week()
# total tokens 1,874,000 (1.9M); median 1,050,000; cost $23.41; 38 dashboards unopened.

GROUNDED = [
    # The shapes the deterministic template writes.
    "42 artifacts created, 4 viewed by others, 1 used. 1.9M tokens ($23). Your work was opened "
    "by 14 colleagues; that is where your tokens paid off. Which of the 38 unopened dashboards "
    "would you not build again?",
    "Your AI week, Nov 16–22: 40 dashboards created, 2 opened by anyone else. 1.9M tokens ($23). "
    "Your two reports were read by 14 colleagues. Which of the 38 unopened dashboards would you "
    "not build again?",
    # Exact and display forms of the facts' numbers.
    "You spent $23.41 on 1,874,000 tokens (about 1,900,000) over 812 requests. What mattered most?",
    "ChatGPT took 1.2M tokens ($15) and claude-code 674K ($8.41). Which one earned its cost?",
    "Of your 1.5M input tokens, 300K were cached. What would you cache next?",
    # Percentages, differences, ratios, per-artifact cost, the baseline.
    "Only 5% of your 40 dashboards were opened by someone else: 38 stayed closed. What would you skip?",
    "Both of your reports were opened, 100% of them, while 95% of dashboards were not. Why the gap?",
    "About 1 in 20 dashboards was opened. Which ones were worth it?",
    "You used 1.87M tokens, up 78% on your 4-week median of 1.05M. What drove the jump?",
    "That is about 1.8x your usual week and 44% more than last week. Was it worth it?",
    "That works out to $0.56 per artifact, or $5.85 for each one someone opened. Worth it?",
    "Your 2 reports cost about $11.71 each in AI time. Was that well spent?",
    # Spelled-out numbers and dates of the week itself.
    "Forty dashboards, two of them opened, and fourteen colleagues read your reports. What next?",
    "In week 47 (2026-W47, November 16th to 22nd, 2026) your reports found readers. What next?",
    "Over the last four weeks your usage grew. Which one thing would you keep?",
    # "one" that counts nothing is not a number.
    "One of your reports reached 14 colleagues. What is one thing you would repeat?",
]


@pytest.mark.parametrize("text", GROUNDED)
def test_grounded_texts_pass(text: str) -> None:
    result = check_grounding(text, FACTS)
    assert result.ok, (result.reason, result.unsupported)
    assert result.unsupported == []


INVENTED = [
    ("You built 37 dashboards this week. What next?", ["37"]),
    ("83% of your dashboards were opened. What next?", ["83%"]),
    ("Only 60% of your dashboards were opened. Why?", ["60%"]),
    ("You used 2.5M tokens. Too many?", ["2.5M"]),
    ("You spent $31 this week. Worth it?", ["$31"]),
    ("You spent 31 dollars this week. Worth it?", ["31 dollars"]),
    ("That saved you 12 hours. What will you do with them?", ["12"]),
    ("You made twelve decks. Which one mattered?", ["twelve"]),
    ("Twenty-seven people read your reports. What next?", ["Twenty-seven"]),
    ("That is 3.7x your usual week. Why?", ["3.7x"]),
    ("You used 1,874,001 tokens. Why?", ["1,874,001"]),
    ("On Nov 23 your reports were opened. What next?", ["Nov 23"]),
    ("In W48 your reports were opened. What next?", ["W48"]),
    ("Your usage rose 40% on last week. Why?", ["40%"]),
    ("Thirteen decks of yours were opened. What next?", ["Thirteen"]),
]


@pytest.mark.parametrize(("text", "offending"), INVENTED)
def test_invented_numbers_fail_and_are_listed(text: str, offending: list[str]) -> None:
    result = check_grounding(text, FACTS)
    assert not result.ok
    assert result.unsupported == offending
    assert result.reason and "not supported" in result.reason


def test_the_deterministic_template_always_passes() -> None:
    cases = [
        FACTS,
        ana_week(by_kind=[KindCounts("dashboard", 40, 2, 0)]),
        ana_week(by_kind=[KindCounts("report", 3, 3, 2)], viewers=1),
        ana_week(by_kind=[], viewers=0),
        ana_week(usage=UsageTotals(), by_tool=[], by_kind=[], viewers=0, baseline_tokens=[]),
        ana_week(usage=UsageTotals(input_tokens=950, output_tokens=40, cost_nanos=4_200_000)),
    ]
    for facts in cases:
        label = parse_week(facts.week).label()
        text = template_reflection(facts, week_label=label)
        result = check_grounding(text, facts)
        assert result.ok, (text, result)


def test_display_forms_of_every_count_and_amount_pass() -> None:
    usage = FACTS.usage
    for count in (usage.tokens, usage.input_tokens, usage.cached_tokens, usage.output_tokens):
        assert check_grounding(f"You used {display_count(count)} tokens. Why?", FACTS).ok
    for nanos in (usage.cost_nanos, *(t.cost_nanos for t in FACTS.by_tool)):
        assert check_grounding(f"That cost {display_usd(nanos)}. Why?", FACTS).ok
        assert check_grounding(f"That cost {format_money(nanos)}. Why?", FACTS).ok


def test_tiny_amounts_shown_as_less_than_a_cent_pass() -> None:
    facts = ana_week(usage=UsageTotals(input_tokens=900, output_tokens=50, cost_nanos=4_000_000))
    assert check_grounding("You spent <$0.01 on 950 tokens. Worth a try?", facts).ok
    assert not check_grounding("You spent <$0.01 on 950 tokens. Worth a try?", FACTS).ok


def test_the_other_bucket_of_a_trimmed_prompt_is_supported() -> None:
    tools = [
        ToolUsage(f"tool-{chr(97 + i)}", 100_000 - i * 1_000, 1_000_000_000) for i in range(12)
    ]
    facts = ana_week(by_tool=tools)
    tail = sum(t.tokens for t in tools[8:])
    assert check_grounding(f"Other tools took {tail:,} tokens. Needed?", facts).ok


def test_names_with_digits_from_the_facts_are_not_numbers() -> None:
    facts = ana_week(by_tool=[ToolUsage("gpt-4.1-mini", 1_874_000, 23_410_000_000)])
    assert check_grounding("Most of it went to gpt-4.1-mini. Was it the right model?", facts).ok


def test_extra_numbers_are_allowed() -> None:
    text = "Your digest arrives at 9 each Monday. Does that suit you?"
    assert not check_grounding(text, FACTS).ok
    assert check_grounding(text, FACTS, extra_numbers=[9]).ok


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "empty text"),
        ("   \n ", "empty text"),
        ("word " * 91 + "?", "too long: 92 words"),
        ("x" * (MAX_CHARS + 1), "too long"),
        ("Send it to bob@example.com. What next?", "mentions an email address"),
        ("Ask @bob about it. What next?", "mentions someone else"),
        ("Ask <@U0123ABC> about it. What next?", "mentions someone else"),
        ("Tell <!here> about it. What next?", "mentions someone else"),
        ("You are in the top 10 users this week. What next?", "compares or ranks"),
        ("You spent more than your colleagues. What next?", "compares or ranks"),
        ("That is above the team average. What next?", "compares or ranks"),
        ("Your leaderboard position rose. What next?", "compares or ranks"),
        ("# Your week\nYou made things. What next?", "uses markdown headings"),
        ("You made 40 dashboards.", "does not end with exactly one question"),
        ("Why 40? Why 2?", "does not end with exactly one question"),
        ("What next? You made 40 dashboards.", "does not end with exactly one question"),
    ],
)
def test_texts_without_a_reflections_shape_fail(text: str, reason: str) -> None:
    result = check_grounding(text, FACTS)
    assert not result.ok
    assert result.reason is not None and result.reason.startswith(reason)


def test_the_closing_question_can_be_waived() -> None:
    assert check_grounding("You made 40 dashboards.", FACTS, require_question=False).ok


def test_find_numbers_reads_every_written_form() -> None:
    mentions = find_numbers(
        "1,900,000 and 1.9M and 120K and $23.41 and 5% and 12 percent and forty-two "
        "and a dozen and two hundred and 3x and <$0.01 and 2 million"
    )
    assert [(m.token, m.kind, m.amount) for m in mentions] == [
        ("1,900,000", "plain", Decimal(1_900_000)),
        ("1.9M", "plain", Decimal(1_900_000)),
        ("120K", "plain", Decimal(120_000)),
        ("$23.41", "money", Decimal("23.41")),
        ("5%", "percent", Decimal(5)),
        ("12 percent", "percent", Decimal(12)),
        ("3x", "plain", Decimal(3)),
        ("<$0.01", "money", Decimal("0.01")),
        ("2 million", "plain", Decimal(2_000_000)),
        ("forty-two", "plain", Decimal(42)),
        ("a dozen", "plain", Decimal(12)),
        ("two hundred", "plain", Decimal(200)),
    ]


def test_one_is_a_number_only_when_it_counts_something() -> None:
    assert [m.token for m in find_numbers("One deck and one report")] == ["One", "one"]
    assert find_numbers("What is one thing you would repeat, and which one?") == []


def test_find_numbers_skips_digits_inside_names() -> None:
    assert find_numbers("gpt-4 in W47 with o3 and a 2FA token") == []
