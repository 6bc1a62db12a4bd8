"""index events by identity only while unattributed, and by artifact only when they have one

``ix_events_unattributed`` serves the queries that look for events whose person is not known
yet (``person_id IS NULL``): attributing them when a mapping arrives, and ``ai-roi sources``.
``ix_events_artifact`` serves the queries that follow an artifact (``artifact_id = …``), which
usage events, most of the table, do not have. Each index held every row, at a cost to every
insert, for rows its queries never read.

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
WITH_ARTIFACT = sa.text("artifact_id IS NOT NULL")


def upgrade() -> None:
    with op.batch_alter_table("events") as batch:
        batch.drop_index("ix_events_unattributed")
        batch.drop_index("ix_events_artifact")
        batch.create_index(
            "ix_events_unattributed",
            ["actor_kind", "actor_value"],
            unique=False,
            sqlite_where=UNATTRIBUTED,
            postgresql_where=UNATTRIBUTED,
        )
        batch.create_index(
            "ix_events_artifact",
            ["artifact_id", "type"],
            unique=False,
            sqlite_where=WITH_ARTIFACT,
            postgresql_where=WITH_ARTIFACT,
        )


def downgrade() -> None:
    with op.batch_alter_table("events") as batch:
        batch.drop_index("ix_events_artifact")
        batch.drop_index("ix_events_unattributed")
        batch.create_index("ix_events_artifact", ["artifact_id", "type"], unique=False)
        batch.create_index("ix_events_unattributed", ["actor_kind", "actor_value"], unique=False)
