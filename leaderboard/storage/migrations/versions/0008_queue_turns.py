"""The fair queue's per-team state: when each team was last served.

A fair take used to rank the teams by reading every job of every team with queued work, so its
cost grew with the job history. Each team's last lease or heartbeat is now kept in one row,
filled here from the jobs already recorded.

Revision ID: 0008_queue_turns
Revises: 0007_challenge_versions
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_queue_turns"
down_revision: str | Sequence[str] | None = "0007_challenge_versions"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "queue_turns",
        sa.Column("team_id", sa.Integer(), sa.ForeignKey("teams.id"), primary_key=True),
        sa.Column("last_served_at", sa.DateTime(timezone=True)),
    )
    op.execute(
        "INSERT INTO queue_turns (team_id, last_served_at) "
        "SELECT s.team_id, MAX(j.heartbeat_at) FROM jobs j JOIN submissions s ON j.submission_id = s.id "
        "WHERE j.heartbeat_at IS NOT NULL GROUP BY s.team_id"
    )


def downgrade() -> None:
    """Undo this revision."""
    op.drop_table("queue_turns")
