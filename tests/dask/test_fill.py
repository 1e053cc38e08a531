"""The ratchet on a Dask LocalCluster of 2 worker processes: the same matrix as the local
ratchet, cell for cell; a killed worker or a lost scheduler loses nothing and duplicates nothing."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from dataperf.errors import RunnerError
from leaderboard.ratchet.parallel import fill
from leaderboard.ratchet.problem import Problem
from leaderboard.ratchet.steps import Ratchet
from tests.dask.conftest import make_db, start_cluster
from tests.dask.dask_helpers import PROBLEM, cell_rows, matrix, models, seed
from tests.databases import BACKENDS


@pytest.mark.parametrize("backend", BACKENDS)
def test_fill_equals_local_ratchet(backend: str, tiny_env: Path, tmp_path: Path, client) -> None:
    p = Problem.load(PROBLEM)
    local = make_db("sqlite", tmp_path, "local.db")
    seed(local, p, n_train=8, n_tests=4)
    Ratchet(local, p).rebuild([])  # the local path: fit every stored training set, score the suite
    remote = make_db(backend, tmp_path, "dask.db")
    seed(remote, p, n_train=8, n_tests=4)

    counters = fill(remote, p, client, group_size=3)

    per_fit = len(p.tasks) * len(p.seeds)
    assert counters.cells_computed == 8 * 4
    assert counters.fits <= 2 * 8 * per_fit  # two groups per training set: at most two fits (workers cache them)
    want, got = matrix(local), matrix(remote)
    assert len(want) == 32 and got == want  # scores per task and seed, and means, bit for bit
    assert models(remote) == models(local)  # the fitted models too, byte for byte
    again = fill(remote, p, client)
    assert again.cells_computed == 0 and again.fits == 0 and again.cells_reused == 32


def test_fill_reuses_stored_models(tiny_env: Path, tmp_path: Path, client) -> None:
    p = Problem.load(PROBLEM)
    sessions = make_db("sqlite", tmp_path, "dask.db")
    seed(sessions, p, n_train=4, n_tests=2)
    fill(sessions, p, client)
    extra = Ratchet(sessions, p)
    from baselines import get_baseline

    table = get_baseline("test-set", "hard").build(p.test_spec, p.data, 9)
    with sessions.begin() as s:
        from leaderboard.ratchet import cells

        ds, _ = cells.ensure_dataset(s, p, "test", table)
    counters = fill(sessions, p, client, tests=[ds.digest])
    assert counters.cells_computed == 4 and counters.fits == 0  # models came from the database
    assert extra is not None and cell_rows(sessions) == (12, 12)


def test_lost_scheduler_leaves_work_resumable(tiny_env: Path, tmp_path: Path, client) -> None:
    from distributed import Client

    p = Problem.load(PROBLEM)
    sessions = make_db("sqlite", tmp_path, "dask.db")
    seed(sessions, p, n_train=12, n_tests=4)
    doomed = start_cluster(workers=1)
    with Client(doomed) as lost, pytest.raises(RunnerError, match="Dask"):
        fill(sessions, p, lost, group_size=1, progress=lambda m: "written" in m and doomed.close())
    written, distinct = cell_rows(sessions)
    assert 0 < written < 48 and written == distinct  # whole cells only, each once

    counters = fill(sessions, p, client, group_size=1)  # another scheduler resumes the work

    assert counters.cells_computed == 48 - written and counters.cells_reused == written
    assert cell_rows(sessions) == (48, 48)


def test_killed_worker_every_cell_exactly_once(tiny_env: Path, tmp_path: Path, client) -> None:
    p = Problem.load(PROBLEM)
    sessions = make_db("sqlite", tmp_path, "dask.db")
    seed(sessions, p, n_train=12, n_tests=4)
    victim = sorted(client.run(os.getpid).values())[0]
    killed: list[int] = []

    def kill_once(message: str) -> None:
        if "written" in message and not killed:
            os.kill(victim, signal.SIGKILL)  # mid-fill: the other tasks are queued or running
            killed.append(victim)

    counters = fill(sessions, p, client, group_size=1, progress=kill_once)

    assert killed and victim not in client.run(os.getpid).values()
    assert counters.cells_computed >= 48
    assert cell_rows(sessions) == (48, 48)  # every cell, exactly once


def test_worker_with_other_packages_refuses(tiny_env: Path) -> None:
    from dataperf.errors import EvaluationError
    from leaderboard.ratchet.dask_tasks import Group, ProblemRef, compute_group

    p = Problem.load(PROBLEM)
    ref = ProblemRef(p.train_spec, p.test_spec, str(p.data.folder), "other", {"scikit-learn": "0.0"})
    with pytest.raises(EvaluationError, match="scikit-learn"):
        compute_group(ref, Group("t" * 64, b"", []), {})
