"""Fair leasing: a burst of one team never starves another team's first submission."""

from __future__ import annotations

import threading

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
