"""How the AI-assisted numbers read: per kind, in the template reflection (grounded), and in the
unused-artifacts nudge, with and without marks in the organisation."""

from __future__ import annotations

from dataclasses import replace

from bot.domain.facts import KindCounts
from bot.domain.grounding import check_grounding
from bot.domain.nudges import Thresholds, evaluate
from bot.domain.reflection import NO_AI_MARKS, ai_kind_phrase, ai_summary, template_reflection
from tests.support.facts import ana_week

KINDS = [
    KindCounts("dashboard", 14, 3, 0, ai_created=12, ai_viewed_by_others=2),
    KindCounts("pull_request", 7, 6, 5, ai_created=6, ai_viewed_by_others=5, ai_used=4),
]


def test_each_kind_reads_in_its_own_words() -> None:
    assert ai_kind_phrase(KindCounts("pull_request", 6, 5, 4)) == (
        "6 AI-assisted pull requests opened, 5 reviewed by colleagues, 4 merged"
    )
    assert ai_kind_phrase(KindCounts("dashboard", 12, 2, 0)) == (
        "12 AI-assisted dashboards created, 2 opened by anyone else"
    )
    assert ai_kind_phrase(KindCounts("report", 1, 1, 1)) == (
        "1 AI-assisted report created, 1 opened by anyone else, 1 used"
    )
    assert ai_summary([k.ai for k in KINDS]) == (
        "12 AI-assisted dashboards created, 2 opened by anyone else; "
        "6 AI-assisted pull requests opened, 5 reviewed by colleagues, 4 merged"
    )
    assert ai_summary([]) == ""


def test_the_template_leads_with_the_ai_assisted_numbers_and_stays_grounded() -> None:
    facts = replace(ana_week(by_kind=KINDS), ai_marks_in_org=True)
    text = template_reflection(facts, week_label="Nov 16–22")
    assert text.startswith(
        "18 of the 21 artifacts you made were AI-assisted; 7 of those were opened by someone else."
    )
    assert text.endswith("?") and len(text.split()) <= 60
    assert check_grounding(text, facts).ok, text


def test_the_template_asks_about_unopened_ai_assisted_work() -> None:
    kinds = [KindCounts("dashboard", 40, 3, 0, ai_created=38, ai_viewed_by_others=2)]
    facts = replace(ana_week(by_kind=kinds), ai_marks_in_org=True)
    text = template_reflection(facts, week_label="Nov 16–22")
    assert "Which of the 36 unopened AI-assisted dashboards would you not make again?" in text
    assert check_grounding(text, facts).ok, text


def test_without_marks_the_template_speaks_of_every_artifact() -> None:
    facts = ana_week(by_kind=KINDS)  # ai_marks_in_org is False: the ai counts are not trusted
    text = template_reflection(facts, week_label="Nov 16–22")
    assert "AI-assisted" not in text and text.startswith("21 artifacts created, 9 viewed")
    marked_none = replace(ana_week(), ai_marks_in_org=True)
    assert template_reflection(marked_none, week_label="Nov 16–22").startswith(
        "None of your artifacts this week was AI-assisted."
    )
    assert "No source marks AI-assisted artifacts yet" in NO_AI_MARKS


def test_unused_artifacts_looks_at_the_ai_assisted_ones_when_marked() -> None:
    kinds = [KindCounts("dashboard", 40, 30, 0, ai_created=10, ai_viewed_by_others=1)]
    plain = ana_week(by_kind=kinds, nudges=[])
    assert "unused_artifacts" not in [n["rule"] for n in evaluate(plain, Thresholds())]
    marked = replace(plain, ai_marks_in_org=True)
    (nudge,) = [n for n in evaluate(marked, Thresholds()) if n["rule"] == "unused_artifacts"]
    assert nudge["message"] == "9 of 10 AI-assisted dashboards were not opened by anyone else."
    pull_requests = [KindCounts("pull_request", 6, 0, 0, ai_created=6)]
    marked_prs = replace(ana_week(by_kind=pull_requests, nudges=[]), ai_marks_in_org=True)
    messages = [n["message"] for n in evaluate(marked_prs, Thresholds())]
    assert "6 of 6 AI-assisted pull requests were not reviewed by anyone else." in messages
