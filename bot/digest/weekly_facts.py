"""Build people's facts for one week from grouped SQL aggregates, with their nudges: many
people with a handful of queries (``facts_for_many``), or one person (``facts_for``)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace
from datetime import tzinfo

from sqlmodel import Session

from bot.domain.facts import BASELINE_WEEKS, Facts, build_facts
from bot.domain.nudges import evaluate
from bot.domain.weeks import Week, previous_weeks
from bot.store import ai_marks, batch_aggregates
from bot.store.models import Person
from bot.store.workspace import thresholds

BATCH_SIZE = 500  # people per round of grouped queries


def facts_for(session: Session, person: Person, week: Week, tz: tzinfo) -> Facts:
    """The facts of ``person`` in ``week`` (ISO week in ``tz``), with a 4-week baseline and nudges."""
    assert person.id is not None
    return facts_for_many(session, [person], week, tz)[person.id]


def warned_rules(facts_json: str) -> frozenset[str]:
    """The warning rules in a delivered digest's facts (not recoveries, not praise)."""
    nudges = json.loads(facts_json).get("nudges", [])
    return frozenset(
        n["rule"] for n in nudges if not n.get("recovered") and n.get("rule") != "praise"
    )


def facts_for_many(
    session: Session,
    people: Sequence[Person],
    week: Week,
    tz: tzinfo,
    *,
    batch_size: int = BATCH_SIZE,
) -> dict[int, Facts]:
    """``facts_for`` of every person in ``people``, keyed by person id: the same facts, from
    five grouped queries (plus one for last week's deliveries) per ``batch_size`` people."""
    start, end = week.bounds(tz)
    baseline_ranges = [w.bounds(tz) for w in previous_weeks(week, BASELINE_WEEKS)]
    recent_start = week.shift(-(BASELINE_WEEKS - 1)).bounds(tz)[0]
    limits = thresholds(session)
    ai_marks_in_org = ai_marks.any_marked(session)
    found: dict[int, Facts] = {}
    for offset in range(0, len(people), batch_size):
        chunk = people[offset : offset + batch_size]
        ids = [person.id for person in chunk if person.id is not None]
        usage = batch_aggregates.usage(session, ids, start, end)
        by_kind = batch_aggregates.artifacts_by_kind(session, ids, start, end)
        viewers = batch_aggregates.distinct_viewers(session, ids, start, end)
        baseline = batch_aggregates.weekly_tokens(session, ids, baseline_ranges)
        unopened = batch_aggregates.unopened_artifacts(session, ids, recent_start, end)
        delivered = batch_aggregates.delivered_facts(session, ids, str(week.shift(-1)))
        for person in chunk:
            if person.id is None:
                continue
            pid = person.id
            used = usage.get(pid) or batch_aggregates.Usage()
            facts = build_facts(
                user=person.email,
                week=str(week),
                usage=used.totals,
                by_tool=used.by_tool,
                by_model=used.by_model,
                by_kind=by_kind.get(pid, []),
                viewers=viewers.get(pid, 0),
                baseline_tokens=baseline.get(pid, [0] * len(baseline_ranges)),
                unopened_recent=unopened.get(pid, 0),
                ai_marks_in_org=ai_marks_in_org,
            )
            previous = warned_rules(delivered[pid]) if pid in delivered else frozenset()
            found[pid] = replace(facts, nudges=tuple(evaluate(facts, limits, previous)))
    return found
