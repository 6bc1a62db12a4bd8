"""Shared fixtures: a clean environment, real databases (SQLite always, PostgreSQL when
``TEST_DATABASE_URL`` is set), a frozen clock, and the real HTTP app on a loopback port."""

from __future__ import annotations

import os
import shutil
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
import uvicorn
from sqlalchemy.engine import Engine, make_url
from sqlmodel import SQLModel

from bot.context import AppContext
from bot.domain.ai_rules import DEFAULT_RULES
from bot.settings import Settings, load_settings
from bot.store.db import create_engine, upgrade
from bot.store.models import AiRule

SETTING_NAMES = [name.upper() for name in Settings.model_fields]
FROZEN_NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)  # a Wednesday in 2026-W48
WEBHOOK_TOKEN = "test-token-0123456789"
WEBHOOK_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"  # the Standard Webhooks example key
BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No real setting or token leaks into a test; the working directory has no .env."""
    for name in SETTING_NAMES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


# Databases -------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each test (migrating once is the slow part)."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    engine = create_engine(f"sqlite:///{path}")
    upgrade(engine)
    with engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str | None]:
    """A fresh, migrated PostgreSQL database for this test session, dropped at the end.

    Unset ``TEST_DATABASE_URL`` skips the PostgreSQL tests; set but unreachable fails them.
    """
    base = os.environ.get("TEST_DATABASE_URL")
    if not base:
        yield None
        return
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    name = f"airoi_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    try:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    except sa.exc.OperationalError as exc:
        admin.dispose()
        pytest.fail(
            f"TEST_DATABASE_URL is set but PostgreSQL is unreachable: {exc.orig}", pytrace=False
        )
    url = make_url(base).set(database=name).render_as_string(hide_password=False)
    engine = create_engine(url)
    upgrade(engine)
    engine.dispose()
    yield url
    with admin.connect() as connection:
        connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


def _truncate_postgres(engine: Engine) -> None:
    """Empty every table, then put back the rows the migrations seed (the built-in AI rules),
    so a PostgreSQL test starts where a freshly migrated SQLite copy does."""
    tables = ", ".join(f'"{t.name}"' for t in SQLModel.metadata.sorted_tables)
    with engine.begin() as connection:
        connection.exec_driver_sql(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
        connection.execute(
            sa.insert(AiRule),
            [
                {
                    "kind": r.kind.value,
                    "pattern": r.pattern,
                    "tool": r.tool,
                    "enabled": True,
                    "builtin": True,
                }
                for r in DEFAULT_RULES
            ],
        )


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> str:
    """A migrated, empty database of each backend."""
    if request.param == "sqlite":
        path = tmp_path / "test.db"
        shutil.copy(sqlite_template, path)
        return f"sqlite:///{path}"
    url = request.getfixturevalue("postgres_url")
    if url is None:
        pytest.skip(
            "PostgreSQL tests need TEST_DATABASE_URL (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test)"
        )
    engine = create_engine(url)
    _truncate_postgres(engine)
    engine.dispose()
    return str(url)


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = create_engine(database_url)
    yield engine
    engine.dispose()


# Settings, context, HTTP -------------------------------------------------------------------


def make_settings(database_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "webhook_tokens": WEBHOOK_TOKEN,
        "webhook_secrets": WEBHOOK_SECRET,
    }
    values.update(overrides)
    return load_settings(env_file=None, **values)


@pytest.fixture
def settings(database_url: str) -> Settings:
    return make_settings(database_url)


@pytest.fixture
def clock() -> dict[str, datetime]:
    """A mutable 'now' for the app under test: ``clock['now'] = …`` moves it."""
    return {"now": FROZEN_NOW}


@pytest.fixture
def context(settings: Settings, engine: Engine, clock: dict[str, datetime]) -> AppContext:
    return AppContext(settings=settings, engine=engine, clock=lambda: clock["now"])


class LiveServer:
    """The real ASGI app served by uvicorn on 127.0.0.1, port chosen by the OS."""

    def __init__(self, app: Any) -> None:
        config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        for _ in range(500):
            if self.server.started:
                break
            threading.Event().wait(0.01)
        else:
            raise RuntimeError("test server did not start")
        port = self.server.servers[0].sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        self.client = httpx.Client(base_url=self.url, timeout=10)
        return self

    def __exit__(self, *exc: object) -> None:
        self.client.close()
        self.server.should_exit = True
        self.thread.join(timeout=10)


def serve_app(context: AppContext) -> LiveServer:
    from bot.wiring import build_app

    return LiveServer(build_app(context))


@pytest.fixture
def live(context: AppContext) -> Iterator[LiveServer]:
    with serve_app(context) as server:
        yield server
