"""A challenge on data dataperf does not ship, run as an organizer and a participant would, on a
live server with a worker: check, add to the server (prepare, keep the private bundle), download
the public bundle, baseline, evaluate locally (dev split), submit, score on the hidden split,
see it on the leaderboard page; retire. Nothing served ever holds a private label."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pyarrow.parquet as pq
import pytest

from tests.e2e.conftest import ROOT, Live, _wait_http, free_port
from tests.hosting_data import write_digits_challenge, write_digits_dual

pytestmark = pytest.mark.slow  # a live server and worker as subprocesses


@pytest.fixture(scope="module")
def hosting(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """Start a server and a worker on an empty database, with no challenge but the built-in ones
    left out: the organizer adds theirs."""
    root = tmp_path_factory.mktemp("hosting")
    home = root / "home"
    home.mkdir()
    drop = ("DATAPERF_DB", "DATAPERF_SERVER", "DATAPERF_TOKEN", "DATAPERF_CHALLENGES")
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env |= {
        "DATAPERF_HOME": str(home),
        "DATAPERF_BUILTIN_CHALLENGES": "0",
        "PYTHONPATH": os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep),
    }
    db = f"sqlite:///{home / 'server.db'}"
    logs = root / "logs"
    logs.mkdir()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    procs = []
    with (logs / "serve.log").open("wb") as slog, (logs / "worker.log").open("wb") as wlog:
        serve = subprocess.Popen(
            [sys.executable, "-m", "dataperf.cli", "serve", "--port", str(port), "--db", db],
            env=env,
            stdout=slog,
            stderr=subprocess.STDOUT,
        )
        procs.append(serve)
        try:
            _wait_http(f"{url}/api/health", serve, logs / "serve.log")
            worker = [sys.executable, "-m", "dataperf.cli", "worker", "--db", db, "--poll", "0.2"]
            procs.append(subprocess.Popen(worker, env=env, stdout=wlog, stderr=subprocess.STDOUT))
            yield Live(url, db, home, env, logs)
        finally:
            for p in procs:
                p.terminate()
            for p in procs:
                try:
                    p.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    p.kill()


def test_an_organizer_hosts_and_a_participant_competes(hosting: Live, tmp_path: Path) -> None:
    live = hosting
    mine = tmp_path / "organizer"
    spec = write_digits_challenge(mine)
    dual = write_digits_dual(mine)
    assert "what participants see" in live.cli("challenges", "check", str(spec)).stdout
    # a refused spec registers nothing and leaves no data behind
    broken = tmp_path / "broken"
    write_digits_challenge(broken)
    (broken / "dev.csv").write_text("id,label,public_label,px0\n1,3,3,nan\n")
    refused = live.cli("admin", "add-challenge", str(broken / "digits-selection.yaml"), "--db", live.db, check=False)
    assert refused.returncode == 2 and "dev.csv, row 1" in refused.stderr
    assert not (live.home / "data" / "digits-selection").exists()
    assert not (live.home / "challenges").exists() or not any((live.home / "challenges").iterdir())
    # the organizer adds the challenge and its dual to the running server
    live.cli("admin", "add-challenge", str(spec), "--db", live.db)
    live.cli("admin", "add-challenge", str(dual), "--db", live.db)
    listed = httpx.get(f"{live.url}/api/challenges").json()["challenges"]
    assert sorted(c["id"] for c in listed) == ["digits-selection", "digits-testset"]
    assert "digits-selection" in httpx.get(f"{live.url}/").text
    # the participant downloads the public bundle and checks its sha256
    got = httpx.get(f"{live.url}/api/challenges/digits-selection/bundle")
    assert got.status_code == 200
    info = httpx.get(f"{live.url}/api/challenges/digits-selection/bundle/sha256").json()
    import hashlib

    assert info["sha256"] == hashlib.sha256(got.content).hexdigest() == got.headers["x-content-sha256"]
    theirs = tmp_path / "participant"
    with tarfile.open(fileobj=io.BytesIO(got.content), mode="r:gz") as tar:
        for m in tar.getmembers():
            assert "test-hidden" not in m.name
            if m.name.endswith(".parquet"):
                table = pq.read_table(io.BytesIO(tar.extractfile(m).read()))  # type: ignore[union-attr]
                assert "label" not in table.column_names, m.name
        tar.extractall(theirs, filter="data")
    bundle = theirs / "digits-selection-v1"
    penv = live.env | {"DATAPERF_HOME": str(bundle)}

    def participant(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return Live(live.url, live.db, bundle, penv, live.logs).cli(
            "--challenges", str(bundle / "challenges"), *args, check=check
        )

    sub = tmp_path / "mine.csv"
    participant("baseline", "digits-selection", "crossval", "-o", str(sub))
    local = participant("evaluate", "digits-selection", str(sub), "--output", str(tmp_path / "local.json"))
    assert "scored with the public bundle: on the public dev split" in local.stdout
    local_result = json.loads((tmp_path / "local.json").read_text())
    assert local_result["provenance"]["data_bundle"] == "public"
    # submit to the server: scored with the private bundle, over the suite (the hidden split S0)
    token = live.cli("admin", "create-team", "grace", "--db", live.db).stdout.strip().splitlines()[-1]
    participant("login", live.url, "--token", token)
    done = participant("submit", "digits-selection", str(sub), "--wait")
    assert ": done" in done.stdout
    live.cli("admin", "publish", "digits-selection", "--db", live.db)
    board = httpx.get(f"{live.url}/api/challenges/digits-selection/leaderboard").json()
    row = next(r for r in board["rows"] if r["team"] == "grace")
    assert row["score"] is not None and 0.5 < row["score"] <= 1.0
    page = httpx.get(f"{live.url}/challenges/digits-selection").text
    assert "grace" in page
    # retired: off the lists, its submissions kept
    live.cli("admin", "retire", "digits-selection", "--db", live.db)
    listed = httpx.get(f"{live.url}/api/challenges").json()["challenges"]
    assert [c["id"] for c in listed] == ["digits-testset"]
    assert "grace" in httpx.get(f"{live.url}/challenges/digits-selection").text
