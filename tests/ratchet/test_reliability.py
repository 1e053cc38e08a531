"""Concurrent writers and killed processes leave the database whole."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from leaderboard.jobs.service import process_submission, recover_stale
from leaderboard.storage.tables import Cell, FittedModel, Submission
from tests.ratchet.ratchet_helpers import baseline_file, count

TRAIN, TEST = "tiny-selection", "tiny-testset"
ROOT = Path(__file__).resolve().parents[2]

WRITER = """
import sys
from leaderboard.storage.db import session_factory
from leaderboard.jobs.service import ingest_local
sf = session_factory(sys.argv[1])
for i, path in enumerate(sys.argv[3:]):
    challenge = "tiny-testset" if "tiny-testset" in path else "tiny-selection"
    ingest_local(sf, challenge, path, sys.argv[2] + str(i))
"""

SLOW = """
import sys, time
import leaderboard.ratchet.cells as cells
from leaderboard.storage.db import session_factory
from leaderboard.jobs.service import process_submission
real = cells.write_cells
def slow(*a, **k):
    print("computing", flush=True)
    time.sleep(60)
    real(*a, **k)
cells.write_cells = slow
process_submission(session_factory(sys.argv[1]), int(sys.argv[2]))
"""


def _env() -> dict[str, str]:
    return os.environ | {"PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}


@pytest.mark.slow  # two evaluating processes
def test_two_processes_writing_the_same_cells(db_url: str, sessions, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    trains = [
        str(baseline_file(TRAIN, "training-set", n, s, tmp_path / "train"))
        for n, s in [("random", 0), ("balanced", 0), ("random", 1)]
    ]
    tests = [str(baseline_file(TEST, "test-set", "random", s, tmp_path)) for s in (0, 1)]
    paths = trains + tests
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, db_url, f"team{k}-", *paths], env=_env()) for k in (1, 2)]
    for p in procs:
        assert p.wait(timeout=300) == 0
    with sessions() as s:
        keys = s.execute(select(Cell.train_sha256, Cell.test_sha256, Cell.evaluator_version)).all()
        n_train = s.execute(select(func.count(func.distinct(FittedModel.train_sha256)))).scalar_one()
        suite = s.execute(
            select(func.count()).select_from(Cell).where(Cell.train_sha256.in_(select(FittedModel.train_sha256)))
        ).scalar_one()
    assert len(keys) == len(set(keys))  # no duplicate
    assert n_train == 3
    # no loss: every training set has a cell against S0 and against both test sets
    assert suite == 3 * 3 and count(sessions, Submission) == 10


@pytest.mark.slow  # an evaluating process, killed
def test_killed_process_leaves_no_partial_cell_and_no_stuck_submission(db_url: str, sessions, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from dataperf.challenges import get_challenge
    from leaderboard.jobs.service import add_queued, ensure_challenge, ensure_team
    from leaderboard.storage.blobs import store_file
    from leaderboard.storage.tables import Challenge, Team  # noqa: F401 - tables exist

    sha, stored = store_file(baseline_file(TRAIN, "training-set", "random", 0, tmp_path))
    with sessions.begin() as s:
        ensure_challenge(s, get_challenge(TRAIN))
        team = ensure_team(s, "ada")
        sid = add_queued(s, get_challenge(TRAIN), team.id, "f.parquet", sha, stored).id
    proc = subprocess.Popen(
        [sys.executable, "-c", SLOW, db_url, str(sid)], env=_env(), stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "computing"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    with sessions() as s:
        assert s.get(Submission, sid).status == "running"  # type: ignore[union-attr]
    assert count(sessions, Cell) == 0  # nothing half-written
    time.sleep(0.05)
    assert recover_stale(sessions, older_than_s=0) == [sid]
    process_submission(sessions, sid)
    with sessions() as s:
        row = s.get(Submission, sid)
        assert row is not None and row.status == "done" and row.attempts == 2
        cell = s.execute(select(Cell)).scalar_one()
    assert all(len(per) == 2 for per in cell.scores.values()) and len(cell.scores) == 3
