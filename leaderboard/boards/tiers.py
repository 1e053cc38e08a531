"""Tiers of a board: which neighbours a paired bootstrap over the test rows can tell apart.

Every submission of a board has, for each test row shared by all of them, a per-row score: how
many of its fixed models (one per seed) got that row right. The rows are bootstrapped in
**strata**, one per test set (a ratchet board's suite members; outside a ratchet, the public
test split), and in **blocks**: a stratum's rows are dealt into :data:`BLOCKS` blocks (row ``r``
into block ``r mod BLOCKS``; a stratum of fewer rows has one block per row), and one bootstrap
draw resamples each stratum's blocks with replacement (a generator seeded with :data:`SEED` and
the stratum's key, so a stratum draws the same way on every board and every build). The same
draw serves every submission (paired). A submission's total on a draw is the sum over strata of
its block totals weighted by how often each block was drawn: an integer, so it does not depend
on the order in which the strata were added, and a board can keep each submission's totals and
add a stratum's share when its cells land (:mod:`leaderboard.boards.held`).

For two neighbours on the board, ``P(ordered as shown)`` is the share of draws in which the
upper one's total is better (a tie counts half). A new **tier** starts below a neighbour when
that probability is at least :data:`CONFIDENCE`; submissions in one tier cannot be told apart
by the test rows.

Per-row correctness is stored compactly, one bit per (seed, row) (:mod:`dataperf.hits`).
"""

from __future__ import annotations

import hashlib
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
BLOCKS = 64
"""The most blocks a stratum's rows are dealt into."""


@dataclass(frozen=True)
class Tiers:
    """The tiers of a board, in board order."""

    tier: list[int]
    """Each submission's tier (1: the top tier)."""
    p_ordered: list[float | None]
    """For each submission, P(ordered as shown) against the one below it (None for the last)."""


def blocks_for(rows: int) -> int:
    """Return how many blocks a stratum of ``rows`` rows is dealt into."""
    return min(rows, BLOCKS)


@lru_cache(maxsize=2048)
def _counts(blocks: int, key: str, draws: int, seed: int) -> np.ndarray:
    stratum = int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "little")
    rng = np.random.default_rng([seed, stratum])
    out = rng.multinomial(blocks, np.full(blocks, 1.0 / blocks), size=draws).T if blocks else np.zeros((0, draws))
    small = np.ascontiguousarray(out, dtype=np.uint8)  # a block is drawn far fewer than 256 times
    small.setflags(write=False)
    return small


def draw_counts(blocks: int, key: str = "", draws: int = DRAWS, seed: int = SEED) -> np.ndarray:
    """Return how often each of a stratum's ``blocks`` blocks is drawn in each bootstrap draw:
    ``(blocks, draws)`` float64 (stratum ``key``: a test set's digest)."""
    return _counts(blocks, key, draws, seed).astype(np.float64)


@lru_cache(maxsize=64)
def _dealt(rows: int) -> tuple[np.ndarray, np.ndarray]:
    """Return the rows ordered block by block and where each block starts in that order."""
    blocks = blocks_for(rows)
    order = np.argsort(np.arange(rows) % blocks, kind="stable")
    starts = np.searchsorted((np.arange(rows) % blocks)[order], np.arange(blocks))
    return order, starts


def block_sums(per_row: np.ndarray) -> np.ndarray:
    """Return each submission's per-row scores (``(submissions, rows)``) summed per block."""
    scores = np.asarray(per_row, dtype=np.float64)
    n_rows = scores.shape[1]
    if n_rows == blocks_for(n_rows):
        return scores
    order, starts = _dealt(n_rows)
    return np.add.reduceat(scores[:, order], starts, axis=1)


def draw_sums(per_row: np.ndarray, key: str = "", draws: int = DRAWS, seed: int = SEED) -> np.ndarray:
    """Return each submission's total on each draw of one stratum (``(submissions, draws)``):
    ``per_row`` its per-row scores on the stratum's rows, ``key`` the stratum's key."""
    sums = block_sums(per_row)
    return sums @ draw_counts(sums.shape[1], key, draws, seed)


def draw_totals(counts: np.ndarray, key: str = "", draws: int = DRAWS, seed: int = SEED) -> np.ndarray:
    """Return :func:`draw_sums` of integer per-row ``counts`` as exact integers (int64). Where
    every total is below 2**24, so is every partial sum of the product (they are non-negative
    integers), and single precision computes it exactly, several times faster."""
    sums = block_sums(counts)
    drawn = _counts(sums.shape[1], key, draws, seed)
    if sums.size and sums.min() >= 0 and float(sums.max()) * sums.shape[1] < 2**24:
        # a draw's block counts add up to the number of blocks: no total exceeds max x blocks
        return (sums.astype(np.float32) @ drawn.astype(np.float32)).astype(np.int64)
    return np.rint(sums @ drawn.astype(np.float64)).astype(np.int64)


def p_from_sums(totals: np.ndarray, higher_is_better: bool = True) -> np.ndarray:
    """Return P(ordered as shown) for each pair of neighbours given each submission's total on
    each draw (``(submissions, draws)``, board order): one entry per neighbour pair."""
    if len(totals) < 2:
        return np.zeros(0)
    diff = totals[:-1] - totals[1:]
    draws = totals.shape[1]
    if draws == 0:
        return np.full(len(totals) - 1, 0.5)
    # (wins + ties / 2) / draws, as (sum of signs + draws) / (2 draws): one pass, the same value
    signs = np.sign(diff, out=diff).sum(axis=1, dtype=np.int64)
    if not higher_is_better:
        signs = -signs
    return np.asarray((signs + draws) / (2 * draws), dtype=np.float64)


def p_ordered(per_row: np.ndarray, higher_is_better: bool = True, key: str = "") -> np.ndarray:
    """Return P(ordered as shown) for each pair of neighbours of a board of one stratum.

    ``per_row[i, r]`` is submission ``i``'s score on shared test row ``r``, submissions in board
    order (best first). The result has one entry per neighbour pair (``len - 1``).
    """
    scores = np.asarray(per_row, dtype=np.float64)
    if scores.shape[1] == 0:
        return np.full(max(len(scores) - 1, 0), 0.5)
    return p_from_sums(draw_sums(scores, key), higher_is_better)


def from_probs(probs: np.ndarray, n: int, confidence: float = CONFIDENCE) -> Tiers:
    """Return the tiers of ``n`` submissions whose neighbours are ordered with ``probs``."""
    tier, out = 1, [1]
    for p in probs:
        if p >= confidence:
            tier += 1
        out.append(tier)
    shown: list[float | None] = [float(p) for p in probs]
    return Tiers(out[:n], [*shown, None] if n else [])


def tiers(per_row: np.ndarray, higher_is_better: bool = True, confidence: float = CONFIDENCE) -> Tiers:
    """Return the tiers of a board whose submissions (in board order) have ``per_row`` scores."""
    return from_probs(p_ordered(per_row, higher_is_better), len(per_row), confidence)


def assign(rows: list[dict[str, Any]], per_row: dict[int, np.ndarray]) -> None:
    """Set ``tier`` and ``p_next`` on each board row (best first) from ``per_row``, keyed by the
    row's submission id: its per-row correctness on the rows every submission shares (one
    stratum). Rows without one, or whose length differs from the first's, get None; tiers are
    over the others in board order."""
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


def correct_counts(hits: dict[str, str], seeds: int, tasks: list[str]) -> np.ndarray:
    """Return, per row, how many seeds' models got it right, the tasks' rows one after another."""
    parts = [unpack_hits(hits[t], seeds).sum(axis=0, dtype=np.int64) for t in tasks]
    return np.concatenate(parts).astype(np.float64) if parts else np.zeros(0)
