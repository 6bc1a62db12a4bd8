"""the artifact index also holds each event's time and person

``ix_events_artifact`` (``artifact_id``, ``type``; rows with an artifact only) becomes
(``artifact_id``, ``type``, ``occurred_at``, ``person_id``). The digest asks of every artifact
created in the last four weeks whether someone other than its creator viewed it before the week's
end, and whether it was used before then; and follows each view of the week to its artifact's
creator. With the time and the person in the index those questions are answered from the index
alone, instead of reading each view's row from the table (``EXPLAIN`` in the README, section
"Digest at 100,000 people"). The index keeps the same rows (events about an artifact); each entry
grows by a timestamp and an id.

Revision ID: 0012
Revises: 0011
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WITH_ARTIFACT = sa.text("artifact_id IS NOT NULL")


def _replace(columns: list[str]) -> None:
    with op.batch_alter_table("events") as batch:
        batch.drop_index("ix_events_artifact")
        batch.create_index(
            "ix_events_artifact",
            columns,
            unique=False,
            sqlite_where=WITH_ARTIFACT,
            postgresql_where=WITH_ARTIFACT,
        )


def upgrade() -> None:
    _replace(["artifact_id", "type", "occurred_at", "person_id"])


def downgrade() -> None:
    _replace(["artifact_id", "type"])
