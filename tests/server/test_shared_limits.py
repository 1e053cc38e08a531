"""Rate limits shared by every server process of one database: two apps (and two server
processes) on one database count against one limit, not each against its own."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from leaderboard.http.limits import Rate
from leaderboard.http.shared_limits import StoredBuckets
from leaderboard.storage.db import session_factory
from tests.server.test_api import team

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def test_a_stored_bucket_takes_refills_and_says_when(db_url: str) -> None:
    clock = Clock()
    sessions = session_factory(db_url)
    one = StoredBuckets(Rate(per_minute=6, burst=3), sessions, "t", clock=clock)
    other = StoredBuckets(Rate(per_minute=6, burst=3), sessions, "t", clock=clock)  # another process
    assert [one.take("a"), other.take("a"), one.take("a")] == [0.0, 0.0, 0.0]
    assert other.take("a") == pytest.approx(10.0)  # one request every 10 s
    assert one.wait("a") == pytest.approx(10.0) and one.take("b") == 0.0  # keys apart
    clock.now += 10.0
    assert other.wait("a") == 0.0 and one.take("a") == 0.0 and other.take("a") == pytest.approx(10.0)
    clock.now += 3600.0
    assert [one.take("a") for _ in range(4)][:3] == [0.0, 0.0, 0.0]  # refilled to the burst, no more
    assert StoredBuckets(Rate(per_minute=6, burst=3), sessions, "u", clock=clock).wait("a") == 0.0


def test_concurrent_takes_never_overdraw_a_stored_bucket(db_url: str) -> None:
    clock = Clock()
    sessions = session_factory(db_url)
    allowed: list[float] = []
    lock = threading.Lock()

    def worker() -> None:
        mine = StoredBuckets(Rate(per_minute=0.001, burst=10), session_factory(db_url), "race", clock=clock)
        for _ in range(6):
            wait = mine.take("k")
            with lock:
                allowed.append(wait)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(allowed) == 24 and allowed.count(0.0) == 10
    assert StoredBuckets(Rate(per_minute=0.001, burst=10), sessions, "race", clock=clock).wait("k") > 0


def test_two_apps_on_one_database_share_the_limits(db_url: str, files: Any) -> None:
    from fastapi.testclient import TestClient

    from leaderboard.http.api.deps import Settings
    from leaderboard.http.app import create_app

    settings = Settings(db_url=db_url, team_token_checks=Rate(per_minute=0.001, burst=4), max_concurrent_uploads=1)
    first, second = (TestClient(create_app(settings)) for _ in range(2))
    h = team(db_url, "ada")
    codes = [c.get("/api/quota", headers=h).status_code for c in (first, second, first, second, first, second)]
    assert codes == [200, 200, 200, 200, 429, 429]  # 4 for the team in all, not 4 in each process
    lim_a, lim_b = first.app.state.dp.limits, second.app.state.dp.limits  # type: ignore[attr-defined]
    slot = lim_a.start_upload(7)
    with pytest.raises(Exception, match="too many uploads at once"):
        lim_b.start_upload(7)
    assert lim_b.start_upload(8) is not None  # another team
    lim_a.end_upload(7, slot)
    lim_b.end_upload(7, lim_b.start_upload(7))


SERVE = """
import sys, uvicorn
from leaderboard.http.api.deps import Settings
from leaderboard.http.app import create_app
from leaderboard.http.limits import Rate
slow = Rate(per_minute=0.001, burst=20)  # 20 wrong tokens, then (for this test) no more
uvicorn.run(create_app(Settings(db_url=sys.argv[1], failed_tokens=slow)), host="127.0.0.1", port=int(sys.argv[2]))
"""


def serve(db_url: str, home: Path) -> tuple[subprocess.Popen[bytes], str]:
    """Start a server process on ``db_url`` (the test's data home) and wait until it answers."""
    from tests.server.test_faults import REPO, free_port

    port = free_port()
    env = dict(os.environ) | {"PYTHONPATH": str(REPO), "DATAPERF_HOME": str(home)}
    proc = subprocess.Popen(
        [sys.executable, "-c", SERVE, db_url, str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(600):
        assert proc.poll() is None, "the server exited"
        try:
            if httpx.get(f"{url}/api/health", timeout=2).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise AssertionError("the server did not start")


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_two_server_processes_share_the_wrong_token_allowance(db_url: str, home: Path) -> None:
    """Two ``uvicorn`` processes on one database: 20 wrong tokens from one address in all."""
    from tests.server.test_faults import stop

    a, url_a = serve(db_url, home)
    try:
        b, url_b = serve(db_url, home)
    except BaseException:
        stop(a)
        raise
    try:
        codes = [
            httpx.get(f"{url}/api/quota", headers={"Authorization": f"Bearer dp_wrong{i}"}, timeout=30).status_code
            for i in range(15)
            for url in (url_a, url_b)
        ]
    finally:
        stop(a)
        stop(b)
    assert codes.count(401) == 20 and codes.count(429) == 10 and set(codes[:20]) == {401}
