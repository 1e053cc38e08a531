"""Challenge versions: the current spec document kept with each challenge, earlier versions kept
when a newer one replaces them (so their boards stay readable), submissions indexed by version,
and a ratchet kept per version of its training-set challenge.

Rows of earlier databases belong to the version the ``challenges`` table records; their spec
document is unknown until the next sync stores it. Ratchet problems were keyed by the
training-set challenge's id alone: each becomes ``<id>@v<version>`` (that recorded version) in
every table that names it, and the uniqueness of sets, cells and fitted models now includes the
problem, so a later version stores its own.

Revision ID: 0007_challenge_versions
Revises: 0006_rate_limits
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_challenge_versions"
down_revision: str | Sequence[str] | None = "0006_rate_limits"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


PROBLEM_TABLES = ("datasets", "cells", "fitted_models", "suite_members", "ratchet_events")
"""Tables with a ``problem`` column naming a ratchet problem (besides ``problems`` itself)."""
UNIQUE = {
    "datasets": (["digest"], "uq_datasets_digest", "uq_datasets_problem"),
    "cells": (["train_sha256", "test_sha256", "evaluator_version"], "uq_cells_train_sha256", "uq_cells_problem"),
    "fitted_models": (
        ["train_sha256", "evaluator_version", "task", "seed"],
        "uq_fitted_models_train_sha256",
        "uq_fitted_models_problem",
    ),
}
"""Per table: the columns of its content uniqueness, its old and its new constraint's name."""


def _rename_problems(renames: dict[str, str]) -> None:
    """Rename ratchet problems (old key -> new key) everywhere; the new ``problems`` row is
    written before its members and events move, so foreign keys hold throughout."""
    conn = op.get_bind()
    for old, new in renames.items():
        row = conn.execute(
            sa.text("SELECT test_challenge, top_k, updated_at FROM problems WHERE id = :o"), {"o": old}
        ).first()
        if row is not None:
            conn.execute(
                sa.text("INSERT INTO problems (id, test_challenge, top_k, updated_at) VALUES (:n, :t, :k, :u)"),
                {"n": new, "t": row[0], "k": row[1] if isinstance(row[1], str) else json.dumps(row[1]), "u": row[2]},
            )
        for table in (*PROBLEM_TABLES, "challenges"):
            conn.execute(sa.text(f"UPDATE {table} SET problem = :n WHERE problem = :o"), {"n": new, "o": old})
        if row is not None:
            conn.execute(sa.text("DELETE FROM problems WHERE id = :o"), {"o": old})


def _problem_keys() -> set[str]:
    conn = op.get_bind()
    keys = set(conn.execute(sa.text("SELECT id FROM problems")).scalars())
    for table in (*PROBLEM_TABLES, "challenges"):
        keys |= {k for k in conn.execute(sa.text(f"SELECT DISTINCT problem FROM {table}")).scalars() if k}
    return keys


def upgrade() -> None:
    """Apply this revision."""
    conn = op.get_bind()
    recorded = dict(conn.execute(sa.text("SELECT id, version FROM challenges")).all())
    _rename_problems({k: f"{k}@v{recorded.get(k, 1)}" for k in _problem_keys() if "@v" not in k})
    for table, (columns, old, new) in UNIQUE.items():
        with op.batch_alter_table(table) as batch:
            batch.drop_constraint(old, type_="unique")
            batch.create_unique_constraint(new, ["problem", *columns])
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
    for table, (columns, old, new) in UNIQUE.items():
        with op.batch_alter_table(table) as batch:
            batch.drop_constraint(new, type_="unique")
            batch.create_unique_constraint(old, columns)
    _rename_problems({k: k.rpartition("@v")[0] for k in _problem_keys() if "@v" in k})
