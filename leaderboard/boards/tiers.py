"""Tiers of a board: which neighbours a paired bootstrap over the test rows can tell apart.

Every submission of a board has, for each test row shared by all of them, a per-row score (its
fixed models' correctness on that row, averaged over the model seeds). One bootstrap draw
resamples the shared rows with replacement (a generator with a fixed seed, so a board is the
same on every build) and recomputes each submission's mean on the draw; the same draw serves
every submission (paired). For two neighbours on the board, ``P(ordered as shown)`` is the share
of draws in which the upper one is better (a tie counts half). A new **tier** starts below a
neighbour when that probability is at least :data:`CONFIDENCE`; submissions in one tier cannot
be told apart by the test rows.

Per-row correctness is stored compactly, one bit per (seed, row) (:mod:`dataperf.hits`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from dataperf.hits import unpack_hits

CONFIDENCE = 0.95
"""A new tier starts where P(ordered as shown) reaches this."""
DRAWS = 1000
"""Bootstrap draws per board."""
SEED = 20261130
"""The fixed seed of the draws."""


@dataclass(frozen=True)
class Tiers:
    """The tiers of a board, in board order."""

    tier: list[int]
    """Each submission's tier (1: the top tier)."""
    p_ordered: list[float | None]
    """For each submission, P(ordered as shown) against the one below it (None for the last)."""


@lru_cache(maxsize=4)
def draw_counts(rows: int, draws: int = DRAWS, seed: int = SEED) -> np.ndarray:
    """Return how often each row is drawn in each bootstrap draw: ``(rows, draws)`` float32
    (kept for the next board of the same size; read-only)."""
    rng = np.random.default_rng(seed)
    counts = rng.multinomial(rows, np.full(rows, 1.0 / rows), size=draws) if rows else np.zeros((draws, 0))
    out = np.ascontiguousarray(counts.T, dtype=np.float32)
    out.setflags(write=False)
    return out


def p_ordered(per_row: np.ndarray, higher_is_better: bool = True, draws: int = DRAWS, seed: int = SEED) -> np.ndarray:
    """Return P(ordered as shown) for each pair of neighbours of a board.

    ``per_row[i, r]`` is submission ``i``'s score on shared test row ``r``, submissions in board
    order (best first). The result has one entry per neighbour pair (``len - 1``).
    """
    scores = np.asarray(per_row, dtype=np.float32)
    n_sub, n_rows = scores.shape
    if n_sub < 2:
        return np.zeros(0)
    if n_rows == 0:
        return np.full(n_sub - 1, 0.5)
    means = scores @ draw_counts(n_rows, draws, seed)  # (submissions, draws): sums on each draw
    diff = means[:-1] - means[1:]
    if not higher_is_better:
        diff = -diff
    return np.asarray(((diff > 0).sum(axis=1) + 0.5 * (diff == 0).sum(axis=1)) / draws, dtype=np.float64)


def tiers(per_row: np.ndarray, higher_is_better: bool = True, confidence: float = CONFIDENCE) -> Tiers:
    """Return the tiers of a board whose submissions (in board order) have ``per_row`` scores."""
    probs = p_ordered(per_row, higher_is_better)
    tier, out = 1, [1]
    for p in probs:
        if p >= confidence:
            tier += 1
        out.append(tier)
    shown: list[float | None] = [float(p) for p in probs]
    return Tiers(out[: len(per_row)], [*shown, None] if len(per_row) else [])


def assign(rows: list[dict[str, Any]], per_row: dict[int, np.ndarray]) -> None:
    """Set ``tier`` and ``p_next`` on each board row (best first) from ``per_row``, keyed by the
    row's submission id: its per-row correctness on the rows every submission shares. Rows
    without one, or whose length differs from the first's, get None; tiers are over the others
    in board order."""
    known = [r for r in rows if r["submission"] in per_row]
    if known:
        width = len(per_row[known[0]["submission"]])
        known = [r for r in known if len(per_row[r["submission"]]) == width]
    for r in rows:
        r["tier"], r["p_next"] = None, None
    if not known:
        return
    found = tiers(np.stack([per_row[r["submission"]] for r in known]))
    for r, t, p in zip(known, found.tier, found.p_ordered, strict=True):
        r["tier"], r["p_next"] = t, p


def mean_hits(hits: dict[str, str], seeds: int, tasks: list[str]) -> np.ndarray:
    """Return per-row correctness averaged over seeds, the tasks' rows one after another."""
    parts = [unpack_hits(hits[t], seeds).mean(axis=0) for t in tasks]
    return np.concatenate(parts) if parts else np.zeros(0)
