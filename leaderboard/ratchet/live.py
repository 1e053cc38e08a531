"""Standings kept up to date incrementally: each process holds a problem's cell matrix and reads
only the sets and cells written since its last look.

Every ratchet step needs the standings (the score and rank of a new training set, the difficulty
of a new test set, the top-k). Recomputing them from every cached cell reads the whole problem
back: about 6 s at 10,000 training sets x 200 suite members (``benchmarks/rescore_scale.py``).
:func:`standings` instead keeps, per problem and evaluator version, the matrices of
:func:`leaderboard.arithmetic.standings.matrices` in memory and adds the rows written since
(ids above the last seen), then ranks with the same arithmetic, so it returns exactly what
:func:`leaderboard.ratchet.steps.load_standings` would.

Sets and cells are never updated or deleted, so what this process holds is always a subset of
what is committed. Ids are not committed in order (two workers' transactions can commit out of
order), so each look also counts the problem's sets and cells; a count above what is held (a
row with a lower id committed late) or a highest id below the last seen (the database was
replaced) makes it read everything again, as a from-scratch load would.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from leaderboard.arithmetic.standings import Standings, from_matrices, hardness
from leaderboard.ratchet import cells as cells_repo
from leaderboard.storage.tables import Cell, Dataset


@dataclass
class _Held:
    """One problem's sets and cells at one evaluator version, as far as this process has read."""

    direction: str
    train: list[str] = field(default_factory=list)
    test: list[str] = field(default_factory=list)
    ti: dict[str, int] = field(default_factory=dict)
    si: dict[str, int] = field(default_factory=dict)
    a: np.ndarray = field(default_factory=lambda: np.full((0, 0), np.nan))
    h: np.ndarray = field(default_factory=lambda: np.full((0, 0), np.nan))
    last_set: int = 0
    last_cell: int = 0
    sets: int = 0
    cells: int = 0

    def grow(self) -> None:
        """Make room for every known set (capacity doubles, so growing costs amortized O(1))."""
        rows, cols = self.a.shape
        if rows >= len(self.train) and cols >= len(self.test):
            return
        shape = (max(rows, len(self.train)) * 2 or 1, max(cols, len(self.test)) * 2 or 1)
        for name in ("a", "h"):
            old, new = getattr(self, name), np.full(shape, np.nan)
            new[: old.shape[0], : old.shape[1]] = old
            setattr(self, name, new)


_HELD: dict[tuple[str, str, str], _Held] = {}
_LOCK = threading.Lock()


def forget() -> None:
    """Drop every held matrix (the next look reads everything again)."""
    with _LOCK:
        _HELD.clear()


def _counts(s: Session, problem: str, version: str) -> tuple[int, int, int]:
    sets = s.execute(select(func.count()).select_from(Dataset).where(Dataset.problem == problem)).scalar_one()
    n, top = s.execute(
        select(func.count(), func.max(Cell.id)).where(Cell.problem == problem, Cell.evaluator_version == version)
    ).one()
    return int(sets), int(n), int(top or 0)


def _read(s: Session, held: _Held, problem: str, version: str) -> None:
    """Add the sets and cells with ids above those last seen to ``held``."""
    new_sets = s.execute(
        select(Dataset.id, Dataset.digest, Dataset.role)
        .where(Dataset.problem == problem, Dataset.id > held.last_set)
        .order_by(Dataset.id)
    ).all()
    for sid, digest, role in new_sets:
        names, index = (held.train, held.ti) if role == "train" else (held.test, held.si)
        index[digest] = len(names)
        names.append(digest)
        held.last_set, held.sets = max(held.last_set, sid), held.sets + 1
    held.grow()
    rows = s.execute(
        select(Cell.id, Cell.train_sha256, Cell.test_sha256, Cell.mean, Cell.hardness_mean).where(
            Cell.problem == problem, Cell.evaluator_version == version, Cell.id > held.last_cell
        )
    ).all()
    for cid, t, u, mean, hm in rows:
        i, j = held.ti.get(t), held.si.get(u)
        if i is None or j is None:
            # Its set committed after the sets were read: not held, so the counts differ and
            # the next look reads everything again (a from-scratch load leaves it out too).
            continue
        held.last_cell, held.cells = max(held.last_cell, cid), held.cells + 1
        held.a[i, j] = mean
        held.h[i, j] = hardness((t, u, mean, hm), held.direction)


def standings(s: Session, problem: str, version: str, k: int, direction: str = "max") -> Standings:
    """Return the standings of ``problem`` from the cells of evaluator ``version`` (top-``k``),
    equal to :func:`leaderboard.ratchet.steps.load_standings`'s, reading only what was written
    since this process last looked (see the module's docstring)."""
    key = (str(s.get_bind().engine.url), problem, version)
    with _LOCK:
        held = _HELD.get(key)
        if held is None or held.direction != direction:
            held = _HELD[key] = _Held(direction)
        _read(s, held, problem, version)
        sets, n, top = _counts(s, problem, version)
        if sets != held.sets or n != held.cells or top < held.last_cell:
            held = _HELD[key] = _Held(direction)  # a row committed late, or another database
            _read(s, held, problem, version)
        suite = cells_repo.suite_digests(s, problem)
        nt, ns = len(held.train), len(held.test)
        return from_matrices(held.train, held.test, suite, held.a[:nt, :ns], held.h[:nt, :ns], k, direction)
