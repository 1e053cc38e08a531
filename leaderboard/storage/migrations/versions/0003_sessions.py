"""Browser sessions (a page login that is not the API token) and the log of refused uploads.

Revision ID: 0003_sessions
Revises: 0002_server
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_sessions"
down_revision: str | Sequence[str] | None = "0002_server"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "browser_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_sha256", sa.String(length=64), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("expires_at", TZ, nullable=False),
        sa.Column("revoked_at", TZ, nullable=True),
        sa.ForeignKeyConstraint(["team_id"], ["teams.id"], name=op.f("fk_browser_sessions_team_id_teams")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_browser_sessions")),
        sa.UniqueConstraint("session_sha256", name=op.f("uq_browser_sessions_session_sha256")),
    )
    op.create_index(op.f("ix_browser_sessions_team_id"), "browser_sessions", ["team_id"], unique=False)
    op.create_table(
        "upload_refusals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("refused_at", TZ, nullable=False),
        sa.ForeignKeyConstraint(["team_id"], ["teams.id"], name=op.f("fk_upload_refusals_team_id_teams")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_upload_refusals")),
    )
    op.create_index("ix_upload_refusals_team_day", "upload_refusals", ["team_id", "day"], unique=False)


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index("ix_upload_refusals_team_day", table_name="upload_refusals")
    op.drop_table("upload_refusals")
    op.drop_index(op.f("ix_browser_sessions_team_id"), table_name="browser_sessions")
    op.drop_table("browser_sessions")
