"""The kernels of a batched pass: one float32 product per block of rows, decisions re-checked
where float32 rounding could have flipped them, and metrics from decision counts.

Exactness. The one-by-one loop (:meth:`Problem.score_one`, :meth:`Linear.predict`) decides on
float64 scores; a batched pass decides on float32 scores and re-checks every decision that
float32 rounding could have flipped, so both give the same predictions, hence bit-identical
metrics. With ``d`` augmented terms (features plus the intercept), any summation order gives
``|s32 - s| <= (d + 2) u32 ||x|| ||w||`` (two units for rounding the rows and the weights to
float32) and ``|s64 - s| <= (d + 1) u64 ||x|| ||w||`` (``s`` the exact score, ``u`` the unit
roundoff, norms of the augmented row and column; higher-order terms fall far inside the 1e-3
margin on ``||x||``). A decision whose float32 score is farther than :data:`SAFETY` times the
sum of both bounds from the threshold (or whose top-two gap is, for argmax) is the float64
decision. The models with a closer one are re-scored in float64 by one product over their
columns (tier 2), whose decisions are taken where that score is farther than twice the float64
bound; otherwise (practically never) the model is re-scored whole by :meth:`Linear.predict` on
the rows exactly as the loop passes them (tier 3).

Binary models are stacked with unit-norm columns (a positive scale changes no sign), so one
threshold ``tau`` serves every entry of a product: counting the entries above ``tau`` and
those at or above ``-tau`` gives each model's decisions and, where the two counts differ, the
models to re-check. For [0, 1] models scored by F1 or accuracy the rows are put positives
first, so both confusion counts are column sums of the decisions.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from dataperf.models import Linear

U32, U64 = 2.0**-24, 2.0**-53
SAFETY = 2.0
"""Factor on the rounding bounds (covers the rounding of the norms themselves, with room)."""
ROW_BLOCK = 2048
"""Most rows per product (fewer when many models: see :func:`block_rows`)."""
BLOCK_BYTES = 8 * 1024 * 1024
"""Most bytes of one block's float32 scores (bounds the scratch memory when models are many;
measured: smaller, cache-sized blocks were slower at 300 rows x 1,000 models)."""
FINITE_LIMIT = 1e30
"""Largest ``||x|| ||w||`` scored in float32; beyond it (or for non-finite values) a group is
scored one model at a time."""


@dataclass
class Stack:
    """A group's models stacked for one product, in (digest, seed) order."""

    models: list[Linear]
    k: int
    """Columns per model (1 for a binary model's single score)."""
    w32: np.ndarray
    """(d + 1, models * k) float32, the last row the intercepts; unit-norm columns when k == 1."""
    w64: np.ndarray
    """The exact weights in float64 (not scaled), for re-checks."""
    w64t: np.ndarray
    """``w64`` transposed, contiguous: one model's column per row."""
    wnorm: np.ndarray
    """(models * k,) float64 norms of the augmented columns of ``w64``."""

    @classmethod
    def of(cls, models: list[Linear]) -> Stack:
        """Return ``models`` stacked."""
        k = int(models[0].w.shape[1])
        w = np.vstack([np.hstack([m.w for m in models]), np.concatenate([m.b for m in models])[None, :]]).astype(
            np.float64
        )
        norm = np.sqrt((w * w).sum(axis=0))
        scaled = w / np.where(norm > 0, norm, 1.0) if k == 1 else w
        return cls(models, k, np.ascontiguousarray(scaled, dtype=np.float32), w, np.ascontiguousarray(w.T), norm)

    def finite_for(self, xnorm: float) -> bool:
        """Whether float32 products of rows of norm ``xnorm`` stay far from overflow."""
        return bool(xnorm * float(self.wnorm.max(initial=0.0)) < FINITE_LIMIT)


@dataclass
class Rows:
    """One task's rows prepared for products: float32 with a column of ones, maybe reordered."""

    x: np.ndarray
    """The rows as given (the loop converts these to float64)."""
    xa: np.ndarray
    """(n, d + 1) float32 rows with a column of ones, in ``order``."""
    truth: np.ndarray
    """Labels in ``order``."""
    order: np.ndarray | None
    """Given row of each reordered row (None: the given order)."""
    norm: float
    """An upper bound of the augmented rows' norms."""
    npos: int = 0
    """Leading rows labelled 1 (when put positives first)."""
    _x64: np.ndarray | None = None

    def x64(self) -> np.ndarray:
        """Return the rows in float64, in ``order`` (for float64 re-checks)."""
        if self._x64 is None:
            x = self.x if self.order is None else self.x[self.order]
            self._x64 = x.astype(np.float64)
        return self._x64

    @classmethod
    def of(cls, x: np.ndarray, truth: np.ndarray, positives_first: bool) -> Rows:
        """Return ``x`` (labels ``truth``) prepared, positives first if asked."""
        order = np.argsort(truth != 1, kind="stable") if positives_first else None
        xa = np.empty((len(x), x.shape[1] + 1), dtype=np.float32)
        xa[:, :-1] = x if order is None else x[order]
        xa[:, -1] = 1.0
        norm = 0.0
        if len(x):
            sq = np.einsum("ij,ij->i", xa, xa)  # float32: relative error far below the 1e-3 margin
            norm = float(np.sqrt(float(sq.max()) * (1 + 1e-3)))
        t = truth if order is None else truth[order]
        return cls(x, xa, t, order, norm, int((truth == 1).sum()) if positives_first else 0)


class Exact:
    """Float64 re-checks of one stack's decisions on one task's rows (tiers 2 and 3)."""

    def __init__(self, stack: Stack, rows: Rows) -> None:
        self.stack, self.rows = stack, rows
        self.rechecked: set[int] = set()
        self._given64: np.ndarray | None = None

    def columns(self, cols: np.ndarray) -> np.ndarray:
        """Return the exact decisions (score > 0) of binary models ``cols`` on every row (n, cols),
        rows in ``self.rows``' order."""
        self.rechecked.update(cols.tolist())
        w = self.stack.w64t[cols]
        s64 = self.rows.x64() @ w[:, :-1].T
        s64 += w[:, -1]
        out = s64 > 0
        b64 = (2 * SAFETY * (self.rows.xa.shape[1] + 1) * U64 * self.rows.norm) * self.stack.wnorm[cols]
        np.abs(s64, out=s64)
        if not (s64 > b64).all():
            for j in np.flatnonzero(~(s64 > b64).all(axis=0)).tolist():
                out[:, j] = self.whole(int(cols[j])) == self.stack.models[int(cols[j])].classes[1]
        return out

    def whole(self, j: int) -> np.ndarray:
        """Return model ``j``'s labels on every row, reordered: :meth:`Linear.predict`, as one by one."""
        self.rechecked.add(j)
        if self._given64 is None:  # the rows exactly as the loop converts them
            self._given64 = self.rows.x.astype(np.float64)
        labels = self.stack.models[j].predict(self._given64)
        return labels if self.rows.order is None else labels[self.rows.order]


def binary_counts(stack: Stack, rows: Rows, keep: np.ndarray, scratch: Scratch, exact: Exact) -> np.ndarray:
    """Return each binary model's exact decisions as counts: (models,) predicted positives, and
    (models,) of those among the leading ``rows.npos`` rows (the true positives)."""
    m = stack.w32.shape[1]
    pp, tp = np.zeros(m, dtype=np.int64), np.zeros(m, dtype=np.int64)
    close = np.zeros(m, dtype=bool)
    for a, hi, lo in scratch.blocks(stack, rows):
        npos = min(max(rows.npos - a, 0), len(hi))
        positive = _column_counts(hi[:npos])
        count = positive + _column_counts(hi[npos:])
        tp += positive
        pp += count
        close |= _column_counts(lo) != count
    cols = np.flatnonzero(close & keep)
    if len(cols):
        yes = exact.columns(cols)
        tp[cols] = yes[: rows.npos].sum(axis=0)
        pp[cols] = tp[cols] + yes[rows.npos :].sum(axis=0)
    return np.stack([pp, tp])


def binary_decisions(stack: Stack, rows: Rows, keep: np.ndarray, scratch: Scratch, exact: Exact) -> np.ndarray:
    """Return each binary model's exact decisions (n, models) (True: the model's second class)."""
    m = stack.w32.shape[1]
    out = np.empty((len(rows.xa), m), dtype=bool)
    close = np.zeros(m, dtype=bool)
    for a, hi, lo in scratch.blocks(stack, rows):
        out[a : a + len(hi)] = hi
        close |= _column_counts(lo) != _column_counts(hi)
    cols = np.flatnonzero(close & keep)
    if len(cols):
        out[:, cols] = exact.columns(cols)
    return out


def multiclass_labels(stack: Stack, rows: Rows, keep: np.ndarray, classes: np.ndarray, exact: Exact) -> np.ndarray:
    """Return each k-class model's exact argmax labels (n, models)."""
    n, m, k = len(rows.xa), len(stack.models), stack.k
    s3 = (rows.xa @ stack.w32).reshape(n, m, k)
    labels = classes[s3.argmax(axis=2)]
    if n:
        b32, b64 = bounds(rows, rows.xa.shape[1], stack.wnorm)
        top2 = np.sort(s3, axis=2)[:, :, -2:]
        gap_bound = 2 * SAFETY * (b32 + b64).reshape(m, k).max(axis=1)
        close = ~((top2[:, :, 1] - top2[:, :, 0]) > gap_bound).all(axis=0) & keep
        for j in np.flatnonzero(close).tolist():
            labels[:, j] = exact.whole(j)
    return labels


def bounds(rows: Rows, dims: int, wnorm: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
    """Return the (float32, float64) rounding bounds of the scores of columns of norm ``wnorm``."""
    b32 = (dims + 2) * U32 * rows.norm * np.asarray(wnorm, dtype=np.float64)
    b64 = (dims + 1) * U64 * rows.norm * np.asarray(wnorm, dtype=np.float64)
    return b32, b64


def _tau(rows: Rows) -> float:
    """Return the decision margin of unit-norm columns: farther from 0 is exact."""
    b32, b64 = bounds(rows, rows.xa.shape[1], 1.0 + 1e-5)
    return float(SAFETY * (b32 + b64))


def _column_counts(b: np.ndarray) -> np.ndarray:
    """Return the number of True entries of each column of a bool block, as int64 (byte sums of
    at most 255 rows at a time: several times faster than widening every byte)."""
    u = b.view(np.uint8)
    out = np.zeros(b.shape[1], dtype=np.int64)
    for a in range(0, len(u), 255):
        out += np.add.reduce(u[a : a + 255], axis=0, dtype=np.uint8)
    return out


class Scratch:
    """Product buffers reused from pass to pass and task to task (fresh ones cost page faults,
    and one set small enough for the core's cache keeps every block's passes there)."""

    def __init__(self) -> None:
        self._s = np.empty(0, dtype=np.float32)
        self._hi = np.empty(0, dtype=bool)
        self._lo = np.empty(0, dtype=bool)

    def blocks(self, stack: Stack, rows: Rows) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
        """Yield (first row, scores > tau, scores >= -tau) of each block of ``rows`` by the unit
        columns of ``stack`` (each block's masks valid until the next is taken)."""
        tau, m = _tau(rows), stack.w32.shape[1]
        step = block_rows(m)
        for a in range(0, len(rows.xa), step):
            xa = rows.xa[a : a + step]
            n = len(xa)
            if self._s.size < n * m:
                self._s = np.empty(n * m, dtype=np.float32)
                self._hi = np.empty(n * m, dtype=bool)
                self._lo = np.empty(n * m, dtype=bool)
            s, hi, lo = (b[: n * m].reshape(n, m) for b in (self._s, self._hi, self._lo))
            np.matmul(xa, stack.w32, out=s)
            np.greater(s, tau, out=hi)
            np.greater_equal(s, -tau, out=lo)
            yield a, hi, lo


def block_rows(models: int) -> int:
    """Return the rows per product that keep a block's scores near :data:`BLOCK_BYTES`."""
    return max(16, min(ROW_BLOCK, BLOCK_BYTES // (4 * max(models, 1))))


def metric_from_counts(name: str, counts: np.ndarray, n: int, npos: int) -> np.ndarray:
    """Return F1 or accuracy per model from (predicted positives, true positives), with the same
    float arithmetic as :func:`dataperf.metrics.f1` and :func:`dataperf.metrics.accuracy`."""
    pp, tp = counts
    if name == "f1":
        denom = (pp + npos).astype(np.float64)
        return np.divide(2 * tp.astype(np.float64), denom, out=np.zeros(len(pp)), where=denom > 0)
    if n == 0:
        return np.zeros(len(pp))
    correct = tp + (n - npos) - (pp - tp)
    return correct / n


def metric_columns(
    name: str,
    metric: Callable[[np.ndarray, np.ndarray, int], float],
    truth: np.ndarray,
    labels: np.ndarray,
    n_classes: int,
) -> np.ndarray:
    """Return the metric of each column of ``labels``; vectorized where the vectorized form is
    the same float arithmetic as the registered metric (f1, accuracy), else one by one."""
    if name == "f1":
        is_one = labels == 1
        counts = np.stack([is_one.sum(axis=0), is_one[truth == 1].sum(axis=0)])
        return metric_from_counts(name, counts, len(truth), int((truth == 1).sum()))
    if name == "accuracy":
        if len(truth) == 0:
            return np.zeros(labels.shape[1])
        return (labels == truth[:, None]).sum(axis=0) / len(truth)
    return np.asarray([metric(truth, labels[:, j], n_classes) for j in range(labels.shape[1])], dtype=np.float64)
