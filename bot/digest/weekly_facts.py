"""Build one person's facts for one week from SQL aggregates."""

from __future__ import annotations

from datetime import tzinfo

from sqlmodel import Session

from bot.domain.facts import BASELINE_WEEKS, Facts, build_facts
from bot.domain.weeks import Week, previous_weeks
from bot.store import aggregates
from bot.store.models import Person


def facts_for(session: Session, person: Person, week: Week, tz: tzinfo) -> Facts:
    """The facts of ``person`` in ``week`` (ISO week in ``tz``), with a 4-week baseline."""
    assert person.id is not None
    start, end = week.bounds(tz)
    baseline_ranges = [w.bounds(tz) for w in previous_weeks(week, BASELINE_WEEKS)]
    return build_facts(
        user=person.email,
        week=str(week),
        usage=aggregates.usage_totals(session, person.id, start, end),
        by_tool=aggregates.usage_by_tool(session, person.id, start, end),
        by_kind=aggregates.artifacts_by_kind(session, person.id, start, end),
        viewers=aggregates.distinct_viewers(session, person.id, start, end),
        baseline_tokens=aggregates.weekly_tokens(session, person.id, baseline_ranges),
    )
