"""Engines and sessions for SQLite (WAL) and PostgreSQL (psycopg 3), and schema migrations."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session

from bot.errors import AiRoiError, ConfigError

try:
    import fcntl
except ImportError:  # Windows: no advisory file locks; migrate without one
    fcntl = None  # type: ignore[assignment]

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
# The newest migration. Every command checks the database against it before it starts, so it is
# written here rather than found by loading every migration (and Alembic) on each start; a test
# keeps it equal to the migrations' head.
SCHEMA_REVISION = "0013"
MIGRATION_LOCK_KEY = 0x41_49_52_4F_4D  # "AIROM": one migration run at a time (PostgreSQL)
UPGRADE_HINT = "run `ai-roi db upgrade`"


class DatabaseNotReadyError(AiRoiError):
    """The database is not at the schema this version of ai-roi needs (message says what to do)."""


def psycopg_url(url: str) -> str:
    """``postgresql://`` and ``postgres://`` (what hosting providers hand out) → psycopg 3."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url.removeprefix(prefix)
    return url


def create_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for ``url``; SQLite gets WAL, foreign keys and a busy timeout; its folder is made.

    Statement parameters never appear in an error's text (``hide_parameters``): a failed insert
    would otherwise put a person's email and numbers into a log line or a 500."""
    kwargs.setdefault("hide_parameters", True)
    url = psycopg_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:" and not database.startswith("file:"):
            Path(database).expanduser().resolve().parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs
        )
        sa.event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if parsed.get_backend_name() == "postgresql":
        return sa.create_engine(url, pool_pre_ping=True, **kwargs)
    raise ConfigError(f"DATABASE_URL: unsupported database {parsed.get_backend_name()!r}")


# WAL pages before a commit moves them into the database (SQLite's default is 1,000 pages): a
# bulk import's commit changes a few thousand pages, mostly the same index leaves as the commit
# before, and moving them after every commit wrote each leaf twice per batch. Every commit is
# still synced to the WAL first (``synchronous=FULL``): durability does not depend on it.
_SQLITE_WAL_PAGES = 16_384  # 64 MiB of 4 KiB pages
_SQLITE_WAL_KEPT_BYTES = 64 * 1024 * 1024  # the WAL file is cut back to this after a checkpoint
_SQLITE_CACHE_KIB = 16 * 1024  # page cache per connection, filled only as pages are read


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute(f"PRAGMA wal_autocheckpoint={_SQLITE_WAL_PAGES}")
    cursor.execute(f"PRAGMA journal_size_limit={_SQLITE_WAL_KEPT_BYTES}")
    cursor.execute(f"PRAGMA cache_size=-{_SQLITE_CACHE_KIB}")
    # Statement journals (a multi-row insert's undo record) in memory, not in a temporary file.
    cursor.execute("PRAGMA temp_store=MEMORY")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def upsert_for(session: Session) -> Callable[..., Any]:
    """The dialect's ``insert`` with ``on_conflict_do_nothing`` / ``on_conflict_do_update``."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert
    return sqlite.insert


@contextmanager
def transaction(engine: Engine) -> Iterator[Session]:
    """A session whose work is committed on success and rolled back on error."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def alembic_config(engine: Engine) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply migrations up to ``revision`` (``ai-roi db upgrade``, and ``serve`` at start).

    On PostgreSQL the run holds a session advisory lock, so replicas starting together take turns:
    the first migrates, the others wait for it and then find nothing left to do.
    """
    from alembic import command

    if engine.dialect.name == "sqlite":
        with _sqlite_migration_lock(engine):
            command.upgrade(alembic_config(engine), revision)
        return
    with engine.connect() as lock:
        lock.execute(sa.text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
        try:
            command.upgrade(alembic_config(engine), revision)
        finally:
            lock.execute(sa.text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK_KEY})
            lock.commit()


@contextmanager
def _sqlite_migration_lock(engine: Engine) -> Iterator[None]:
    """One process migrates a SQLite file at a time (``serve`` and a cron job starting together):
    an exclusive lock on ``<database>.migrate-lock`` beside it. SQLite commits each DDL statement
    on its own, so without it a second process sees half-made tables."""
    database = engine.url.database
    if fcntl is None or not database or database == ":memory:" or database.startswith("file:"):
        yield
        return
    path = Path(database).expanduser().resolve()
    with path.with_name(f"{path.name}.migrate-lock").open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def ensure_ready(engine: Engine) -> None:
    """Make sure a command can use the database: the embedded SQLite is migrated on first use
    (and after an update); a PostgreSQL database that is not current is refused with one line
    saying to run ``ai-roi db upgrade`` (several replicas share it: migrating is a deliberate step).
    """
    current = current_revision(engine)
    if current == SCHEMA_REVISION:
        return
    head = head_revision()
    if current == head:
        return
    if current is not None and not _known_revision(current):
        raise DatabaseNotReadyError(
            f"the database is at revision {current}, which this version of ai-roi does not know "
            f"(it expects {head}): run a newer ai-roi"
        )
    if engine.dialect.name == "sqlite":
        upgrade(engine)
        return
    if current is None:
        raise DatabaseNotReadyError(f"the database has no ai-roi tables yet: {UPGRADE_HINT}")
    raise DatabaseNotReadyError(
        f"the database is at revision {current}, this version needs {head}: {UPGRADE_HINT}"
    )


def _known_revision(revision: str) -> bool:
    from alembic.script import ScriptDirectory
    from alembic.util.exc import CommandError

    script = ScriptDirectory.from_config(alembic_config(sa.create_engine("sqlite://")))
    try:
        return script.get_revision(revision) is not None
    except CommandError:
        return False


def head_revision() -> str | None:
    """The newest migration, found by loading them all (``SCHEMA_REVISION`` says it at once)."""
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config(sa.create_engine("sqlite://")))
    return script.get_current_head()


def current_revision(engine: Engine) -> str | None:
    """The database's migration (Alembic's ``alembic_version`` row); None before the first."""
    with engine.connect() as connection:
        if not sa.inspect(connection).has_table("alembic_version"):
            return None
        return connection.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()


def is_current(engine: Engine) -> bool:
    """True when the database is reachable and migrated to the newest revision."""
    return current_revision(engine) == SCHEMA_REVISION
