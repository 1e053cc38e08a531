"""Challenge settings: when the organizer retired a challenge (hidden from the lists).

Revision ID: 0004_retired
Revises: 0003_sessions
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_retired"
down_revision: str | Sequence[str] | None = "0003_sessions"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("challenge_settings") as batch:
        batch.add_column(sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    """Undo this revision."""
    with op.batch_alter_table("challenge_settings") as batch:
        batch.drop_column("retired_at")
