"""A fault with real components: the docker daemon restarted while a worker's container runs.

The worker (``--runner docker``) reads an uploaded training set in its sandbox; the daemon is
stopped with SIGTERM (its pid file) while that container runs and started again with
``scripts/start-dockerd``. The dropped run says nothing about the submission, so the job goes
back to the queue without using an attempt or a quota charge, waits for the daemon, and is
scored once when it is back. The daemon is started again whatever happens, and the evaluator
image is still there afterwards.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from dataperf.runners.docker import DockerRunner, client, engine_answers
from leaderboard.storage.db import session_factory
from leaderboard.storage.server_tables import Job
from leaderboard.storage.tables import Submission
from tests import services
from tests.server.test_api import team, upload

pytestmark = [pytest.mark.docker, pytest.mark.filterwarnings("ignore::DeprecationWarning")]
REPO = Path(__file__).resolve().parents[2]
PID_FILE = Path("/var/run/docker.pid")


def start_dockerd() -> None:
    """Start the daemon with the project's script (a no-op when it answers)."""
    subprocess.run(
        [str(REPO / "scripts" / "start-dockerd")],
        check=True,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        timeout=180,
    )


def stop_dockerd() -> None:
    """Send the daemon SIGTERM through its pid file and wait until its process is gone."""
    pid = int(PID_FILE.read_text().strip())
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.2)
    raise AssertionError(f"dockerd (pid {pid}) did not stop within 90 s of SIGTERM")


def sandbox_of(c: Any, path: Path) -> Any:
    """Return the running sandbox container that has ``path`` mounted, or None."""
    for box in c.containers.list(filters={"label": "dataperf.sandbox=1", "status": "running"}):
        if any(m.get("Source") in (str(path), str(path.resolve())) for m in box.attrs.get("Mounts", [])):
            return box
    return None


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_dockerd_restarted_mid_job_requeues_it_and_scores_it_once(db_url: str, files: Any) -> None:
    from fastapi.testclient import TestClient

    from leaderboard.http.api.deps import Settings
    from leaderboard.http.app import create_app
    from leaderboard.jobs.worker import run_worker

    services.need("docker")
    if os.geteuid() != 0 or not PID_FILE.is_file():
        pytest.skip("restarting dockerd needs root and its pid file /var/run/docker.pid")
    c = client()
    tag = DockerRunner().image_for(gpu=False)
    image_id = c.images.get(tag).id
    app = TestClient(create_app(Settings(db_url=db_url)))
    h = team(db_url, "ada")
    r = upload(app, "tiny-selection", files.train[0], h)
    assert r.status_code == 202, r.text
    sid = r.json()["submission"]
    sessions = session_factory(db_url)
    with sessions() as s:
        sub = s.get(Submission, sid)
        assert sub is not None
        stored = Path(sub.path)

    stop = threading.Event()
    said: list[str] = []
    worker = threading.Thread(
        target=run_worker,
        kwargs={"url": db_url, "runner": "docker", "lease_s": 30.0, "poll_s": 0.2, "stop": stop, "say": said.append},
    )
    worker.start()
    interrupted = False
    try:
        deadline = time.monotonic() + 120
        while sandbox_of(c, stored) is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert sandbox_of(c, stored) is not None, ("the worker's container never ran", said)
        stop_dockerd()
        interrupted = True
        assert not engine_answers(c)
        start_dockerd()
        deadline = time.monotonic() + 300
        status = ""
        while time.monotonic() < deadline:
            with sessions() as s:
                status = s.execute(select(Submission.status).where(Submission.id == sid)).scalar_one()
            if status in ("done", "rejected"):
                break
            time.sleep(0.5)
    finally:
        stop.set()
        worker.join(timeout=120)
        if not engine_answers(c):
            start_dockerd()  # the daemon is up again whatever happened above
    assert interrupted
    with sessions() as s:
        sub = s.get(Submission, sid)
        job = s.execute(select(Job).where(Job.submission_id == sid)).scalar_one()
        assert sub is not None
        assert sub.status == "done", (sub.status, sub.error, job.log, said)
        assert sub.error is None and sub.result is not None and sub.result["provenance"]["runner"] == "docker"
        # Requeued once, not counted as an attempt, finished exactly once.
        assert (job.state, job.completions, job.attempts) == ("done", 1, 1), job.log
        assert "engine was away" in job.log and "back in the queue, attempt not counted" in job.log, job.log
        assert "failed" not in job.log.split("engine was away")[0], job.log
    quota = app.get("/api/quota", headers=h).json()
    assert quota["used"] == 1  # the one upload, charged once: the dropped run costs nothing
    fresh = client()
    assert fresh.images.get(tag).id == image_id  # the images survive the restart
    left = [
        b
        for b in fresh.containers.list(all=True, filters={"label": "dataperf.sandbox=1"})
        if any(str(stored) in str(m.get("Source")) for m in b.attrs.get("Mounts", []))
    ]
    assert left == []  # the container the daemon stopped was removed once it was back
    fresh.close()
    c.close()
