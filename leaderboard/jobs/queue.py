"""The job queue: the database is the queue of record.

A job is taken with a lease (:func:`take`): a conditional update that only one worker can win,
on SQLite and PostgreSQL alike. The holder extends the lease with :func:`heartbeat` while it
works. A lease that expires (the worker died or hung) puts the job back in the queue, or fails
it with its log kept once ``max_attempts`` are used (:func:`expire`). Finishing is idempotent:
only the current holder of a live lease can finish a job, once (:func:`finish`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from leaderboard.jobs import quota
from leaderboard.storage.server_tables import LOG_LIMIT, Job
from leaderboard.storage.tables import Submission, utcnow

Sessions = sessionmaker[Session]
DEFAULT_MAX_ATTEMPTS = 3


@dataclass(frozen=True)
class Lease:
    """A job held by one worker until ``expires_at`` (extended by heartbeats)."""

    job_id: int
    submission_id: int
    owner: str
    attempt: int
    max_attempts: int


def aware(dt: datetime | None) -> datetime | None:
    """Return ``dt`` as a UTC-aware datetime (SQLite hands back naive UTC values)."""
    if dt is None:
        return None
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt


def stamp(now: datetime | None = None) -> str:
    """Return a log-line timestamp."""
    return (now or utcnow()).strftime("%Y-%m-%d %H:%M:%S")


def _capped(log: str, line: str) -> str:
    text = (log or "") + line.rstrip("\n") + "\n"
    if len(text) > LOG_LIMIT:
        text = "[... earlier log lines dropped ...]\n" + text[-(LOG_LIMIT - 40) :]
    return text


def enqueue(session: Session, submission_id: int, max_attempts: int = DEFAULT_MAX_ATTEMPTS) -> Job:
    """Add the job of ``submission_id`` to the queue (in the caller's transaction)."""
    now = utcnow()
    job = Job(
        submission_id=submission_id,
        state="queued",
        attempts=0,
        max_attempts=max_attempts,
        completions=0,
        log=f"{stamp(now)} queued\n",
        created_at=now,
        updated_at=now,
    )
    session.add(job)
    return job


def log(session: Session, job_id: int, line: str) -> None:
    """Append ``line`` (timestamped) to the job's log, keeping at most LOG_LIMIT characters."""
    job = session.get(Job, job_id)
    if job is not None:
        job.log = _capped(job.log, f"{stamp()} {line}")
        job.updated_at = utcnow()


def _fail_submission(session: Session, submission_id: int, error: str) -> None:
    session.execute(
        update(Submission)
        .where(Submission.id == submission_id, Submission.status.not_in(["done", "rejected"]))
        .values(status="failed", error=error, updated_at=utcnow(), finished_at=utcnow())
    )
    quota.refund(session, submission_id, "platform failure: " + error)


def expire(sessions: Sessions) -> list[int]:
    """Return to the queue every job whose lease expired, or fail it (log kept, quota refunded)
    once its attempts are used up. Returns the ids of the jobs touched."""
    now = utcnow()
    touched = []
    with sessions.begin() as s:
        q = select(Job).where(Job.state == "leased", Job.lease_expires_at < now).with_for_update(skip_locked=True)
        for job in s.execute(q).scalars():
            owner = job.lease_owner
            if job.attempts >= job.max_attempts:
                job.state, job.finished_at = "failed", now
                msg = f"lease of {owner} expired; all {job.max_attempts} attempts used: failed (not charged)"
                _fail_submission(s, job.submission_id, msg)
            else:
                job.state = "queued"
                msg = f"lease of {owner} expired (attempt {job.attempts}/{job.max_attempts}): back in the queue"
                s.execute(
                    update(Submission)
                    .where(Submission.id == job.submission_id, Submission.status.not_in(["done", "rejected"]))
                    .values(status="queued", updated_at=now)
                )
            job.lease_owner, job.lease_expires_at, job.updated_at = None, None, now
            job.log = _capped(job.log, f"{stamp(now)} {msg}")
            touched.append(job.id)
    return touched


def take(sessions: Sessions, owner: str, lease_s: float = 60.0) -> Lease | None:
    """Lease the oldest queued job for ``owner`` (expired leases first return to the queue);
    return None when the queue is empty."""
    expire(sessions)
    for _ in range(20):
        with sessions() as s:
            ids = s.execute(select(Job.id).where(Job.state == "queued").order_by(Job.id).limit(8)).scalars().all()
        if not ids:
            return None
        for job_id in ids:
            now = utcnow()
            with sessions.begin() as s:
                res = s.execute(
                    update(Job)
                    .where(Job.id == job_id, Job.state == "queued")
                    .values(
                        state="leased",
                        lease_owner=owner,
                        lease_expires_at=now + timedelta(seconds=lease_s),
                        heartbeat_at=now,
                        attempts=Job.attempts + 1,
                        updated_at=now,
                    )
                )
                if not res.rowcount:  # type: ignore[attr-defined]
                    continue
                job = s.get(Job, job_id)
                if job is None:
                    continue
                job.log = _capped(
                    job.log, f"{stamp(now)} leased by {owner} (attempt {job.attempts}/{job.max_attempts})"
                )
                return Lease(job.id, job.submission_id, owner, job.attempts, job.max_attempts)
    return None


def heartbeat(sessions: Sessions, lease: Lease, lease_s: float = 60.0) -> bool:
    """Extend ``lease`` by ``lease_s`` seconds; return False if the worker no longer holds it."""
    now = utcnow()
    with sessions.begin() as s:
        res = s.execute(
            update(Job)
            .where(Job.id == lease.job_id, Job.state == "leased", Job.lease_owner == lease.owner)
            .values(lease_expires_at=now + timedelta(seconds=lease_s), heartbeat_at=now, updated_at=now)
        )
        return bool(res.rowcount)  # type: ignore[attr-defined]


def finish(sessions: Sessions, lease: Lease, state: str, line: str, *, refund_reason: str | None = None) -> bool:
    """Record the outcome of ``lease``'s job (``done`` or ``failed``) once; return False (and
    change nothing) if the lease was lost or the job already finished."""
    if state not in ("done", "failed"):
        raise ValueError(f"a job finishes 'done' or 'failed', not {state!r}")
    now = utcnow()
    with sessions.begin() as s:
        res = s.execute(
            update(Job)
            .where(Job.id == lease.job_id, Job.state == "leased", Job.lease_owner == lease.owner)
            .values(
                state=state,
                finished_at=now,
                updated_at=now,
                lease_expires_at=None,
                completions=Job.completions + 1,
            )
        )
        if not res.rowcount:  # type: ignore[attr-defined]
            return False
        log(s, lease.job_id, line)
        if state == "failed":
            _fail_submission(s, lease.submission_id, line)
        elif refund_reason:
            quota.refund(s, lease.submission_id, refund_reason)
    return True


def retry(sessions: Sessions, lease: Lease, line: str) -> bool:
    """Put ``lease``'s job back in the queue after a platform failure (attempts remain);
    return False if the lease was lost."""
    now = utcnow()
    with sessions.begin() as s:
        res = s.execute(
            update(Job)
            .where(Job.id == lease.job_id, Job.state == "leased", Job.lease_owner == lease.owner)
            .values(state="queued", lease_owner=None, lease_expires_at=None, updated_at=now)
        )
        if not res.rowcount:  # type: ignore[attr-defined]
            return False
        log(s, lease.job_id, line)
        s.execute(
            update(Submission)
            .where(Submission.id == lease.submission_id, Submission.status.not_in(["done", "rejected"]))
            .values(status="queued", updated_at=now)
        )
    return True


def position(session: Session, submission_id: int) -> int | None:
    """Return the 1-based queue position of ``submission_id``'s job (None unless queued)."""
    job = session.execute(select(Job.id, Job.state).where(Job.submission_id == submission_id)).first()
    if job is None or job.state != "queued":
        return None
    ahead = session.execute(
        select(func.count()).select_from(Job).where(Job.state == "queued", Job.id < job.id)
    ).scalar_one()
    return int(ahead) + 1


def counts(session: Session) -> dict[str, int]:
    """Return the number of jobs in each state."""
    rows = session.execute(select(Job.state, func.count()).group_by(Job.state)).all()
    return {state: int(n) for state, n in rows}


def release(sessions: Sessions, lease: Lease, line: str) -> bool:
    """Put ``lease``'s job back in the queue without counting the attempt: its runner's engine
    was away (the run said nothing about the submission). Return False if the lease was lost."""
    now = utcnow()
    with sessions.begin() as s:
        res = s.execute(
            update(Job)
            .where(Job.id == lease.job_id, Job.state == "leased", Job.lease_owner == lease.owner)
            .values(
                state="queued",
                lease_owner=None,
                lease_expires_at=None,
                attempts=Job.attempts - 1,  # take() counted it
                updated_at=now,
            )
        )
        if not res.rowcount:  # type: ignore[attr-defined]
            return False
        log(s, lease.job_id, line)
        s.execute(
            update(Submission)
            .where(Submission.id == lease.submission_id, Submission.status.not_in(["done", "rejected"]))
            .values(status="queued", updated_at=now)
        )
    return True
