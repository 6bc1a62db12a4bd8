"""A new user's first commands: the embedded SQLite database is migrated on first use, a
PostgreSQL database that is not current is refused with one line, ``serve`` migrates under a lock,
and hosted ``postgresql://`` URLs work."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from bot.cli import main
from bot.store.db import (
    MIGRATION_LOCK_KEY,
    create_engine,
    current_revision,
    ensure_ready,
    head_revision,
    upgrade,
)

PEOPLE_CSV = "email,name,team,lead_of\nana@example.com,Ana,Data,Data\nben@example.com,Ben,Data,\n"


def run_cli(tmp_path: Path, *args: str, database_url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        env={"PATH": os.environ.get("PATH", ""), "DATABASE_URL": database_url},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_default_sqlite_database_is_made_and_migrated_by_the_first_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """No DATABASE_URL: the default var/ai-roi.db, created by whichever command comes first."""
    (tmp_path / "people.csv").write_text(PEOPLE_CSV)
    assert not (tmp_path / "var").exists()
    assert main(["directory", "import", "people.csv"]) == 0
    assert "2 people created" in capsys.readouterr().out
    engine = create_engine(f"sqlite:///{tmp_path / 'var' / 'ai-roi.db'}")
    try:
        assert current_revision(engine) == head_revision()
    finally:
        engine.dispose()
    assert main(["facts", "--user", "ben@example.com", "--week", "2026-W47"]) == 0
    assert "ben@example.com · 2026-W47" in capsys.readouterr().out


@pytest.mark.parametrize(
    "first", [["facts", "--user", "ana@example.com"], ["sources"], ["team", "org"]]
)
def test_any_command_on_a_fresh_sqlite_file_works(tmp_path: Path, first: list[str]) -> None:
    url = f"sqlite:///{tmp_path / 'fresh' / 'new.db'}"
    done = run_cli(tmp_path, *first, database_url=url)
    assert "no such table" not in done.stderr
    assert done.returncode in (0, 1) and done.stderr.count("\n") <= 1, done.stderr
    if done.returncode == 1:  # nobody is there yet: a one-line answer, not a database error
        assert done.stderr.startswith("ai-roi: ") and "database error" not in done.stderr


def test_commands_started_together_on_a_fresh_sqlite_file_all_work(tmp_path: Path) -> None:
    """``serve`` and a cron job starting at once: whichever migrates, the others go on."""
    url = f"sqlite:///{tmp_path / 'together.db'}"
    env = {"PATH": os.environ.get("PATH", ""), "DATABASE_URL": url}
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "bot", "sources"],
            env=env,
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    results = [(p.wait(timeout=120), p.communicate()[1]) for p in processes]
    assert [code for code, _ in results] == [0, 0, 0], results


def test_a_sqlite_database_behind_is_brought_up_to_date(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = create_engine(url)
    try:
        upgrade(engine, "0004")  # as an older version of ai-roi left it
        assert current_revision(engine) != head_revision()
        ensure_ready(engine)
        assert current_revision(engine) == head_revision()
    finally:
        engine.dispose()


def test_a_database_from_a_newer_version_is_refused_in_one_line(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'newer.db'}"
    engine = create_engine(url)
    upgrade(engine)
    with engine.begin() as connection:
        connection.execute(sa.text("UPDATE alembic_version SET version_num = '9999_future'"))
    engine.dispose()
    done = run_cli(tmp_path, "sources", database_url=url)
    assert done.returncode == 1
    assert done.stderr.startswith("ai-roi: the database is at revision 9999_future")
    assert done.stderr.count("\n") == 1


# PostgreSQL ---------------------------------------------------------------------------------


@pytest.fixture
def empty_postgres() -> Iterator[str]:
    """A PostgreSQL database with no tables at all, dropped afterwards."""
    base = os.environ.get("TEST_DATABASE_URL")
    if not base:
        pytest.skip(
            "PostgreSQL tests need TEST_DATABASE_URL (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test)"
        )
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    name = f"airoi_first_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    yield make_url(base).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as connection:
        connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


def plain_postgres_url(url: str) -> str:
    """The URL as a hosting provider hands it out: ``postgresql://`` without a driver."""
    return "postgresql://" + url.split("://", 1)[1]


@pytest.mark.postgres
def test_postgres_unmigrated_says_run_db_upgrade_then_works(
    tmp_path: Path, empty_postgres: str
) -> None:
    url = plain_postgres_url(empty_postgres)
    (tmp_path / "people.csv").write_text(PEOPLE_CSV)
    refused = run_cli(tmp_path, "directory", "import", "people.csv", database_url=url)
    assert refused.returncode == 1
    assert refused.stderr == (
        "ai-roi: the database has no ai-roi tables yet: run `ai-roi db upgrade`\n"
    )
    engine = create_engine(empty_postgres)
    try:
        assert current_revision(engine) is None  # a command never migrates a shared database
    finally:
        engine.dispose()
    upgraded = run_cli(tmp_path, "db", "upgrade", database_url=url)
    assert upgraded.returncode == 0, upgraded.stderr
    imported = run_cli(tmp_path, "directory", "import", "people.csv", database_url=url)
    assert imported.returncode == 0, imported.stderr
    assert "2 people created" in imported.stdout


@pytest.mark.postgres
def test_postgres_behind_names_both_revisions(tmp_path: Path, empty_postgres: str) -> None:
    engine = create_engine(empty_postgres)
    try:
        upgrade(engine, "0004")
    finally:
        engine.dispose()
    done = run_cli(tmp_path, "sources", database_url=f"postgres://{empty_postgres.split('://')[1]}")
    assert done.returncode == 1
    assert done.stderr.startswith("ai-roi: the database is at revision 0004")
    assert f"needs {head_revision()}: run `ai-roi db upgrade`" in done.stderr


@pytest.mark.postgres
def test_replicas_starting_together_migrate_once_under_the_lock(empty_postgres: str) -> None:
    """While one replica holds the migration lock the others wait; then each finds it done."""
    holder = create_engine(empty_postgres)
    engines = [create_engine(empty_postgres) for _ in range(3)]
    errors: list[BaseException] = []

    def start(engine: sa.Engine) -> None:
        try:
            upgrade(engine)
        except BaseException as exc:  # reported below
            errors.append(exc)

    try:
        with holder.connect() as lock:
            lock.execute(sa.text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
            threads = [threading.Thread(target=start, args=(e,)) for e in engines]
            for thread in threads:
                thread.start()
            threading.Event().wait(1.0)
            assert all(thread.is_alive() for thread in threads)  # waiting for the lock
            assert current_revision(holder) is None
            lock.execute(sa.text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK_KEY})
            lock.commit()
        for thread in threads:
            thread.join(timeout=120)
        assert errors == []
        assert current_revision(holder) == head_revision()
        with holder.connect() as connection:
            versions = connection.execute(sa.text("SELECT count(*) FROM alembic_version")).scalar()
        assert versions == 1
    finally:
        for engine in [holder, *engines]:
            engine.dispose()
