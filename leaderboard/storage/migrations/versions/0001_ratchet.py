"""The ratchet tables: challenges, teams, submissions, evaluator versions, datasets, cells,
fitted models, problems, suite members and ratchet events.

Revision ID: 0001_ratchet
Revises:
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001_ratchet"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "cells",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("problem", sa.String(length=64), nullable=False),
        sa.Column("train_sha256", sa.String(length=64), nullable=False),
        sa.Column("test_sha256", sa.String(length=64), nullable=False),
        sa.Column("evaluator_version", sa.String(length=32), nullable=False),
        sa.Column("scores", sa.JSON(), nullable=False),
        sa.Column("mean", sa.Double(), nullable=False),
        sa.Column("provenance", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cells")),
        sa.UniqueConstraint("train_sha256", "test_sha256", "evaluator_version", name=op.f("uq_cells_train_sha256")),
    )
    op.create_index("ix_cells_problem_version", "cells", ["problem", "evaluator_version"], unique=False)

    op.create_table(
        "challenges",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("spec_sha256", sa.String(length=64), nullable=False),
        sa.Column("problem", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_challenges")),
    )
    op.create_table(
        "datasets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("problem", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=8), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("n_rows", sa.Integer(), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.Column("origin", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("role IN ('train', 'test')", name=op.f("ck_datasets_role")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_datasets")),
        sa.UniqueConstraint("digest", name=op.f("uq_datasets_digest")),
    )
    op.create_index("ix_datasets_problem_role", "datasets", ["problem", "role"], unique=False)

    op.create_table(
        "evaluator_versions",
        sa.Column("version", sa.String(length=32), nullable=False),
        sa.Column("packages", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("version", name=op.f("pk_evaluator_versions")),
    )
    op.create_table(
        "fitted_models",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("problem", sa.String(length=64), nullable=False),
        sa.Column("train_sha256", sa.String(length=64), nullable=False),
        sa.Column("evaluator_version", sa.String(length=32), nullable=False),
        sa.Column("task", sa.String(length=64), nullable=False),
        sa.Column("seed", sa.Integer(), nullable=False),
        sa.Column("form", sa.String(length=16), nullable=False),
        sa.Column("weights", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fitted_models")),
        sa.UniqueConstraint(
            "train_sha256", "evaluator_version", "task", "seed", name=op.f("uq_fitted_models_train_sha256")
        ),
    )
    op.create_index("ix_fitted_models_problem_version", "fitted_models", ["problem", "evaluator_version"], unique=False)

    op.create_table(
        "problems",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("test_challenge", sa.String(length=64), nullable=False),
        sa.Column("top_k", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_problems")),
    )
    op.create_table(
        "teams",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("is_baseline", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_teams")),
        sa.UniqueConstraint("name", name=op.f("uq_teams_name")),
    )
    op.create_table(
        "ratchet_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("problem", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("subject_sha256", sa.String(length=64), nullable=True),
        sa.Column("evaluator_version", sa.String(length=32), nullable=False),
        sa.Column("suite", sa.JSON(), nullable=False),
        sa.Column("top_k", sa.JSON(), nullable=False),
        sa.Column("scores", sa.JSON(), nullable=False),
        sa.Column("bar", sa.Double(), nullable=True),
        sa.ForeignKeyConstraint(["problem"], ["problems.id"], name=op.f("fk_ratchet_events_problem_problems")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ratchet_events")),
    )
    op.create_index("ix_ratchet_events_problem_at", "ratchet_events", ["problem", "at"], unique=False)

    op.create_table(
        "submissions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("challenge", sa.String(length=64), nullable=False),
        sa.Column("challenge_version", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("content_sha256", sa.String(length=64), nullable=True),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("path", sa.String(length=1024), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("dataset_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('received', 'queued', 'running', 'done', 'failed', 'rejected')",
            name=op.f("ck_submissions_status"),
        ),
        sa.ForeignKeyConstraint(["challenge"], ["challenges.id"], name=op.f("fk_submissions_challenge_challenges")),
        sa.ForeignKeyConstraint(["dataset_id"], ["datasets.id"], name=op.f("fk_submissions_dataset_id_datasets")),
        sa.ForeignKeyConstraint(["team_id"], ["teams.id"], name=op.f("fk_submissions_team_id_teams")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_submissions")),
    )
    op.create_index("ix_submissions_challenge_status", "submissions", ["challenge", "status"], unique=False)
    op.create_index(
        "ix_submissions_team_content", "submissions", ["team_id", "challenge", "content_sha256"], unique=False
    )

    op.create_table(
        "suite_members",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("problem", sa.String(length=64), nullable=False),
        sa.Column("dataset_id", sa.Integer(), nullable=False),
        sa.Column("test_sha256", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.String(length=16), nullable=False),
        sa.Column("difficulty", sa.Double(), nullable=True),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["dataset_id"], ["datasets.id"], name=op.f("fk_suite_members_dataset_id_datasets")),
        sa.ForeignKeyConstraint(["problem"], ["problems.id"], name=op.f("fk_suite_members_problem_problems")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_suite_members")),
        sa.UniqueConstraint("problem", "dataset_id", name=op.f("uq_suite_members_problem")),
    )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_table("suite_members")
    op.drop_index("ix_submissions_team_content", table_name="submissions")
    op.drop_index("ix_submissions_challenge_status", table_name="submissions")

    op.drop_table("submissions")
    op.drop_index("ix_ratchet_events_problem_at", table_name="ratchet_events")

    op.drop_table("ratchet_events")
    op.drop_table("teams")
    op.drop_table("problems")
    op.drop_index("ix_fitted_models_problem_version", table_name="fitted_models")

    op.drop_table("fitted_models")
    op.drop_table("evaluator_versions")
    op.drop_index("ix_datasets_problem_role", table_name="datasets")

    op.drop_table("datasets")
    op.drop_table("challenges")
    op.drop_index("ix_cells_problem_version", table_name="cells")

    op.drop_table("cells")
