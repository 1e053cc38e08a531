"""Each ratchet event's best training-set score and count of scored training sets, as columns.

An event records every training set's score (10,000 of them on a popular challenge), and the
history used to decode all of them, for every event, to show one best score. New events store the
best score and the count beside the record; events recorded before keep NULL in both and are
read the old way.

Revision ID: 0010_event_best
Revises: 0009_done_count
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_event_best"
down_revision: str | Sequence[str] | None = "0009_done_count"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("ratchet_events") as batch:
        batch.add_column(sa.Column("best_score", sa.Double(), nullable=True))
        batch.add_column(sa.Column("train_sets", sa.Integer(), nullable=True))


def downgrade() -> None:
    """Undo this revision."""
    with op.batch_alter_table("ratchet_events") as batch:
        batch.drop_column("train_sets")
        batch.drop_column("best_score")
