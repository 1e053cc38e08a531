"""Daily submission quotas per team, counted per UTC day.

A submission is charged when it is accepted for evaluation (valid, stored, queued); a rejected
upload is never charged, and a submission that fails through the platform's fault is refunded.
Every answer about the quota states when it resets (the next UTC midnight).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from leaderboard.storage.db import insert_ignore_one
from leaderboard.storage.server_tables import QuotaCharge, TeamQuota, UploadRefusal
from leaderboard.storage.tables import utcnow

DEFAULT_DAILY_LIMIT = 10


@dataclass(frozen=True)
class QuotaState:
    """A team's quota today."""

    limit: int
    used: int
    reset_at: datetime

    @property
    def remaining(self) -> int:
        """Submissions still allowed today."""
        return max(0, self.limit - self.used)

    def to_dict(self) -> dict[str, object]:
        """Return the state as a JSON-ready dict."""
        return {
            "limit": self.limit,
            "used": self.used,
            "remaining": self.remaining,
            "reset_at": self.reset_at.isoformat(),
        }

    def message(self) -> str:
        """Return the refusal text for an exhausted quota."""
        return (
            f"daily quota exhausted: {self.used} of {self.limit} submissions used today (UTC); "
            f"it resets at {self.reset_at.isoformat()}"
        )


def default_limit() -> int:
    """Return the server-wide daily limit: ``$DATAPERF_DAILY_QUOTA``, else 10."""
    raw = os.environ.get("DATAPERF_DAILY_QUOTA")
    return int(raw) if raw and raw.isdigit() else DEFAULT_DAILY_LIMIT


def day_of(now: datetime) -> str:
    """Return the UTC day of ``now`` as ``YYYY-MM-DD``."""
    return now.astimezone(UTC).strftime("%Y-%m-%d")


def reset_time(now: datetime) -> datetime:
    """Return the next UTC midnight after ``now``."""
    day = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return day + timedelta(days=1)


def state(session: Session, team_id: int, now: datetime | None = None) -> QuotaState:
    """Return ``team_id``'s quota state for the UTC day of ``now``."""
    now = now or utcnow()
    limit = session.execute(select(TeamQuota.daily_limit).where(TeamQuota.team_id == team_id)).scalar()
    used = session.execute(
        select(func.count())
        .select_from(QuotaCharge)
        .where(QuotaCharge.team_id == team_id, QuotaCharge.day == day_of(now), QuotaCharge.refunded_at.is_(None))
    ).scalar_one()
    return QuotaState(limit if limit is not None else default_limit(), int(used), reset_time(now))


def lock_team(session: Session, team_id: int) -> None:
    """Serialize quota decisions of one team for the rest of the transaction (a row write)."""
    row = {"team_id": team_id, "daily_limit": None, "updated_at": utcnow()}
    insert_ignore_one(
        session,
        TeamQuota.__table__,  # type: ignore[arg-type]
        row,
        ["team_id"],
    )
    session.execute(update(TeamQuota).where(TeamQuota.team_id == team_id).values(updated_at=utcnow()))


def charge(session: Session, team_id: int, submission_id: int, now: datetime | None = None) -> bool:
    """Charge ``submission_id`` to its team (at most once); return True if a charge was made."""
    now = now or utcnow()
    row = {"team_id": team_id, "submission_id": submission_id, "day": day_of(now), "charged_at": now}
    return insert_ignore_one(session, QuotaCharge.__table__, row, ["submission_id"])  # type: ignore[arg-type]


def refund(session: Session, submission_id: int, reason: str) -> bool:
    """Refund the charge of ``submission_id`` (a platform failure); return True if one was refunded."""
    res = session.execute(
        update(QuotaCharge)
        .where(QuotaCharge.submission_id == submission_id, QuotaCharge.refunded_at.is_(None))
        .values(refunded_at=utcnow(), refund_reason=reason[:200])
    )
    return bool(res.rowcount)  # type: ignore[attr-defined]


def set_limit(session: Session, team_id: int, daily_limit: int | None) -> None:
    """Set ``team_id``'s daily limit (None: the server default)."""
    lock_team(session, team_id)
    session.execute(update(TeamQuota).where(TeamQuota.team_id == team_id).values(daily_limit=daily_limit))


def record_refusal(session: Session, team_id: int, code: str, now: datetime | None = None) -> None:
    """Count an upload of ``team_id`` refused for its content (it is never charged)."""
    now = now or utcnow()
    session.add(UploadRefusal(team_id=team_id, day=day_of(now), code=code[:64], refused_at=now))


def refusals_today(session: Session, team_id: int, now: datetime | None = None) -> int:
    """Return how many uploads of ``team_id`` were refused for their content on the UTC day of ``now``."""
    now = now or utcnow()
    q = (
        select(func.count())
        .select_from(UploadRefusal)
        .where(UploadRefusal.team_id == team_id, UploadRefusal.day == day_of(now))
    )
    return int(session.execute(q).scalar_one())
