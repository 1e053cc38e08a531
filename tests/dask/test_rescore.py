"""``dataperf rescore --scheduler``: the ratchet's missing cells computed on the cluster, the
same matrix and leaderboard diffs as the local rescore."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import select

from dataperf.cli import main
from dataperf.runners.dask import ENV_SCHEDULER
from leaderboard.boards.diffs import rescore
from leaderboard.ratchet.problem import Problem
from leaderboard.storage.tables import RatchetEvent
from tests.dask.conftest import make_db
from tests.dask.dask_helpers import PROBLEM, cell_rows, matrix, seed


def test_cli_rescore_on_scheduler_equals_local(tiny_env: Path, tmp_path: Path, client, monkeypatch, capsys) -> None:
    p = Problem.load(PROBLEM)
    local = make_db("sqlite", tmp_path, "local.db")
    seed(local, p, n_train=5, n_tests=3)
    remote = make_db("sqlite", tmp_path, "dask.db")
    seed(remote, p, n_train=5, n_tests=3)
    address = client.scheduler.address
    monkeypatch.setenv(ENV_SCHEDULER, address)  # restored after the test (the CLI sets it too)

    want = rescore(local, challenge_ids=[PROBLEM])
    db = f"sqlite:///{tmp_path / 'dask.db'}"
    assert main(["rescore", "-q", "--json", "--challenge", PROBLEM, "--scheduler", address, "--db", db]) == 0
    assert json.loads(capsys.readouterr().out) == want == []  # same scores: no leaderboard changed

    assert cell_rows(remote) == (15, 15) and matrix(remote) == matrix(local)
    with remote() as s:
        kinds = list(s.execute(select(RatchetEvent.kind).order_by(RatchetEvent.id)).scalars())
    assert kinds[-1] == "rescore"
