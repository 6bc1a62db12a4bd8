"""Liveness, readiness, and migrations that match the models on both databases."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

import bot.store.models  # noqa: F401
from bot.context import AppContext
from bot.store.db import SCHEMA_REVISION, create_engine, current_revision, head_revision, upgrade
from bot.store.models import Event
from bot.store.partitions import schema_filter
from tests.conftest import LiveServer, make_settings, serve_app


def test_migrations_match_the_models(engine: Engine) -> None:
    """On PostgreSQL, less the partitioned shape of ``events`` that only migration 0010 has
    (``bot.store.partitions.schema_filter``; its own tests check it)."""
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"include_object": schema_filter(engine.dialect.name)}
        )
        assert compare_metadata(context, SQLModel.metadata) == []


def test_the_schema_revision_every_command_checks_is_the_newest_migration(engine: Engine) -> None:
    """``SCHEMA_REVISION`` is written down so that a command need not load every migration to
    start; a new migration must move it (or every command would ask for ``db upgrade``)."""
    assert head_revision() == SCHEMA_REVISION
    assert current_revision(engine) == SCHEMA_REVISION


def test_healthz_and_readyz(live: LiveServer) -> None:
    assert live.client.get("/healthz").json() == {"status": "ok"}
    ready = live.client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["migrations"] == "current"


def test_readyz_reports_pending_migrations_and_unreachable_database(
    tmp_path, context: AppContext
) -> None:  # type: ignore[no-untyped-def]
    empty = create_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    unmigrated = AppContext(
        make_settings(f"sqlite:///{tmp_path / 'empty.db'}"), empty, context.clock
    )
    with serve_app(unmigrated) as live:
        response = live.client.get("/readyz")
        assert response.status_code == 503 and "ai-roi db upgrade" in response.json()["migrations"]
        upgrade(empty)
        assert live.client.get("/readyz").status_code == 200
    empty.dispose()
    gone = create_engine(
        "postgresql+psycopg://nobody@127.0.0.1:1/none", connect_args={"connect_timeout": 1}
    )
    with serve_app(AppContext(context.settings, gone, context.clock)) as live:
        response = live.client.get("/readyz")
    gone.dispose()
    assert response.status_code == 503 and response.json()["database"] == "unreachable"


@pytest.mark.parametrize(
    ("name", "predicate"),
    [
        ("ix_events_unattributed", "person_id IS NULL"),
        ("ix_events_artifact", "artifact_id IS NOT NULL"),
    ],
)
def test_partial_event_indexes_hold_only_the_rows_their_queries_read(
    engine: Engine, name: str, predicate: str
) -> None:
    """The migration and the model agree on the partial indexes (autogenerate does not compare
    index predicates), and the database holds them as partial."""
    (reflected,) = [i for i in sa.inspect(engine).get_indexes("events") if i["name"] == name]
    stored = reflected["dialect_options"][f"{engine.dialect.name}_where"]
    assert re.sub(r"[()\s]", "", str(stored)).lower() == predicate.replace(" ", "").lower()
    (modelled,) = [i for i in Event.__table__.indexes if i.name == name]  # type: ignore[attr-defined]
    assert str(modelled.dialect_options[engine.dialect.name]["where"]) == predicate
