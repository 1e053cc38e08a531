"""The count of finished submissions that the boards' cache stamp reads.

The stamp used to count every done submission on each page request (100,000 rows at a popular
challenge's deadline). One row now holds the count, counted up in the transaction that finishes
each submission; filled here from the submissions already done.

Revision ID: 0009_done_count
Revises: 0008_queue_turns
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_done_count"
down_revision: str | Sequence[str] | None = "0008_queue_turns"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "done_count",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("n", sa.BigInteger(), nullable=False),
    )
    op.execute("INSERT INTO done_count (id, n) SELECT 1, COUNT(*) FROM submissions WHERE status = 'done'")


def downgrade() -> None:
    """Undo this revision."""
    op.drop_table("done_count")
