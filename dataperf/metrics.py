"""Registered metrics: objects that score predictions against the truth, computed with NumPy.

A :class:`Metric` is called as ``metric(y_true, y_pred, n_classes) -> float``; it also says
whether higher is better and, where it has one, its vectorized form over the confusion counts of
many binary [0, 1] models at once (``counts``), which batched scoring uses instead of one call per
model. The vectorized form and the call are the same float arithmetic, so both give the same
value bit for bit.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from dataperf.registry import PluginRegistry

Counts = Callable[[np.ndarray, np.ndarray, int, int], np.ndarray]
"""``counts(pp, tp, n, npos)``: per model, from its predicted positives ``pp`` and true positives
``tp`` on ``n`` rows of which ``npos`` are positive, the metric (float64 array)."""


@dataclass(frozen=True)
class Metric:
    """A metric: how it is computed, which way is better, and its form over confusion counts."""

    name: str
    compute: Callable[[np.ndarray, np.ndarray, int], float]
    """``compute(y_true, y_pred, n_classes) -> float``."""
    higher_is_better: bool
    """True when a higher value means better predictions."""
    doc: str
    """One sentence: what the value is (rules pages render it)."""
    counts: Counts | None = None
    """The vectorized form over binary [0, 1] models' confusion counts (None: none)."""

    def __call__(self, y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> float:
        """Return the metric of ``y_pred`` against ``y_true`` (labels ``0 .. n_classes-1``)."""
        return self.compute(y_true, y_pred, n_classes)


METRICS: PluginRegistry[Metric] = PluginRegistry("metric", group="dataperf.metrics")


def _confusion(y_true: np.ndarray, y_pred: np.ndarray, n: int) -> np.ndarray:
    return np.bincount(y_true.astype(np.int64) * n + y_pred.astype(np.int64), minlength=n * n).reshape(n, n)


def _f1_per_class(cm: np.ndarray) -> np.ndarray:
    tp = np.diag(cm).astype(np.float64)
    denom = cm.sum(axis=0) + cm.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        f1 = np.where(denom > 0, 2 * tp / denom, 0.0)
    return f1


def _binary_counts(y_true: np.ndarray, y_pred: np.ndarray) -> tuple[np.ndarray, np.ndarray, int, int]:
    is_one = np.asarray(y_pred) == 1
    truth = np.asarray(y_true) == 1
    pp = np.asarray([int(is_one.sum())], dtype=np.int64)
    tp = np.asarray([int((is_one & truth).sum())], dtype=np.int64)
    return pp, tp, len(truth), int(truth.sum())


def f1_counts(pp: np.ndarray, tp: np.ndarray, n: int, npos: int) -> np.ndarray:
    """Return F1 of class 1 per model from (predicted positives, true positives)."""
    denom = (pp + npos).astype(np.float64)
    return np.divide(2 * tp.astype(np.float64), denom, out=np.zeros(len(pp)), where=denom > 0)


def accuracy_counts(pp: np.ndarray, tp: np.ndarray, n: int, npos: int) -> np.ndarray:
    """Return accuracy per model from (predicted positives, true positives)."""
    if n == 0:
        return np.zeros(len(pp))
    correct = tp + (n - npos) - (pp - tp)
    return np.asarray(correct / n, dtype=np.float64)


def balanced_error_counts(pp: np.ndarray, tp: np.ndarray, n: int, npos: int) -> np.ndarray:
    """Return the balanced error per binary model: one minus the mean recall of the classes
    present among the ``n`` rows (class 1: ``tp / npos``; class 0: true negatives over negatives)."""
    nneg = n - npos
    present = (npos > 0) + (nneg > 0)
    if present == 0:
        return np.zeros(len(pp))
    total = np.zeros(len(pp))
    if npos > 0:
        total = total + tp.astype(np.float64) / npos
    if nneg > 0:
        total = total + (nneg - (pp - tp)).astype(np.float64) / nneg
    return np.asarray(1.0 - total / present, dtype=np.float64)


def _f1(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> float:
    """Return F1 of class 1, the task's positive class (binary tasks): 2 TP / (2 TP + FP + FN),
    with TP, FP, FN counted for class 1 over every test row; 0.0 when TP + FP + FN = 0."""
    return float(_f1_per_class(_confusion(y_true, y_pred, 2))[1])


def _macro_f1(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> float:
    """Return the unweighted mean over all ``n_classes`` classes of each class's F1,
    2 TP_c / (2 TP_c + FP_c + FN_c); a class with TP_c + FP_c + FN_c = 0 counts 0.0."""
    return float(_f1_per_class(_confusion(y_true, y_pred, n_classes)).mean())


def _accuracy(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> float:
    """Return the fraction of test rows whose predicted label equals the true one (0.0 for no rows)."""
    return float(np.mean(y_true == y_pred)) if len(y_true) else 0.0


def _balanced_error(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> float:
    """Return 1 - (1/|C|) * sum over the classes c in C of TP_c / (rows whose true label is c),
    where C is the set of classes with at least one test row (0.0 when there are no rows): every
    class weighs the same whatever its number of rows."""
    if n_classes == 2:  # the same arithmetic as the vectorized form
        return float(balanced_error_counts(*_binary_counts(y_true, y_pred))[0])
    cm = _confusion(y_true, y_pred, n_classes)
    support = cm.sum(axis=1)
    present = support > 0
    if not present.any():
        return 0.0
    recall = np.diag(cm)[present].astype(np.float64) / support[present]
    return float(1.0 - recall.mean())


f1 = METRICS.add(
    "f1", Metric("f1", _f1, True, "F1 of class 1 (binary tasks); 0.0 when there are no positives at all", f1_counts)
)
macro_f1 = METRICS.add(
    "macro-f1", Metric("macro-f1", _macro_f1, True, "the unweighted mean of per-class F1 over all classes")
)
accuracy = METRICS.add(
    "accuracy", Metric("accuracy", _accuracy, True, "the fraction of correct predictions", accuracy_counts)
)
balanced_error = METRICS.add(
    "balanced-error",
    Metric(
        "balanced-error",
        _balanced_error,
        False,
        "one minus the mean per-class recall over the classes present in the truth: every class "
        "weighs the same whatever its number of rows, so rows of a class the model gets right never "
        "raise it",
        balanced_error_counts,
    ),
)
