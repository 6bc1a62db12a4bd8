"""index only the unattributed events by identity

``ix_events_unattributed`` serves the queries that look for events whose person is not known
yet (``person_id IS NULL``): attributing them when a mapping arrives, and ``ai-roi sources``.
Indexing every event by its identity cost more than any other index on ``events`` at ingest,
for rows those queries never read.

Revision ID: 0004
Revises: 0003
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UNATTRIBUTED = sa.text("person_id IS NULL")


def upgrade() -> None:
    with op.batch_alter_table("events") as batch:
        batch.drop_index("ix_events_unattributed")
        batch.create_index(
            "ix_events_unattributed",
            ["actor_kind", "actor_value"],
            unique=False,
            sqlite_where=UNATTRIBUTED,
            postgresql_where=UNATTRIBUTED,
        )


def downgrade() -> None:
    with op.batch_alter_table("events") as batch:
        batch.drop_index("ix_events_unattributed")
        batch.create_index("ix_events_unattributed", ["actor_kind", "actor_value"], unique=False)
