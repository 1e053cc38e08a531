"""The job queue: the database is the queue of record.

A job is taken with a lease (:func:`take`): a conditional update that only one worker can win,
on SQLite and PostgreSQL alike. The holder extends the lease with :func:`heartbeat` while it
works. A lease that expires (the worker died or hung) puts the job back in the queue, or fails
it with its log kept once ``max_attempts`` are used (:func:`expire`). Finishing is idempotent:
only the current holder of a live lease can finish a job, once (:func:`finish`).

Leasing is **round robin across teams**: :func:`take` serves the team with the fewest jobs in
flight, then the team served longest ago (a team never served first), and within a team its
oldest job. A team's burst therefore delays another team's first job by at most the jobs that
are already running, one per worker. When each team was last served is kept in its
:class:`~leaderboard.storage.server_tables.QueueTurn` row, written with each lease and heartbeat,
so a take reads the queued jobs, the jobs in flight and those rows: never the finished history.
On PostgreSQL the candidate rows are locked with
``FOR UPDATE SKIP LOCKED``, so concurrent workers pass over each other's picks instead of
waiting; on both databases the lease itself is a conditional update only one worker can win.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import case, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from leaderboard.jobs import quota
from leaderboard.storage.db import upsert_one
from leaderboard.storage.server_tables import LOG_LIMIT, Job, QueueTurn
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


@dataclass(frozen=True)
class TeamTurn:
    """A team with queued work, as :func:`take` ranks it (lower :meth:`key` goes first)."""

    team_id: int
    next_job: int
    """The team's oldest queued job."""
    in_flight: int
    """How many of the team's jobs are leased now."""
    last_served: datetime | None
    """When a job of the team was last leased or heartbeat (None: never served)."""

    def key(self) -> tuple[int, int, datetime, int]:
        """Return the sort key: fewest in flight, never or longest ago served, oldest job."""
        last = aware(self.last_served)
        return (self.in_flight, 0 if last is None else 1, last or datetime.min.replace(tzinfo=UTC), self.next_job)


def turns(session: Session) -> list[TeamTurn]:
    """Return every team with queued jobs, in the order :func:`take` serves them.

    Three reads, none of them over finished jobs: each waiting team's oldest queued job, the
    jobs in flight per team, and the waiting teams' :class:`QueueTurn` rows."""
    by_team = (Job, Job.submission_id == Submission.id)
    waiting = session.execute(
        select(Submission.team_id, func.min(Job.id))
        .join(*by_team)
        .where(Job.state == "queued")
        .group_by(Submission.team_id)
    ).all()
    if not waiting:
        return []
    in_flight = dict(
        session.execute(
            select(Submission.team_id, func.count())
            .join(*by_team)
            .where(Job.state == "leased")
            .group_by(Submission.team_id)
        ).all()
    )
    teams_waiting = select(Submission.team_id).join(*by_team).where(Job.state == "queued")
    served = dict(
        session.execute(
            select(QueueTurn.team_id, QueueTurn.last_served_at).where(QueueTurn.team_id.in_(teams_waiting))
        ).all()
    )
    out = [TeamTurn(int(t), int(j), int(in_flight.get(t, 0)), served.get(t)) for t, j in waiting]
    return sorted(out, key=TeamTurn.key)


def _served(s: Session, submission_id: int, now: datetime) -> None:
    """Record (in the caller's transaction) that the team of ``submission_id`` was served at ``now``."""
    team = s.execute(select(Submission.team_id).where(Submission.id == submission_id)).scalar_one()
    upsert_one(s, QueueTurn.__table__, {"team_id": team, "last_served_at": now}, ["team_id"])  # type: ignore[arg-type]


def _lease(s: Session, job_id: int, owner: str, lease_s: float) -> Lease | None:
    """Lease ``job_id`` for ``owner`` if it is still queued (in the caller's transaction)."""
    now = utcnow()
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
        return None
    job = s.get(Job, job_id)
    if job is None:
        return None
    job.log = _capped(job.log, f"{stamp(now)} leased by {owner} (attempt {job.attempts}/{job.max_attempts})")
    _served(s, job.submission_id, now)
    return Lease(job.id, job.submission_id, owner, job.attempts, job.max_attempts)


def take(sessions: Sessions, owner: str, lease_s: float = 60.0) -> Lease | None:
    """Lease the next queued job for ``owner``, round robin across teams (see the module's
    docstring; expired leases first return to the queue); return None when the queue is empty."""
    expire(sessions)
    for _ in range(20):
        with sessions() as s:
            order = turns(s)
        if not order:
            return None
        picks = [t.next_job for t in order[:8]]
        with sessions.begin() as s:
            free = set(picks)
            if s.get_bind().dialect.name == "postgresql":
                # Lock the picks no other worker has locked, skipping the rest instead of waiting.
                locked = select(Job.id).where(Job.id.in_(picks), Job.state == "queued")
                free = set(s.execute(locked.with_for_update(skip_locked=True)).scalars())
            # SQLite: the transaction's first statement is the conditional update below, so it
            # takes the write lock at once (never upgrading a read), and only one worker wins.
            for job_id in picks:
                if job_id in free and (lease := _lease(s, job_id, owner, lease_s)) is not None:
                    return lease
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
        if not res.rowcount:  # type: ignore[attr-defined]
            return False
        _served(s, lease.submission_id, now)
        return True


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
    return _requeue(sessions, lease, line, uncount=False)


def _requeue(sessions: Sessions, lease: Lease, line: str, *, uncount: bool) -> bool:
    """Put ``lease``'s job back in the queue (``uncount``: without the attempt take() counted)
    and its submission back to queued; return False if the lease was lost."""
    now = utcnow()
    values: dict[str, object] = {"state": "queued", "lease_owner": None, "lease_expires_at": None, "updated_at": now}
    if uncount:
        values["attempts"] = Job.attempts - 1
    with sessions.begin() as s:
        res = s.execute(
            update(Job)
            .where(Job.id == lease.job_id, Job.state == "leased", Job.lease_owner == lease.owner)
            .values(**values)
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
    """Return the 1-based queue position of ``submission_id``'s job (None unless queued), as
    round robin serves the queue now: the team's own earlier jobs, plus from each other team as
    many jobs as this one's rank in its team (one fewer for teams whose turn comes after)."""
    row = session.execute(
        select(Job.id, Job.state, Submission.team_id)
        .join(Submission, Job.submission_id == Submission.id)
        .where(Job.submission_id == submission_id)
    ).first()
    if row is None or row.state != "queued":
        return None
    per_team = session.execute(
        select(Submission.team_id, func.count(), func.sum(case((Job.id < row.id, 1), else_=0)))
        .join(Job, Job.submission_id == Submission.id)
        .where(Job.state == "queued")
        .group_by(Submission.team_id)
    ).all()
    queued = {int(team): int(n) for team, n, _b in per_team}
    before = {int(team): int(b or 0) for team, _n, b in per_team}
    order = [t.team_id for t in turns(session) if t.team_id in queued]
    if row.team_id not in queued or row.team_id not in order:
        return None  # leased by a worker between these reads (another transaction committed)
    rank = before[row.team_id] + 1
    mine = order.index(row.team_id)
    others = sum(min(queued[t], rank if i < mine else rank - 1) for i, t in enumerate(order) if t != row.team_id)
    return rank + others


def counts(session: Session) -> dict[str, int]:
    """Return the number of jobs in each state."""
    rows = session.execute(select(Job.state, func.count()).group_by(Job.state)).all()
    return {state: int(n) for state, n in rows}


def release(sessions: Sessions, lease: Lease, line: str) -> bool:
    """Put ``lease``'s job back in the queue without counting the attempt: its runner's engine
    was away (the run said nothing about the submission). Return False if the lease was lost."""
    return _requeue(sessions, lease, line, uncount=True)
