"""AI-assisted artifacts: the mark on each artifact, the admins' rules, and weekly AI totals

Existing artifacts keep their rows and start unmarked (no source marked them before); the
built-in rules are seeded here, as they were when this revision was written, and the first
rule pass marks what they match.

Revision ID: 0009
Revises: 0008
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from bot.store.models import UTCDateTime

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BUILTIN_RULES = (
    ("agent_author", "copilot", "copilot"),
    ("agent_author", "copilot-swe-agent*", "copilot"),
    ("agent_author", "claude[bot]", "claude-code"),
    ("agent_author", "cursor[bot]", "cursor"),
    ("agent_author", "chatgpt-codex-connector*", "codex"),
    ("agent_author", "devin-ai-integration*", "devin"),
    ("trailer", "noreply@anthropic.com", "claude-code"),
    ("trailer", "copilot@users.noreply.github.com", "copilot"),
    ("trailer", "cursoragent@cursor.com", "cursor"),
    ("body_marker", "generated with [claude code]", "claude-code"),
    ("body_marker", "generated with claude code", "claude-code"),
    ("label", "ai-generated", None),
    ("label", "ai-assisted", None),
    ("tag", "ai-generated", None),
    ("tag", "ai-assisted", None),
)


def upgrade() -> None:
    # Plain ADD COLUMNs: a default given as a SQL expression would make SQLite's batch mode
    # copy the table and drop the old one, and with foreign keys on, dropping ``artifacts``
    # would cascade to every event about an artifact. The literal '0' is false on both.
    with op.batch_alter_table("artifacts") as batch:
        batch.add_column(sa.Column("ai_assisted", sa.Boolean(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("ai_tool", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("ai_marked_by", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("traits", sa.Text(), nullable=True))
    with op.batch_alter_table("weekly_totals") as batch:
        for name in ("ai_artifacts_created", "ai_artifacts_viewed_by_others", "ai_artifacts_used"):
            batch.add_column(sa.Column(name, sa.Integer(), nullable=False, server_default="0"))
    rules = op.create_table(
        "ai_rules",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("pattern", sa.String(length=200), nullable=False),
        sa.Column("tool", sa.String(length=64), nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("builtin", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("updated_by", sa.String(length=64), nullable=True),
    )
    now = datetime.now(UTC)
    op.bulk_insert(
        rules,
        [
            {
                "kind": kind,
                "pattern": pattern,
                "tool": tool,
                "enabled": True,
                "builtin": True,
                "created_at": now,
                "updated_at": now,
                "updated_by": None,
            }
            for kind, pattern, tool in _BUILTIN_RULES
        ],
    )


def downgrade() -> None:
    op.drop_table("ai_rules")
    with op.batch_alter_table("weekly_totals") as batch:
        for name in ("ai_artifacts_used", "ai_artifacts_viewed_by_others", "ai_artifacts_created"):
            batch.drop_column(name)
    with op.batch_alter_table("artifacts") as batch:
        for name in ("traits", "ai_marked_by", "ai_tool", "ai_assisted"):
            batch.drop_column(name)
