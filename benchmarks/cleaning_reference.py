"""A straightforward implementation of the reference cleaning procedure (DataPerf debugging):
after every ``stride`` fixes, retrain the fixed model from scratch and measure test accuracy,
for all fixes; then report the fraction inspected at the first checkpoint that reaches
``target`` times the accuracy with every fix applied. Used to check the evaluator's exactness
and speed; not used by the evaluator itself.
"""

from __future__ import annotations

import numpy as np

from dataperf.kinds.cleaning import checkpoints
from dataperf.metrics import accuracy
from dataperf.models import FixedModel


def reference_fraction(
    model: FixedModel,
    x: np.ndarray,
    noisy: np.ndarray,
    truth: np.ndarray,
    order: np.ndarray,
    x_test: np.ndarray,
    y_test: np.ndarray,
    *,
    seed: int,
    stride: int,
    target: float,
) -> tuple[float, int]:
    """Return (fraction inspected, number of fits) by the reference procedure."""
    n_classes = int(max(truth.max(), y_test.max())) + 1
    full = accuracy(y_test, model.fit(x, truth, seed).predict(x_test), n_classes)
    fits = 1
    curve = []
    points = checkpoints(len(order), stride)
    for k in points:
        labels = noisy.copy()
        labels[order[:k]] = truth[order[:k]]
        curve.append(accuracy(y_test, model.fit(x, labels, seed).predict(x_test), n_classes))
        fits += 1
    first = next(i for i, a in enumerate(curve) if a >= target * full)
    return points[first] / len(order), fits
