"""Store normalised events idempotently: once per (source, key), or replaced for aggregates."""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, replace
from itertools import chain
from typing import Any, Literal, overload

import sqlalchemy as sa
from sqlmodel import Session, col, select

from bot.domain.ai_rules import RuleSet, decide, traits_from_json, traits_to_json
from bot.store.ai_marks import rules_in_force
from bot.store.db import upsert_for
from bot.store.event_rows import (
    ACTOR_KIND,
    ACTOR_VALUE,
    AI_INPUT,
    COLUMNS,
    CREATED,
    KEY,
    OCCURRED_AT,
    PERSON_ID,
    SOURCE,
    TYPE,
    VALUE_COLUMNS,
    PreparedBatch,
    Row,
    time_binder,
    with_ids,
    with_times_bound,
)
from bot.store.identities import resolve_actors
from bot.store.models import Artifact, Event

_EVENTS: sa.Table = Event.__table__  # type: ignore[attr-defined]
_ARTIFACTS: sa.Table = Artifact.__table__  # type: ignore[attr-defined]
# PostgreSQL: one INSERT … SELECT FROM unnest() of one array per column, whatever the number of
# rows; SQLite: a few INSERTs of many rows each (``_sqlite_insert``).
_PG_ARRAY_TYPES = {
    "occurred_at": "timestamptz",
    "received_at": "timestamptz",
    "person_id": "integer",
    "artifact_id": "integer",
    "input_tokens": "bigint",
    "cached_tokens": "bigint",
    "output_tokens": "bigint",
    "cost_nanos": "bigint",
    "requests": "bigint",
}
# Events are partitioned by month on PostgreSQL (``bot.store.partitions``), so no constraint makes
# (source, key) unique across months. A page of rows first claims its keys in ``event_claims``
# (in key order, so two pages never wait for each other in a cycle): a transaction claiming a key
# another one holds waits for it to end. The next statement, which sees what that one committed,
# inserts the rows whose key no partition holds; the claims go before the transaction commits.
_PG_CLAIM = (
    "INSERT INTO event_claims (source, key) SELECT * FROM unnest(%b::text[], %b::text[])"
    " AS claim(source, key) ORDER BY 1, 2 ON CONFLICT DO NOTHING"
)
_PG_INSERT = (
    f"INSERT INTO events ({', '.join(COLUMNS)}) SELECT new.* FROM unnest("
    + ", ".join(f"%b::{_PG_ARRAY_TYPES.get(name, 'text')}[]" for name in COLUMNS)
    + f") AS new({', '.join(COLUMNS)}) LEFT JOIN LATERAL (SELECT 1 AS found FROM events AS stored"
    " WHERE stored.source = new.source AND stored.key = new.key LIMIT 1) AS stored ON true"
    " WHERE stored.found IS NULL RETURNING source, key"
)
_PG_UNCLAIM = (
    "DELETE FROM event_claims WHERE (source, key) IN (SELECT * FROM unnest(%b::text[], %b::text[]))"
)
_PG_PAGE_ROWS = 5000
_SQLITE_MAX_ROWS = 1024  # rows in one INSERT statement


@dataclass(frozen=True)
class StoreResult:
    accepted: int
    duplicates: int


def write_batches(
    session: Session,
    batches: Sequence[PreparedBatch],
    known_people: dict[tuple[str, str], int] | None = None,
) -> list[StoreResult]:
    """Write prepared batches (``event_rows.prepare_batch``, for this session's database) in the
    session's transaction, one result each, as if written one after the other: a key in two
    batches belongs to the first. The batches share the lookups and the insert statements.

    ``known_people``, kept by the caller from one call to the next (the batches of one file),
    holds the people already found for email actors, which are looked up only once.
    """
    # The admins' rules, read once per write, decide the marks the sources leave open.
    rules = RuleSet(rules_in_force(session) if any(batch.artifacts for batch in batches) else [])
    for batch in batches:
        _keep_stored_trailers(session, batch)
    marked = [_marked(batch, rules) for batch in batches]
    actors: set[tuple[str, str]] = set().union(*(batch.actors for batch in batches))
    people = _people(session, actors.union(*(m.actors for m in marked)), known_people)
    new_rows: list[list[Row]] = []
    aggregates: list[list[Row]] = []
    for batch, mark in zip(batches, marked, strict=True):
        artifact_ids = _upsert_artifacts(session, batch.source, mark.artifacts)
        new_rows.append(with_ids(mark.rows, batch.row_artifacts, people, artifact_ids))
        aggregates.append(
            with_ids(mark.aggregates, batch.aggregate_artifacts, people, artifact_ids)
        )
    if len(batches) > 1:  # keys are distinct within a batch, not across batches
        seen: set[tuple[str, str]] = set()
        for rows in new_rows:
            rows[:] = [row for row in rows if _first_time(seen, row)]
    # Per-request records: the unique index decides, in the statement that inserts them.
    accepted = _insert_new(session, new_rows)
    for index, (batch, rows) in enumerate(zip(batches, aggregates, strict=True)):
        if rows:
            accepted[index] += _store_aggregates(session, batch.source, rows)
    return [
        StoreResult(accepted=n, duplicates=batch.events - n)
        for n, batch in zip(accepted, batches, strict=True)
    ]


@dataclass(frozen=True)
class _Marked:
    """A batch's artifacts with their AI-assisted marks, and its rows with agent-written pull
    requests credited to the person who asked (plus those people's identities)."""

    artifacts: dict[str, dict[str, Any]]
    rows: list[Row]
    aggregates: list[Row]
    actors: set[tuple[str, str]]


def _keep_stored_trailers(session: Session, batch: PreparedBatch) -> None:
    """A pull request described again without its commits (a webhook delivery carries none)
    keeps the ``Co-authored-by`` trailers stored when its commits were read: trailers are only
    learnt, never unlearnt, so a later description cannot take away a mark they gave. One query
    per 500 such pull requests; other artifacts cost nothing."""
    bare = [
        external_id
        for external_id, fields in batch.artifacts.items()
        if AI_INPUT in fields
        and fields["kind"] == "pull_request"
        and fields[AI_INPUT][2] is not None
        and not fields[AI_INPUT][2].trailers
    ]
    for start in range(0, len(bare), 500):
        query = select(Artifact.external_id, Artifact.traits).where(
            col(Artifact.source) == batch.source,
            col(Artifact.external_id).in_(bare[start : start + 500]),
            col(Artifact.traits).is_not(None),
        )
        for external_id, text in session.exec(query):
            stored = traits_from_json(text)
            if stored is None or not stored.trailers:
                continue
            fields = batch.artifacts[external_id]
            source_says, tool, traits = fields[AI_INPUT]
            traits = replace(traits, trailers=stored.trailers)
            fields["traits"] = traits_to_json(traits)
            fields[AI_INPUT] = (source_says, tool, traits)


def _marked(batch: PreparedBatch, rules: RuleSet) -> _Marked:
    """Decide the mark of each artifact a ``created`` event describes (the source's word, else
    the first matching rule); the batch itself is left as it was."""
    artifacts: dict[str, dict[str, Any]] = {}
    credits: dict[str, str] = {}
    for external_id, fields in batch.artifacts.items():
        if AI_INPUT not in fields:
            artifacts[external_id] = fields
            continue
        source_says, tool, traits = fields[AI_INPUT]
        mark = decide(
            rules,
            source_says=source_says,
            source_tool=tool,
            artifact_kind=fields["kind"],
            title=fields["title"],
            traits=traits,
        )
        artifacts[external_id] = {
            **fields,
            "ai_assisted": mark.ai_assisted,
            "ai_tool": mark.ai_tool,
            "ai_marked_by": mark.marked_by,
        }
        if mark.credit_to is not None:
            credits[external_id] = mark.credit_to
    if not credits:
        return _Marked(artifacts, batch.rows, batch.aggregates, set())
    actors: set[tuple[str, str]] = set()
    rows = _credited(batch.rows, batch.row_artifacts, credits, actors)
    aggregates = _credited(batch.aggregates, batch.aggregate_artifacts, credits, actors)
    return _Marked(artifacts, rows, aggregates, actors)


def _credited(
    rows: list[Row],
    refs: list[str | None],
    credits: dict[str, str],
    actors: set[tuple[str, str]],
) -> list[Row]:
    """``rows`` with each ``created`` event of a credited artifact given to the requester (same
    identity kind as the actor the source named); the new actors are added to ``actors``."""
    if not refs:
        return rows
    out: list[Row] = []
    for row, ref in zip(rows, refs, strict=True):
        requester = credits.get(ref) if ref is not None else None
        if requester is not None and row[TYPE] == CREATED and row[ACTOR_KIND] is not None:
            actors.add((row[ACTOR_KIND], requester))
            row = (*row[:ACTOR_VALUE], requester, *row[ACTOR_VALUE + 1 :])
        out.append(row)
    return out


def _people(
    session: Session,
    actors: set[tuple[str, str]],
    known: dict[tuple[str, str], int] | None,
) -> dict[tuple[str, str], int | None]:
    """The person of each actor; email actors in ``known`` are not looked up again, and those
    found are added to it (a person's email never moves to another person)."""
    if known is None:
        return resolve_actors(session, actors)
    found = resolve_actors(session, actors.difference(known))
    known.update(
        (actor, person) for actor, person in found.items() if actor[0] == "email" and person
    )
    return {**known, **found}


def _first_time(seen: set[tuple[str, str]], row: Row) -> bool:
    key = (row[SOURCE], row[KEY])
    if key in seen:
        return False
    seen.add(key)
    return True


def _insert_new(session: Session, groups: list[list[Row]]) -> list[int]:
    """Insert the rows whose key is not stored yet; how many of each group were inserted.

    The rows hold their values as the driver takes them (times included) and go through the
    DBAPI connection under the session's transaction: no SQL is compiled and no type is
    processed per row. Keys must be distinct across all the groups.
    """
    if not any(groups):
        return [0] * len(groups)
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        stored: set[tuple[str, str]] = set()
        rows = [row for group in groups for row in group]
        for start in range(0, len(rows), _PG_PAGE_ROWS):
            page = rows[start : start + _PG_PAGE_ROWS]
            columns = tuple(map(list, zip(*page, strict=True)))
            keys = (columns[SOURCE], columns[KEY])
            connection.exec_driver_sql(_PG_CLAIM, keys)
            result = connection.exec_driver_sql(_PG_INSERT, columns)
            stored.update((str(source), str(key)) for source, key in result)
            connection.exec_driver_sql(_PG_UNCLAIM, keys)
        return [sum((row[SOURCE], row[KEY]) in stored for row in group) for group in groups]
    cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        if len(groups) == 1:
            return [_sqlite_insert(cursor, groups[0])]
        # Many small groups (the requests of a shared commit): their rows go in together, and
        # the keys the statements return tell whose rows were new.
        stored = _sqlite_insert(cursor, [row for group in groups for row in group], returning=True)
        return [sum((row[SOURCE], row[KEY]) in stored for row in group) for group in groups]
    finally:
        cursor.close()


@overload
def _sqlite_insert(cursor: Any, rows: list[Row], *, returning: Literal[False] = False) -> int: ...
@overload
def _sqlite_insert(
    cursor: Any, rows: list[Row], *, returning: Literal[True]
) -> set[tuple[str, str]]: ...
def _sqlite_insert(cursor: Any, rows: list[Row], *, returning: bool = False) -> Any:
    """Insert ``rows`` a few statements of many rows each; how many were new, or (``returning``)
    the (source, key) of each new one.

    One statement of a thousand rows runs as one step of the SQLite engine, during which the
    driver lets other Python threads run: the request or file parsed next is not held up by
    the index updates of the rows before it. Row counts are powers of two, so a handful of
    statement texts cover every batch and stay in the driver's statement cache.

    The rows go in the order of the index the file's order scatters most (``_index_order``):
    a batch of usage from a few thousand people adds one entry to each of their ranges of
    ``ix_events_person_time``, so in the file's order each insert lands on another leaf page,
    and a page evicted from the cache was read, written and read again within one batch. In
    the index's order each leaf is reached once, and the statement journal (the pages a
    statement changes, kept in case it must be undone) holds each page once.
    """
    rows = sorted(rows, key=_index_order)
    inserted = 0
    stored: set[tuple[str, str]] = set()
    start = 0
    while start < len(rows):
        size = _statement_rows(cursor.connection, len(rows) - start)
        chunk = rows[start : start + size]
        cursor.execute(_sqlite_statement(size, returning), list(chain.from_iterable(chunk)))
        if returning:
            stored.update(cursor.fetchall())
        else:
            inserted += cursor.rowcount
        start += size
    return stored if returning else inserted


def _index_order(row: Row) -> tuple[bool, int, str, str, str]:
    """Where ``row`` goes in ``ix_events_person_time`` (person, time); rows without a person go
    to ``ix_events_unattributed`` (actor kind, actor value), after them."""
    person = row[PERSON_ID]
    if person is not None:
        return False, person, "", "", row[OCCURRED_AT]
    return True, 0, row[ACTOR_KIND] or "", row[ACTOR_VALUE] or "", row[OCCURRED_AT]


def _statement_rows(connection: sqlite3.Connection, remaining: int) -> int:
    """The largest power of two no greater than ``remaining`` and the rows one statement may
    bind (SQLite limits the parameters of a statement: 32,766 by default, 999 before 3.32)."""
    most = connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER) // len(COLUMNS)
    return 1 << (min(remaining, most, _SQLITE_MAX_ROWS).bit_length() - 1)


@functools.cache
def _sqlite_statement(rows: int, returning: bool = False) -> str:
    values = ", ".join([f"({', '.join('?' for _ in COLUMNS)})"] * rows)
    return (
        f"INSERT INTO events ({', '.join(COLUMNS)}) VALUES {values}"
        " ON CONFLICT (source, key) DO NOTHING" + (" RETURNING source, key" if returning else "")
    )


def _store_aggregates(session: Session, source: str, rows: list[Row]) -> int:
    """New aggregates are inserted, changed ones take the new numbers; how many of either."""
    existing = _existing(session, source, [row[KEY] for row in rows])
    to_db = time_binder(session.connection().dialect.name)
    new = [with_times_bound(row, to_db) for row in rows if row[KEY] not in existing]
    (accepted,) = _insert_new(session, [new])
    named = [dict(zip(COLUMNS, row, strict=True)) for row in rows if row[KEY] in existing]
    restated = [row for row in named if _changed(existing[row["key"]], row)]
    for row in restated:
        session.execute(
            sa.update(Event)
            .where(col(Event.source) == source, col(Event.key) == row["key"])
            .values({name: row[name] for name in (*VALUE_COLUMNS, "received_at")})
        )
    return accepted + len(restated)


def _existing(session: Session, source: str, keys: list[str]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    columns = [_EVENTS.c[name] for name in VALUE_COLUMNS]
    for start in range(0, len(keys), 500):
        chunk = keys[start : start + 500]
        query = sa.select(_EVENTS.c.key, *columns).where(
            _EVENTS.c.source == source, _EVENTS.c.key.in_(chunk)
        )
        for stored in session.execute(query):
            found[stored.key] = {name: stored._mapping[name] for name in VALUE_COLUMNS}
    return found


def _changed(stored: dict[str, Any], row: dict[str, Any]) -> bool:
    return any(stored[name] != row[name] for name in VALUE_COLUMNS)


_NOT_COLUMNS = frozenset({"described", AI_INPUT})


def _upsert_artifacts(
    session: Session, source: str, artifacts: dict[str, dict[str, Any]]
) -> dict[str, int]:
    """Create the artifacts, or describe them again from a ``created`` event; their ids."""
    if not artifacts:
        return {}
    insert = upsert_for(session)
    fields = [{k: v for k, v in a.items() if k not in _NOT_COLUMNS} for a in artifacts.values()]
    described = [f for f, a in zip(fields, artifacts.values(), strict=True) if a["described"]]
    bare = [f for f, a in zip(fields, artifacts.values(), strict=True) if not a["described"]]
    # Core statements on the session's connection: one executemany each. (Through the ORM, rows
    # whose optional values are empty in different places would be split into many statements.)
    connection = session.connection()
    if described:
        stmt = insert(_ARTIFACTS)
        connection.execute(
            stmt.on_conflict_do_update(
                index_elements=["source", "external_id"],
                set_={
                    "kind": stmt.excluded.kind,
                    "kind_label": stmt.excluded.kind_label,
                    "title": stmt.excluded.title,
                    "created_at": stmt.excluded.created_at,
                    "traits": stmt.excluded.traits,
                    "ai_assisted": stmt.excluded.ai_assisted,
                    "ai_tool": stmt.excluded.ai_tool,
                    "ai_marked_by": stmt.excluded.ai_marked_by,
                },
            ),
            described,
        )
    if bare:
        connection.execute(
            insert(_ARTIFACTS).on_conflict_do_nothing(index_elements=["source", "external_id"]),
            bare,
        )
    ids: dict[str, int] = {}
    external_ids = list(artifacts)
    for start in range(0, len(external_ids), 500):
        chunk = external_ids[start : start + 500]
        query = select(Artifact.external_id, Artifact.id).where(
            col(Artifact.source) == source, col(Artifact.external_id).in_(chunk)
        )
        for external_id, artifact_id in session.exec(query):
            assert artifact_id is not None
            ids[external_id] = artifact_id
    return ids
