"""membership history and the per-week privacy ledger of released team sums

Existing members become members since the beginning, so past weeks keep today's teams.

Revision ID: 0006
Revises: 0005
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BEGINNING = datetime(1970, 1, 1, tzinfo=UTC)  # as bot.store.memberships.BEGINNING


def upgrade() -> None:
    op.create_table(
        "membership_periods",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("joined_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("left_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["team_id"], ["teams.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["person_id"], ["people.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("membership_periods") as batch:
        batch.create_index(
            "ix_membership_periods_team_person", ["team_id", "person_id"], unique=False
        )
        batch.create_index("ix_membership_periods_person_id", ["person_id"], unique=False)
    op.create_table(
        "privacy_weeks",
        sa.Column("week", sa.String(length=8), nullable=False),
        sa.Column("first_decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("week"),
    )
    op.create_table(
        "privacy_releases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("week", sa.String(length=8), nullable=False),
        sa.Column("cell", sa.String(length=300), nullable=False),
        sa.Column("released_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["week"], ["privacy_weeks.week"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("privacy_releases") as batch:
        batch.create_index("ix_privacy_releases_week", ["week"], unique=False)
    op.create_table(
        "privacy_release_coords",
        sa.Column("release_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("part", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(["release_id"], ["privacy_releases.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["person_id"], ["people.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("release_id", "person_id", "part"),
    )
    with op.batch_alter_table("privacy_release_coords") as batch:
        batch.create_index("ix_privacy_release_coords_person_id", ["person_id"], unique=False)
    bind = op.get_bind()
    beginning = BEGINNING.replace(tzinfo=None) if bind.dialect.name == "sqlite" else BEGINNING
    memberships = sa.table(
        "memberships",
        sa.column("team_id", sa.Integer()),
        sa.column("person_id", sa.Integer()),
        sa.column("is_member", sa.Boolean()),
    )
    periods = sa.table(
        "membership_periods",
        sa.column("team_id", sa.Integer()),
        sa.column("person_id", sa.Integer()),
        sa.column("joined_at", sa.DateTime(timezone=True)),
    )
    bind.execute(
        periods.insert().from_select(
            ["team_id", "person_id", "joined_at"],
            sa.select(
                memberships.c.team_id,
                memberships.c.person_id,
                sa.literal(beginning, sa.DateTime(timezone=True)),
            ).where(memberships.c.is_member == sa.true()),
        )
    )


def downgrade() -> None:
    op.drop_table("privacy_release_coords")
    op.drop_table("privacy_releases")
    op.drop_table("privacy_weeks")
    op.drop_table("membership_periods")
