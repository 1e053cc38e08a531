"""The job queue: leases, heartbeats, expiry, capped attempts and idempotent completion."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

from sqlalchemy import update

from leaderboard.jobs import queue
from leaderboard.storage.db import session_factory
from leaderboard.storage.server_tables import Job
from leaderboard.storage.tables import Challenge, Submission, Team, utcnow


def _jobs(db_url: str, n: int, max_attempts: int = 3) -> list[int]:
    sessions = session_factory(db_url)
    with sessions.begin() as s:
        s.add(Challenge(id="tiny-selection", version=1, kind="training-set", spec_sha256="0" * 64))
        t = Team(name="ada")
        s.add(t)
        s.flush()
        ids = []
        for i in range(n):
            sub = Submission(
                challenge="tiny-selection",
                challenge_version=1,
                kind="training-set",
                team_id=t.id,
                sha256=f"{i:064d}",
                filename=f"{i}.csv",
                path=f"/nowhere/{i}.csv",
                status="queued",
            )
            s.add(sub)
            s.flush()
            queue.enqueue(s, sub.id, max_attempts)
            ids.append(sub.id)
    return ids


def _expire_now(db_url: str) -> None:
    with session_factory(db_url).begin() as s:
        s.execute(update(Job).where(Job.state == "leased").values(lease_expires_at=utcnow() - timedelta(seconds=1)))


def test_lease_order_and_position(db_url: str) -> None:
    sessions = session_factory(db_url)
    ids = _jobs(db_url, 3)
    with sessions() as s:
        assert [queue.position(s, i) for i in ids] == [1, 2, 3]
    lease = queue.take(sessions, "w1")
    assert lease is not None and lease.submission_id == ids[0] and lease.attempt == 1
    with sessions() as s:
        assert [queue.position(s, i) for i in ids] == [None, 1, 2]


def test_expired_lease_returns_job_and_old_holder_cannot_finish(db_url: str) -> None:
    sessions = session_factory(db_url)
    _jobs(db_url, 1)
    first = queue.take(sessions, "w1", lease_s=30)
    assert first is not None and (first.owner, first.attempt, first.max_attempts) == ("w1", 1, 3)
    _expire_now(db_url)
    second = queue.take(sessions, "w2", lease_s=30)
    assert second is not None and second.job_id == first.job_id and second.attempt == 2
    assert not queue.heartbeat(sessions, first)
    assert not queue.finish(sessions, first, "done", "late")
    assert queue.heartbeat(sessions, second)
    assert queue.finish(sessions, second, "done", "ok")
    assert not queue.finish(sessions, second, "done", "twice")
    with sessions() as s:
        job = s.get(Job, first.job_id)
        assert job is not None and job.state == "done" and job.completions == 1
        assert "lease of w1 expired" in job.log


def test_attempts_are_capped_and_log_kept(db_url: str) -> None:
    sessions = session_factory(db_url)
    (sid,) = _jobs(db_url, 1, max_attempts=2)
    for attempt in (1, 2):
        lease = queue.take(sessions, "w")
        assert lease is not None and (lease.submission_id, lease.attempt) == (sid, attempt)
        _expire_now(db_url)
    assert queue.take(sessions, "w") is None
    with sessions() as s:
        job = s.get(Job, 1)
        sub = s.get(Submission, sid)
        assert job is not None and job.state == "failed" and "all 2 attempts used" in job.log
        assert sub is not None and sub.status == "failed"


def test_concurrent_takes_never_share_a_job(db_url: str) -> None:
    sessions = session_factory(db_url)
    _jobs(db_url, 40)
    got: list[int] = []
    lock = threading.Lock()

    def grab(name: str) -> None:
        while (lease := queue.take(sessions, name)) is not None:
            with lock:
                got.append(lease.job_id)
            queue.finish(sessions, lease, "done", "ok")

    threads = [threading.Thread(target=grab, args=(f"w{i}",)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(got) == list(range(1, 41))


def test_heartbeat_keeps_a_long_job(db_url: str) -> None:
    from leaderboard.jobs.worker import Heartbeat

    sessions = session_factory(db_url)
    _jobs(db_url, 1)
    lease = queue.take(sessions, "w", lease_s=0.6)
    assert lease is not None and lease.attempt == 1
    with Heartbeat(sessions, lease, 0.6):
        time.sleep(1.5)
        assert queue.expire(sessions) == []
    assert queue.finish(sessions, lease, "done", "ok")
