"""Cells: the test-set challenge's measure of the same models on the same rows (hardness), and
which rows each seed's model got right (hits, packed).

Revision ID: 0005_cell_hardness
Revises: 0004_retired
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_cell_hardness"
down_revision: str | Sequence[str] | None = "0004_retired"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("cells") as batch:
        batch.add_column(sa.Column("hardness", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("hardness_mean", sa.Double(), nullable=True))
        batch.add_column(sa.Column("hits", sa.JSON(), nullable=True))


def downgrade() -> None:
    """Undo this revision."""
    with op.batch_alter_table("cells") as batch:
        batch.drop_column("hits")
        batch.drop_column("hardness_mean")
        batch.drop_column("hardness")
