"""Facts: the numbers of one person-week, the only input of a reflection (DESIGN §3.6).

The store aggregates with SQL and hands plain numbers here; this module shapes them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from statistics import median
from typing import Any

from bot.domain.units import format_usd

BASELINE_WEEKS = 4


@dataclass(frozen=True)
class UsageTotals:
    input_tokens: int = 0
    cached_tokens: int = 0
    output_tokens: int = 0
    cost_nanos: int = 0
    requests: int = 0

    @property
    def tokens(self) -> int:
        """All tokens: input (cache included) plus output."""
        return self.input_tokens + self.output_tokens


@dataclass(frozen=True)
class ToolUsage:
    tool: str
    tokens: int
    cost_nanos: int


@dataclass(frozen=True)
class KindCounts:
    """Artifacts of one kind created in the week: all of them, and (``ai_*``) those marked
    AI-assisted (DESIGN §3.7), each with how many someone else opened and how many were used."""

    kind: str
    created: int = 0
    viewed_by_others: int = 0
    used: int = 0
    ai_created: int = 0
    ai_viewed_by_others: int = 0
    ai_used: int = 0

    @property
    def ai(self) -> KindCounts:
        """The AI-assisted counts alone, as plain counts of this kind."""
        return KindCounts(self.kind, self.ai_created, self.ai_viewed_by_others, self.ai_used)


@dataclass(frozen=True)
class Facts:
    user: str
    week: str
    usage: UsageTotals
    by_tool: tuple[ToolUsage, ...]
    by_kind: tuple[KindCounts, ...]
    viewers: int
    baseline_tokens: tuple[int, ...]
    nudges: tuple[dict[str, Any], ...] = field(default=())
    by_model: tuple[ToolUsage, ...] = field(default=())
    unopened_recent: int = 0  # artifacts of the last 4 weeks nobody else has opened by week end
    # Whether any source or admin rule marks any artifact of the organisation AI-assisted: when
    # none does, the AI-assisted counts say nothing and the renderers say so.
    ai_marks_in_org: bool = False

    @property
    def artifacts_created(self) -> int:
        return sum(k.created for k in self.by_kind)

    @property
    def artifacts_viewed_by_others(self) -> int:
        return sum(k.viewed_by_others for k in self.by_kind)

    @property
    def artifacts_used(self) -> int:
        return sum(k.used for k in self.by_kind)

    @property
    def ai_by_kind(self) -> tuple[KindCounts, ...]:
        """The AI-assisted counts per kind, kinds with none left out."""
        return tuple(
            k.ai for k in self.by_kind if k.ai_created or k.ai_viewed_by_others or k.ai_used
        )

    @property
    def ai_created(self) -> int:
        return sum(k.ai_created for k in self.by_kind)

    @property
    def ai_viewed_by_others(self) -> int:
        return sum(k.ai_viewed_by_others for k in self.by_kind)

    @property
    def ai_used(self) -> int:
        return sum(k.ai_used for k in self.by_kind)

    @property
    def tokens_median(self) -> int:
        return baseline_median(self.baseline_tokens)

    @property
    def cost_per_opened_nanos(self) -> int | None:
        """Cost divided by the artifacts someone else opened; ``None`` when none was."""
        opened = self.artifacts_viewed_by_others
        return self.usage.cost_nanos // opened if opened else None

    @property
    def is_empty(self) -> bool:
        """No AI use and nothing made this week."""
        return self.usage.tokens == 0 and self.usage.requests == 0 and self.artifacts_created == 0

    def to_json(self) -> dict[str, Any]:
        return {
            "user": self.user,
            "week": self.week,
            "tokens": {
                "input": self.usage.input_tokens,
                "cached": self.usage.cached_tokens,
                "output": self.usage.output_tokens,
            },
            "cost_usd": format_usd(self.usage.cost_nanos),
            "requests": self.usage.requests,
            "artifacts": {
                "created": self.artifacts_created,
                "viewed_by_others": self.artifacts_viewed_by_others,
                "used": self.artifacts_used,
                "viewers": self.viewers,
                "unopened_last_4_weeks": self.unopened_recent,
                "by_kind": {
                    k.kind: {
                        "created": k.created,
                        "viewed_by_others": k.viewed_by_others,
                        "used": k.used,
                    }
                    for k in self.by_kind
                },
                "ai": {
                    "created": self.ai_created,
                    "viewed_by_others": self.ai_viewed_by_others,
                    "used": self.ai_used,
                    "by_kind": {
                        k.kind: {
                            "created": k.created,
                            "viewed_by_others": k.viewed_by_others,
                            "used": k.used,
                        }
                        for k in self.ai_by_kind
                    },
                    "marks_in_org": self.ai_marks_in_org,
                },
            },
            "by_tool": {
                t.tool: {"tokens": t.tokens, "cost_usd": format_usd(t.cost_nanos)}
                for t in self.by_tool
            },
            "by_model": {
                m.tool: {"tokens": m.tokens, "cost_usd": format_usd(m.cost_nanos)}
                for m in self.by_model
            },
            "cost_per_opened_artifact_usd": (
                None
                if self.cost_per_opened_nanos is None
                else format_usd(self.cost_per_opened_nanos)
            ),
            "baseline": {
                "weeks": len(self.baseline_tokens),
                "tokens_median": self.tokens_median,
                "tokens_by_week": list(self.baseline_tokens),
                "sparkline": sparkline([*self.baseline_tokens, self.usage.tokens]),
            },
            "nudges": [dict(n) for n in self.nudges],
        }


SPARK = "▁▂▃▄▅▆▇█"


def sparkline(values: list[int]) -> str:
    """A small text chart of ``values``, oldest first: ``▂▃▁▅█``."""
    if not values:
        return ""
    top = max(values)
    if top == 0:
        return SPARK[0] * len(values)
    return "".join(SPARK[min(len(SPARK) - 1, value * (len(SPARK) - 1) // top)] for value in values)


def baseline_median(weekly_tokens: tuple[int, ...] | list[int]) -> int:
    """Median of the previous weeks' token totals, rounded down to a whole token."""
    if not weekly_tokens:
        return 0
    return int(median(weekly_tokens))


def build_facts(
    *,
    user: str,
    week: str,
    usage: UsageTotals,
    by_tool: list[ToolUsage],
    by_kind: list[KindCounts],
    viewers: int,
    baseline_tokens: list[int],
    nudges: list[dict[str, Any]] | None = None,
    by_model: list[ToolUsage] | None = None,
    unopened_recent: int = 0,
    ai_marks_in_org: bool = False,
) -> Facts:
    """Assemble facts with a stable order: tools by tokens then name, kinds by name."""
    return Facts(
        user=user,
        week=week,
        usage=usage,
        by_tool=tuple(sorted(by_tool, key=lambda t: (-t.tokens, -t.cost_nanos, t.tool))),
        by_kind=tuple(
            sorted(
                (k for k in by_kind if k.created or k.viewed_by_others or k.used),
                key=lambda k: k.kind,
            )
        ),
        viewers=viewers,
        baseline_tokens=tuple(baseline_tokens),
        nudges=tuple(nudges or ()),
        by_model=tuple(sorted(by_model or (), key=lambda t: (-t.tokens, -t.cost_nanos, t.tool))),
        unopened_recent=unopened_recent,
        ai_marks_in_org=ai_marks_in_org,
    )
