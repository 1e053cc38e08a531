"""Batched scoring: every cached fitted model of a problem against one test set in one pass.

The linear models of each task (every training set, every seed) are stacked into one float32
weight matrix whose last row holds the intercepts, so scoring a new test set is one float32
matrix product per task, then the decision rule of :func:`dataperf.models.decide` and the
metric, vectorized (for F1 and accuracy of [0, 1] models the confusion counts come from one
more small product of the decision indicators).

Exactness. The one-by-one loop (:meth:`Problem.score_one`, :meth:`Linear.predict`) decides on
float64 scores; the batched pass decides on float32 scores and re-checks every decision that
float32 rounding could have flipped, so both give the same predictions, hence bit-identical
metrics. With ``d`` augmented terms (features plus the intercept), any summation order gives
``|s32 - s| <= (d + 1) u32 ||x|| ||w||`` and ``|s64 - s| <= (d + 1) u64 ||x|| ||w||`` (``s`` the
exact score, ``u`` the unit roundoff, norms of the augmented row and column; the ``+ 1`` is
the rounding of the weights to float32). A decision whose float32 score is farther than twice
the sum of both from the threshold (or whose top-two gap is, for argmax) is the float64
decision. Closer ones are recomputed in float64, one entry at a time (tier 2), and taken when
that score is farther than twice the float64 bound; otherwise (practically never) the model
is re-scored whole by :meth:`Linear.predict` (tier 3). ``counters.exact_rechecks`` counts the
models with any decision re-checked in float64.

Threads: one BLAS thread by default (the ratchet's parallelism comes from workers). A product
of at least :data:`THREADED_MIN_FLOPS` may use :data:`BATCH_THREADS` threads, which changes
the rounding of nothing that is decided without a re-check (the bounds hold for any order).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from dataperf.models import Fitted, Linear
from leaderboard.problem import Problem, RatchetCounters, Rows, Scores

U32, U64 = 2.0**-24, 2.0**-53
SAFETY = 2.0
"""Factor on the rounding bounds (covers the rounding of the norms themselves, with room)."""
BATCH_THREADS = 1
"""BLAS threads for a product of at least :data:`THREADED_MIN_FLOPS` (1: never threaded).
Measured in benchmarks/ratchet_bench.py (``--threads``): on a 2-core machine shared with
other work, two threads were slower than one; set 2 on a quiet multi-core host."""
THREADED_MIN_FLOPS = 20_000_000


@dataclass
class _Stack:
    """A group's models stacked for one product, in (digest, seed) order."""

    keys: list[tuple[str, int]]
    models: list[Linear]
    w32: np.ndarray
    """(d + 1, models * k) float32; the last row holds the intercepts."""
    w64: np.ndarray
    """The same in float64 (the exact weights), for re-checks."""
    wnorm: np.ndarray
    """(models * k,) float64 norms of the augmented columns."""
    digests: np.ndarray
    """(models,) index of each model's digest in the bank's digest order."""
    runs: list[tuple[str, int, int, tuple[int, ...]]]
    """(digest, first model, end, seeds): each digest's models are consecutive."""


@dataclass
class _Group:
    """Linear models of one task with the same classes and width (stacked on demand)."""

    classes: np.ndarray
    keys: list[tuple[str, int]] = field(default_factory=list)
    models: list[Linear] = field(default_factory=list)
    _stack: _Stack | None = None

    @property
    def k(self) -> int:
        """Columns per model (1 for a binary model's single score)."""
        return int(self.models[0].w.shape[1])

    @property
    def binary01(self) -> bool:
        """Whether the models are binary with labels [0, 1] (decision True is label 1)."""
        return self.k == 1 and self.classes.tolist() == [0, 1]

    def stacked(self, digest_index: dict[str, int]) -> _Stack:
        """Return the stacked models, restacked only after models were added."""
        if self._stack is None or len(self._stack.keys) != len(self.keys):
            order = sorted(range(len(self.keys)), key=lambda j: (digest_index[self.keys[j][0]], self.keys[j][1]))
            keys = [self.keys[j] for j in order]
            models = [self.models[j] for j in order]
            w = np.vstack([np.hstack([m.w for m in models]), np.concatenate([m.b for m in models])[None, :]]).astype(
                np.float64
            )
            runs: list[tuple[str, int, int, tuple[int, ...]]] = []
            for j, (d, seed) in enumerate(keys):
                if runs and runs[-1][0] == d:
                    runs[-1] = (d, runs[-1][1], j + 1, (*runs[-1][3], seed))
                else:
                    runs.append((d, j, j + 1, (seed,)))
            self._stack = _Stack(
                keys=keys,
                models=models,
                w32=np.ascontiguousarray(w, dtype=np.float32),
                w64=w,
                wnorm=np.sqrt((w * w).sum(axis=0)),
                digests=np.asarray([digest_index[d] for d, _ in keys], dtype=np.int64),
                runs=runs,
            )
        return self._stack


@dataclass
class Bank:
    """Every cached fitted model of one problem and evaluator version, kept stacked in memory.

    ``models[(digest, task, seed)]`` is the fitted model; :meth:`add` appends models (after a
    database load or a fit), :meth:`score` scores a test set against some or all of them.
    """

    problem: str
    version: str
    last_id: int = 0
    """Highest ``fitted_models.id`` loaded, so refreshing reads only newer rows."""
    models: dict[tuple[str, str, int], Fitted] = field(default_factory=dict)
    _digests: dict[str, int] = field(default_factory=dict)
    _groups: dict[str, list[_Group]] = field(default_factory=dict)
    _by_key: dict[tuple[str, tuple[int, ...], int], _Group] = field(default_factory=dict)
    _others: dict[str, list[tuple[str, int, Fitted]]] = field(default_factory=dict)

    def add(self, digest: str, task: str, seed: int, model: Fitted) -> None:
        """Add one fitted model (ignored if already present)."""
        key = (digest, task, seed)
        if key in self.models:
            return
        self.models[key] = model
        self._digests.setdefault(digest, len(self._digests))
        if isinstance(model, Linear):
            gk = (task, tuple(int(c) for c in model.classes), model.w.shape[1])
            group = self._by_key.get(gk)
            if group is None:
                group = self._by_key[gk] = _Group(classes=np.asarray(model.classes, dtype=np.int64))
                self._groups.setdefault(task, []).append(group)
            group.keys.append((digest, seed))
            group.models.append(model)
        else:  # Constant and any other fitted model: one by one (cheap, or not stackable)
            self._others.setdefault(task, []).append((digest, seed, model))

    def digests(self) -> list[str]:
        """Return the training-set digests with models, in the order they were added."""
        return list(self._digests)

    def score(
        self, p: Problem, rows: Rows, counters: RatchetCounters, only: Iterable[str] | None = None
    ) -> dict[str, Scores]:
        """Return, per training-set digest, its models' metric per task and seed on ``rows``.

        ``only`` restricts the result to those digests (the stacked product still covers every
        model of a group: cheaper than re-stacking). Counts one batched pass.
        """
        digests = self.digests() if only is None else [d for d in dict.fromkeys(only) if d in self._digests]
        tasks = p.task_names
        out: dict[str, Scores] = {d: {} for d in digests}
        wanted = np.zeros(len(self._digests), dtype=bool)
        wanted[[self._digests[d] for d in digests]] = True
        counters.batched_passes += 1
        with blas_threads(1):
            for i, task in enumerate(tasks):
                x, truth = rows[task]
                n_classes = p.n_classes(i)
                groups = self._groups.get(task, [])
                if groups:
                    x_aug, xnorm = _augment(x)
                for group in groups:
                    stack = group.stacked(self._digests)
                    keep = wanted[stack.digests]
                    if not keep.any():
                        continue
                    values = _score_group(group, stack, x, x_aug, xnorm, truth, keep, p, n_classes, counters)
                    for d, a, b, seeds in stack.runs:
                        per = out.get(d)
                        if per is not None:
                            got = per.get(task)
                            if got is None:
                                per[task] = dict(zip(seeds, values[a:b], strict=True))
                            else:  # the digest has models in another group of this task too
                                got.update(zip(seeds, values[a:b], strict=True))
                    counters.models_scored += int(keep.sum())
                for d, seed, model in self._others.get(task, []):
                    if d in out:
                        pred = model.predict(x.astype(np.float64))
                        out[d].setdefault(task, {})[seed] = p.metric(truth, pred, n_classes)
                        counters.models_scored += 1
        for d, per in out.items():
            if len(per) != len(tasks):  # a task without models (tasks present were filled in order)
                out[d] = {t: per.get(t, {}) for t in tasks}
        return out


def _augment(x: np.ndarray) -> tuple[np.ndarray, float]:
    """Return (x with a column of ones, float32; an upper bound of its rows' norms)."""
    x_aug = np.empty((len(x), x.shape[1] + 1), dtype=np.float32)
    x_aug[:, :-1] = x
    x_aug[:, -1] = 1.0
    if not len(x):
        return x_aug, 0.0
    sq = np.einsum("ij,ij->i", x_aug, x_aug)  # float32: relative error far below the 1e-3 margin
    return x_aug, float(np.sqrt(float(sq.max()) * (1 + 1e-3)))


def _score_group(
    group: _Group,
    stack: _Stack,
    x: np.ndarray,
    x_aug: np.ndarray,
    xnorm: float,
    truth: np.ndarray,
    keep: np.ndarray,
    p: Problem,
    n_classes: int,
    counters: RatchetCounters,
) -> list[float]:
    """Return the metric of every model of ``group`` on the rows ``x`` (``x_aug``: as float32,
    with a column of ones); decisions are re-checked for the models in ``keep`` (a mask) only:
    the others' values are not used."""
    n, dims, k = len(x_aug), x_aug.shape[1], group.k
    if BATCH_THREADS > 1 and 2 * n * dims * stack.w32.shape[1] >= THREADED_MIN_FLOPS:
        with blas_threads(BATCH_THREADS):
            s = x_aug @ stack.w32
    else:
        s = x_aug @ stack.w32
    counters.matmuls += 1
    b64 = SAFETY * (dims + 1) * U64 * xnorm * stack.wnorm  # float64 rounding bound per column
    # float32 bound per column; one more unit for rows that were not float32 already
    b32 = SAFETY * (dims + 2) * U32 * xnorm * stack.wnorm
    exact = _Exact(stack, x, b64, counters)
    if k == 1:
        decided = np.greater(s, 0)  # the decision in float32
        bound = (b32 + b64).astype(np.float32)
        np.abs(s, out=s)
        if n:
            close = np.flatnonzero(~(s.min(axis=0) > bound) & keep)  # ``~(a > b)``: NaN is re-checked
            if len(close):
                rows, c = np.nonzero(~(s[:, close] > bound[close]))
                cols = close[c]
                decided[rows, cols] = exact.decisions(rows, cols)
        if group.binary01 and p.metric_name in ("f1", "accuracy"):
            np.copyto(s, decided, casting="unsafe")  # reuse the scores' memory: 1.0 is label 1
            return _binary_metric(p.metric_name, s, truth)
        labels = group.classes[decided.astype(np.int64)]
        return _metric_columns(p.metric_name, p.metric, truth, labels, n_classes)
    m = len(stack.keys)
    s3 = s.reshape(n, m, k)
    labels = group.classes[s3.argmax(axis=2)]
    if n:
        top2 = np.sort(s3, axis=2)[:, :, -2:]
        gap_bound = 2 * (b32 + b64).reshape(m, k).max(axis=1)
        close = ~((top2[:, :, 1] - top2[:, :, 0]) > gap_bound).all(axis=0) & keep
        for j in np.flatnonzero(close).tolist():
            labels[:, j] = exact.whole(j)
            counters.exact_rechecks += 1
    return _metric_columns(p.metric_name, p.metric, truth, labels, n_classes)


class _Exact:
    """Float64 re-checks of the decisions of one stack's models (tiers 2 and 3)."""

    def __init__(self, stack: _Stack, x: np.ndarray, b64: np.ndarray, counters: RatchetCounters) -> None:
        self.stack, self.x, self.b64, self.counters = stack, x, b64, counters
        self._x64: np.ndarray | None = None

    def x64(self) -> np.ndarray:
        """Return the rows as the one-by-one loop passes them to :meth:`Linear.predict`."""
        if self._x64 is None:
            self._x64 = self.x.astype(np.float64)
        return self._x64

    def decisions(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """Return the exact decisions (score > 0) of binary models ``cols`` on ``rows`` (pairs)."""
        self.counters.exact_rechecks += len(np.unique(cols))
        w = self.stack.w64
        s64 = np.einsum("ij,ji->i", self.x64()[rows], w[:-1, cols]) + w[-1, cols]
        out = s64 > 0
        unsure = ~(np.abs(s64) > 2 * self.b64[cols])
        for j in np.unique(cols[unsure]).tolist():
            mine = cols == j
            out[mine] = (self.whole(j) == self.stack.models[j].classes[1])[rows[mine]]
        return out

    def whole(self, j: int) -> np.ndarray:
        """Return model ``j``'s labels on every row: :meth:`Linear.predict`, as one by one."""
        return self.stack.models[j].predict(self.x64())


def _binary_metric(name: str, decided: np.ndarray, truth: np.ndarray) -> list[float]:
    """Return F1 or accuracy per column of [0, 1] binary decisions (``decided``: 1.0 is label
    1, 0.0 label 0), from confusion counts by one product, with the same float arithmetic as
    :func:`dataperf.metrics.f1` and :func:`dataperf.metrics.accuracy`."""
    n, models = decided.shape
    pos = truth == 1
    npos = int(pos.sum())
    if n == 0:
        pp = tp = np.zeros(models, dtype=np.int64)
    else:
        sel = np.ones((2, n), dtype=np.float32)
        sel[1] = pos
        counts = (sel @ decided).astype(np.int64)  # sums of 0/1 below 2**24: exact in float32
        pp, tp = counts[0], counts[1]
    if name == "f1":
        denom = pp + npos
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(denom > 0, 2 * tp.astype(np.float64) / denom, 0.0).tolist()
    if n == 0:
        return [0.0] * models
    correct = tp + (n - npos) - (pp - tp)
    return (correct / n).tolist()


def _metric_columns(
    name: str,
    metric: Callable[[np.ndarray, np.ndarray, int], float],
    truth: np.ndarray,
    labels: np.ndarray,
    n_classes: int,
) -> list[float]:
    """Return the metric of each column of ``labels``; vectorized where the vectorized form is
    the same float arithmetic as the registered metric (f1, accuracy), else one by one."""
    if name == "f1":
        pos = truth == 1
        is_one = labels == 1
        pp = is_one.sum(axis=0)
        tp = is_one[pos].sum(axis=0).astype(np.float64)
        denom = pp + int(pos.sum())
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(denom > 0, 2 * tp / denom, 0.0).tolist()
    if name == "accuracy":
        if len(truth) == 0:
            return [0.0] * labels.shape[1]
        return ((labels == truth[:, None]).sum(axis=0) / len(truth)).tolist()
    return [metric(truth, labels[:, j], n_classes) for j in range(labels.shape[1])]


_BLAS: list[Any] | None = None


def _blas() -> list[Any]:
    global _BLAS
    if _BLAS is None:
        from leaderboard.problem import _controller

        _BLAS = [lc for lc in _controller().lib_controllers if lc.user_api == "blas"]
    return _BLAS


@contextmanager
def blas_threads(n: int) -> Iterator[None]:
    """Run the block with ``n`` BLAS threads (set and restored directly on each BLAS library:
    microseconds, where a threadpoolctl limit costs tens of them on every call)."""
    libs = _blas()
    before = [lc.get_num_threads() for lc in libs]
    for lc in libs:
        lc.set_num_threads(n)
    try:
        yield
    finally:
        for lc, k in zip(libs, before, strict=True):
            lc.set_num_threads(k)
