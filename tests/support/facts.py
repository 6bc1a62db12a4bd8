"""A person's week of facts, for the tests of what is written from them (template, prompt,
grounding, summarizer)."""

from __future__ import annotations

from bot.domain.facts import Facts, KindCounts, ToolUsage, UsageTotals, build_facts


def ana_week(**overrides: object) -> Facts:
    """Ana's week 2026-W47 (Nov 16–22): 42 artifacts, 4 opened by others, 2.17M tokens, $23.41."""
    values: dict[str, object] = {
        "user": "ana@example.com",
        "week": "2026-W47",
        "usage": UsageTotals(
            input_tokens=1_500_000,
            cached_tokens=300_000,
            output_tokens=374_000,
            cost_nanos=23_410_000_000,
            requests=812,
        ),
        "by_tool": [
            ToolUsage("chatgpt", 1_200_000, 15_000_000_000),
            ToolUsage("claude-code", 674_000, 8_410_000_000),
        ],
        "by_kind": [KindCounts("dashboard", 40, 2, 0), KindCounts("report", 2, 2, 1)],
        "viewers": 14,
        "baseline_tokens": [900_000, 1_100_000, 1_000_000, 1_300_000],
        "nudges": [{"rule": "unused_artifacts", "level": "warning"}],
    }
    values.update(overrides)
    return build_facts(**values)  # type: ignore[arg-type]
