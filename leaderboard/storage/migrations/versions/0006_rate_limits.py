"""Rate limits and uploads in progress kept in the database, shared by every server process.

Revision ID: 0006_rate_limits
Revises: 0005_cell_hardness
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_rate_limits"
down_revision: str | Sequence[str] | None = "0005_cell_hardness"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "rate_buckets",
        sa.Column("limit_name", sa.String(32), primary_key=True),
        sa.Column("key", sa.String(128), primary_key=True),
        sa.Column("level", sa.Float(), nullable=False),
        sa.Column("at", sa.Float(), nullable=False),
    )
    op.create_table(
        "upload_slots",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("started", sa.Float(), nullable=False),
    )
    op.create_index("ix_upload_slots_team", "upload_slots", ["team_id"])


def downgrade() -> None:
    """Undo this revision."""
    op.drop_index("ix_upload_slots_team", table_name="upload_slots")
    op.drop_table("upload_slots")
    op.drop_table("rate_buckets")
