"""Registered metrics: ``fn(y_true, y_pred, n_classes) -> float``, computed with NumPy."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from dataperf.registry import PluginRegistry

Metric = Callable[[np.ndarray, np.ndarray, int], float]
METRICS: PluginRegistry[Metric] = PluginRegistry("metric", group="dataperf.metrics")


def _confusion(y_true: np.ndarray, y_pred: np.ndarray, n: int) -> np.ndarray:
    return np.bincount(y_true.astype(np.int64) * n + y_pred.astype(np.int64), minlength=n * n).reshape(n, n)


def _f1_per_class(cm: np.ndarray) -> np.ndarray:
    tp = np.diag(cm).astype(np.float64)
    denom = cm.sum(axis=0) + cm.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        f1 = np.where(denom > 0, 2 * tp / denom, 0.0)
    return f1


@METRICS.register("f1")
def f1(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> float:
    """Return F1 of class 1, the task's positive class (binary tasks): 2 TP / (2 TP + FP + FN),
    with TP, FP, FN counted for class 1 over every test row; 0.0 when TP + FP + FN = 0."""
    return float(_f1_per_class(_confusion(y_true, y_pred, 2))[1])


@METRICS.register("macro-f1")
def macro_f1(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> float:
    """Return the unweighted mean over all ``n_classes`` classes of each class's F1,
    2 TP_c / (2 TP_c + FP_c + FN_c); a class with TP_c + FP_c + FN_c = 0 counts 0.0."""
    return float(_f1_per_class(_confusion(y_true, y_pred, n_classes)).mean())


@METRICS.register("accuracy")
def accuracy(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> float:
    """Return the fraction of test rows whose predicted label equals the true one (0.0 for no rows)."""
    return float(np.mean(y_true == y_pred)) if len(y_true) else 0.0
