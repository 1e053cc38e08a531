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
decision. Each closer entry is re-scored in float64, one dot product per entry (tier 2), whose
decision is taken where that score is farther than twice the float64 bound; otherwise
(practically never) the model is re-scored whole by :meth:`Linear.predict` on the rows exactly
as the loop passes them (tier 3).

Binary models are stacked with unit-norm columns (a positive scale changes no sign), so one
threshold ``tau`` serves every entry of a product: counting the entries above ``tau`` and
those at or above ``-tau`` (one compiled pass over each block: :mod:`leaderboard.arithmetic.kernels`)
gives each model's decisions and, where the two counts differ, the models with entries to
re-check. For [0, 1] models scored by F1 or accuracy the rows are put positives first, so both
confusion counts are column sums of the decisions.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from dataperf.metrics import Metric
from dataperf.models import Linear
from leaderboard.arithmetic import kernels

U32, U64 = 2.0**-24, 2.0**-53
SAFETY = 2.0
"""Factor on the rounding bounds (covers the rounding of the norms themselves, with room)."""
ROW_BLOCK = 2048
"""Most rows per product (fewer when many models: see :func:`block_rows`)."""
BLOCK_BYTES = 2 * 1024 * 1024
"""Most bytes of one block's float32 scores, about a core's L2 cache (measured in
benchmarks/ratchet_bench.py's setting: 1,000 models by 300 rows in one block was 5% faster than
in two or three; each block costs a kernel call). Bounds the scratch memory of large test sets."""
FINITE_LIMIT = 1e30
"""Largest ``||x|| ||w||`` scored in float32; beyond it (or for non-finite values) a group is
scored one model at a time."""


@dataclass
class Stack:
    """A group's models stacked for one product, in (digest, seed) order.

    The stack is the only copy of its models' weights (:meth:`model` rebuilds one), so a bank
    costs its float64 weights, their float32 copy and a few numbers per model."""

    count: int
    """Models stacked."""
    k: int
    """Columns per model (1 for a binary model's single score)."""
    classes: np.ndarray
    """The labels every model of the stack predicts among."""
    w32: np.ndarray
    """(d + 1, models * k) float32, the last row the intercepts; unit-norm columns when k == 1."""
    w64: np.ndarray
    """The exact weights in float64 (not scaled), the last row the intercepts, for re-checks."""
    wnorm: np.ndarray
    """(models * k,) float64 norms of the augmented columns of ``w64``."""
    wmax: float
    """The largest of ``wnorm``."""

    @classmethod
    def of(cls, models: list[Linear]) -> Stack:
        """Return ``models`` (all with the same classes and width) stacked."""
        w = np.vstack([np.hstack([m.w for m in models]), np.concatenate([m.b for m in models])[None, :]]).astype(
            np.float64
        )
        return cls.of_columns(w, int(models[0].w.shape[1]), np.asarray(models[0].classes, dtype=np.int64))

    @classmethod
    def of_columns(cls, w: np.ndarray, k: int, classes: np.ndarray) -> Stack:
        """Return the stack of the augmented float64 weight columns ``w`` (k per model)."""
        norm = np.sqrt((w * w).sum(axis=0))
        scaled = w / np.where(norm > 0, norm, 1.0) if k == 1 else w
        w32 = np.ascontiguousarray(scaled, dtype=np.float32)
        del scaled
        return cls(w.shape[1] // k, k, classes, w32, w, norm, float(norm.max(initial=0.0)))

    def model(self, j: int) -> Linear:
        """Return model ``j`` (the same weights, bit for bit, as the model stacked)."""
        cols = slice(j * self.k, (j + 1) * self.k)
        return Linear(
            w=np.ascontiguousarray(self.w64[:-1, cols]), b=self.w64[-1, cols].copy(), classes=self.classes.copy()
        )

    def finite_for(self, xnorm: float) -> bool:
        """Whether float32 products of rows of norm ``xnorm`` stay far from overflow."""
        return bool(xnorm * self.wmax < FINITE_LIMIT)


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
    npos: int
    """Leading rows labelled 1 (when put positives first; else 0)."""
    tau: np.float32
    """The decision margin of unit-norm columns on these rows (:func:`tau32`)."""

    @classmethod
    def of(cls, x: np.ndarray, truth: np.ndarray, positives_first: bool) -> Rows:
        """Return ``x`` (labels ``truth``) prepared, positives first if asked."""
        n = len(x)
        xa = np.empty((n, x.shape[1] + 1), dtype=np.float32)
        order, t = np.empty(n, dtype=np.int64), np.empty(n, dtype=truth.dtype)
        npos, top = kernels.compiled().prepare_rows(_native(x), truth, positives_first, xa, order, t)
        # float32 squared norms: relative error far below the 1e-3 margin
        norm = float(np.sqrt(top * (1 + 1e-3))) if n else 0.0
        return cls(x, xa, t, order if positives_first else None, norm, npos, tau32(xa.shape[1], norm))


def _native(x: np.ndarray) -> np.ndarray:
    """Return ``x`` itself if float32 or float64, else converted to float64 (as the loop does)."""
    return x if x.dtype in (np.float32, np.float64) else x.astype(np.float64)


class Exact:
    """Float64 re-checks of one stack's decisions on one task's rows (tiers 2 and 3)."""

    def __init__(self, stack: Stack, rows: Rows) -> None:
        self.stack, self.rows = stack, rows
        self.rechecked: set[int] = set()
        self._given64: np.ndarray | None = None

    def entries(self, r: np.ndarray, c: np.ndarray, counts: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
        """Return the exact decisions (score > 0) of binary model ``c[i]`` on row ``r[i]`` (rows in
        ``self.rows``' order): one float64 dot product per entry (tier 2), the whole model where
        that is still too close (tier 3). With ``counts`` (predicted positives, true positives),
        add the positive decisions to them."""
        self.rechecked.update(c.tolist())
        rows, stack = self.rows, self.stack
        given = r if rows.order is None else rows.order[r]
        m = len(stack.wnorm)
        pp, tp = counts if counts is not None else (np.zeros(m, dtype=np.int64), np.zeros(m, dtype=np.int64))
        bound = 2 * SAFETY * bounds(rows.xa.shape[1], rows.norm, stack.wnorm)[1]
        yes, undecided = np.empty(len(r), dtype=bool), np.empty(len(r), dtype=bool)
        left = kernels.compiled().recheck(
            _native(rows.x), given, r, c, stack.w64, bound, rows.npos, yes, undecided, pp, tp
        )
        if left:
            for j in set(c[undecided].tolist()):
                at = np.flatnonzero((c == j) & undecided)
                yes[at] = (self.whole(j) == stack.classes[1])[r[at]]
                pp[j] += int(yes[at].sum())
                tp[j] += int((yes[at] & (r[at] < rows.npos)).sum())
        return yes

    def whole(self, j: int) -> np.ndarray:
        """Return model ``j``'s labels on every row, reordered: :meth:`Linear.predict`, as one by one."""
        self.rechecked.add(j)
        if self._given64 is None:  # the rows exactly as the loop converts them
            self._given64 = self.rows.x.astype(np.float64)
        labels = self.stack.model(j).predict(self._given64)
        return labels if self.rows.order is None else labels[self.rows.order]


def _decide(
    scratch: Scratch, s: np.ndarray, first: int, npos: int, tau: np.float32, pp: np.ndarray, tp: np.ndarray
) -> None:
    """Count the block's decisions into ``pp`` and ``tp`` and append its close entries to
    ``scratch.close`` (:mod:`leaderboard.arithmetic.kernels`)."""
    jit = kernels.compiled()
    close = jit.decide_block(s, first, npos, tau, pp, tp, scratch.hi, scratch.lo, scratch.last)
    if close:
        k = scratch.nclose
        if k + close > len(scratch.close[0]):
            scratch.grow(k + close)
        jit.close_entries(s, first, tau, scratch.hi, scratch.lo, scratch.last, *(c[k:] for c in scratch.close))
        scratch.nclose = k + close


@dataclass
class Counted:
    """A stack's decisions on a task's rows as counts, before the re-checks of the entries too
    close to decide in float32 (which counted no decision): see :func:`settle`."""

    pp: np.ndarray
    """(models,) predicted positives."""
    tp: np.ndarray
    """(models,) predicted positives among the leading ``rows.npos`` rows (true positives)."""
    close_rows: np.ndarray
    close_cols: np.ndarray
    """The close entries, in the columns to keep."""


def count_decisions(stack: Stack, rows: Rows, keep: np.ndarray, scratch: Scratch) -> Counted:
    """Return each binary model's float32 decisions on ``rows`` as counts (the products)."""
    m = stack.w32.shape[1]
    pp, tp = np.zeros(m, dtype=np.int64), np.zeros(m, dtype=np.int64)
    for a, s in scratch.blocks(stack, rows):
        _decide(scratch, s, a, rows.npos, rows.tau, pp, tp)
    return Counted(pp, tp, *scratch.close_in(keep))


def settle(counted: Counted, exact: Exact) -> tuple[np.ndarray, np.ndarray]:
    """Return the exact counts (predicted positives, true positives): ``counted`` with each
    close entry re-checked in float64."""
    counts = counted.pp, counted.tp
    if len(counted.close_cols):
        exact.entries(counted.close_rows, counted.close_cols, counts)
    return counts


def binary_decisions(stack: Stack, rows: Rows, keep: np.ndarray, scratch: Scratch, exact: Exact) -> np.ndarray:
    """Return each binary model's exact decisions (n, models) (True: the model's second class)."""
    m = stack.w32.shape[1]
    out = np.empty((len(rows.xa), m), dtype=bool)
    unused = np.zeros(m, dtype=np.int64), np.zeros(m, dtype=np.int64)
    for a, s in scratch.blocks(stack, rows):
        np.greater(s, rows.tau, out=out[a : a + len(s)])
        _decide(scratch, s, a, 0, rows.tau, *unused)
    r, c = scratch.close_in(keep)
    out[r, c] = exact.entries(r, c)
    return out


def multiclass_labels(stack: Stack, rows: Rows, keep: np.ndarray, classes: np.ndarray, exact: Exact) -> np.ndarray:
    """Return each k-class model's exact argmax labels (n, models)."""
    n, m, k = len(rows.xa), stack.count, stack.k
    s3 = (rows.xa @ stack.w32).reshape(n, m, k)
    labels = classes[s3.argmax(axis=2)]
    if n:
        b32, b64 = bounds(rows.xa.shape[1], rows.norm, stack.wnorm)
        top2 = np.sort(s3, axis=2)[:, :, -2:]
        gap_bound = 2 * SAFETY * (b32 + b64).reshape(m, k).max(axis=1)
        close = ~((top2[:, :, 1] - top2[:, :, 0]) > gap_bound).all(axis=0) & keep
        for j in np.flatnonzero(close).tolist():
            labels[:, j] = exact.whole(j)
    return labels


def bounds(dims: int, norm: float, wnorm: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
    """Return the (float32, float64) rounding bounds of the scores of rows of ``dims`` augmented
    terms and norm ``norm`` by columns of norm ``wnorm``."""
    b32 = (dims + 2) * U32 * norm * np.asarray(wnorm, dtype=np.float64)
    b64 = (dims + 1) * U64 * norm * np.asarray(wnorm, dtype=np.float64)
    return b32, b64


def tau32(dims: int, norm: float) -> np.float32:
    """Return the decision margin of unit-norm columns on rows of ``dims`` augmented terms and
    norm ``norm`` (:data:`SAFETY` times the :func:`bounds` of a column norm of 1 + 1e-5),
    rounded up to float32: a float32 score farther from 0 is exact."""
    b32, b64 = bounds(dims, norm, 1.0 + 1e-5)
    tau = float(SAFETY * (b32 + b64))
    t32 = np.float32(tau)
    return t32 if float(t32) >= tau else np.nextafter(t32, np.float32(np.inf))


class Scratch:
    """Buffers reused from pass to pass and task to task (fresh ones cost page faults): one
    block's scores, its per-column counts and the close entries of a stack's blocks, for
    :mod:`leaderboard.arithmetic.kernels`."""

    def __init__(self) -> None:
        self._s = np.empty(0, dtype=np.float32)
        self.hi = np.empty(0, dtype=np.int32)
        self.lo = np.empty(0, dtype=np.int32)
        self.last = np.empty(0, dtype=np.int32)
        self.close = np.empty(4096, dtype=np.int64), np.empty(4096, dtype=np.int64)
        """(rows, columns) of the close entries found so far (the first :attr:`nclose`)."""
        self.nclose = 0

    def grow(self, size: int) -> None:
        """Make room for ``size`` close entries, keeping those found."""
        bigger = np.empty(2 * size, dtype=np.int64), np.empty(2 * size, dtype=np.int64)
        for new, old in zip(bigger, self.close, strict=True):
            new[: self.nclose] = old[: self.nclose]
        self.close = bigger

    def close_in(self, keep: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Return (rows, columns) of the close entries found, in the columns of ``keep``."""
        r, c = (v[: self.nclose] for v in self.close)
        wanted = keep[c]
        return r[wanted], c[wanted]

    def blocks(self, stack: Stack, rows: Rows) -> Iterator[tuple[int, np.ndarray]]:
        """Yield (first row, float32 scores) of each block of ``rows`` by the columns of
        ``stack`` (each block's scores valid until the next is taken); starts a new list of
        close entries."""
        m = stack.w32.shape[1]
        step = block_rows(m)
        self.nclose = 0
        if self.hi.size != m:
            self.hi, self.lo, self.last = (np.empty(m, dtype=np.int32) for _ in range(3))
        for a in range(0, len(rows.xa), step):
            xa = rows.xa[a : a + step]
            if self._s.size < len(xa) * m:
                self._s = np.empty(len(xa) * m, dtype=np.float32)
            s = self._s[: len(xa) * m].reshape(len(xa), m)
            np.matmul(xa, stack.w32, out=s)
            yield a, s


def block_rows(models: int) -> int:
    """Return the rows per product that keep a block's scores near :data:`BLOCK_BYTES`."""
    return max(16, min(ROW_BLOCK, BLOCK_BYTES // (4 * max(models, 1))))


def metric_from_counts(metric: Metric, counts: tuple[np.ndarray, np.ndarray], n: int, npos: int) -> np.ndarray:
    """Return ``metric`` per model from (predicted positives, true positives), with its vectorized
    form (:attr:`dataperf.metrics.Metric.counts`: the same float arithmetic as the metric itself)."""
    if metric.counts is None:
        raise ValueError(f"metric '{metric.name}' has no form over confusion counts")
    pp, tp = counts
    return metric.counts(pp, tp, n, npos)


def metric_columns(metric: Metric, truth: np.ndarray, labels: np.ndarray, n_classes: int) -> np.ndarray:
    """Return the metric of each column of ``labels``; vectorized where the metric has a form over
    binary confusion counts (the same float arithmetic), else one by one."""
    if metric.counts is not None and n_classes == 2:
        is_one = labels == 1
        counts = is_one.sum(axis=0), is_one[truth == 1].sum(axis=0)
        return metric_from_counts(metric, counts, len(truth), int((truth == 1).sum()))
    return np.asarray([metric(truth, labels[:, j], n_classes) for j in range(labels.shape[1])], dtype=np.float64)
