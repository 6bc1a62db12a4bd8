"""weekly per-person totals that outlive purged raw events

Revision ID: 0003
Revises: 0002
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "weekly_totals",
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("week", sa.String(length=8), nullable=False),
        sa.Column("week_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("input_tokens", sa.BigInteger(), nullable=False),
        sa.Column("cached_tokens", sa.BigInteger(), nullable=False),
        sa.Column("output_tokens", sa.BigInteger(), nullable=False),
        sa.Column("cost_nanos", sa.BigInteger(), nullable=False),
        sa.Column("requests", sa.BigInteger(), nullable=False),
        sa.Column("artifacts_created", sa.Integer(), nullable=False),
        sa.Column("artifacts_viewed_by_others", sa.Integer(), nullable=False),
        sa.Column("artifacts_used", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["person_id"], ["people.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("person_id", "week"),
    )
    with op.batch_alter_table("weekly_totals") as batch:
        batch.create_index("ix_weekly_totals_week_start", ["week_start"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("weekly_totals") as batch:
        batch.drop_index("ix_weekly_totals_week_start")
    op.drop_table("weekly_totals")
