"""Challenge versions: the current spec document kept with each challenge, earlier versions kept
when a newer one replaces them (so their boards stay readable), and submissions indexed by
version.

Rows of earlier databases belong to the version the ``challenges`` table records; their spec
document is unknown until the next sync stores it.

Revision ID: 0007_challenge_versions
Revises: 0006_rate_limits
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_challenge_versions"
down_revision: str | Sequence[str] | None = "0006_rate_limits"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("challenges") as batch:
        batch.add_column(sa.Column("spec", sa.JSON(), nullable=True))
    op.create_table(
        "challenge_versions",
        sa.Column("challenge", sa.String(64), sa.ForeignKey("challenges.id"), primary_key=True),
        sa.Column("version", sa.Integer(), primary_key=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("spec_sha256", sa.String(64), nullable=False),
        sa.Column("spec", sa.JSON(), nullable=True),
        sa.Column("title", sa.String(200), nullable=True),
        sa.Column("metric", sa.String(64), nullable=True),
        sa.Column("direction", sa.String(8), nullable=True),
        sa.Column("superseded_by", sa.Integer(), nullable=False),
        sa.Column("superseded_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_submissions_challenge_version", "submissions", ["challenge", "challenge_version", "status"])


def downgrade() -> None:
    """Undo this revision."""
    op.drop_index("ix_submissions_challenge_version", table_name="submissions")
    op.drop_table("challenge_versions")
    with op.batch_alter_table("challenges") as batch:
        batch.drop_column("spec")
