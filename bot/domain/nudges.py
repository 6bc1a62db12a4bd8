"""Nudge rules over one person's facts, with thresholds admins set (DESIGN §4).

Each rule fires at most once per person-week. A rule that fired last week and not this week
gets a short recovery note; work that others opened or used gets praise.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

from bot.domain.facts import Facts
from bot.domain.money import format_money
from bot.domain.reflection import noun
from bot.domain.units import NANOS_PER_USD

WARNING, INFO = "warning", "info"
RULES = ("unused_artifacts", "spend_spike", "spend_without_outcome", "cost_per_used_artifact")


@dataclass(frozen=True)
class Thresholds:
    """Admin-editable thresholds; the defaults are deliberately gentle."""

    unused_min_created: int = 5  # at least this many artifacts created…
    unused_max_viewed_share: float = 0.2  # …and fewer than this share opened by others
    spike_factor: float = 2.0  # tokens at least this many times the 4-week median
    spike_min_tokens: int = 100_000  # and at least this many tokens
    no_outcome_min_cost_usd: float = 5.0  # spend with nothing created or used
    cost_per_used_max_usd: float = 10.0  # dollars per artifact someone else opened or used

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> Thresholds:
        """Known keys override the defaults; unknown keys are ignored."""
        if not data:
            return cls()
        known = {f.name: f.type for f in fields(cls)}
        values: dict[str, Any] = {}
        for name, value in data.items():
            if name in known and isinstance(value, int | float) and not isinstance(value, bool):
                values[name] = int(value) if known[name] in ("int", int) else float(value)
        return cls(**values)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def validate_thresholds(data: dict[str, Any]) -> dict[str, str]:
    """Field → error message for values an admin may not set (empty when all are fine)."""
    errors: dict[str, str] = {}
    for f in fields(Thresholds):
        if f.name not in data:
            continue
        value = data[f.name]
        if isinstance(value, bool) or not isinstance(value, int | float):
            errors[f.name] = "Enter a number."
        elif value < 0:
            errors[f.name] = "Must not be negative."
        elif f.name == "unused_max_viewed_share" and value > 1:
            errors[f.name] = "A share between 0 and 1, e.g. 0.2 for 20%."
        elif f.name == "spike_factor" and value < 1:
            errors[f.name] = "At least 1 (1 = any week above your usual)."
        elif f.type in ("int", int) and not float(value).is_integer():
            errors[f.name] = "Enter a whole number."
    return errors


def _nudge(rule: str, level: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"rule": rule, "level": level, "message": message, **extra}


def _opened_or_used(facts: Facts) -> int:
    return sum(max(k.viewed_by_others, k.used) for k in facts.by_kind)


def evaluate(
    facts: Facts, thresholds: Thresholds, previous_rules: frozenset[str] = frozenset()
) -> list[dict[str, Any]]:
    """The nudges for one person-week; ``previous_rules`` are the rules that fired last week."""
    fired: list[dict[str, Any]] = []
    created = facts.artifacts_created
    viewed = facts.artifacts_viewed_by_others
    cost = facts.usage.cost_nanos
    tokens = facts.usage.tokens

    # Unused artifacts: when the organisation marks AI-assisted artifacts, the AI-assisted ones
    # (what the tokens made); else every artifact, as nothing tells them apart.
    if facts.ai_marks_in_org:
        made, opened, kinds, label = (
            facts.ai_created,
            facts.ai_viewed_by_others,
            [k for k in facts.ai_by_kind if k.created],
            "AI-assisted ",
        )
    else:
        made, opened, kinds, label = created, viewed, [k for k in facts.by_kind if k.created], ""
    if made >= thresholds.unused_min_created and opened < made * thresholds.unused_max_viewed_share:
        kind = kinds[0].kind if len(kinds) == 1 else "other"
        verb = "reviewed" if kind == "pull_request" else "opened"
        fired.append(
            _nudge(
                "unused_artifacts",
                WARNING,
                f"{made - opened} of {made} {label}{noun(kind, made)} were not {verb} by anyone else.",
            )
        )

    median = facts.tokens_median
    if (
        median > 0
        and tokens >= thresholds.spike_min_tokens
        and tokens >= median * thresholds.spike_factor
    ):
        fired.append(
            _nudge(
                "spend_spike",
                WARNING if tokens >= median * thresholds.spike_factor * 1.5 else INFO,
                f"Tokens were {round(tokens / median, 1)}x your 4-week median.",
            )
        )

    if (
        cost >= thresholds.no_outcome_min_cost_usd * NANOS_PER_USD
        and created == 0
        and facts.artifacts_used == 0
    ):
        fired.append(
            _nudge(
                "spend_without_outcome",
                INFO,
                f"{format_money(cost)} spent with no artifact or outcome recorded.",
            )
        )

    useful = _opened_or_used(facts)
    if useful and cost / useful > thresholds.cost_per_used_max_usd * NANOS_PER_USD:
        fired.append(
            _nudge(
                "cost_per_used_artifact",
                INFO,
                f"{format_money(cost // useful)} per artifact someone opened or used.",
            )
        )

    for rule in sorted(previous_rules - {n["rule"] for n in fired}):
        if rule in RULES:
            fired.append(_nudge(rule, INFO, RECOVERY[rule], recovered=True))

    if created and viewed * 2 >= created and facts.viewers:
        fired.append(
            _nudge(
                "praise", INFO, f"{viewed} of {created} opened by others: that is work that landed."
            )
        )
    return fired


RECOVERY = {
    "unused_artifacts": "Better than last week: more of what you made was opened by others.",
    "spend_spike": "Back to your usual level of tokens after last week's spike.",
    "spend_without_outcome": "This week's spend came with something to show for it.",
    "cost_per_used_artifact": "Cost per artifact someone used came down since last week.",
}
