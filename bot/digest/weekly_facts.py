"""Build one person's facts for one week from SQL aggregates, with their nudges."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import tzinfo

from sqlmodel import Session

from bot.domain.facts import BASELINE_WEEKS, Facts, build_facts
from bot.domain.nudges import evaluate
from bot.domain.weeks import Week, previous_weeks
from bot.store import aggregates
from bot.store.deliveries import get_delivery
from bot.store.models import Person
from bot.store.workspace import thresholds


def facts_for(session: Session, person: Person, week: Week, tz: tzinfo) -> Facts:
    """The facts of ``person`` in ``week`` (ISO week in ``tz``), with a 4-week baseline and nudges."""
    assert person.id is not None
    start, end = week.bounds(tz)
    baseline_ranges = [w.bounds(tz) for w in previous_weeks(week, BASELINE_WEEKS)]
    recent_start = week.shift(-(BASELINE_WEEKS - 1)).bounds(tz)[0]
    facts = build_facts(
        user=person.email,
        week=str(week),
        usage=aggregates.usage_totals(session, person.id, start, end),
        by_tool=aggregates.usage_by_tool(session, person.id, start, end),
        by_model=aggregates.usage_by_model(session, person.id, start, end),
        by_kind=aggregates.artifacts_by_kind(session, person.id, start, end),
        viewers=aggregates.distinct_viewers(session, person.id, start, end),
        baseline_tokens=aggregates.weekly_tokens(session, person.id, baseline_ranges),
        unopened_recent=aggregates.unopened_artifacts(session, person.id, recent_start, end),
    )
    nudges = evaluate(
        facts, thresholds(session), previous_rules(session, person.id, week.shift(-1))
    )
    return replace(facts, nudges=tuple(nudges))


def previous_rules(session: Session, person_id: int, week: Week) -> frozenset[str]:
    """The warning rules that fired in the digest sent for ``week`` (for recovery notes)."""
    delivery = get_delivery(session, person_id, str(week))
    if delivery is None or not delivery.facts_json:
        return frozenset()
    nudges = json.loads(delivery.facts_json).get("nudges", [])
    return frozenset(
        n["rule"] for n in nudges if not n.get("recovered") and n.get("rule") != "praise"
    )
