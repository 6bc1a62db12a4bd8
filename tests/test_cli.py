"""The ai-roi command: exit codes, ingest from files and stdin, directory import, digest, db."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, func, select

from bot.cli import main
from bot.store.models import Delivery, Event, Person
from tests.helpers import artifact_event, usage_event


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, database_url: str) -> str:
    monkeypatch.setenv("DATABASE_URL", database_url)
    return database_url


def count(engine: Engine, model: type) -> int:  # type: ignore[type-arg]
    with Session(engine) as session:
        return session.exec(select(func.count()).select_from(model)).one()


def test_usage_errors_exit_2(env: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert main(["frobnicate"]) == 2
    assert main(["digest", "--week", "last"]) == 2
    assert "week must look like 2026-W47" in capsys.readouterr().err
    assert main(["ingest", "--source", "usage"]) == 2


def test_ingest_files_and_stdin(
    env: str,
    engine: Engine,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    events = [usage_event(f"f{i}", "ana@example.com", "2026-11-18T09:00:00Z") for i in range(5)]
    (tmp_path / "a.json").write_text(json.dumps({"events": events}))
    (tmp_path / "b.ndjson").write_text("\n".join(json.dumps(e) for e in events[:2]) + "\n{broken\n")
    assert main(["ingest", "--source", "usage", "--batch-size", "2", "a.json"]) == 0
    assert "a.json: 5 accepted, 0 duplicates, 0 rejected" in capsys.readouterr().out
    assert main(["ingest", "--source", "usage", "b.ndjson"]) == 1  # a rejected line is a failure
    captured = capsys.readouterr()
    assert "b.ndjson: 0 accepted, 2 duplicates, 1 rejected" in captured.out
    assert "event 2 rejected: line 3 is not valid JSON" in captured.err
    stdin_events = "\n".join(
        json.dumps(usage_event(f"s{i}", "ben@example.com", "2026-11-18T09:00:00Z"))
        for i in range(3)
    )
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin_events.encode())))
    assert main(["ingest", "--source", "usage", "-"]) == 0
    assert "-: 3 accepted" in capsys.readouterr().out
    assert count(engine, Event) == 8


def test_ingest_reports_missing_files_and_bad_sources(
    env: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["ingest", "--source", "usage", "nope.json"]) == 1
    assert "nope.json: no such file" in capsys.readouterr().err
    assert main(["ingest", "--source", "myspace", "-"]) == 1
    assert "unknown source 'myspace'" in capsys.readouterr().err
    Path("bad.json").write_text('{"what": 1}')
    assert main(["ingest", "--source", "usage", "bad.json"]) == 1
    assert "expected" in capsys.readouterr().err


def test_directory_import(env: str, engine: Engine, capsys: pytest.CaptureFixture[str]) -> None:
    Path("people.csv").write_text(
        "email,name,team,lead_of\nana@example.com,Ana,Data,Data\nbad,,,\n"
    )
    assert main(["directory", "import", "people.csv"]) == 1
    captured = capsys.readouterr()
    assert "1 rows: 1 people created" in captured.out
    assert "people.csv:3: 'bad' is not an email address" in captured.err
    assert count(engine, Person) == 1
    assert main(["directory", "import", "missing.csv"]) == 1


def test_digest_is_idempotent_from_the_command_line(
    env: str, engine: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    Path("e.json").write_text(
        json.dumps(
            [
                usage_event("u1", "ana@example.com", "2026-11-18T09:00:00Z"),
                artifact_event(
                    "a1",
                    "artifact.created",
                    "ana@example.com",
                    "2026-11-18T09:00:00Z",
                    "d1",
                    "deck",
                ),
            ]
        )
    )
    assert main(["ingest", "--source", "usage", "e.json"]) == 0
    capsys.readouterr()
    assert main(["digest", "--week", "2026-W47", "--dry-run"]) == 0
    assert "(dry run, not sent)" in capsys.readouterr().out
    assert count(engine, Delivery) == 0
    assert main(["digest", "--week", "2026-W47"]) == 0
    first = capsys.readouterr().out
    assert "DM to ana <ana@example.com>" in first and "1 deck created, 0 viewed by others" in first
    assert main(["digest", "--week", "2026-W47", "--user", "ana@example.com"]) == 0
    second = capsys.readouterr().out
    assert "DM to" not in second and "1 already" in second
    assert count(engine, Delivery) == 1


def test_forget_erases_a_person(
    env: str, engine: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    Path("e.json").write_text(
        json.dumps(
            [
                usage_event("u1", "ana@example.com", "2026-11-18T09:00:00Z"),
                usage_event("u2", "ben@example.com", "2026-11-18T09:00:00Z"),
            ]
        )
    )
    main(["ingest", "--source", "usage", "e.json"])
    assert main(["forget", "--user", "ana@example.com"]) == 0
    assert "erased ana@example.com: 1 events" in capsys.readouterr().out
    assert count(engine, Event) == 1 and count(engine, Person) == 1
    assert main(["forget", "--user", "ana@example.com"]) == 1


def test_console_script_and_db_upgrade_in_a_subprocess(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    env = {"DATABASE_URL": url, "PATH": str(Path(sys.executable).parent)}
    done = subprocess.run(
        [sys.executable, "-m", "bot", "db", "upgrade"],
        env=env,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "database is at revision" in done.stdout
    bad = subprocess.run(
        [sys.executable, "-m", "bot", "facts", "--user", "x@example.com"],
        env={**env, "ORG_TIMEZONE": "Nowhere/Atlantis"},
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert bad.returncode == 1
    assert bad.stderr.strip().startswith("ai-roi: ORG_TIMEZONE: unknown time zone")


def test_bare_command_prints_usage_and_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: ai-roi") and "serve" in err and "examples:" in err


def test_help_lists_sources_csv_columns_and_examples(capsys: pytest.CaptureFixture[str]) -> None:
    from bot.domain.directory import KNOWN_COLUMNS
    from bot.ingest.adapters import ADAPTERS

    with pytest.raises(SystemExit) as done:
        main(["--help"])
    assert done.value.code == 0
    text = capsys.readouterr().out
    assert all(source in text for source in ADAPTERS)
    assert all(column in text for column in KNOWN_COLUMNS)
    assert "examples:" in text and "ai-roi directory import people.csv" in text


@pytest.mark.parametrize(
    ("argv", "code"),
    [
        (["digest", "--week", "someday"], 2),
        (["ingest", "--source", "usage", "e.json", "--batch-size", "0"], 2),
        (["nonsense"], 2),
        (["ingest", "--source", "nowhere", "e.json"], 1),
        (["directory", "import", "missing.csv"], 1),
    ],
)
def test_every_error_is_one_line_with_the_prefix(
    argv: list[str], code: int, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == code
    err = capsys.readouterr().err
    assert err.startswith("ai-roi: ") and err.count("\n") == 1, err


def test_an_unreachable_database_is_one_line_without_the_password(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://ana:s3cret-pw@127.0.0.1:1/ai_roi")
    assert main(["sources"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("ai-roi: database error: ") and err.count("\n") == 1, err
    assert "s3cret-pw" not in err and "SELECT" not in err


def test_ingest_of_a_file_cut_short_keeps_what_came_before_and_says_so(
    env: str, engine: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    events = [usage_event(f"c{i}", "ana@example.com", "2026-11-18T09:00:00Z") for i in range(6)]
    text = json.dumps(events)
    (tmp_path / "cut.json").write_text(text[: text.index('"c4"') + 3])
    assert main(["ingest", "--source", "usage", "--batch-size", "3", "cut.json"]) == 1
    captured = capsys.readouterr()
    assert "cut.json: 4 accepted, 0 duplicates, 0 rejected" in captured.out
    assert "cut.json: body is not valid JSON: it ends early after 4 records" in captured.err
    assert "the 4 records before it were read and stored" in captured.err
    assert count(engine, Event) == 4
    (tmp_path / "cut.json").write_text(text)
    assert main(["ingest", "--source", "usage", "cut.json"]) == 0
    assert "cut.json: 2 accepted, 4 duplicates, 0 rejected" in capsys.readouterr().out
