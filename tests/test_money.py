"""Money looks the same everywhere: cents below $100, whole dollars from $100."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bot.domain.money import format_money
from bot.domain.team_render import TeamFigures, _figure_lines
from bot.domain.units import NANOS_PER_USD, usd_to_nanos


@pytest.mark.parametrize(
    ("usd", "shown"),
    [
        ("0", "$0.00"),
        ("0.000000001", "<$0.01"),
        ("0.004", "<$0.01"),
        ("0.009999", "<$0.01"),
        ("0.01", "$0.01"),
        ("0.015", "$0.02"),  # half a cent rounds to even
        ("0.025", "$0.02"),
        ("0.42", "$0.42"),
        ("12", "$12.00"),
        ("37.772604", "$37.77"),
        ("99.994", "$99.99"),
        ("99.995", "$100"),  # rounds to $100.00 in cents: shown as whole dollars
        ("100", "$100"),
        ("1204.49", "$1,204"),
        ("1204.5", "$1,204"),
        ("1205.5", "$1,206"),
        ("987654.321", "$987,654"),
    ],
)
def test_format_money(usd: str, shown: str) -> None:
    assert format_money(usd_to_nanos(usd)) == shown


def test_negative_amounts_keep_their_sign() -> None:
    assert format_money(-12 * NANOS_PER_USD) == "-$12.00"
    assert format_money(-250 * NANOS_PER_USD) == "-$250"


def test_team_report_shows_money_like_the_dm() -> None:
    """The team report used to print exact dollars ("$37.772604")."""
    nanos = int(Decimal("37.772604") * NANOS_PER_USD)
    lines = "\n".join(_figure_lines(TeamFigures(cost_nanos=nanos)))
    assert "cost       $37.77 over" in lines and "37.772604" not in lines


def test_cli_facts_show_money_like_the_dm() -> None:
    from bot.cli import format_facts

    text = format_facts(
        {
            "user": "ana@example.com",
            "week": "2026-W47",
            "tokens": {"input": 1, "cached": 0, "output": 1},
            "cost_usd": "1234.5678",
            "requests": 3,
            "artifacts": {
                "created": 0,
                "viewed_by_others": 0,
                "used": 0,
                "viewers": 0,
                "by_kind": {},
            },
            "by_tool": {"chatgpt": {"tokens": 2, "cost_usd": "0.0123"}},
            "baseline": {"weeks": 4, "tokens_median": 0},
        }
    )
    assert "cost       $1,235 over 3 requests" in text
    assert "chatgpt: 2 tokens, $0.01" in text
