"""Fair leasing: a burst of one team never starves another team's first submission."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

from leaderboard.jobs import queue
from leaderboard.storage.db import session_factory
from leaderboard.storage.tables import Challenge, Submission, Team


def _team(db_url: str, name: str) -> int:
    sessions = session_factory(db_url)
    with sessions.begin() as s:
        if s.get(Challenge, "tiny-selection") is None:
            s.add(Challenge(id="tiny-selection", version=1, kind="training-set", spec_sha256="0" * 64))
        team = Team(name=name)
        s.add(team)
        s.flush()
        return team.id


def _submit(db_url: str, team_id: int, n: int) -> list[int]:
    sessions = session_factory(db_url)
    ids = []
    with sessions.begin() as s:
        for _ in range(n):
            sub = Submission(
                challenge="tiny-selection",
                challenge_version=1,
                kind="training-set",
                team_id=team_id,
                sha256=f"{team_id:032d}{len(ids):032d}",
                filename="f.csv",
                path="/nowhere/f.csv",
                status="queued",
            )
            s.add(sub)
            s.flush()
            queue.enqueue(s, sub.id)
            ids.append(sub.id)
    return ids


def test_burst_of_one_team_does_not_starve_another(db_url: str) -> None:
    sessions = session_factory(db_url)
    a, b = _team(db_url, "burst"), _team(db_url, "late")
    burst = _submit(db_url, a, 30)
    workers = 2
    running = [queue.take(sessions, f"w{i}") for i in range(workers)]
    assert all(lease is not None and lease.submission_id in burst for lease in running)
    (late,) = _submit(db_url, b, 1)
    with sessions() as s:
        assert queue.position(s, late) == 1  # ahead of the 28 queued jobs of the burst
        assert queue.position(s, burst[2]) == 2
    # One worker finishes its job of the burst and takes the next: team B's first submission.
    first = running[0]
    assert first is not None and queue.finish(sessions, first, "done", "ok")
    nxt = queue.take(sessions, "w0")
    assert nxt is not None and nxt.submission_id == late
    # Then the burst resumes, in its own order.
    again = queue.take(sessions, "w2")
    assert again is not None and again.submission_id == burst[2]


def test_round_robin_with_one_worker(db_url: str) -> None:
    """With nothing in flight, the team served longest ago (or never) goes first."""
    sessions = session_factory(db_url)
    a, b, c = _team(db_url, "a"), _team(db_url, "b"), _team(db_url, "c")
    subs = {a: _submit(db_url, a, 5), b: _submit(db_url, b, 2), c: _submit(db_url, c, 1)}
    owner_of = {sid: team for team, ids in subs.items() for sid in ids}
    order = []
    while (lease := queue.take(sessions, "w")) is not None:
        order.append(owner_of[lease.submission_id])
        assert queue.finish(sessions, lease, "done", "ok")
    assert order == [a, b, c, a, b, a, a, a]


def test_concurrent_fair_takes_lease_each_job_once(db_url: str) -> None:
    sessions = session_factory(db_url)
    teams = [_team(db_url, f"t{i}") for i in range(4)]
    all_ids = {sid for t in teams for sid in _submit(db_url, t, 8)}
    got: list[int] = []
    lock = threading.Lock()

    def grab(name: str) -> None:
        while (lease := queue.take(sessions, name)) is not None:
            with lock:
                got.append(lease.submission_id)
            queue.finish(sessions, lease, "done", "ok")

    threads = [threading.Thread(target=grab, args=(f"w{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(got) == sorted(all_ids)


def test_heartbeats_move_a_team_back_in_the_turns(db_url: str) -> None:
    """A team whose job is still being heartbeat was served more recently than one leased after it."""
    sessions = session_factory(db_url)
    a, b = _team(db_url, "long"), _team(db_url, "short")
    (first_a,) = _submit(db_url, a, 1)
    (first_b,) = _submit(db_url, b, 1)
    lease_a = queue.take(sessions, "w0")
    lease_b = queue.take(sessions, "w1")
    assert lease_a is not None and lease_a.submission_id == first_a
    assert lease_b is not None and lease_b.submission_id == first_b
    assert queue.finish(sessions, lease_b, "done", "ok")
    assert queue.heartbeat(sessions, lease_a)  # team a is still being served after b's lease
    assert queue.finish(sessions, lease_a, "done", "ok")
    _submit(db_url, a, 1)
    (second_b,) = _submit(db_url, b, 1)
    with sessions() as s:
        assert [t.team_id for t in queue.turns(s)] == [b, a]
    nxt = queue.take(sessions, "w0")
    assert nxt is not None and nxt.submission_id == second_b


def test_turns_survive_the_migration_that_keeps_them(tmp_path: object) -> None:
    """Revision 0008 fills each team's last service from the jobs recorded before it."""
    from alembic import command
    from sqlalchemy import select

    from leaderboard.storage.db import alembic_config, upgrade
    from leaderboard.storage.server_tables import Job, QueueTurn

    url = f"sqlite:///{tmp_path}/q.db"
    command.upgrade(alembic_config(url), "0007_challenge_versions")
    a, b, never = _team(url, "a"), _team(url, "b"), _team(url, "never")
    sessions = session_factory(url)
    ids = {t: _submit(url, t, 3) for t in (a, b, never)}
    with sessions.begin() as s:
        for team, hour in ((a, 3), (b, 5)):
            for k, sid in enumerate(ids[team]):
                job = s.execute(select(Job).where(Job.submission_id == sid)).scalar_one()
                job.state, job.heartbeat_at = "done", datetime(2026, 1, 1, hour - k, tzinfo=UTC)
    upgrade(url)
    with sessions() as s:
        kept = {t: queue.aware(at) for t, at in s.execute(select(QueueTurn.team_id, QueueTurn.last_served_at))}
    assert kept == {a: datetime(2026, 1, 1, 3, tzinfo=UTC), b: datetime(2026, 1, 1, 5, tzinfo=UTC)}
