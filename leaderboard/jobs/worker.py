"""The worker: take a job with a lease, heartbeat while it runs, write the result, repeat.

One job is a short pipeline (lease -> evaluate -> record -> release) with the release in
``finally``. Evaluation is :func:`leaderboard.jobs.service.process_submission` (idempotent, the
ratchet's cells are cached), so a job re-run after a crash recomputes only what is missing.
Outcomes: the submission is ``done`` or ``rejected`` -> the job is done; anything else is a
platform failure -> the job goes back to the queue while attempts remain, else fails with its
log kept; a failed submission's quota charge is refunded. A run whose engine was away (the
docker daemon unreachable, stopped or restarted mid-run: :data:`dataperf.errors.UNAVAILABLE`)
says nothing about the submission: the job goes back to the queue without using an attempt,
and the worker waits, backing off, before it takes the next job.
"""

from __future__ import annotations

import os
import re
import socket
import threading
import time
from collections.abc import Callable

from sqlalchemy.exc import DBAPIError

from dataperf.errors import UNAVAILABLE, RunnerError
from leaderboard.jobs import queue
from leaderboard.jobs.faults import one_line
from leaderboard.storage.tables import Submission

Say = Callable[[str], None]


class Heartbeat:
    """Extends a lease every ``lease_s / 3`` seconds in a background thread until stopped."""

    def __init__(self, sessions: queue.Sessions, lease: queue.Lease, lease_s: float) -> None:
        self.sessions, self.lease, self.lease_s = sessions, lease, lease_s
        self.lost = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"heartbeat-{lease.job_id}", daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self.lease_s / 3):
            try:
                if not queue.heartbeat(self.sessions, self.lease, self.lease_s):
                    self.lost.set()
                    return
            except Exception:  # noqa: S112 - a missed beat is retried; the lease has slack for it
                continue

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


def default_owner() -> str:
    """Return this worker's name: host, process id and a short random suffix."""
    return f"{socket.gethostname()}:{os.getpid()}:{os.urandom(2).hex()}"


def work_one(sessions: queue.Sessions, lease: queue.Lease, runner: str, lease_s: float, say: Say) -> str:
    """Evaluate the leased job's submission and record the outcome; return the job's new state
    (``done``, ``queued`` for a retry, ``waiting`` when it went back to the queue because the
    runner's engine was away, ``failed``, or ``lost`` when the lease was lost)."""
    from leaderboard.jobs.service import process_submission

    start = time.perf_counter()
    with sessions.begin() as s:
        queue.log(s, lease.job_id, f"evaluating with runner '{runner}'")
    error, engine_away = "", False
    with Heartbeat(sessions, lease, lease_s) as beat:
        try:
            process_submission(sessions, lease.submission_id, runner)
        except Exception as e:
            error = one_line(e)  # the traceback is in the server's log, under the submission's error id
            engine_away = isinstance(e, RunnerError) and e.status == UNAVAILABLE
    wall = time.perf_counter() - start
    if beat.lost.is_set():
        say(f"job {lease.job_id}: lease lost while running; another worker owns it now")
        return "lost"
    with sessions() as s:
        sub = s.get(Submission, lease.submission_id)
        status = sub.status if sub else "missing"
        counters = ((sub.result or {}).get("counters") or {}) if sub else {}
        ran = ((sub.result or {}).get("provenance") or {}) if sub else {}
        shown = (sub.error or "") if sub else ""
    found = re.search(r"error [0-9a-f]{12}: [^\n]*?(?=\); it is not charged|$)", shown)
    if error and found:
        error = found.group(0)  # the line the submission shows, with its error id
    if status == "done":
        work = ", ".join(f"{k} {v}" for k, v in counters.items() if v)
        where = f" with runner '{ran.get('runner', runner)}'" + (
            f" (image {ran['image_digest']})" if ran.get("image_digest") else ""
        )
        ok = queue.finish(
            sessions,
            lease,
            "done",
            f"done in {wall:.2f} s by {lease.owner}{where}" + (f" ({work})" if work else ""),
        )
        return "done" if ok else "lost"
    if status == "rejected":
        ok = queue.finish(
            sessions,
            lease,
            "done",
            f"rejected in {wall:.2f} s (not charged)",
            refund_reason="rejected by the evaluator",
        )
        return "done" if ok else "lost"
    if engine_away:
        line = f"the runner's engine was away after {wall:.2f} s ({error}); back in the queue, attempt not counted"
        return "waiting" if queue.release(sessions, lease, line) else "lost"
    line = f"attempt {lease.attempt}/{lease.max_attempts} failed after {wall:.2f} s: {error or status}"
    if lease.attempt < lease.max_attempts:
        return "queued" if queue.retry(sessions, lease, line + "\nback in the queue") else "lost"
    ok = queue.finish(sessions, lease, "failed", line + f"\nall {lease.max_attempts} attempts used (not charged)")
    return "failed" if ok else "lost"


def run_worker(
    url: str | None = None,
    *,
    runner: str = "local",
    once: bool = False,
    lease_s: float = 60.0,
    poll_s: float = 1.0,
    owner: str | None = None,
    stop: threading.Event | None = None,
    say: Say = print,
) -> int:
    """Process jobs until ``stop`` is set (or, with ``once``, until the queue is empty);
    return the number of jobs processed. The database at ``url`` must be migrated."""
    from leaderboard.storage.db import session_factory

    sessions = session_factory(url)
    owner = owner or default_owner()
    stop = stop or threading.Event()
    say(f"worker {owner}: runner '{runner}', lease {lease_s:g} s")
    try:
        return _loop(sessions, owner, runner, once, lease_s, poll_s, stop, say)
    finally:
        from dataperf.runners.docker_pool import close_pools

        close_pools()  # warm sandboxes this worker started (none unless its runner keeps them)


def _loop(
    sessions: queue.Sessions,
    owner: str,
    runner: str,
    once: bool,
    lease_s: float,
    poll_s: float,
    stop: threading.Event,
    say: Say,
) -> int:
    """Take and work jobs until ``stop`` is set (or, with ``once``, the queue is empty)."""
    n = 0
    outage = 0.0
    while not stop.is_set():
        try:
            lease = queue.take(sessions, owner, lease_s)
            if lease is None:
                if once:
                    break
                stop.wait(poll_s)
                continue
            say(f"job {lease.job_id} (submission {lease.submission_id}), attempt {lease.attempt}")
            state = work_one(sessions, lease, runner, lease_s, say)
        except DBAPIError as e:
            # The database is away (restarted, unreachable): wait and resume. A job this worker
            # held comes back when its lease expires, and its result is written at most once.
            outage = min(max(outage * 2, poll_s), 30.0)
            say(f"worker {owner}: database unavailable ({type(e.orig).__name__}); retrying in {outage:g} s")
            stop.wait(outage)
            continue
        say(f"job {lease.job_id}: {state}")
        if state == "waiting":
            # The runner's engine is away: give it time before the next job (none is lost).
            outage = min(max(outage * 2, poll_s), 30.0)
            say(f"worker {owner}: runner '{runner}' unavailable; retrying in {outage:g} s")
            stop.wait(outage)
            continue
        outage = 0.0
        n += 1
    return n
