"""Faults with real components: a full disk during an upload, the server killed mid-upload,
PostgreSQL restarted under running workers, and a backup restored into an empty database."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from leaderboard.storage.db import session_factory
from leaderboard.storage.server_tables import Job, QuotaCharge
from leaderboard.storage.tables import Submission
from tests.server.test_api import team, upload, work

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
REPO = Path(__file__).resolve().parents[2]


def counts(db_url: str) -> tuple[int, int, int]:
    with session_factory(db_url)() as s:
        return (
            s.execute(select(func.count()).select_from(Submission)).scalar_one(),
            s.execute(select(func.count()).select_from(Job)).scalar_one(),
            s.execute(select(func.count()).select_from(QuotaCharge)).scalar_one(),
        )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


SERVE = """
import resource, signal, sys
limit = int(sys.argv[3])
if limit:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
from leaderboard.http.app import create_app
import uvicorn
from leaderboard.http.api.deps import Settings
uvicorn.run(create_app(Settings(db_url=sys.argv[1])), host="127.0.0.1", port=int(sys.argv[2]), log_level="warning")
"""


def serve(db_url: str, home: Path, fsize_limit: int = 0) -> tuple[subprocess.Popen[bytes], str]:
    """Start the server in its own process (on the test's data home) and wait for it."""
    port = free_port()
    env = dict(os.environ) | {"PYTHONPATH": str(REPO), "DATAPERF_HOME": str(home)}
    proc = subprocess.Popen(
        [sys.executable, "-c", SERVE, db_url, str(port), str(fsize_limit)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        if proc.poll() is not None:
            raise RuntimeError(f"server exited: {proc.stderr.read().decode()[-2000:]}")  # type: ignore[union-attr]
        try:
            if httpx.get(f"{url}/api/health", timeout=2).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("the server did not start")


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.kill()
    proc.wait(timeout=30)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_full_disk_during_upload_is_refused_and_leaves_nothing(db_url: str, home: Path, files: Any) -> None:
    h = team(db_url, "ada")
    proc, url = serve(db_url, home, fsize_limit=2_000_000)
    try:
        big = b"task,id,label\n" + b"shirt,1,0\n" * 400_000  # 4 MB: more than the disk takes
        r = httpx.post(
            f"{url}/api/challenges/tiny-selection/submissions",
            params={"filename": "big.csv"},
            content=big,
            headers=h,
            timeout=60,
        )
        assert r.status_code == 507 and r.json()["code"] == "storage_full", r.text
        assert not any(p.is_file() for p in (home / "uploads").rglob("*"))
        assert counts(db_url) == (0, 0, 0)
        quota = httpx.get(f"{url}/api/quota", headers=h, timeout=10).json()
        assert quota["used"] == 0
        small = httpx.post(
            f"{url}/api/challenges/tiny-selection/submissions",
            params={"filename": files.train[0].name},
            content=files.train[0].read_bytes(),
            headers=h,
            timeout=60,
        )
        assert small.status_code == 202, small.text
    finally:
        stop(proc)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_server_killed_mid_upload_never_evaluates_half_a_file(db_url: str, home: Path, files: Any) -> None:
    h = team(db_url, "ada")
    proc, url = serve(db_url, home)
    port = int(url.rsplit(":", 1)[1])
    body = files.train[0].read_bytes()
    try:
        with socket.create_connection(("127.0.0.1", port)) as sock:
            head = (
                f"POST /api/challenges/tiny-selection/submissions?filename=a.csv HTTP/1.1\r\n"
                f"Host: 127.0.0.1\r\n{next(iter(h))}: {next(iter(h.values()))}\r\n"
                f"Content-Length: {len(body)}\r\n\r\n"
            ).encode()
            sock.sendall(head + body[: len(body) // 2])
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and not any(p.is_file() for p in (home / "uploads").rglob("*")):
                time.sleep(0.05)
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
    finally:
        stop(proc)
    assert counts(db_url) == (0, 0, 0)
    assert work(db_url) == 0  # nothing was queued, so nothing half-received is ever evaluated
    proc, url = serve(db_url, home)
    try:
        r = httpx.post(
            f"{url}/api/challenges/tiny-selection/submissions",
            params={"filename": "a.csv"},
            content=body,
            headers=h,
            timeout=60,
        )
        assert r.status_code == 202 and r.json()["quota"]["used"] == 1
    finally:
        stop(proc)


def test_backup_restores_into_an_empty_database(db_url: str, home: Path, files: Any) -> None:
    from fastapi.testclient import TestClient

    from dataperf.cli import main
    from leaderboard.http.api.deps import Settings
    from leaderboard.http.app import create_app
    from leaderboard.storage.db import upgrade
    from tests.databases import postgres_url

    c = TestClient(create_app(Settings(db_url=db_url)))
    h = team(db_url, "ada")
    for f in files.train:
        assert upload(c, "tiny-selection", f, h).status_code == 202
    assert upload(c, "tiny-testset", files.test_hard, h).status_code == 202
    work(db_url)
    before = c.get("/api/challenges/tiny-selection/leaderboard").json()
    assert before["rows"]
    backup = home / "backup.bin"
    assert main(["db", "backup", str(backup), "--db", db_url]) == 0
    if db_url.startswith("sqlite"):
        empty = f"sqlite:///{home / 'restored.db'}"
    else:
        empty = postgres_url("_restored")
    assert main(["db", "restore", str(backup), "--db", empty]) == 0
    upgrade(empty)  # already at the newest revision: nothing to do
    restored = TestClient(create_app(Settings(db_url=empty)))
    after = restored.get("/api/challenges/tiny-selection/leaderboard").json()
    assert after == before
    assert restored.get("/api/quota", headers=h).json()["used"] == c.get("/api/quota", headers=h).json()["used"]


@pytest.mark.postgres
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_postgres_restart_under_running_workers(db_url: str, files: Any) -> None:
    """Workers wait while PostgreSQL restarts and resume; every job is done exactly once."""
    from fastapi.testclient import TestClient

    from leaderboard.http.api.deps import Settings
    from leaderboard.http.app import create_app
    from leaderboard.jobs.worker import run_worker

    pg_ctl = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin")) / "pg_ctl"
    data = os.environ.get("PGDATA_DIR", "/var/tmp/dataperf-pg")
    if not pg_ctl.exists() or not Path(data, "PG_VERSION").exists():
        pytest.skip("the PostgreSQL test server of scripts/start-postgres is not on this machine")
    c = TestClient(create_app(Settings(db_url=db_url)))
    h = team(db_url, "ada", limit=100)
    ids = [upload(c, "tiny-selection", f, h).json()["submission"] for f in files.train]
    ids.append(upload(c, "tiny-testset", files.test_hard, h).json()["submission"])
    stop_event = threading.Event()
    said: list[str] = []
    workers = [
        threading.Thread(
            target=run_worker,
            kwargs={"url": db_url, "lease_s": 6.0, "poll_s": 0.2, "stop": stop_event, "say": said.append},
        )
        for _ in range(2)
    ]
    for w in workers:
        w.start()
    as_pg = [] if os.geteuid() != 0 else ["runuser", "-u", "postgres", "--"]
    # The restarted server is a daemon: it must not hold this process's pipes (it logs to its file).
    subprocess.run(
        [*as_pg, str(pg_ctl), "-D", data, "-l", f"{data}/server.log", "-m", "fast", "-w", "-t", "60", "restart"],
        check=True,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        timeout=120,
    )
    deadline = time.monotonic() + 120
    done: list[str] = []
    while time.monotonic() < deadline:
        try:
            with session_factory(db_url)() as s:
                done = list(s.execute(select(Submission.status).where(Submission.id.in_(ids))).scalars())
        except Exception:
            time.sleep(0.5)
            continue
        if done and all(x in ("done", "rejected", "failed") for x in done):
            break
        time.sleep(0.5)
    stop_event.set()
    for w in workers:
        w.join(timeout=60)
    assert sorted(done) == ["done"] * len(ids), (done, said[-20:])
    with session_factory(db_url)() as s:
        jobs = s.execute(select(Job.state, Job.completions)).all()
    assert sorted(jobs) == [("done", 1)] * len(ids), (jobs, said)
