"""The complete-data rule (pure): which sources are enabled, and whether a week may go out."""

from __future__ import annotations

import ast
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.domain.completeness import (
    DEFAULT_GRACE,
    Completeness,
    enabled_sources,
    grace_from_hours,
    late_note,
    week_completeness,
)

WEEK_END = datetime(2026, 11, 23, tzinfo=UTC)  # 2026-W47 ends Monday Nov 23, 00:00 UTC
HOUR = timedelta(hours=1)
ROOT = Path(__file__).resolve().parents[1]


def status(
    now: datetime, watermarks: dict[str, datetime | None], grace: timedelta = DEFAULT_GRACE
) -> Completeness:
    return week_completeness(WEEK_END, now=now, grace=grace, watermarks=watermarks)


def test_every_watermark_past_the_week_end_makes_it_complete_and_final() -> None:
    found = status(WEEK_END + 9 * HOUR, {"usage": WEEK_END, "cursor": WEEK_END + HOUR})
    assert (found.state, found.late, found.ready, found.final) == ("complete", (), True, True)


def test_a_late_source_holds_the_week_until_the_grace_period_is_over() -> None:
    marks = {"usage": WEEK_END + HOUR, "cursor": WEEK_END - HOUR, "openai": None}
    waiting = status(WEEK_END + 47 * HOUR, marks)
    assert (waiting.state, waiting.late, waiting.ready) == ("waiting", ("cursor", "openai"), False)
    assert waiting.deadline == WEEK_END + 48 * HOUR
    overdue = status(WEEK_END + 48 * HOUR, marks)
    assert (overdue.state, overdue.late, overdue.ready) == ("overdue", ("cursor", "openai"), True)
    assert not overdue.final  # "no activity" is not a final answer while cursor may still send


def test_no_source_at_all_waits_then_goes_out_but_is_never_final() -> None:
    assert status(WEEK_END + 9 * HOUR, {}).state == "waiting"
    overdue = status(WEEK_END + 49 * HOUR, {})
    assert (overdue.state, overdue.late, overdue.final) == ("overdue", (), False)


def test_a_zero_grace_period_sends_at_once_naming_the_late_source() -> None:
    found = status(WEEK_END, {"cursor": None}, grace=timedelta(0))
    assert (found.state, found.late) == ("overdue", ("cursor",))
    with pytest.raises(ValueError, match="negative"):
        status(WEEK_END, {}, grace=-HOUR)


def test_enabled_sources_are_pull_rows_and_recent_push_senders() -> None:
    now = WEEK_END + 9 * HOUR
    pull = {"cursor": WEEK_END - HOUR, "openai": None}
    push = {
        "usage": WEEK_END + HOUR,  # sent this morning
        "litellm": now - timedelta(weeks=4),  # exactly four weeks ago: still enabled
        "otel": now - timedelta(weeks=4, seconds=1),  # silent for longer: retired
        "cursor": WEEK_END + 2 * HOUR,  # pulled sources keep their own watermark
    }
    assert enabled_sources(pull, push, now=now) == {
        "cursor": WEEK_END - HOUR,
        "openai": None,
        "usage": WEEK_END + HOUR,
        "litellm": now - timedelta(weeks=4),
    }


def test_the_late_note_names_sources_plainly() -> None:
    assert late_note(()) is None
    assert late_note(("cursor",)) == "Cursor data for this week had not arrived when this was sent."
    assert late_note(("claude-code", "copilot", "acme")) == (
        "Claude Code, GitHub Copilot and acme data for this week had not arrived when this was sent."
    )


def test_grace_hours_are_checked() -> None:
    assert grace_from_hours(48) == DEFAULT_GRACE
    assert grace_from_hours(0) == timedelta(0)
    assert grace_from_hours(1.5) == timedelta(minutes=90)
    for bad in (-1, 169, "48", None, True):
        with pytest.raises(ValueError, match="grace period"):
            grace_from_hours(bad)


def test_the_digest_package_does_not_import_slack() -> None:
    """The deliverer and the Block Kit renderer are chosen where the app is wired."""
    offending = []
    for path in sorted((ROOT / "bot" / "digest").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offending += [
                f"{path.name}: {n}" for n in names if n.split(".")[:2] == ["bot", "slack"]
            ]
    assert offending == []
