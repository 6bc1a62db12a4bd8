"""Files through ``ingest_in_batches``: parsed a batch at a time, in a child process when large.

The child-process runs happen in a fresh interpreter (as ``ai-roi ingest`` runs), since a
process forks only while it has a single thread.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import textwrap
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, func, select

from bot.errors import PayloadError
from bot.ingest import bulk, decoding
from bot.ingest.adapters import ADAPTERS, RECORD_READERS, RECORD_STREAMS
from bot.ingest.adapters.common import parse_records
from bot.ingest.pipeline import parse_body
from bot.store.db import create_engine, transaction, upgrade
from bot.store.event_rows import time_binder
from bot.store.models import Event, Person, utcnow
from tests.helpers import usage_event

FIXTURES = Path(__file__).parent / "fixtures" / "vendors"
FIXTURE_OF = {
    "litellm": ["litellm-generic-api-batch.json"],
    "openai": ["openai-usage-completions-by-user.json"],
    "anthropic": ["anthropic-messages-usage-report.json"],
    "claude-code": ["claude-code-analytics-report.json"],
    "cursor": ["cursor-daily-usage-data.json", "cursor-filtered-usage-events.json"],
    "copilot": ["copilot-users-1-day.ndjson"],
    "datadog": ["datadog-dashboards-usage.json", "datadog-audit-events-search.json"],
    "github": ["github-pull-request-records.json"],
    "google-drive": ["google-drive-activities.json"],
}
VALID, REPEATED, INVALID = 14_000, 500, 500


def content_type(name: str) -> str:
    return "application/x-ndjson" if name.endswith(".ndjson") else "application/json"


def ndjson(events: list[dict[str, Any]]) -> bytes:
    return "\n".join(json.dumps(event) for event in events).encode()


def generic_body_with_problems() -> bytes:
    """NDJSON: good events, a broken line, an event with negative tokens, a repeated id."""
    lines = [
        json.dumps(usage_event("a", "ana@example.com", "2026-11-18T09:00:00Z")),
        "{broken",
        json.dumps(usage_event("b", "ben@example.com", "2026-11-18T09:00:00Z", input_tokens=-1)),
        json.dumps(usage_event("c", "ana@example.com", "2026-11-18T10:00:00+01:00")),
        json.dumps(usage_event("a", "ana@example.com", "2026-11-18T09:00:00Z")),
        json.dumps({"id": "d", "type": "artifact.created"}),
    ]
    return "\n".join(lines).encode()


CASES = [(source, name) for source, names in FIXTURE_OF.items() for name in names]


def test_every_source_but_otel_reads_its_records_one_by_one() -> None:
    assert set(RECORD_READERS) == set(ADAPTERS) - {"otel"}
    assert set(FIXTURE_OF) == set(RECORD_READERS) - {"usage"}


@pytest.mark.parametrize(("source", "name"), CASES)
@pytest.mark.parametrize("size", [1, 2, 3, 1000])
def test_parsing_a_slice_at_a_time_gives_what_parsing_the_whole_body_gives(
    source: str, name: str, size: int
) -> None:
    body = (FIXTURES / name).read_bytes()
    whole = ADAPTERS[source](body, content_type(name))
    assert whole.events, "the fixture must yield events for this test to mean anything"
    records = RECORD_READERS[source](body, content_type(name))
    sliced = [records.parse(start, start + size) for start in range(0, len(records), size)]
    assert [e for part in sliced for e in part.events] == whole.events
    assert [r for part in sliced for r in part.rejected] == whole.rejected


@pytest.mark.parametrize("size", [1, 2, 4])
def test_rejections_keep_their_index_in_the_whole_body(size: int) -> None:
    body = generic_body_with_problems()
    whole = ADAPTERS["usage"](body, "application/x-ndjson")
    assert [r.index for r in whole.rejected] == [1, 2, 5]
    records = RECORD_READERS["usage"](body, "application/x-ndjson")
    sliced = [records.parse(start, start + size) for start in range(0, len(records), size)]
    assert [r for part in sliced for r in part.rejected] == whole.rejected


@pytest.mark.parametrize("size", [1, 2, 1000])
def test_in_batches_as_one_request_would(engine: Engine, size: int) -> None:
    body = generic_body_with_problems()
    progress: list[tuple[int, float | None]] = []
    outcome = bulk.ingest_in_batches(
        engine,
        "usage",
        body,
        "application/x-ndjson",
        batch_size=size,
        progress=lambda records, total: progress.append((records, total)),
    )
    assert (outcome.accepted, outcome.duplicates) == (2, 1)
    assert [(r.index, r.error) for r in outcome.rejected] == [
        (r.index, r.error) for r in parse_body("usage", body, "application/x-ndjson").rejected
    ]
    assert sum(records for records, _ in progress) == 6
    fractions = [done for _, done in progress]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    again = bulk.ingest_in_batches(engine, "usage", body, "application/x-ndjson", batch_size=size)
    assert (again.accepted, again.duplicates) == (0, 3)


def test_otel_is_parsed_whole_then_stored_in_batches(engine: Engine) -> None:
    body = (FIXTURES / "otel-genai-traces.json").read_bytes()
    expected = parse_body("otel", body, "application/json")
    batches = list(
        bulk.batches("otel", body, "application/json", 1, utcnow(), time_binder("sqlite"))
    )
    assert [b.records for b in batches if b.prepared] == [1] * len(expected.events)
    assert [r for b in batches for r in b.rejected] == expected.rejected
    outcome = bulk.ingest_in_batches(engine, "otel", body, "application/json", batch_size=1)
    assert outcome.accepted == len({e.key for e in expected.events}) > 0
    assert outcome.rejected == expected.rejected


def large_body() -> tuple[bytes, list[dict[str, Any]]]:
    """Over ``PARALLEL_BYTES``: valid events, some sent twice, some invalid, interleaved."""
    items: list[dict[str, Any]] = []
    for i in range(VALID):
        items.append(
            usage_event(
                f"big-{i}", f"p{i % 150}@example.com", "2026-11-18T09:00:00Z", input_tokens=1000 + i
            )
        )
        if i % 28 == 0 and i // 28 < REPEATED:
            items.append(usage_event(f"big-{i}", f"p{i % 150}@example.com", "2026-11-18T09:00:00Z"))
        if i % 28 == 14 and i // 28 < INVALID:
            items.append(
                usage_event(f"bad-{i}", "x@example.com", "2026-11-18T09:00:00Z", output_tokens=-5)
            )
    body = json.dumps({"events": items}).encode()
    assert len(body) > bulk.PARALLEL_BYTES
    return body, items


CHILD_RUN = textwrap.dedent(
    """
    import json, os, sys
    from bot.ingest import bulk
    from bot.store.db import create_engine

    url, body_path, marker, mode = sys.argv[1:5]
    produce_into = bulk._produce_into

    def recording_produce_into(produce, sender):
        with open(marker, "w") as f:
            f.write(str(os.getpid()))
        if mode == "die":
            first = next(produce())
            sender.send(("batch", first))
            os._exit(3)
        produce_into(produce, sender)

    bulk._produce_into = recording_produce_into
    if mode == "cli":  # the command itself, as a user runs it
        from bot.cli import main

        os.environ["DATABASE_URL"] = url
        sys.exit(main(["ingest", "--source", "usage", "--batch-size", "1000", body_path]))
    engine = create_engine(url)
    try:
        outcome = bulk.ingest_in_batches(
            engine, "usage", open(body_path, "rb").read(), "application/json", batch_size=1000
        )
    except Exception as exc:
        print(json.dumps({"error": type(exc).__name__, "message": str(exc)}))
    else:
        print(json.dumps(outcome.to_json()))
    """
)


def run_in_fresh_process(
    url: str, body: bytes, tmp_path: Path, mode: str = "normal"
) -> tuple[dict[str, Any], int | None]:
    """``ingest_in_batches`` in a new interpreter; its answer and the pid of its parser."""
    body_path, marker = tmp_path / "body.json", tmp_path / f"parser-{mode}.pid"
    body_path.write_bytes(body)
    done = subprocess.run(
        [sys.executable, "-c", CHILD_RUN, url, str(body_path), str(marker), mode],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).resolve().parents[1],
        check=False,
    )
    assert done.returncode == 0, done.stderr
    parser = int(marker.read_text()) if marker.exists() else None
    return json.loads(done.stdout.strip().splitlines()[-1]), parser


def stored(engine: Engine) -> tuple[int, int]:
    with Session(engine) as session:
        count, tokens = session.exec(
            select(func.count(), func.sum(Event.input_tokens)).select_from(Event)
        ).one()
    return int(count), int(tokens or 0)


def test_a_large_file_is_parsed_in_a_child_process_with_the_same_outcome(
    engine: Engine, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    body, _ = large_body()
    answer, parser = run_in_fresh_process(database_url, body, tmp_path)
    assert parser is not None and parser != os.getpid()
    assert (answer["accepted"], answer["duplicates"]) == (VALID, REPEATED)
    assert len(answer["rejected"]) == INVALID
    assert stored(engine) == (VALID, sum(1000 + i for i in range(VALID)))

    # The same file in this process, one batch after another: the same rejections, and
    # everything already stored.
    monkeypatch.setattr(bulk, "PARALLEL_BYTES", len(body) + 1)
    here = bulk.ingest_in_batches(engine, "usage", body, "application/json", batch_size=1000)
    assert (here.accepted, here.duplicates) == (0, VALID + REPEATED)
    assert here.to_json()["rejected"] == answer["rejected"]
    assert stored(engine) == (VALID, sum(1000 + i for i in range(VALID)))


def test_ai_roi_ingest_parses_a_large_file_in_a_child_process(
    engine: Engine, database_url: str, tmp_path: Path
) -> None:
    """The command has one thread when it imports, so it may fork: the parallel path is the
    one users get."""
    body, _ = large_body()
    body_path, marker = tmp_path / "big.json", tmp_path / "parser-cli.pid"
    body_path.write_bytes(body)
    done = subprocess.run(
        [sys.executable, "-c", CHILD_RUN, database_url, str(body_path), str(marker), "cli"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).resolve().parents[1],
        check=False,
    )
    assert done.returncode == 1  # some records were rejected, each printed with its reason
    assert f"big.json: {VALID} accepted, {REPEATED} duplicates, {INVALID} rejected" in done.stdout
    assert done.stderr.count("rejected: ") == INVALID
    assert marker.exists() and int(marker.read_text()) != os.getpid()
    assert stored(engine) == (VALID, sum(1000 + i for i in range(VALID)))


def test_a_parser_that_dies_is_an_error_and_what_was_committed_stays(
    engine: Engine, database_url: str, tmp_path: Path
) -> None:
    body, items = large_body()
    answer, parser = run_in_fresh_process(database_url, body, tmp_path, mode="die")
    assert parser is not None
    assert answer["error"] == "ParserFailed"
    assert "exit code 3" in answer["message"]
    first_batch = {i["id"] for i in items[:1000] if i["usage"]["output_tokens"] >= 0}
    with Session(engine) as session:
        assert set(session.exec(select(Event.key))) == first_batch


def test_a_file_cut_short_in_the_child_stores_what_came_before_and_says_so(
    engine: Engine, database_url: str, tmp_path: Path
) -> None:
    body, _ = large_body()
    cut = body[: len(body) * 2 // 3]
    whole = json.loads(cut[: cut.rindex(b"}, {") + 1] + b"]}")["events"]
    answer, parser = run_in_fresh_process(database_url, cut, tmp_path)
    assert parser is not None
    assert answer["error"] == "ImportStopped"
    assert f"it ends early after {len(whole):,} records" in answer["message"]
    assert f"the {len(whole):,} records before it were read and stored" in answer["message"]
    kept = {item["id"] for item in whole if item["usage"]["output_tokens"] >= 0}
    with Session(engine) as session:
        assert set(session.exec(select(Event.key))) == kept
    # The whole file, once it has arrived: only what is missing is stored.
    again = bulk.ingest_in_batches(engine, "usage", body, "application/json", batch_size=1000)
    assert again.accepted == VALID - len(kept)
    assert stored(engine) == (VALID, sum(1000 + i for i in range(VALID)))


class _Unpicklable(Exception):
    def __init__(self, reason: str, handle: object) -> None:
        super().__init__(reason)
        self.handle = handle


def test_an_error_that_cannot_cross_to_the_parent_still_says_what_it_was() -> None:
    """The child sends its error to the parent pickled; one that cannot be keeps its message."""
    plain = PayloadError("body is not valid JSON")
    assert bulk._picklable(plain) is plain
    sent = bulk._picklable(_Unpicklable("the disk is gone", lambda: None))
    assert isinstance(sent, bulk.ParserFailed)
    assert str(sent) == "_Unpicklable: the disk is gone"


# Files read a record at a time -------------------------------------------------------------------

STREAMED = [
    ("litellm", "litellm-generic-api-batch.json"),
    ("litellm", "litellm-user-daily-activity.json"),
    ("copilot", "copilot-users-1-day.ndjson"),
]


def test_sources_whose_files_are_arrays_or_lines_stream() -> None:
    assert set(RECORD_STREAMS) == {"usage", "litellm", "copilot"}


@pytest.mark.parametrize(("source", "name"), STREAMED)
@pytest.mark.parametrize("piece", [3, 1 << 20])
def test_a_streamed_file_parses_as_the_whole_body(
    source: str, name: str, piece: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(decoding, "CHUNK_BYTES", piece)
    body = (FIXTURES / name).read_bytes()
    whole = ADAPTERS[source](body, content_type(name))
    assert whole.events
    records = RECORD_STREAMS[source](io.BytesIO(body), content_type(name), None)
    lines = list(records.lines)
    errors = {i: line.error for i, line in enumerate(lines) if line.error}
    streamed = parse_records([line.value for line in lines], records.parse_one, errors)
    assert streamed == whole


@pytest.mark.parametrize("shape", ["ndjson", "array", "envelope"])
def test_a_file_larger_than_any_buffer_gives_what_the_whole_body_gives(
    engine: Engine, shape: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Over the read size, with a bad line or event far in: the same counts and rejections."""
    monkeypatch.setattr(bulk, "PARALLEL_BYTES", 1 << 40)  # in this process: pytest has threads
    count = 12_000
    events = [
        usage_event(f"n{i}", f"p{i % 40}@example.com", "2026-11-18T09:00:00Z") for i in range(count)
    ]
    events[9_876]["usage"]["input_tokens"] = -1
    if shape == "ndjson":
        body = b"".join(json.dumps(e).encode() + b"\n" for e in events)
        body = body.replace(b'"id": "n5432"', b'"id": "n5432" oops', 1)
        kind = "application/x-ndjson"
    else:
        document: Any = events if shape == "array" else {"meta": {"n": 1}, "events": events}
        body = json.dumps(document, indent=1).encode()
        kind = "application/json"
    assert len(body) > decoding.CHUNK_BYTES
    whole = parse_body("usage", body, kind)
    outcome = bulk.ingest_file(
        engine, "usage", io.BytesIO(body), kind, size=len(body), batch_size=1000
    )
    assert outcome.rejected == whole.rejected
    assert [r.index for r in outcome.rejected] == ([5432, 9876] if shape == "ndjson" else [9876])
    if shape == "ndjson":
        assert outcome.rejected[0].error.startswith("line 5433 is not valid JSON")
    assert (outcome.accepted, outcome.duplicates) == (len(whole.events), 0)


def test_a_truncated_array_stores_the_records_before_the_cut(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bulk, "PARALLEL_BYTES", 1 << 40)
    events = [usage_event(f"t{i}", "ana@example.com", "2026-11-18T09:00:00Z") for i in range(25)]
    body = json.dumps(events).encode()
    cut = body[: body.index(b'"t20"') + 10]
    with pytest.raises(bulk.ImportStopped) as stopped:
        bulk.ingest_in_batches(engine, "usage", cut, "application/json", batch_size=7)
    message = str(stopped.value)
    assert "body is not valid JSON: it ends early after 20 records" in message
    assert "the 20 records before it were read and stored (20 events accepted" in message
    assert stopped.value.outcome.accepted == 20
    assert stored(engine)[0] == 20
    again = bulk.ingest_in_batches(engine, "usage", body, "application/json", batch_size=7)
    assert (again.accepted, again.duplicates) == (5, 20)


def test_a_file_broken_at_its_first_record_stores_nothing(engine: Engine) -> None:
    with pytest.raises(PayloadError, match="body is not valid JSON") as error:
        bulk.ingest_in_batches(engine, "usage", b"[{oops", "application/json")
    assert not isinstance(error.value, bulk.ImportStopped)
    assert stored(engine)[0] == 0


@pytest.mark.parametrize(
    ("source", "records"),
    [
        ("litellm", [{"id": "x", "model": "m"}] * 12),
        ("copilot", [{"day_totals": [], "report_day": "2026-11-18"}] * 12),
    ],
)
def test_a_file_with_no_record_of_the_sources_shape_is_refused_as_a_body_is(
    engine: Engine, source: str, records: list[dict[str, Any]]
) -> None:
    body = json.dumps(records).encode()
    with pytest.raises(PayloadError) as whole:
        ADAPTERS[source](body, "application/json")
    with pytest.raises(PayloadError) as streamed:
        bulk.ingest_in_batches(engine, source, body, "application/json", batch_size=5)
    assert str(streamed.value) == str(whole.value)
    assert stored(engine)[0] == 0


@pytest.mark.parametrize(
    ("name", "body", "expected"),
    [
        ("a.ndjson", b"[1]\n", "application/x-ndjson"),
        ("events", b'{"id": 1}\n\n{"id": 2}\n', "application/x-ndjson"),
        ("events.json", b'[{"id": 1},\n {"id": 2}]\n', "application/json"),
        ("events.json", b'[{"id": 1}, {"id": 2}]', "application/json"),
        ("events.json", b'{"events": [{"id": 1}]}\n', "application/json"),
        ("events.json", b'{\n  "events": []\n}\n', "application/json"),
        ("-", b"", "application/json"),
    ],
)
def test_a_files_type_comes_from_its_name_or_its_first_lines(
    name: str, body: bytes, expected: str
) -> None:
    kind, stream = bulk.sniffed(name, io.BufferedReader(io.BytesIO(body)))
    assert kind == expected
    assert stream.read() == body


def test_a_batch_in_no_order_keeps_each_event_whole_and_counts_duplicates(engine: Engine) -> None:
    """Rows are inserted in index order, not the file's: each event keeps its own values, events
    already stored are duplicates, and events of actors not yet known stay unattributed."""
    people = [f"p{n}@example.com" for n in range(7)]
    events = [
        usage_event(
            f"e{i}",
            people[(i * 3) % 7],
            f"2026-11-{1 + (i * 11) % 28:02d}T09:{i % 60:02d}:00Z",
            input_tokens=1000 + i,
        )
        for i in range(60)
    ]
    for i in range(60, 70):
        event = usage_event(
            f"e{i}", "x@example.com", f"2026-11-{1 + i % 28:02d}T10:00:00Z", input_tokens=1000 + i
        )
        event["actor"] = {"slack_user_id": f"U{(i * 7) % 10:03d}"}
        events.append(event)
    first = bulk.ingest_in_batches(engine, "usage", ndjson(events[::3]), "application/x-ndjson")
    assert (first.accepted, first.duplicates) == (len(events[::3]), 0)
    outcome = bulk.ingest_in_batches(engine, "usage", ndjson(events), "application/x-ndjson")
    assert (outcome.accepted, outcome.duplicates) == (
        len(events) - len(events[::3]),
        len(events[::3]),
    )
    with Session(engine) as session:
        rows = session.exec(select(Event).order_by(Event.id)).all()  # type: ignore[arg-type]
        emails = {p.id: p.email for p in session.exec(select(Person)).all()}
    stored = {row.key: row for row in rows}
    assert sorted(stored) == sorted(e["id"] for e in events)
    for event in events:
        row = stored[event["id"]]
        assert row.input_tokens == event["usage"]["input_tokens"]
        assert row.occurred_at == datetime.fromisoformat(event["occurred_at"])
        if "email" in event["actor"]:
            assert emails[row.person_id] == event["actor"]["email"]
        else:
            assert (row.person_id, row.actor_kind, row.actor_value) == (
                None,
                "slack",
                event["actor"]["slack_user_id"],
            )
    if engine.dialect.name == "sqlite":  # within a batch, in (person, time) order
        second = [row for row in rows if row.key not in {e["id"] for e in events[::3]}]
        order = [
            (
                row.person_id is None,
                row.person_id or 0,
                row.actor_value if row.person_id is None else "",
                row.occurred_at,
            )
            for row in second
        ]
        assert order == sorted(order)


def test_sqlite_commits_stay_synced_whatever_the_checkpoint_interval(tmp_path: Path) -> None:
    """Every SQLite connection syncs each commit to the write-ahead log (``synchronous=FULL``)
    while moving pages into the database only every 16,384 pages: a commit not yet in the
    database file is kept, from the WAL, by a connection opened after the writer went away."""
    url = f"sqlite:///{tmp_path / 'durable.db'}"
    engine = create_engine(url)
    upgrade(engine)
    with engine.connect() as connection:
        settings = {
            name: connection.exec_driver_sql(f"PRAGMA {name}").scalar()
            for name in ("journal_mode", "synchronous", "wal_autocheckpoint", "temp_store")
        }
    assert settings == {
        "journal_mode": "wal",
        "synchronous": 2,
        "wal_autocheckpoint": 16_384,
        "temp_store": 2,
    }
    with engine.connect() as connection:  # the migration's pages out of the way
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    with transaction(engine) as session:
        session.add(Person(email="kept@example.com"))
    crashed = tmp_path / "crashed"
    crashed.mkdir()
    for name in ("durable.db", "durable.db-wal"):  # the files as a crash would leave them
        (crashed / name).write_bytes((tmp_path / name).read_bytes())
    alone = tmp_path / "alone"
    alone.mkdir()
    (alone / "durable.db").write_bytes((tmp_path / "durable.db").read_bytes())
    engine.dispose()
    for folder, expected in ((crashed, ["kept@example.com"]), (alone, [])):
        reopened = create_engine(f"sqlite:///{folder / 'durable.db'}")
        with Session(reopened) as session:
            assert list(session.exec(select(Person.email))) == expected
        reopened.dispose()


def test_a_sqlite_import_leaves_its_pages_in_the_database_file(tmp_path: Path) -> None:
    """The import ends with a checkpoint: its pages are in the database file, not only the WAL."""
    url = f"sqlite:///{tmp_path / 'moved.db'}"
    engine = create_engine(url)
    upgrade(engine)
    body = ndjson(
        [usage_event(f"m{i}", f"p{i % 5}@example.com", "2026-11-18T09:00:00Z") for i in range(50)]
    )
    assert bulk.ingest_in_batches(engine, "usage", body, "application/x-ndjson").accepted == 50
    copy = tmp_path / "main-file-only.db"
    copy.write_bytes((tmp_path / "moved.db").read_bytes())  # without the WAL
    engine.dispose()
    alone = create_engine(f"sqlite:///{copy}")
    with Session(alone) as session:
        assert session.exec(select(func.count()).select_from(Event)).one() == 50
    alone.dispose()
