"""Batched scoring: every cached fitted model of a problem against one test set in one pass.

The linear models of each task (every training set, every seed) are stacked into one float32
weight matrix whose last row holds the intercepts, so scoring a new test set is one float32
matrix product per task (per block of rows, on large test sets), then the decision rule of
:func:`dataperf.models.decide` and the metric, vectorized (binary models' decisions counted by
the compiled loops of :mod:`leaderboard.arithmetic.kernels`). :mod:`leaderboard.arithmetic.batched` holds the steps
and the argument that the batched numbers equal the one-by-one loop's bit for bit;
``counters.exact_rechecks`` counts the models with any decision re-checked in float64.

Threads: one BLAS thread by default (the ratchet's parallelism comes from workers). A product
of at least :data:`THREADED_MIN_FLOPS` may use :data:`BATCH_THREADS` threads, which changes
the rounding of nothing that is decided without a re-check (the bounds hold for any order).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from dataperf.hits import packed_text
from dataperf.metrics import Metric
from dataperf.models import Fitted, Linear
from leaderboard.arithmetic import batched
from leaderboard.arithmetic.blas import controller
from leaderboard.arithmetic.types import RatchetCounters, Scores, Scoring
from leaderboard.arithmetic.types import Rows as TaskRows

BATCH_THREADS = 1
"""BLAS threads for a product of at least :data:`THREADED_MIN_FLOPS` (1: never threaded).
Measured in benchmarks/ratchet_bench.py (``--threads``): on a 2-core machine shared with
other work, two threads were slower than one; set 2 on a quiet multi-core host."""
THREADED_MIN_FLOPS = 20_000_000


@dataclass(frozen=True)
class Batch:
    """The numbers of one batched pass: ``values[i, t, s]`` is the metric of training set
    ``digests[i]``'s model of task ``tasks[t]`` and seed ``seeds[s]`` (where ``present``)."""

    digests: list[str]
    tasks: list[str]
    seeds: list[int]
    values: np.ndarray
    present: np.ndarray
    measured: np.ndarray | None = None
    """``measured[i, t, s]``: the second measure asked of :meth:`Bank.score` (None: none asked)."""
    hit_bits: list[np.ndarray] | None = None
    """Per task, ``(digests, seeds, bytes)``: which rows each model got right, one bit per row
    (``numpy.packbits`` order; None: not asked)."""
    hit_rows: list[int] = field(default_factory=list)
    """Per task, the number of rows (with :attr:`hit_bits`)."""

    def __len__(self) -> int:
        return len(self.digests)

    def items(self) -> Iterator[tuple[str, Scores]]:
        """Yield (digest, its scores per task and seed)."""
        values, present = self.values.tolist(), self.present.tolist()
        for d, vals, have in zip(self.digests, values, present, strict=True):
            yield (
                d,
                {
                    t: {s: v for s, v, ok in zip(self.seeds, vt, ht, strict=True) if ok}
                    for t, vt, ht in zip(self.tasks, vals, have, strict=True)
                },
            )

    def as_dict(self) -> dict[str, Scores]:
        """Return digest -> task -> seed -> metric."""
        return dict(self.items())

    def measures(self) -> dict[str, Scores]:
        """Return digest -> task -> seed -> the second measure (empty when none was asked)."""
        if self.measured is None:
            return {}
        return dict(Batch(self.digests, self.tasks, self.seeds, self.measured, self.present).items())

    def packed_hits(self) -> dict[str, dict[str, str] | None]:
        """Return digest -> task -> its models' per-row correctness as :func:`dataperf.hits.pack_hits`
        text (seeds in order); None for a digest lacking a model (empty when not asked)."""
        if self.hit_bits is None:
            return {}
        out: dict[str, dict[str, str] | None] = {}
        for i, d in enumerate(self.digests):
            whole = bool(self.present[i].all())
            out[d] = (
                {t: packed_text(self.hit_bits[j][i], self.hit_rows[j]) for j, t in enumerate(self.tasks)}
                if whole
                else None
            )
        return out


@dataclass
class _Group:
    """Linear models of one task with the same classes and width, held stacked: models added
    since the last pass wait as objects and join the stack at the next one (then only the
    stack holds their weights)."""

    classes: np.ndarray
    k: int
    """Columns per model (1: binary)."""
    stack: batched.Stack | None = None
    digests: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    """The stacked models' digest indices in the bank's digest order."""
    seed_index: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    """The stacked models' seed indices in the bank's seed order."""
    seeds: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    """The stacked models' seeds."""
    pending: list[tuple[int, int, int, Linear]] = field(default_factory=list)
    """(digest index, seed index, seed, model) added since the stack was built."""

    def __len__(self) -> int:
        return len(self.digests) + len(self.pending)

    def fast(self, metrics: list[Metric]) -> bool:
        """Whether the models are binary with labels [0, 1] and every metric comes from counts."""
        counted = all(m.counts is not None for m in metrics)
        return counted and self.classes.tolist() == [0, 1] and self.k == 1

    def stacked(self) -> batched.Stack:
        """Return the stacked models in (digest index, seed) order, the pending ones merged in."""
        if self.stack is not None and not self.pending:
            return self.stack
        new = [m for *_, m in self.pending]
        add = np.vstack([np.hstack([m.w for m in new]), np.concatenate([m.b for m in new])[None, :]]).astype(np.float64)
        digests = np.concatenate([self.digests, np.asarray([p[0] for p in self.pending], dtype=np.int64)])
        seed_index = np.concatenate([self.seed_index, np.asarray([p[1] for p in self.pending], dtype=np.int64)])
        seeds = np.concatenate([self.seeds, np.asarray([p[2] for p in self.pending], dtype=np.int64)])
        self.pending = []
        old = self.stack.w64 if self.stack is not None else np.empty((add.shape[0], 0))
        self.stack = None  # let the old stack's float32 copy go before the new one is made
        w = np.hstack([old, add])
        del old, add, new
        order = np.lexsort((seeds, digests))
        if not np.array_equal(order, np.arange(len(order))):
            cols = (order[:, None] * self.k + np.arange(self.k)).reshape(-1)
            w = np.ascontiguousarray(w[:, cols])
            digests, seed_index, seeds = digests[order], seed_index[order], seeds[order]
        self.digests, self.seed_index, self.seeds = digests, seed_index, seeds
        self.stack = batched.Stack.of_columns(w, self.k, self.classes)
        return self.stack

    def model(self, digest: int, seed: int) -> Linear | None:
        """Return the model of (digest index, seed), or None if this group has none."""
        for d, _, s, m in self.pending:
            if d == digest and s == seed:
                return m
        lo, hi = np.searchsorted(self.digests, [digest, digest + 1])  # sorted by (digest, seed)
        at = lo + np.flatnonzero(self.seeds[lo:hi] == seed)
        return self.stack.model(int(at[0])) if len(at) and self.stack is not None else None


class _Models(Mapping[tuple[str, str, int], Fitted]):
    """The bank's models by (digest, task, seed), read from where the bank keeps them (a stacked
    model is rebuilt, bit for bit, on each lookup)."""

    def __init__(self, bank: Bank) -> None:
        self._bank = bank

    def __getitem__(self, key: tuple[str, str, int]) -> Fitted:
        bank = self._bank
        digest, task, seed = key
        if bank._code(digest, task, seed) not in bank._keys:
            raise KeyError(key)
        for group in bank._groups.get(task, []):
            model = group.model(bank._digests[digest], seed)
            if model is not None:
                return model
        return next(m for d, s, m in bank._others[task] if d == digest and s == seed)

    def __iter__(self) -> Iterator[tuple[str, str, int]]:
        bank = self._bank
        names = list(bank._digests)
        keys = [(d, task, seed) for task, others in bank._others.items() for d, seed, _ in others]
        for task, groups in bank._groups.items():
            for g in groups:
                keys += [(names[d], task, seed) for d, seed in zip(g.digests.tolist(), g.seeds.tolist(), strict=True)]
                keys += [(names[d], task, seed) for d, _, seed, _ in g.pending]
        return iter(keys)

    def __len__(self) -> int:
        return len(self._bank._keys)


@dataclass
class Bank:
    """Every cached fitted model of one problem and evaluator version, kept stacked in memory.

    ``models[(digest, task, seed)]`` is the fitted model; :meth:`add` appends models (after a
    database load or a fit), :meth:`score` scores a test set against some or all of them. Both
    hold the bank's lock (its product buffers are reused from pass to pass). A linear model's
    weights live in its group's stack only (float64, and the float32 copy the products use):
    the bank's memory is about 1.5x its models' raw float64 weights, plus its keys.
    """

    problem: str
    version: str
    last_id: int = 0
    """Highest ``fitted_models.id`` loaded, so refreshing reads only newer rows."""
    _keys: set[int] = field(default_factory=set)
    """Every model's (digest, task, seed) as one number (see :meth:`_code`): a tuple of names
    per model would cost a third of the weights."""
    _digests: dict[str, int] = field(default_factory=dict)
    _tasks: dict[str, int] = field(default_factory=dict)
    _seeds: dict[int, int] = field(default_factory=dict)
    _groups: dict[str, list[_Group]] = field(default_factory=dict)
    _by_key: dict[tuple[str, tuple[int, ...], int], _Group] = field(default_factory=dict)
    _others: dict[str, list[tuple[str, int, Fitted]]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _scratch: batched.Scratch = field(default_factory=batched.Scratch)

    @property
    def models(self) -> Mapping[tuple[str, str, int], Fitted]:
        """Return the models by (digest, task, seed) (a read-only view)."""
        return _Models(self)

    def _code(self, digest: str, task: str, seed: int) -> int:
        """Return the number of (digest, task, seed) in :attr:`_keys` (-1: a name never added)."""
        d, t, s = self._digests.get(digest), self._tasks.get(task), self._seeds.get(seed)
        if d is None or t is None or s is None:
            return -1
        return (d << 32) | (t << 16) | s

    def add(self, digest: str, task: str, seed: int, model: Fitted) -> None:
        """Add one fitted model (ignored if already present)."""
        with self._lock:
            d = self._digests.setdefault(digest, len(self._digests))
            ti = self._tasks.setdefault(task, len(self._tasks))
            si = self._seeds.setdefault(seed, len(self._seeds))
            if ti >= 1 << 16 or si >= 1 << 16:
                raise ValueError(f"bank {self.problem}: more than 65,536 tasks or seeds")
            code = self._code(digest, task, seed)
            if code in self._keys:
                return
            self._keys.add(code)
            if isinstance(model, Linear) and np.isfinite(model.w).all() and np.isfinite(model.b).all():
                gk = (task, tuple(int(c) for c in model.classes), model.w.shape[1])
                group = self._by_key.get(gk)
                if group is None:
                    group = _Group(classes=np.asarray(model.classes, dtype=np.int64), k=int(model.w.shape[1]))
                    self._by_key[gk] = group
                    self._groups.setdefault(task, []).append(group)
                group.pending.append((d, si, seed, model))
            else:  # Constant and any other fitted model: one by one (cheap, or not stackable)
                self._others.setdefault(task, []).append((digest, seed, model))

    def digests(self) -> list[str]:
        """Return the training-set digests with models, in the order they were added."""
        return list(self._digests)

    def score(
        self,
        p: Scoring,
        rows: TaskRows,
        counters: RatchetCounters,
        only: Iterable[str] | None = None,
        also: Metric | None = None,
        hits: bool = False,
    ) -> Batch:
        """Return every model's metric on ``rows`` (per training-set digest, task and seed).

        ``also``: a second measure computed from the same predictions in the same pass (the
        batch's ``measured``). ``hits``: also which rows each model got right (the batch's
        ``hit_bits``; every model's labels are then computed, never only their counts).
        ``only`` restricts the result to those digests (the stacked product still covers every
        model of a group: cheaper than re-stacking). Counts one batched pass. The pass runs in
        three phases over every task in turn (prepare, products, metrics), so the many small
        steps of the first and last find the cache warm rather than evicted by a product.
        """
        with self._lock:
            if only is None:
                digests, wanted = self.digests(), np.ones(len(self._digests), dtype=bool)
            else:
                digests = [d for d in dict.fromkeys(only) if d in self._digests]
                wanted = np.zeros(len(self._digests), dtype=bool)
                wanted[[self._digests[d] for d in digests]] = True
            counters.batched_passes += 1
            tasks = p.task_names
            shape = (len(self._digests), len(tasks), len(self._seeds))
            values, present = np.zeros(shape), np.zeros(shape, dtype=bool)
            measured = np.zeros(shape) if also is not None else None
            metrics = [p.metric] if also is None else [p.metric, also]
            n_rows = [len(rows[t][1]) for t in tasks]
            bits = [np.zeros((shape[0], shape[2], (n + 7) // 8), dtype=np.uint8) for n in n_rows] if hits else None
            with blas_threads(1):
                parts = [
                    part
                    for i, task in enumerate(tasks)
                    for part in self._parts(p, i, rows[task], wanted, metrics, counted=not hits)
                ]
                for part in parts:
                    part.products(self._scratch)
                for part in parts:
                    g = part.group
                    values[g.digests, part.task, g.seed_index] = part.metric(p, p.metric)
                    if measured is not None and also is not None:
                        measured[g.digests, part.task, g.seed_index] = part.metric(p, also)
                    if bits is not None:
                        bits[part.task][g.digests, g.seed_index] = part.hit_bits()
                    present[g.digests, part.task, g.seed_index] = True
                    counters.matmuls += 1
                    counters.models_scored += int(part.keep.sum())
                    counters.exact_rechecks += len(part.exact.rechecked)
                for i, task in enumerate(tasks):
                    out = values[:, i], present[:, i], None if measured is None else measured[:, i]
                    self._score_others(p, i, task, rows[task], wanted, counters, out, also)
                    if bits is not None:
                        self._hits_of_others(i, task, rows[task], wanted, bits[i])
            seeds = sorted(self._seeds)  # ascending, whatever order the models arrived in
            seed_order = [self._seeds[s] for s in seeds]
            if only is None and seed_order == sorted(seed_order):  # already in the result's order
                return Batch(digests, tasks, seeds, values, present, measured, bits, n_rows)
            at = np.ix_([self._digests[d] for d in digests], range(len(tasks)), seed_order)
            two = np.ix_([self._digests[d] for d in digests], seed_order)
            return Batch(
                digests,
                tasks,
                seeds,
                values[at],
                present[at],
                None if measured is None else measured[at],
                None if bits is None else [b[two] for b in bits],
                n_rows,
            )

    def _parts(
        self,
        p: Scoring,
        i: int,
        xy: tuple[np.ndarray, np.ndarray],
        wanted: np.ndarray,
        metrics: list[Metric],
        counted: bool = True,
    ) -> list[_Part]:
        """Return the stacked groups of task ``i`` with wanted models, their rows prepared."""
        x, truth = xy
        prepared: dict[bool, batched.Rows] = {}
        parts = []
        for group in self._groups.get(p.task_names[i], []):
            stack = group.stacked()
            keep = wanted[group.digests]
            if keep.any():
                fast = counted and group.fast(metrics)
                if fast not in prepared:
                    prepared[fast] = batched.Rows.of(x, truth, positives_first=fast)
                rows = prepared[fast]
                parts.append(_Part(i, group, stack, rows, keep, batched.Exact(stack, rows), fast))
        return parts

    def _score_others(
        self,
        p: Scoring,
        i: int,
        task: str,
        xy: tuple[np.ndarray, np.ndarray],
        wanted: np.ndarray,
        c: RatchetCounters,
        out: tuple[np.ndarray, np.ndarray, np.ndarray | None],
        also: Metric | None,
    ) -> None:
        """Fill ``values[digest, seed]`` (``present``, and ``measured`` by ``also``) for one task's
        unstacked models; ``out`` is (values, present, measured)."""
        values, present, measured = out
        x, truth = xy
        for d, seed, model in self._others.get(task, []):
            at = self._digests[d], self._seeds[seed]
            if wanted[at[0]]:
                predicted = model.predict(x.astype(np.float64))
                values[at] = p.metric(truth, predicted, p.n_classes(i))
                if measured is not None and also is not None:
                    measured[at] = also(truth, predicted, p.n_classes(i))
                present[at] = True
                c.models_scored += 1

    def _hits_of_others(
        self, i: int, task: str, xy: tuple[np.ndarray, np.ndarray], wanted: np.ndarray, bits: np.ndarray
    ) -> None:
        """Fill ``bits[digest, seed]`` with the packed per-row correctness of one task's unstacked models."""
        x, truth = xy
        for d, seed, model in self._others.get(task, []):
            at = self._digests[d], self._seeds[seed]
            if wanted[at[0]]:
                bits[at] = np.packbits(model.predict(x.astype(np.float64)) == truth)


@dataclass
class _Part:
    """One stacked group's share of a batched pass on one task's rows (models of ``keep`` exact;
    the others' values are not used)."""

    task: int
    group: _Group
    stack: batched.Stack
    rows: batched.Rows
    keep: np.ndarray
    exact: batched.Exact
    fast: bool
    """Binary [0, 1] models scored by a metric of counts (see :meth:`_Group.fast`)."""
    counted: batched.Counted | None = None
    settled: tuple[np.ndarray, np.ndarray] | None = None
    """The exact (predicted positives, true positives) once settled."""
    labels: np.ndarray | None = None

    def products(self, scratch: batched.Scratch) -> None:
        """Run the products: the decision counts, or every model's labels."""
        stack, rows, keep, exact = self.stack, self.rows, self.keep, self.exact
        finite = stack.finite_for(rows.norm)
        with _threads(rows, stack):
            if self.fast and finite:
                self.counted = batched.count_decisions(stack, rows, keep, scratch)
            elif not finite:  # beyond float32's range: one by one
                self.labels = np.stack([exact.whole(j) for j in range(stack.count)], axis=1)
            elif stack.k == 1:
                decided = batched.binary_decisions(stack, rows, keep, scratch, exact)
                self.labels = self.group.classes[decided.astype(np.int64)]
            else:
                self.labels = batched.multiclass_labels(stack, rows, keep, self.group.classes, exact)

    def hit_bits(self) -> np.ndarray:
        """Return ``(models, bytes)``: which rows each model of the group got right, packed
        (after :meth:`products` computed labels; rows in the order given)."""
        assert self.labels is not None and self.rows.order is None
        return np.packbits(self.labels == self.rows.truth[:, None], axis=0).T

    def metric(self, p: Scoring, metric: Metric) -> np.ndarray:
        """Return ``metric`` of every model of the group (after :meth:`products`)."""
        if self.counted is not None:
            if self.settled is None:  # settling adds the re-checked decisions in place: once
                self.settled = batched.settle(self.counted, self.exact)
            return batched.metric_from_counts(metric, self.settled, len(self.rows.truth), self.rows.npos)
        assert self.labels is not None
        return batched.metric_columns(metric, self.rows.truth, self.labels, p.n_classes(self.task))


def _threads(rows: batched.Rows, stack: batched.Stack) -> AbstractContextManager[None]:
    """Return the BLAS thread setting of a product of ``rows`` by ``stack``."""
    if BATCH_THREADS > 1 and 2 * rows.xa.size * stack.w32.shape[1] >= THREADED_MIN_FLOPS:
        return blas_threads(BATCH_THREADS)
    return nullcontext()


_BLAS: list[Any] | None = None


def _blas() -> list[Any]:
    global _BLAS
    if _BLAS is None:
        _BLAS = [lc for lc in controller().lib_controllers if lc.user_api == "blas"]
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
