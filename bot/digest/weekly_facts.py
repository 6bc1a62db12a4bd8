"""Build people's facts for one week from grouped SQL aggregates, with their nudges: a chunk of
people at a time (``facts_in_batches``), many people at once (``facts_for_many``), or one
person (``facts_for``).

Two ways to read the aggregates, with the same result:

- **by person** (a few people: one person, the tick's due people): per chunk of people, a
  handful of ``person_id IN (…)`` queries through the person index;
- **everyone** (a whole organisation's weekly run): a handful of queries in all, each one pass
  over the week's events by time, their rows ordered by person and read beside the people a
  chunk at a time; memory holds one chunk, whatever the organisation's size.
"""

from __future__ import annotations

import gc
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime, tzinfo
from itertools import islice, pairwise
from typing import Any

from sqlmodel import Session

from bot.domain.ai_history import chart_weeks
from bot.domain.facts import BASELINE_WEEKS, Facts, build_facts
from bot.domain.nudges import Thresholds, evaluate
from bot.domain.weeks import Week, previous_weeks
from bot.store import ai_history, ai_marks
from bot.store import batch_aggregates as agg
from bot.store.models import Person
from bot.store.people import people_count
from bot.store.workspace import thresholds

BATCH_SIZE = 500  # people per round of grouped queries (by person)
EVERYONE_BATCH_SIZE = 2_000  # people per chunk when everyone's rows are read
COLLECT_EVERY_CHUNKS = 10  # reading everyone's rows, garbage is collected every 20,000 people
# Reading everyone's rows pays when the people asked for are a good share of the organisation.
EVERYONE_MIN_PEOPLE = 1_000
EVERYONE_MIN_SHARE = 0.25


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
    batch_size: int | None = None,
    everyone: bool | None = None,
) -> dict[int, Facts]:
    """``facts_for`` of every person in ``people``, keyed by person id."""
    return {
        person.id: facts
        for batch in facts_in_batches(
            session, people, week, tz, batch_size=batch_size, everyone=everyone
        )
        for person, facts in batch
        if person.id is not None
    }


def facts_in_batches(
    session: Session,
    people: Iterable[Person],
    week: Week,
    tz: tzinfo,
    *,
    batch_size: int | None = None,
    everyone: bool | None = None,
) -> Iterator[list[tuple[Person, Facts]]]:
    """Each person's facts, a chunk of ``batch_size`` people at a time.

    ``everyone``: read everyone's rows, a pass over the week in all (``True``), or query by
    person (``False``); ``None`` decides by the share of the organisation ``people`` are (it must
    then be a sequence). Reading everyone's rows, the chunks come in person-id order: a sequence
    is sorted; any other iterable must already be in that order (``people_by_id`` is)."""
    if everyone is None:
        if not isinstance(people, Sequence):
            raise TypeError("facts_in_batches: say everyone=True or False for an iterator")
        everyone = _worth_reading_everyone(session, len(people))
    if everyone and not agg.readable_from_other_connections(session.get_bind()):  # type: ignore[arg-type]
        everyone = False
    if isinstance(people, Sequence) and everyone:
        people = sorted(people, key=lambda p: p.id or 0)
    query = _WeekQuery.of(session, week, tz)
    size = batch_size or (EVERYONE_BATCH_SIZE if everyone else BATCH_SIZE)
    chunks = _chunks(people, size)
    if not everyone:
        for chunk in chunks:
            ids = [person.id for person in chunk if person.id is not None]
            yield query.facts(chunk, query.by_person(session, ids))
        return
    with (
        agg.everyone_rows(session.get_bind(), query.statements(None)) as streams,  # type: ignore[arg-type]
        _collected_every(COLLECT_EVERY_CHUNKS) as tick,
    ):
        last = 0
        for chunk in chunks:
            tick()
            ids = [person.id for person in chunk if person.id is not None]
            if not ids:
                yield query.facts(chunk, _Rows.empty())
                continue
            if ids[0] <= last or any(a >= b for a, b in pairwise(ids)):
                raise ValueError("facts_in_batches: people must come in person-id order")
            last = ids[-1]
            yield query.facts(
                chunk, _Rows(**{name: rows.upto(last) for name, rows in streams.items()})
            )


@contextmanager
def _collected_every(chunks: int) -> Iterator[Callable[[], None]]:
    """Python's cyclic garbage collector runs once every ``chunks`` chunks of people (at each
    ``tick()``), not on its own. On its own it runs every few hundred allocations and walks every
    row waiting in the readers' queues each time: a third of a whole organisation's build went to
    it at 100,000 people. What was alive before is frozen out of its walks for the run; whatever
    cycles the chunks leave are freed every ``chunks`` chunks, so memory stays as flat. (Where
    something else froze objects already, as ``ai-roi ingest`` does, they stay as they are: the
    run neither freezes nor unfreezes, since unfreezing cannot tell theirs from its own.)"""
    was_enabled = gc.isenabled()
    freezing = gc.get_freeze_count() == 0
    gc.disable()
    if freezing:
        gc.freeze()
    ticks = 0

    def tick() -> None:
        nonlocal ticks
        ticks += 1
        if ticks % chunks == 0:
            gc.collect()

    try:
        yield tick
    finally:
        if freezing:
            gc.unfreeze()
        if was_enabled:
            gc.enable()


def _worth_reading_everyone(session: Session, wanted: int) -> bool:
    if wanted < EVERYONE_MIN_PEOPLE:
        return False
    return wanted >= EVERYONE_MIN_SHARE * people_count(session)


def _chunks(people: Iterable[Person], size: int) -> Iterator[list[Person]]:
    iterator = iter(people)
    while chunk := list(islice(iterator, size)):
        yield chunk


@dataclass
class _Rows:
    """The aggregate rows of some people, one list per aggregate."""

    usage: list[Any]
    baseline: list[Any]
    rolled: list[Any]
    artifacts: list[Any]
    unopened: list[Any]
    viewers: list[Any]
    delivered: list[Any]
    history: list[Any]

    @classmethod
    def empty(cls) -> _Rows:
        return cls([], [], [], [], [], [], [], [])


@dataclass(frozen=True)
class _WeekQuery:
    """The week's ranges, the workspace thresholds and the statements of its aggregates."""

    week: Week
    start: datetime
    end: datetime
    baseline_ranges: list[tuple[datetime, datetime]]
    recent_start: datetime
    limits: Thresholds
    tz: tzinfo
    # Whether any source or rule marks any artifact of the organisation AI-assisted.
    ai_marks_in_org: bool
    charted: list[Week]  # the 8-week chart's weeks

    @classmethod
    def of(cls, session: Session, week: Week, tz: tzinfo) -> _WeekQuery:
        start, end = week.bounds(tz)
        return cls(
            week=week,
            start=start,
            end=end,
            baseline_ranges=[w.bounds(tz) for w in previous_weeks(week, BASELINE_WEEKS)],
            recent_start=week.shift(-(BASELINE_WEEKS - 1)).bounds(tz)[0],
            limits=thresholds(session),
            tz=tz,
            ai_marks_in_org=ai_marks.any_marked(session),
            charted=chart_weeks(week),
        )

    def statements(self, ids: Sequence[int] | None) -> dict[str, Any]:
        return {
            "usage": agg.usage_statement(ids, self.start, self.end),
            "baseline": agg.weekly_tokens_statement(ids, self.baseline_ranges),
            "rolled": agg.rolled_tokens_statement(ids, self.baseline_ranges),
            "artifacts": agg.artifact_counts_statement(ids, self.start, self.end),
            "unopened": agg.unopened_statement(ids, self.recent_start, self.end),
            "viewers": agg.distinct_viewers_statement(ids, self.start, self.end),
            "delivered": agg.delivered_statement(ids, str(self.week.shift(-1))),
            "history": ai_history.history_statement(ids, self.charted, self.tz),
        }

    def by_person(self, session: Session, ids: Sequence[int]) -> _Rows:
        if not ids:
            return _Rows.empty()
        return _Rows(
            **{
                name: list(session.execute(statement))
                for name, statement in self.statements(ids).items()
            }
        )

    def facts(self, chunk: list[Person], rows: _Rows) -> list[tuple[Person, Facts]]:
        usage = agg.usage_values(rows.usage)
        baseline = agg.weekly_tokens_values(rows.baseline, rows.rolled, self.baseline_ranges)
        artifacts = agg.artifact_counts_values(rows.artifacts, rows.unopened)
        viewers = agg.distinct_viewers_values(rows.viewers)
        delivered = agg.delivered_values(rows.delivered)
        history = ai_history.history_values(rows.history, self.charted)
        no_usage, no_artifacts = agg.Usage(), agg.ArtifactCounts()
        no_baseline = [0] * len(self.baseline_ranges)
        week, limits = str(self.week), self.limits
        found = []
        for person in chunk:
            pid = person.id
            if pid is None:
                continue
            used = usage.get(pid, no_usage)
            made = artifacts.get(pid, no_artifacts)
            facts = build_facts(
                user=person.email,
                week=week,
                usage=used.totals,
                by_tool=used.by_tool,
                by_model=used.by_model,
                by_kind=made.by_kind,
                viewers=viewers.get(pid, 0),
                baseline_tokens=baseline.get(pid, no_baseline),
                unopened_recent=made.unopened_recent,
                ai_marks_in_org=self.ai_marks_in_org,
            )
            previous = warned_rules(delivered[pid]) if pid in delivered else frozenset()
            found.append(
                (
                    person,
                    replace(
                        facts,
                        nudges=tuple(evaluate(facts, limits, previous)),
                        ai_history=history.get(pid, ()),
                    ),
                )
            )
        return found
