"""Scores, ranks, top-k and difficulties, recomputed from cached cells (no evaluation).

Rules (DESIGN.md, "The data ratchet"; choices written down here):

- A training set's **score** is the mean of its cells over the active suite; its **worst** cell
  is shown beside it. Only training sets with a cell for every suite member are *complete*;
  complete ones rank first, by score (best first for a ``max`` metric), ties by arrival.
- The **top-k** are the first k complete training sets.
- A test set's **difficulty** is the mean over the top-k of each cell's *hardness*: the test-set
  challenge's own measure of the same models on the same rows (``balanced-error``: one minus
  the mean per-class recall, so rows of a class the models get right never make a set look
  harder). A cell stored without one (an evaluator version that did not measure it) counts
  ``1 - A[t, s]`` (for a ``min`` metric, ``A[t, s]`` itself), the rule of those versions.
  None while the top-k is empty or a top-k cell is missing.
- An **empty suite** is allowed: no training set is complete, every score and worst cell is
  None, training sets rank by arrival, the top-k is empty and every difficulty and the bar are None.
- The **bar** is the difficulty of the easiest suite member; a test set is accepted when its
  difficulty is at least ``bar + margin``. Suite members are never removed, so S0 stays.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Standings:
    """Everything the leaderboards show, derived from one cell matrix."""

    train: list[str]
    """Training-set digests, best first."""
    score: dict[str, float | None]
    worst: dict[str, float | None]
    complete: dict[str, bool]
    rank: dict[str, int]
    suite: list[str]
    top_k: list[str]
    difficulty: dict[str, float | None]
    bar: float | None


def best_of(values: Iterable[float | None], direction: str = "max") -> float | None:
    """Return the best of ``values`` under the metric's ``direction`` (Nones skipped; None when
    none is left)."""
    known = [v for v in values if v is not None]
    if not known:
        return None
    return max(known) if direction == "max" else min(known)


def compute(
    train: Sequence[str],
    test: Sequence[str],
    suite: Sequence[str],
    cells: Sequence[tuple[str, str, float] | tuple[str, str, float, float | None]],
    k: int,
    direction: str = "max",
) -> Standings:
    """Return the standings of ``train`` (in arrival order) and ``test`` sets given ``cells``
    as (train digest, test digest, value) triples, or (train, test, value, hardness) where the
    cell's hardness is known, the active ``suite`` and top-``k`` size."""
    a, h = matrices(train, test, cells, direction)
    return from_matrices(train, test, suite, a, h, k, direction)


def matrices(
    train: Sequence[str],
    test: Sequence[str],
    cells: Sequence[tuple[str, str, float] | tuple[str, str, float, float | None]],
    direction: str = "max",
) -> tuple[np.ndarray, np.ndarray]:
    """Return the cell matrix and the hardness matrix (``len(train) x len(test)``, NaN where no
    cell) of ``cells`` (see :func:`compute`); cells of unknown sets are left out."""
    ti = {d: i for i, d in enumerate(train)}
    si = {d: i for i, d in enumerate(test)}
    a = np.full((len(train), len(test)), np.nan)
    h = np.full((len(train), len(test)), np.nan)
    if cells:
        rows = [(ti[c[0]], si[c[1]], c[2], hardness(c, direction)) for c in cells if c[0] in ti and c[1] in si]
        if rows:
            r, c, v, hv = (np.asarray(x, dtype=np.float64) for x in zip(*rows, strict=True))
            a[r.astype(np.int64), c.astype(np.int64)] = v
            h[r.astype(np.int64), c.astype(np.int64)] = hv
    return a, h


@dataclass(frozen=True)
class Ranked:
    """The standings as arrays (rows: training sets, columns: test sets, in arrival order)."""

    score: np.ndarray
    """Mean over the suite members it has a cell for (NaN: none)."""
    worst: np.ndarray
    """Worst cell over the suite (NaN: none)."""
    complete: np.ndarray
    order: np.ndarray
    """Training-set indices, best first."""
    top: np.ndarray
    """The top-k's indices, best first."""
    difficulty: np.ndarray
    """Each test set's difficulty (NaN: unknown)."""
    bar: float | None


def ranked(
    a: np.ndarray, h: np.ndarray, cols: np.ndarray, k: int, direction: str = "max", members: int | None = None
) -> Ranked:
    """Return the standings of cell matrix ``a`` and hardness matrix ``h`` (see :func:`matrices`)
    over the suite members in columns ``cols`` (``members``: how many the suite has, when some
    have no column yet: then there is no bar), top-``k``, as arrays."""
    n_train = a.shape[0]
    sub = a[:, cols] if len(cols) else np.full((n_train, 0), np.nan)
    have = ~np.isnan(sub)
    complete = have.all(axis=1) & (sub.shape[1] > 0)
    counts = have.sum(axis=1)
    sums = np.where(have, sub, 0.0).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        score = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
    # ``initial`` makes the reductions defined for an empty suite (zero columns): no cell, no worst.
    if direction == "max":
        worst = np.where(have, sub, np.inf).min(axis=1, initial=np.inf)
    else:
        worst = np.where(have, sub, -np.inf).max(axis=1, initial=-np.inf)
    worst = np.where(have.any(axis=1), worst, np.nan)
    key = -score if direction == "max" else score
    key = np.where(np.isnan(key), np.inf, key)
    order = np.lexsort((np.arange(n_train), key, ~complete))
    top = order[complete[order]][:k]
    if len(top):
        difficulty = h[top, :].mean(axis=0)
    else:
        difficulty = np.full(a.shape[1], np.nan)
    member_diffs = difficulty[cols] if len(cols) else np.zeros(0)
    known = len(member_diffs) and not np.isnan(member_diffs).any() and (members is None or members == len(cols))
    return Ranked(score, worst, complete, order, top, difficulty, float(member_diffs.min()) if known else None)


def from_matrices(
    train: Sequence[str],
    test: Sequence[str],
    suite: Sequence[str],
    a: np.ndarray,
    h: np.ndarray,
    k: int,
    direction: str = "max",
) -> Standings:
    """Return the standings of ``train`` and ``test`` sets (in arrival order) given their cell
    matrix ``a`` and hardness matrix ``h`` (rows: ``train``, columns: ``test``, NaN where no cell;
    see :func:`matrices`), the active ``suite`` and top-``k`` size."""
    si = {d: i for i, d in enumerate(test)}
    cols = np.asarray([si[s] for s in suite if s in si], dtype=np.int64)
    r = ranked(a, h, cols, k, direction, members=len(suite))
    ranked_train = [train[i] for i in r.order]
    return Standings(
        train=ranked_train,
        score={d: (None if np.isnan(r.score[i]) else float(r.score[i])) for i, d in enumerate(train)},
        worst={d: (None if np.isnan(r.worst[i]) else float(r.worst[i])) for i, d in enumerate(train)},
        complete={d: bool(r.complete[i]) for i, d in enumerate(train)},
        rank={d: n + 1 for n, d in enumerate(ranked_train)},
        suite=list(suite),
        top_k=[train[i] for i in r.top],
        difficulty={d: (None if np.isnan(r.difficulty[j]) else float(r.difficulty[j])) for d, j in si.items()},
        bar=r.bar,
    )


def hardness(cell: tuple[str, str, float] | tuple[str, str, float, float | None], direction: str) -> float:
    """Return a cell's hardness: its stored one, else what its metric says (see the rules)."""
    if len(cell) > 3 and cell[3] is not None:
        return float(cell[3])
    return 1.0 - float(cell[2]) if direction == "max" else float(cell[2])
