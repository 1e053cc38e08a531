"""Batched scoring: every cached fitted model of a problem against one test set in one pass.

The models of each task (every training set, every seed) are stacked into one weight matrix,
so scoring a new test set is one matrix product per task, then the same decision rule as
:func:`dataperf.models.decide` and the same metric, vectorized. A blocked matrix product may
round differently from a model's own product in the last bit, which could only matter for a
row whose decision score is within rounding of the boundary: such models are re-scored one by
one with :meth:`Linear.predict`, so the numbers always equal the one-by-one loop's.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from dataperf.models import Constant, Fitted, Linear
from leaderboard.problem import Problem, RatchetCounters, Rows, Scores, single_threaded_blas

REL_TOL = 1e-9
"""Relative closeness to a decision boundary below which a model is re-scored one by one
(float64 rounding of a 64-term dot product is ~1e-14 relative)."""


@dataclass
class _Group:
    """Linear models of one task with the same classes, stacked column-wise."""

    classes: np.ndarray
    keys: list[tuple[str, int]] = field(default_factory=list)
    ws: list[np.ndarray] = field(default_factory=list)
    bs: list[np.ndarray] = field(default_factory=list)
    _w: np.ndarray | None = None
    _b: np.ndarray | None = None

    def stacked(self) -> tuple[np.ndarray, np.ndarray]:
        if self._w is None or self._w.shape[1] != sum(w.shape[1] for w in self.ws):
            self._w = np.ascontiguousarray(np.hstack(self.ws))
            self._b = np.concatenate(self.bs)
        assert self._b is not None
        return self._w, self._b


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
    _groups: dict[tuple[str, tuple[int, ...], int], _Group] = field(default_factory=dict)

    def add(self, digest: str, task: str, seed: int, model: Fitted) -> None:
        """Add one fitted model (ignored if already present)."""
        key = (digest, task, seed)
        if key in self.models:
            return
        self.models[key] = model
        if isinstance(model, Linear):
            gk = (task, tuple(int(c) for c in model.classes), model.w.shape[1])
            group = self._groups.setdefault(gk, _Group(classes=np.asarray(model.classes)))
            group.keys.append((digest, seed))
            group.ws.append(model.w)
            group.bs.append(model.b)

    def digests(self) -> list[str]:
        """Return the training-set digests with models, in the order they were added."""
        return list(dict.fromkeys(d for d, _, _ in self.models))

    def score(
        self, p: Problem, rows: Rows, counters: RatchetCounters, only: Iterable[str] | None = None
    ) -> dict[str, Scores]:
        """Return, per training-set digest, its models' metric per task and seed on ``rows``.

        ``only`` restricts the result to those digests (the stacked product still covers every
        model of a group: cheaper than re-stacking). Counts one batched pass.
        """
        wanted = set(self.digests() if only is None else only)
        out: dict[str, Scores] = {d: {t: {} for t in p.task_names} for d in wanted}
        counters.batched_passes += 1
        with single_threaded_blas():
            self._score(p, rows, counters, wanted, out)
        return out

    def _score(
        self, p: Problem, rows: Rows, counters: RatchetCounters, wanted: set[str], out: dict[str, Scores]
    ) -> None:
        for i, task in enumerate(p.task_names):
            x, truth = rows[task]
            x64 = x.astype(np.float64)
            xnorm = float(np.sqrt((x64 * x64).sum(axis=1)).max()) if len(x64) else 0.0
            n_classes = p.n_classes(i)
            for (gtask, _, _), group in self._groups.items():
                if gtask != task or not any(d in wanted for d, _ in group.keys):
                    continue
                preds = self._predict_group(group, x64, xnorm, counters)
                keep = [j for j, (d, _) in enumerate(group.keys) if d in wanted]
                values = _metric_columns(p.metric_name, p.metric, truth, preds[:, keep], n_classes)
                for j, v in zip(keep, values, strict=True):
                    d, seed = group.keys[j]
                    out[d][task][seed] = v
                counters.models_scored += len(keep)
            for (d, t, seed), model in self.models.items():
                if t == task and d in wanted and isinstance(model, Constant):
                    pred = np.full(len(truth), model.label, dtype=np.int64)
                    out[d][task][seed] = p.metric(truth, pred, n_classes)
                    counters.models_scored += 1

    def _predict_group(
        self, group: _Group, x64: np.ndarray, xnorm: float, counters: RatchetCounters
    ) -> np.ndarray:
        """Return predicted labels (n, models) of every model in ``group``."""
        w, b = group.stacked()
        s = x64 @ w + b
        counters.matmuls += 1
        k = group.ws[0].shape[1]
        n, m = len(x64), len(group.keys)
        bound = REL_TOL * (xnorm * np.sqrt((w * w).sum(axis=0)) + np.abs(b))
        if k == 1:
            preds = group.classes[(s > 0).astype(np.int64)]
            close = (np.abs(s) <= bound).any(axis=0)
        else:
            s3 = s.reshape(n, m, k)
            preds = group.classes[s3.argmax(axis=2)]
            top2 = np.sort(s3, axis=2)[:, :, -2:]
            close = ((top2[:, :, 1] - top2[:, :, 0]) <= 2 * bound.reshape(m, k).max(axis=1)).any(axis=0)
        for j in np.flatnonzero(close):
            preds[:, j] = Linear(w=group.ws[j], b=group.bs[j], classes=group.classes).predict(x64)
            counters.exact_rechecks += 1
        return preds


def _metric_columns(name: str, metric, truth: np.ndarray, preds: np.ndarray, n_classes: int) -> list[float]:  # type: ignore[no-untyped-def]
    """Return the metric of each column of ``preds``; vectorized where the vectorized form is
    the same float arithmetic as the registered metric (f1, accuracy), else one by one."""
    if name == "f1":
        pos = truth == 1
        pp = (preds == 1).sum(axis=0)
        tp = ((preds == 1) & pos[:, None]).sum(axis=0).astype(np.float64)
        denom = pp + int(pos.sum())
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(denom > 0, 2 * tp / denom, 0.0).tolist()
    if name == "accuracy":
        if len(truth) == 0:
            return [0.0] * preds.shape[1]
        return ((preds == truth[:, None]).sum(axis=0) / len(truth)).tolist()
    return [metric(truth, preds[:, j], n_classes) for j in range(preds.shape[1])]
