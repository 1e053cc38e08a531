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

from collections.abc import Sequence
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
    ti = {d: i for i, d in enumerate(train)}
    si = {d: i for i, d in enumerate(test)}
    cols = np.asarray([si[s] for s in suite if s in si], dtype=np.int64)
    sub = a[:, cols] if len(cols) else np.full((len(train), 0), np.nan)
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
    key = -score if direction == "max" else score
    key = np.where(np.isnan(key), np.inf, key)
    order = np.lexsort((np.arange(len(train)), key, ~complete))
    ranked = [train[i] for i in order]
    top = [train[i] for i in order if complete[i]][:k]
    top_idx = np.asarray([ti[d] for d in top], dtype=np.int64)
    diff: dict[str, float | None] = {}
    if len(top_idx):
        values = h[top_idx, :].mean(axis=0)
        diff = {s: (None if np.isnan(values[j]) else float(values[j])) for s, j in si.items()}
    else:
        diff = dict.fromkeys(test)
    member_diffs = [diff.get(s) for s in suite]
    known = [d for d in member_diffs if d is not None]
    return Standings(
        train=ranked,
        score={d: (None if np.isnan(score[i]) else float(score[i])) for d, i in ti.items()},
        worst={d: (None if not have[i].any() else float(worst[i])) for d, i in ti.items()},
        complete={d: bool(complete[i]) for d, i in ti.items()},
        rank={d: r + 1 for r, d in enumerate(ranked)},
        suite=list(suite),
        top_k=top,
        difficulty=diff,
        bar=min(known) if known and len(known) == len(member_diffs) else None,
    )


def hardness(cell: tuple[str, str, float] | tuple[str, str, float, float | None], direction: str) -> float:
    """Return a cell's hardness: its stored one, else what its metric says (see the rules)."""
    if len(cell) > 3 and cell[3] is not None:
        return float(cell[3])
    return 1.0 - float(cell[2]) if direction == "max" else float(cell[2])
