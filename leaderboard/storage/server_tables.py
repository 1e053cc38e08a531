"""Server-only tables: API tokens, daily quota charges, the job queue and challenge settings.

They live on the same :class:`~leaderboard.storage.base.Base` as the ratchet tables
(:mod:`leaderboard.storage.tables`) and are created by the Alembic revisions ``0002_server``,
``0003_sessions`` and ``0004_retired``.

- :class:`ApiToken`: a team's token, stored as the sha256 of the secret (never the secret).
- :class:`TeamQuota`: a team's daily submission limit (one row per team, also the row the
  quota check locks so concurrent uploads of one team cannot overdraw it).
- :class:`QuotaCharge`: one charge per accepted submission (unique), on the UTC day it was
  accepted; a platform failure refunds it. Usage of a day is its unrefunded charges.
- :class:`Job`: the durable queue of record, one job per submission, taken with a lease.
- :class:`ChallengeSetting`: whether the organizer has published a challenge's hidden results,
  and whether it was retired.
- :class:`RateBucket` and :class:`UploadSlot` (revision ``0006_rate_limits``): the request rate
  limits and the uploads in progress, shared by every server process of one database.
- :class:`QueueTurn` (revision ``0008_queue_turns``): when each team was last served by the
  queue, kept so that a fair take never reads the job history.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, CheckConstraint, DateTime, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from leaderboard.storage.base import Base
from leaderboard.storage.tables import utcnow

JOB_STATES = ("queued", "leased", "done", "failed")
"""queued (waiting), leased (a worker holds it), done (result written), failed (attempts
exhausted or the platform cannot score it; the log is kept)."""
LOG_LIMIT = 64 * 1024
"""Most characters of a job's log kept (the tail is kept when it grows past this)."""


class ApiToken(Base):
    """An API token of a team: only the sha256 of the secret is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id"), index=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class TeamQuota(Base):
    """A team's daily submission limit (None: the server default)."""

    __tablename__ = "team_quotas"

    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id"), primary_key=True)
    daily_limit: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class QuotaCharge(Base):
    """One accepted submission charged to its team on one UTC day (refunded on platform failure)."""

    __tablename__ = "quota_charges"
    __table_args__ = (Index("ix_quota_charges_team_day", "team_id", "day"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id"))
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"), unique=True)
    day: Mapped[str] = mapped_column(String(10))
    """The UTC day charged, ``YYYY-MM-DD``."""
    charged_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    refunded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    refund_reason: Mapped[str | None] = mapped_column(String(200))


class Job(Base):
    """The evaluation job of one submission: the queue of record, taken by workers with a lease."""

    __tablename__ = "jobs"
    __table_args__ = (
        CheckConstraint("state IN ('queued', 'leased', 'done', 'failed')", name="state"),
        Index("ix_jobs_state_id", "state", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"), unique=True)
    state: Mapped[str] = mapped_column(String(16), default="queued")
    lease_owner: Mapped[str | None] = mapped_column(String(128))
    lease_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=3)
    completions: Mapped[int] = mapped_column(Integer, default=0)
    """How many times a result was recorded for this job (idempotent completion keeps it at 1)."""
    log: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class QueueTurn(Base):
    """A team's place in the fair queue: when a job of the team was last leased or heartbeat.

    Written in the same transaction as each lease and heartbeat, so that :func:`take
    <leaderboard.jobs.queue.take>` ranks the teams with queued work from this row and the jobs
    in flight alone, whatever the number of finished jobs."""

    __tablename__ = "queue_turns"

    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id"), primary_key=True)
    last_served_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class DoneCount(Base):
    """How many submissions became ``done``: one row (``id`` 1), counted up in the transaction
    that finishes each one, so that the boards' cache stamp reads one row where counting the
    done submissions would read them all."""

    __tablename__ = "done_count"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    n: Mapped[int] = mapped_column(BigInteger, default=0)


class ChallengeSetting(Base):
    """Organizer settings of a challenge on the server: whether hidden results are published,
    and whether the challenge was retired (hidden from the lists; its submissions are kept)."""

    __tablename__ = "challenge_settings"

    challenge: Mapped[str] = mapped_column(String(64), primary_key=True)
    published: Mapped[bool] = mapped_column(Boolean, default=False)
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    retired_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class BrowserSession(Base):
    """A web page login of a team: only the sha256 of the session secret (the cookie) is stored.

    It is not the API token: it can only read the team's pages, expires, and is revoked by
    logging out."""

    __tablename__ = "browser_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class UploadRefusal(Base):
    """An upload of a team refused for its content (never charged to the quota, but counted:
    a team has a daily cap on refused uploads)."""

    __tablename__ = "upload_refusals"
    __table_args__ = (Index("ix_upload_refusals_team_day", "team_id", "day"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id"))
    day: Mapped[str] = mapped_column(String(10))
    """The UTC day of the refusal, ``YYYY-MM-DD``."""
    code: Mapped[str] = mapped_column(String(64))
    refused_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class RateBucket(Base):
    """One rate limit's token bucket for one key (a client address or a team id), shared by
    every server process. A missing row is a full bucket."""

    __tablename__ = "rate_buckets"

    limit_name: Mapped[str] = mapped_column(String(32), primary_key=True)
    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    level: Mapped[float] = mapped_column(Float)
    """Requests left in the bucket at ``at``."""
    at: Mapped[float] = mapped_column(Float)
    """When ``level`` was computed, in seconds since the Unix epoch (the bucket refills from it)."""


class UploadSlot(Base):
    """An upload of a team in progress (a team may have a few at once); a slot older than its
    time-to-live is not counted, so a process that died mid-upload frees it."""

    __tablename__ = "upload_slots"
    __table_args__ = (Index("ix_upload_slots_team", "team_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[int] = mapped_column(Integer)
    started: Mapped[float] = mapped_column(Float)
    """Seconds since the Unix epoch."""
