"""Nudge rules: thresholds, once per rule, recovery notes, praise, and admin validation."""

from __future__ import annotations

from bot.domain.facts import KindCounts, ToolUsage, UsageTotals, build_facts, sparkline
from bot.domain.nudges import Thresholds, evaluate, validate_thresholds

USD = 10**9


def facts(
    created: int = 0,
    viewed: int = 0,
    used: int = 0,
    tokens: int = 0,
    cost_usd: int = 0,
    baseline: list[int] | None = None,
    viewers: int = 0,
):  # type: ignore[no-untyped-def]
    return build_facts(
        user="ana@example.com",
        week="2026-W47",
        usage=UsageTotals(tokens, 0, 0, cost_usd * USD, 10),
        by_tool=[ToolUsage("chatgpt", tokens, cost_usd * USD)],
        by_kind=[KindCounts("dashboard", created, viewed, used)] if created else [],
        viewers=viewers,
        baseline_tokens=baseline or [0, 0, 0, 0],
    )


def rules(nudges: list[dict]) -> list[str]:  # type: ignore[type-arg]
    return [n["rule"] for n in nudges]


def test_unused_artifacts_respects_both_thresholds() -> None:
    [nudge] = evaluate(facts(created=40, viewed=2, viewers=1), Thresholds())
    assert nudge == {
        "rule": "unused_artifacts",
        "level": "warning",
        "message": "38 of 40 dashboards were not opened by anyone else.",
    }
    assert evaluate(facts(created=4, viewed=0), Thresholds()) == []  # below the minimum created
    assert (
        evaluate(facts(created=40, viewed=8, viewers=3), Thresholds()) == []
    )  # 20% is not below 20%
    assert rules(evaluate(facts(created=4, viewed=0), Thresholds(unused_min_created=3))) == [
        "unused_artifacts"
    ]


def test_spend_spike_against_own_median() -> None:
    spike = evaluate(facts(tokens=700_000, baseline=[200_000, 300_000, 250_000, 0]), Thresholds())
    assert spike == [
        {
            "rule": "spend_spike",
            "level": "warning",
            "message": "Tokens were 3.1x your 4-week median.",
        }
    ]
    assert (
        evaluate(facts(tokens=500_000, baseline=[200_000, 300_000, 250_000, 0]), Thresholds())[0][
            "level"
        ]
        == "info"
    )
    assert (
        evaluate(facts(tokens=90_000, baseline=[10_000] * 4), Thresholds()) == []
    )  # under the minimum tokens
    assert evaluate(facts(tokens=900_000), Thresholds()) == []  # no baseline yet: no spike


def test_spend_without_outcome_and_cost_per_used() -> None:
    assert rules(evaluate(facts(tokens=1000, cost_usd=6), Thresholds())) == [
        "spend_without_outcome"
    ]
    assert evaluate(facts(tokens=1000, cost_usd=4), Thresholds()) == []
    expensive = evaluate(
        facts(created=2, viewed=1, tokens=1000, cost_usd=30, viewers=1), Thresholds()
    )
    assert rules(expensive) == ["cost_per_used_artifact", "praise"]
    assert expensive[0]["message"] == "$30.00 per artifact someone opened or used."


def test_each_rule_once_recovery_and_praise() -> None:
    nudges = evaluate(
        facts(created=3, viewed=3, viewers=9),
        Thresholds(),
        frozenset({"unused_artifacts", "bogus"}),
    )
    assert rules(nudges) == ["unused_artifacts", "praise"]
    assert nudges[0]["recovered"] is True and nudges[0]["level"] == "info"
    again = evaluate(
        facts(created=40, viewed=1, viewers=1), Thresholds(), frozenset({"unused_artifacts"})
    )
    assert rules(again) == ["unused_artifacts"]  # still flagged: no recovery note, no duplicate


def test_thresholds_from_json_and_validation() -> None:
    custom = Thresholds.from_json(
        {"unused_min_created": 10, "spike_factor": 3, "nonsense": 1, "spike_min_tokens": "x"}
    )
    assert (
        custom.unused_min_created == 10
        and custom.spike_factor == 3.0
        and custom.spike_min_tokens == 100_000
    )
    assert Thresholds.from_json(custom.to_json()) == custom
    assert validate_thresholds(
        {
            "unused_max_viewed_share": 1.5,
            "spike_factor": 0.5,
            "unused_min_created": 2.5,
            "no_outcome_min_cost_usd": -1,
            "spike_min_tokens": "many",
        }
    ) == {
        "unused_max_viewed_share": "A share between 0 and 1, e.g. 0.2 for 20%.",
        "spike_factor": "At least 1 (1 = any week above your usual).",
        "unused_min_created": "Enter a whole number.",
        "no_outcome_min_cost_usd": "Must not be negative.",
        "spike_min_tokens": "Enter a number.",
    }
    assert validate_thresholds(Thresholds().to_json()) == {}


def test_sparkline() -> None:
    assert sparkline([0, 50, 100]) == "▁▄█"
    assert sparkline([0, 0]) == "▁▁"
    assert sparkline([]) == ""
