"""Helpers of the Dask tests: seed a ratchet database without computing any cell, read cells."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from baselines import get_baseline
from leaderboard.ratchet import cells
from leaderboard.ratchet.problem import Problem
from leaderboard.ratchet.steps import Ratchet
from leaderboard.storage.tables import Cell, FittedModel

PROBLEM = "tiny-selection"


def seed(sessions: sessionmaker[Session], p: Problem, n_train: int, n_tests: int) -> None:
    """Store S0 plus ``n_tests - 1`` organizer test sets in the suite and ``n_train`` training
    sets, computing no cell (test sets first: no model exists to score them)."""
    r = Ratchet(sessions, p)
    for i in range(n_tests - 1):
        table = get_baseline("test-set", "random").build(p.test_spec, p.data, 500 + i)
        r.add_test_set(table, organizer=True)
    with sessions.begin() as s:
        for i in range(n_train):
            name = ("random", "balanced")[i % 2]
            cells.ensure_dataset(s, p, "train", get_baseline("training-set", name).build(p.train_spec, p.data, 100 + i))


def matrix(sessions: sessionmaker[Session]) -> dict[tuple[str, str], tuple[dict[str, Any], float]]:
    """Return every cell as {(train, test): (scores, mean)}."""
    with sessions() as s:
        q = select(Cell.train_sha256, Cell.test_sha256, Cell.scores, Cell.mean)
        return {(a, b): (sc, m) for a, b, sc, m in s.execute(q)}


def models(sessions: sessionmaker[Session]) -> dict[tuple[str, str, int], bytes]:
    """Return every stored fitted model's weights bytes by (train, task, seed)."""
    with sessions() as s:
        q = select(FittedModel.train_sha256, FittedModel.task, FittedModel.seed, FittedModel.weights)
        return {(a, t, sd): w for a, t, sd, w in s.execute(q)}


def cell_rows(sessions: sessionmaker[Session]) -> tuple[int, int]:
    """Return (cell rows, distinct (train, test, version) keys)."""
    with sessions() as s:
        rows = s.execute(select(func.count()).select_from(Cell)).scalar_one()
        keys = select(Cell.train_sha256, Cell.test_sha256, Cell.evaluator_version).distinct().subquery()
        distinct = s.execute(select(func.count()).select_from(keys)).scalar_one()
    return int(rows), int(distinct)
