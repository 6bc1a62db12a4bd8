"""console deliveries are previews: they no longer block a later Slack DM

Digests printed to the console (``DIGEST_DELIVERY=console``, ``serve`` without Slack) were marked
``sent``; once Slack was connected those people never got that week's DM. They become
``preview`` rows, which a Slack delivery takes over.

Revision ID: 0008
Revises: 0007
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        "UPDATE deliveries SET status = 'preview' WHERE status = 'sent' AND channel = 'console'"
    )


def downgrade() -> None:
    op.execute("UPDATE deliveries SET status = 'sent' WHERE status = 'preview'")
