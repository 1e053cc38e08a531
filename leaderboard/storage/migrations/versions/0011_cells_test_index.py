"""The cells' (problem, evaluator version) index extended by the test set and the training set.

A new test set's step asks which training sets already have a cell on it; with only the
(problem, version) index PostgreSQL read every cell of the version for it (0.2 s at 2,000,000
cells), and SQLite skipped through the unique index (training set first) only where it had
statistics. The extended index answers it from the index alone and still serves whole-version
reads.

Revision ID: 0011_cells_test_index
Revises: 0010_event_best
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0011_cells_test_index"
down_revision: str | Sequence[str] | None = "0010_event_best"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    columns = ["problem", "evaluator_version", "test_sha256", "train_sha256"]
    op.create_index("ix_cells_problem_version_test", "cells", columns)
    op.drop_index("ix_cells_problem_version", table_name="cells")
    # The planner's statistics for the new index: without them SQLite prefers it for one training
    # set's cells too, and scans the version.
    op.execute("ANALYZE cells")


def downgrade() -> None:
    """Undo this revision."""
    op.create_index("ix_cells_problem_version", "cells", ["problem", "evaluator_version"])
    op.drop_index("ix_cells_problem_version_test", table_name="cells")
